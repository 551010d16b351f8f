/**
 * What the Temporal Web UI shows for a payment: a one-line static summary set at start, and
 * "current details" (markdown) that the workflow rewrites at every step change, so an operator sees
 * where a payment is without querying it. Nothing here names the student: the summary and details
 * carry ids, the course and the amount, the details a masked email and phone; and every text that did
 * not come from our own code is escaped (src/workflows/markdown.ts), so it renders as text.
 */
import type { PaymentEvent } from '../domain/payment-event';
import { maskEmail, maskPhone, redactContacts } from '../domain/mask';
import { formatAmount } from '../domain/money';
import { codeSpan, codeText, escapeMarkdown } from './markdown';
import type { EnrollmentStatus, PaymentSource } from './messages';
import { STEPS } from './steps';

/** How a workflow not started by a webhook says so, in the Web UI's list and its details panel. */
export const SOURCE_LABEL: Record<PaymentSource, string> = {
  webhook: 'webhook',
  reconciliation: 'found by reconciliation (no webhook started it)',
  operator: "found by an operator's backfill (no webhook started it)",
};

/**
 * An amount for the Web UI: Intl's rendering of a well-formed currency code is ours to trust, the
 * fallback for any other 3 characters (`<B> 1.00`) is escaped.
 */
export function amountMarkdown(amountMinor: number, currency: string): string {
  const text = formatAmount(amountMinor, currency);
  return /^[A-Z]{3}$/.test(currency) ? text : escapeMarkdown(text);
}

/** `<course> · <amount> · <provider> <payment id>`: no student data (the payment id is `[A-Za-z0-9_]`). */
export function paymentSummary(payment: PaymentEvent, source: PaymentSource = 'webhook'): string {
  const course = payment.courseId === undefined ? 'no course' : escapeMarkdown(payment.courseId);
  const found = source === 'webhook' ? '' : ` · ${SOURCE_LABEL[source]}`;
  return `${course} · ${amountMarkdown(payment.amountMinor, payment.currency)} · ${payment.provider} ${payment.paymentId}${found}`;
}

/** The payment as received, for the Web UI's static "Details" panel: no name, email and phone masked. */
export function paymentDetails(payment: PaymentEvent, source: PaymentSource = 'webhook'): string {
  const rows: Array<[string, string | undefined]> = [
    ['Provider', payment.provider],
    ['Payment', payment.paymentId],
    ['Source', SOURCE_LABEL[source]],
    ['First event', `${payment.eventType}${payment.eventId ? ` (${payment.eventId})` : ''}`],
    ['Amount', formatAmount(payment.amountMinor, payment.currency)],
    ['Paid at', payment.paidAt],
    ['Course', payment.courseId],
    ['Email', maskEmail(payment.student.email)],
    ['Phone', maskPhone(payment.student.phone)],
  ];
  return detailsTable(rows);
}

/** The Web UI's static "Details" panel: a two-column Markdown table, every value escaped, an absent one a dash. */
export function detailsTable(rows: Array<[string, string | undefined]>): string {
  return [
    '| | |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v === undefined ? '—' : escapeMarkdown(v)} |`),
  ].join('\n');
}

/** Text from outside our code (a downstream's error, a reviewer's note) for current details. */
const cell = (text: string | undefined) => escapeMarkdown(redactContacts(text ?? ''));

export function renderCurrentDetails(status: EnrollmentStatus): string {
  const lines = [`**State:** ${status.state}`, ''];
  if (status.openReview) {
    const { id, step, openedAt, reason, kind } = status.openReview;
    lines.push(
      `**Needs review** ${codeSpan(id ?? step)} (${step}, since ${openedAt}): ${cell(reason)}`,
      '',
      `Resolve with signal \`resolveReview\` \`{"reviewId":"${codeText(id ?? '')}","action":"retry|skip|abort","reviewer":"...","note":"..."}\``,
      '',
    );
    if (kind === 'outcome_unknown') {
      lines.push(
        'The message may have reached the student: check before a `retry`, which may send it again.',
        '',
      );
    }
  }
  if (status.purchase) {
    const p = status.purchase;
    lines.push(
      `**Bought:** ${cell(p.title)} (${cell(p.productId)}: ${cell(p.courses.join(', '))}) · ${amountMarkdown(p.amountMinor, p.currency)}${p.overriddenBy ? ` · product named by ${cell(p.overriddenBy)}` : ''}`,
      '',
    );
  }
  lines.push('| step | status | attempts | detail |', '| --- | --- | --- | --- |');
  for (const { name, label } of STEPS) {
    const step = status.steps[name];
    const detail = step.skippedBecause ?? step.lastError ?? Object.values(step.result ?? {}).join(', ');
    lines.push(`| ${label} | ${step.status} | ${step.attempts} | ${cell(String(detail ?? ''))} |`);
  }
  if (status.reviews.some((r) => r.resolution)) {
    lines.push('', '**Review history**');
    for (const r of status.reviews.filter((x) => x.resolution)) {
      lines.push(
        `- ${cell(r.id ?? r.step)}: ${r.resolution!.action} by ${cell(r.resolution!.reviewer)} ${cell(r.resolution!.note)}`,
      );
    }
  }
  return lines.join('\n');
}
