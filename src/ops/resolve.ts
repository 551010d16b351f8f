/**
 * `resolve <payment> --action retry|skip|abort`: an operator's decision on a payment in manual review,
 * sent as the workflow's `resolveReview` signal. Signals cannot answer back, so the command checks
 * first (running, in review) and watches afterwards (did the workflow take it, where is it now).
 */
import {
  resolveReviewSignal,
  reviewActions,
  type EnrollmentState,
  type EnrollmentStatus,
  type EnrollmentSummary,
  type ResolveReviewInput,
  type ReviewAction,
  type ReviewRecord,
  type StudentDataPatch,
} from '../workflows/messages';
import { isValidEmail, normalisePhone } from '../domain/contact-rules';
import type { OpsConnection } from './connect';
import { EXIT_FAILURE, EXIT_OK, OpsError, UsageError } from './errors';
import { grpcMessage } from './grpc';
import { oneLine } from './format';
import { describePayment, queryStatus, readClosedOutcome } from './inspect';
import type { PaymentRef } from './payment-ref';

export interface PatchFlags {
  /** A catalog product to enroll anyway at a provider-confirmation review. */
  product?: string;
  courseId?: string;
  email?: string;
  phone?: string;
  name?: string;
}

export interface ResolveRequest {
  action: string;
  reviewer: string;
  note: string;
  patch?: PatchFlags;
}

export function isReviewAction(value: string): value is ReviewAction {
  return (reviewActions as readonly string[]).includes(value);
}

/** Checks everything that can be checked without Temporal, so a typo never reaches a workflow. */
export function buildResolveInput(
  request: ResolveRequest,
  allowed: readonly ReviewAction[] = reviewActions,
): ResolveReviewInput {
  const action = request.action.trim();
  if (!isReviewAction(action) || !allowed.includes(action)) {
    throw new UsageError(`invalid action "${request.action}": valid actions are ${allowed.join(', ')}`);
  }
  const reviewer = request.reviewer.trim();
  if (!reviewer) throw new UsageError('--reviewer must say who decides (e.g. your email)');
  const note = request.note.trim();
  if (!note) throw new UsageError('--note must say why (it is kept in the review history)');
  const patch = buildPatch(request.patch);
  if (patch && action === 'abort') {
    throw new UsageError(
      '--product/--course-id/--email/--phone/--name correct the data for a retry; they make no sense with abort',
    );
  }
  return { action, reviewer, note, ...(patch && { patch }) };
}

function buildPatch(flags: PatchFlags | undefined): StudentDataPatch | undefined {
  if (!flags) return undefined;
  const patch: StudentDataPatch = {};
  if (flags.product !== undefined) {
    if (!flags.product.trim()) throw new UsageError('--product must name a catalog product');
    patch.productId = flags.product.trim();
  }
  if (flags.courseId !== undefined) {
    if (!flags.courseId.trim()) throw new UsageError('--course-id must not be empty');
    patch.courseId = flags.courseId.trim();
  }
  if (flags.email !== undefined) {
    if (!isValidEmail(flags.email.trim()))
      throw new UsageError(`--email "${flags.email}" is not an email address`);
    patch.email = flags.email.trim();
  }
  if (flags.phone !== undefined) {
    const phone = normalisePhone(flags.phone);
    if (!phone) throw new UsageError(`--phone "${flags.phone}" is not an E.164 number (like +919876543210)`);
    patch.phone = phone;
  }
  if (flags.name !== undefined) {
    if (!flags.name.trim()) throw new UsageError('--name must not be empty');
    patch.name = flags.name.trim();
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

export type ResolveOutcome =
  /** The workflow closed (completed, completed with skips, aborted). */
  | 'closed'
  /** The decision was applied and the next attempt failed for good again: a new review is open. */
  | 'needs_review'
  /** Applied; still working (e.g. Temporal retrying a slow downstream) when the wait ended. */
  | 'in_progress'
  /** Sent, but the workflow had not applied it when the wait ended (is the worker running?). */
  | 'not_applied'
  /** The workflow refused it (another operator decided first, or the review closed by itself). */
  | 'ignored'
  /** --wait 0: sent, not watched. */
  | 'sent';

export interface ResolveResult {
  workflowId: string;
  paymentId: string;
  input: ResolveReviewInput;
  /** The review this decision closes. */
  review: ReviewRecord;
  outcome: ResolveOutcome;
  state?: EnrollmentState;
  execution?: string;
  summary?: EnrollmentSummary;
  newReview?: ReviewRecord;
  detail?: string;
}

/** Refuses unless the workflow is running and waiting in review: a signal would be ignored otherwise. */
export function assertInReview(workflowId: string, status: EnrollmentStatus): ReviewRecord {
  if (status.state !== 'needs_review' || !status.openReview) {
    throw new OpsError(
      `payment workflow ${workflowId} is not waiting for review (state: ${status.state}): nothing to resolve`,
    );
  }
  return status.openReview;
}

export async function resolvePayment(
  ops: OpsConnection,
  ref: PaymentRef,
  request: ResolveReviewInput,
  waitMs: number,
): Promise<ResolveResult> {
  const description = await describePayment(ops, ref.workflowId);
  if (description.status.name !== 'RUNNING') {
    throw new OpsError(
      `payment workflow ${ref.workflowId} is ${description.status.name.toLowerCase()}, not running: there is no review to resolve`,
    );
  }
  const before = await queryStatus(ops, ref.workflowId);
  const review = assertInReview(ref.workflowId, before);
  if (request.reviewId !== undefined && request.reviewId !== review.id) {
    throw new OpsError(
      `payment workflow ${ref.workflowId} has review ${review.id ?? '(no id)'} open, not ${request.reviewId}: check it with \`ops show\` before deciding`,
    );
  }
  // The decision names the review it was made for: if another opens before the signal lands, the
  // workflow ignores it instead of applying it to a review nobody looked at.
  const input: ResolveReviewInput = review.id ? { ...request, reviewId: review.id } : request;
  const reviewIndex = before.reviews.length - 1;
  const ignoredBefore = before.ignoredSignals.length;

  const handle = ops.client.workflow.getHandle(ref.workflowId);
  try {
    await handle.signal(resolveReviewSignal, input);
  } catch (err) {
    throw new OpsError(`could not signal ${ref.workflowId}: ${grpcMessage(err)}`);
  }
  const base = { workflowId: ref.workflowId, paymentId: ref.paymentId, input, review };
  if (waitMs <= 0) return { ...base, outcome: 'sent' };
  return { ...base, ...(await watch(ops, ref.workflowId, reviewIndex, ignoredBefore, waitMs)) };
}

type Watched = Pick<ResolveResult, 'outcome' | 'state' | 'execution' | 'summary' | 'newReview' | 'detail'>;

const POLL_MS = 250;

/** Polls until the decision has visibly played out, or the wait is over (bounded, never hangs). */
async function watch(
  ops: OpsConnection,
  workflowId: string,
  reviewIndex: number,
  ignoredBefore: number,
  waitMs: number,
): Promise<Watched> {
  const deadline = Date.now() + waitMs;
  let last: EnrollmentStatus | undefined;
  for (;;) {
    const description = await describePayment(ops, workflowId);
    if (description.status.name !== 'RUNNING') {
      const closed = await readClosedOutcome(ops, description);
      return {
        outcome: 'closed',
        execution: description.status.name,
        state: closed.summary ? (closed.summary.outcome === 'aborted' ? 'aborted' : 'completed') : undefined,
        summary: closed.summary,
        detail: closed.detail,
      };
    }
    last = await queryStatus(ops, workflowId).catch(() => last);
    if (last) {
      if (last.ignoredSignals.length > ignoredBefore) {
        return { outcome: 'ignored', state: last.state, detail: last.ignoredSignals.at(-1) };
      }
      const applied = last.reviews[reviewIndex]?.resolution !== undefined;
      if (applied && last.openReview && last.reviews.length > reviewIndex + 1) {
        return { outcome: 'needs_review', state: last.state, newReview: last.openReview };
      }
      if (Date.now() >= deadline) {
        return { outcome: applied ? 'in_progress' : 'not_applied', state: last.state };
      }
    } else if (Date.now() >= deadline) {
      return { outcome: 'not_applied', detail: 'the status query did not answer' };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function exitCodeOf(result: ResolveResult): number {
  return result.outcome === 'ignored' ? EXIT_FAILURE : EXIT_OK;
}

export function renderResolve(result: ResolveResult, waitMs: number): string {
  const { input, review } = result;
  const lines = [
    `Sent resolveReview(${input.action}) by ${input.reviewer} to ${result.workflowId} for the ${review.step} review: ${oneLine(review.reason, 160)}`,
  ];
  if (input.patch) lines.push(`  with corrected data: ${Object.keys(input.patch).join(', ')}`);
  const seconds = `${Math.round(waitMs / 1000)} s`;
  switch (result.outcome) {
    case 'closed': {
      const s = result.summary;
      lines.push(
        s
          ? `Now: workflow ${result.execution?.toLowerCase()}, outcome ${s.outcome}${s.enrollmentId ? `, enrollment ${s.enrollmentId}` : ''}${s.messageId ? `, message ${s.messageId}` : ''}${s.contactId ? `, contact ${s.contactId}` : ''}`
          : `Now: workflow ${result.execution?.toLowerCase()}${result.detail ? `: ${result.detail}` : ''}`,
      );
      break;
    }
    case 'needs_review':
      lines.push(
        `Now: back in review at step ${result.newReview?.step}: ${oneLine(result.newReview?.reason ?? '', 160)}`,
        'The decision was applied but the step failed for good again; fix the cause, then resolve again.',
      );
      break;
    case 'in_progress':
      lines.push(
        `Now: state ${result.state}, still working after ${seconds} (Temporal retries on its own); follow with: npm run ops -- show ${result.paymentId}`,
      );
      break;
    case 'not_applied':
      lines.push(
        `Not applied within ${seconds}${result.detail ? ` (${result.detail})` : ''}: the signal is in the history and runs when a worker picks it up. Is the worker running?`,
      );
      break;
    case 'ignored':
      lines.push(
        `REFUSED by the workflow: ${result.detail ?? 'unknown reason'} (did someone else decide first? npm run ops -- show ${result.paymentId})`,
      );
      break;
    case 'sent':
      lines.push(`Not waiting (--wait 0); check with: npm run ops -- show ${result.paymentId}`);
      break;
  }
  return `${lines.join('\n')}\n`;
}
