/**
 * What the Temporal Web UI shows for a payment: a one-line static summary set at start, and
 * "current details" (markdown) that the workflow rewrites at every step change, so an operator sees
 * where a payment is without querying it.
 */
import type { PaymentEvent } from '../domain/payment-event';
import { maskEmail, maskPhone } from '../domain/mask';
import { formatAmount } from '../domain/money';
import type { EnrollmentStatus, PaymentSource } from './messages';
import { STEPS } from './steps';

/** How a workflow not started by a webhook says so, in the Web UI's list and its details panel. */
export const SOURCE_LABEL: Record<PaymentSource, string> = {
  webhook: 'webhook',
  reconciliation: 'found by reconciliation (no webhook started it)',
  operator: "found by an operator's backfill (no webhook started it)",
};

export function paymentSummary(payment: PaymentEvent, source: PaymentSource = 'webhook'): string {
  const who = payment.student.name ?? 'unknown student';
  const course = payment.courseId ?? 'no course';
  const found = source === 'webhook' ? '' : ` · ${SOURCE_LABEL[source]}`;
  return `${who} · ${course} · ${formatAmount(payment.amountMinor, payment.currency)} · ${payment.provider} ${payment.paymentId}${found}`;
}

/** The payment as received, for the Web UI's static "Details" panel (student contact details masked). */
export function paymentDetails(payment: PaymentEvent, source: PaymentSource = 'webhook'): string {
  const rows: Array<[string, string | undefined]> = [
    ['Provider', payment.provider],
    ['Payment', payment.paymentId],
    ['Source', SOURCE_LABEL[source]],
    ['First event', `${payment.eventType}${payment.eventId ? ` (${payment.eventId})` : ''}`],
    ['Amount', formatAmount(payment.amountMinor, payment.currency)],
    ['Paid at', payment.paidAt],
    ['Course', payment.courseId],
    ['Student', payment.student.name],
    ['Email', maskEmail(payment.student.email)],
    ['Phone', maskPhone(payment.student.phone)],
  ];
  return detailsTable(rows);
}

/** The Web UI's static "Details" panel: a two-column Markdown table, an absent value as a dash. */
export function detailsTable(rows: Array<[string, string | undefined]>): string {
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${cell(v ?? '—')} |`)].join('\n');
}

const cell = (text: string | undefined) =>
  (text ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160);

export function renderCurrentDetails(status: EnrollmentStatus): string {
  const lines = [`**State:** ${status.state}`, ''];
  if (status.openReview) {
    const { id, step, openedAt, reason, kind } = status.openReview;
    lines.push(
      `**Needs review** \`${cell(id ?? step)}\` (${step}, since ${openedAt}): ${cell(reason)}`,
      '',
      `Resolve with signal \`resolveReview\` \`{"reviewId":"${cell(id ?? '')}","action":"retry|skip|abort","reviewer":"...","note":"..."}\``,
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
      `**Bought:** ${cell(p.title)} (${cell(p.productId)}: ${cell(p.courses.join(', '))}) · ${formatAmount(p.amountMinor, p.currency)}${p.overriddenBy ? ` · product named by ${cell(p.overriddenBy)}` : ''}`,
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
        `- ${r.id ?? r.step}: ${r.resolution!.action} by ${cell(r.resolution!.reviewer)} ${cell(r.resolution!.note)}`,
      );
    }
  }
  return lines.join('\n');
}
