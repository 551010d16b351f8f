/**
 * `reviews`: the manual-review queue. Every running payment workflow whose EnrollmentState is
 * needs_review, with why (the open review's reason), how long it has waited, and what is at stake.
 */
import type { PaymentProvider } from '../domain/payment-event';
import { maskEmail } from '../runtime/logger';
import type { StepName } from '../workflows/messages';
import type { OpsConnection } from './connect';
import { OpsError } from './errors';
import { ageSince, formatAge, table, type Column } from './format';
import { formatMajorUnits } from '../domain/money';
import { queryStatus, readStartedPayment } from './inspect';
import { mapWithConcurrency } from './pool';
import { listPayments, NEEDS_REVIEW_QUERY, onlyRunning } from './visibility';

/** Status queries run on the worker: a handful at a time keeps a large queue from crowding it. */
const QUERY_CONCURRENCY = 8;

export interface ReviewsOptions {
  provider?: PaymentProvider;
  limit: number;
  now: Date;
}

export interface ReviewRow {
  workflowId: string;
  provider?: string;
  paymentId?: string;
  step?: StepName;
  /** The open review's id, which a decision names. */
  reviewId?: string;
  reason?: string;
  openedAt?: string;
  /** Seconds since the review opened. */
  ageSeconds?: number;
  amountMinor?: number;
  currency?: string;
  amount: string;
  courseId?: string;
  /** Masked (`a***@example.com`): enough to recognise, not to identify. */
  student?: string;
  /** Set when the workflow could not be asked (no worker): the row then only has what visibility knows. */
  statusError?: string;
}

export interface ReviewsResult {
  query: string;
  reviews: ReviewRow[];
  /** More workflows matched than --limit. */
  truncated: boolean;
}

export async function listReviews(ops: OpsConnection, options: ReviewsOptions): Promise<ReviewsResult> {
  const filter = options.provider
    ? `${NEEDS_REVIEW_QUERY} AND PaymentProvider = "${options.provider}"`
    : NEEDS_REVIEW_QUERY;
  const query = onlyRunning(filter);
  const { payments, more } = await listPayments(ops, query, options.limit);

  const rows = await mapWithConcurrency(payments, QUERY_CONCURRENCY, async (listed) => {
    const [status, payment] = await Promise.allSettled([
      queryStatus(ops, listed.workflowId, listed.runId),
      readStartedPayment(ops, listed.workflowId, listed.runId),
    ]);
    const started = payment.status === 'fulfilled' ? payment.value : undefined;
    const row: ReviewRow = {
      workflowId: listed.workflowId,
      provider: listed.provider ?? started?.provider,
      paymentId: listed.paymentId ?? started?.paymentId,
      amountMinor: started?.amountMinor,
      currency: started?.currency,
      amount: formatMajorUnits(started?.amountMinor, started?.currency),
      courseId: started?.courseId,
      student: maskEmail(started?.student.email),
    };
    if (status.status === 'rejected') {
      row.statusError = status.reason instanceof OpsError ? status.reason.message : String(status.reason);
      return row;
    }
    const live = status.value;
    // Visibility lags the workflow a little: one that left review since the listing is dropped.
    if (live.state !== 'needs_review' || !live.openReview) return undefined;
    const age = ageSince(live.openReview.openedAt, options.now);
    return {
      ...row,
      step: live.openReview.step,
      reviewId: live.openReview.id,
      reason: live.openReview.reason,
      openedAt: live.openReview.openedAt,
      ageSeconds: age === undefined ? undefined : Math.floor(age / 1000),
      // An operator's patch may have corrected these since the start.
      courseId: live.courseId ?? row.courseId,
      student: maskEmail(live.student.email) ?? row.student,
    };
  });

  const reviews = rows
    .filter((r): r is ReviewRow => r !== undefined)
    // Oldest first: the payment that has waited longest is the most urgent.
    .sort((a, b) => (b.ageSeconds ?? -1) - (a.ageSeconds ?? -1));
  return { query, reviews, truncated: more };
}

const columns: ReadonlyArray<Column<ReviewRow>> = [
  { header: 'PAYMENT', value: (r) => r.paymentId ?? r.workflowId },
  { header: 'PROVIDER', value: (r) => r.provider ?? '?' },
  { header: 'REVIEW', value: (r) => r.reviewId ?? r.step ?? '?' },
  { header: 'AGE', value: (r) => (r.ageSeconds === undefined ? '?' : formatAge(r.ageSeconds * 1000)) },
  { header: 'AMOUNT', value: (r) => r.amount },
  { header: 'COURSE', value: (r) => r.courseId ?? '-' },
  { header: 'STUDENT', value: (r) => r.student ?? '-' },
  { header: 'REASON', value: (r) => r.reason ?? `(${r.statusError ?? 'unknown'})`, max: 90 },
];

export function renderReviews(result: ReviewsResult, limit: number): string {
  if (result.reviews.length === 0) return 'No payments need review.\n';
  const n = result.reviews.length;
  let out = table(result.reviews, columns);
  out += `\n${n} payment${n === 1 ? '' : 's'} need${n === 1 ? 's' : ''} review.`;
  if (result.truncated) out += ` Only the first ${limit} are shown; raise --limit to see more.`;
  out +=
    '\nDetails: npm run ops -- show <payment id>. Decide: npm run ops -- resolve <payment id> --action retry|skip|abort ...\n';
  return out;
}
