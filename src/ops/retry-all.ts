/**
 * `retry-all`: one decision for many payments in review, e.g. after an outage is fixed. Dry run by
 * default: it lists what matches and what it would do, and sends nothing without --yes.
 *
 * Each matching workflow is re-checked with the status query before it is signalled (visibility lags,
 * and a query can match workflows that are not in review), and reviews whose retry could duplicate a
 * WhatsApp message (outcome unknown) are never retried in bulk: those need a person, one by one.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { resolveReviewSignal, type ResolveReviewInput, type StepName } from '../workflows/messages';
import type { OpsConnection } from './connect';
import { EXIT_FAILURE, EXIT_OK, OpsError } from './errors';
import { oneLine } from './format';
import { grpcMessage, isGrpcNotFound } from './grpc';
import { queryStatus } from './inspect';
import { mapWithConcurrency } from './pool';
import { countWorkflows, listPayments, NEEDS_REVIEW_QUERY, onlyRunning } from './visibility';

export { NEEDS_REVIEW_QUERY };

/** The one failure a retry can turn into a customer-visible duplicate (see src/activities/whatsapp.ts). */
const UNSAFE_TO_RETRY_IN_BULK = 'WhatsAppOutcomeUnknown';

export interface RetryAllOptions {
  query: string;
  input: ResolveReviewInput;
  /** Only reviews opened at this step (enroll: the LMS, welcome: WhatsApp, crm: HubSpot, details). */
  step?: StepName;
  /** Only reviews whose reason contains this text (case-insensitive), e.g. "error 190". */
  reasonContains?: string;
  yes: boolean;
  concurrency: number;
  limit: number;
}

export type Decision = 'eligible' | 'skipped' | 'signalled' | 'failed';

export interface RetryAllItem {
  workflowId: string;
  paymentId?: string;
  provider?: string;
  decision: Decision;
  step?: string;
  reviewId?: string;
  reason?: string;
  detail?: string;
}

export interface RetryAllResult {
  /** The query as sent to Temporal (the operator's, narrowed to running payment workflows). */
  query: string;
  matched: number;
  dryRun: boolean;
  action: string;
  items: RetryAllItem[];
  counts: Record<Decision, number>;
}

export async function retryAll(ops: OpsConnection, options: RetryAllOptions): Promise<RetryAllResult> {
  const query = onlyRunning(options.query);
  const matched = await countWorkflows(ops, query);
  if (matched > options.limit) {
    throw new OpsError(
      `${matched} running payment workflows match ${query}: more than --limit ${options.limit}; narrow the query or raise --limit`,
    );
  }
  const { payments } = await listPayments(ops, query, options.limit);
  const needle = options.reasonContains?.toLowerCase();

  const items = await mapWithConcurrency(
    payments,
    options.concurrency,
    async (listed): Promise<RetryAllItem> => {
      const item: RetryAllItem = {
        workflowId: listed.workflowId,
        paymentId: listed.paymentId,
        provider: listed.provider,
        decision: 'skipped',
      };
      let review;
      try {
        const status = await queryStatus(ops, listed.workflowId, listed.runId);
        review = status.state === 'needs_review' ? status.openReview : undefined;
        if (!review) return { ...item, detail: `not in review (state: ${status.state})` };
      } catch (err) {
        return {
          ...item,
          decision: 'failed',
          detail: err instanceof OpsError ? err.message : grpcMessage(err),
        };
      }
      Object.assign(item, { step: review.step, reason: review.reason, reviewId: review.id });
      if (options.step && review.step !== options.step) {
        return { ...item, detail: `review is at step ${review.step}, not ${options.step}` };
      }
      if (needle && !review.reason.toLowerCase().includes(needle)) {
        return { ...item, detail: `reason does not contain "${options.reasonContains}"` };
      }
      if (
        options.input.action === 'retry' &&
        (review.kind === 'outcome_unknown' || review.reason.startsWith(UNSAFE_TO_RETRY_IN_BULK))
      ) {
        return {
          ...item,
          detail:
            'WhatsApp outcome unknown: a retry may send a second welcome; decide it alone with `resolve`',
        };
      }
      if (!options.yes) return { ...item, decision: 'eligible' };
      try {
        // Each workflow's own open review: a review that opens after this check ignores the decision.
        const input = review.id ? { ...options.input, reviewId: review.id } : options.input;
        await ops.client.workflow.getHandle(listed.workflowId).signal(resolveReviewSignal, input);
        return { ...item, decision: 'signalled' };
      } catch (err) {
        // Visibility lags: a workflow listed as running may have closed since (then there is nothing to do).
        if (err instanceof WorkflowNotFoundError || isGrpcNotFound(err)) {
          return { ...item, detail: 'closed since it was listed' };
        }
        return { ...item, decision: 'failed', detail: `signal failed: ${grpcMessage(err)}` };
      }
    },
  );

  const counts: Record<Decision, number> = { eligible: 0, skipped: 0, signalled: 0, failed: 0 };
  for (const item of items) counts[item.decision] += 1;
  return { query, matched, dryRun: !options.yes, action: options.input.action, items, counts };
}

export function exitCodeOfRetryAll(result: RetryAllResult): number {
  return result.counts.failed > 0 ? EXIT_FAILURE : EXIT_OK;
}

export function renderRetryAll(result: RetryAllResult): string {
  const lines = [`${result.matched} running payment workflow(s) match ${result.query}`];
  const word: Record<Decision, string> = {
    eligible: result.dryRun ? `would ${result.action}` : 'eligible',
    skipped: 'skip',
    signalled: `sent ${result.action}`,
    failed: 'FAILED',
  };
  for (const item of result.items) {
    const why = item.detail
      ? `: ${item.detail}`
      : item.reason
        ? `: ${item.step} ${oneLine(item.reason, 100)}`
        : '';
    lines.push(`  ${word[item.decision].padEnd(12)} ${item.workflowId}${why}`);
  }
  const c = result.counts;
  if (result.dryRun) {
    lines.push(
      `Dry run: nothing sent. ${c.eligible} would get resolveReview(${result.action}), ${c.skipped} skipped${c.failed ? `, ${c.failed} could not be checked` : ''}.`,
    );
    if (c.eligible > 0) lines.push('Run again with --yes to send.');
  } else {
    lines.push(
      `Sent resolveReview(${result.action}) to ${c.signalled}; ${c.skipped} skipped; ${c.failed} failed.`,
    );
    if (c.signalled > 0) lines.push('Follow with: npm run ops -- reviews');
  }
  return `${lines.join('\n')}\n`;
}
