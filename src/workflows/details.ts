/**
 * What the Temporal Web UI shows for a payment: a one-line static summary set at start, and
 * "current details" (markdown) that the workflow rewrites at every step change, so an operator sees
 * where a payment is without querying it.
 */
import type { PaymentEvent } from '../shared/payment-event';
import { maskEmail, maskPhone } from '../shared/mask';
import { formatAmount } from '../shared/money';
import type { EnrollmentStatus, StepName } from './messages';

export function paymentSummary(payment: PaymentEvent): string {
  const who = payment.student.name ?? 'unknown student';
  const course = payment.courseId ?? 'no course';
  return `${who} · ${course} · ${formatAmount(payment.amountMinor, payment.currency)} · ${payment.provider} ${payment.paymentId}`;
}

/** The payment as received, for the Web UI's static "Details" panel (student contact details masked). */
export function paymentDetails(payment: PaymentEvent): string {
  const rows: Array<[string, string | undefined]> = [
    ['Provider', payment.provider],
    ['Payment', payment.paymentId],
    ['First event', `${payment.eventType}${payment.eventId ? ` (${payment.eventId})` : ''}`],
    ['Amount', formatAmount(payment.amountMinor, payment.currency)],
    ['Paid at', payment.paidAt],
    ['Course', payment.courseId],
    ['Student', payment.student.name],
    ['Email', maskEmail(payment.student.email)],
    ['Phone', maskPhone(payment.student.phone)],
  ];
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${cell(v ?? '—')} |`)].join('\n');
}

const STEP_LABEL: Record<StepName, string> = {
  details: 'Student data',
  enroll: 'LMS enrollment',
  welcome: 'WhatsApp welcome',
  crm: 'CRM contact',
};

const cell = (text: string | undefined) =>
  (text ?? '').replace(/\|/g, '\\|').replace(/\s+/g, ' ').slice(0, 160);

export function renderCurrentDetails(status: EnrollmentStatus): string {
  const lines = [`**State:** ${status.state}`, ''];
  if (status.openReview) {
    lines.push(
      `**Needs review** (${status.openReview.step}, since ${status.openReview.openedAt}): ${cell(status.openReview.reason)}`,
      '',
      'Resolve with signal `resolveReview` `{"action":"retry|skip|abort","reviewer":"...","note":"..."}`',
      '',
    );
  }
  lines.push('| step | status | attempts | detail |', '| --- | --- | --- | --- |');
  for (const [name, step] of Object.entries(status.steps) as Array<
    [StepName, EnrollmentStatus['steps'][StepName]]
  >) {
    const detail = step.skippedBecause ?? step.lastError ?? Object.values(step.result ?? {}).join(', ');
    lines.push(`| ${STEP_LABEL[name]} | ${step.status} | ${step.attempts} | ${cell(String(detail ?? ''))} |`);
  }
  if (status.reviews.some((r) => r.resolution)) {
    lines.push('', '**Review history**');
    for (const r of status.reviews.filter((x) => x.resolution)) {
      lines.push(
        `- ${r.step}: ${r.resolution!.action} by ${cell(r.resolution!.reviewer)} ${cell(r.resolution!.note)}`,
      );
    }
  }
  return lines.join('\n');
}
