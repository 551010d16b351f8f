import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { AccessEvent } from '../domain/access-event';
import type { PaymentEvent } from '../domain/payment-event';
import { enrollmentWorkflowId } from '../domain/ids';
import {
  type EnrollmentWorkflowInput,
  enrollmentStateSearchAttribute,
  paymentDetailsSignal,
  paymentIdSearchAttribute,
  paymentProviderSearchAttribute,
  type PaymentSource,
  paymentSourceSearchAttribute,
  type StepName,
  statusQuery,
} from '../workflows/messages';
import type { enrollmentWorkflow } from '../workflows';
import { paymentDetails, paymentSummary } from '../workflows/details';
import { MAX_DETAILS_SIGNALS, detailsKey } from '../workflows/review';
import { ENROLLMENT_WORKFLOW_TYPE } from '../workflows/messages';
import { createAccessStarter } from './start-access';
import { type StartOutcome, type StarterOptions, TemporalUnavailableError } from './start-outcome';

export { type StartOutcome, type StarterOptions, TemporalUnavailableError } from './start-outcome';

/** Review steps a later delivery of the payment can resolve (see src/workflows/review.ts). */
const DETAILS_RESOLVE: ReadonlySet<StepName> = new Set(['details', 'confirm']);
const FORWARDED_KEYS_KEPT = 10_000;
/**
 * Forwards run after the duplicate's answer; a storm of duplicates while no worker answers queries
 * would otherwise pile up waiting ones. Past this, a delivery's details are not forwarded: the
 * provider's record is what the workflow trusts, and a later delivery may still bring them.
 */
const MAX_FORWARDS_IN_FLIGHT = 64;

export interface EnrollmentStarter {
  start(event: PaymentEvent): Promise<StartOutcome>;
  /**
   * Starts (or finds) the workflow of a refund, a dispute or an ended subscription (./start-access).
   * Optional only so that wrappers written before access events still compile: the receiver answers
   * an access event 500 (the provider redelivers it) when its starter has none, so whatever wraps the
   * starter must pass it on. A function property, not a method: it uses no `this`, so it may be
   * passed on detached (as src/webhook/main.ts does).
   */
  startAccess(event: AccessEvent): Promise<StartOutcome>;
  ready(): Promise<boolean>;
}

/**
 * Everything the receiver's start of a payment's workflow carries (reconciliation, the bench and the
 * history recorder start workflows exactly like it). The ID policies are explained at
 * `createEnrollmentStarter`; `source` says who found the payment (see `paymentSourceSearchAttribute`).
 */
export function enrollmentStartOptions(
  event: PaymentEvent,
  taskQueue: string,
  source: PaymentSource = 'webhook',
) {
  return {
    taskQueue,
    workflowId: enrollmentWorkflowId(event.provider, event.paymentId),
    args: [{ payment: event }] as [EnrollmentWorkflowInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    // Shown in the Web UI's workflow list and detail page.
    staticSummary: paymentSummary(event, source),
    staticDetails: paymentDetails(event, source),
    typedSearchAttributes: [
      { key: paymentIdSearchAttribute, value: event.paymentId },
      { key: paymentProviderSearchAttribute, value: event.provider },
      { key: enrollmentStateSearchAttribute, value: 'confirming' as const },
      { key: paymentSourceSearchAttribute, value: source },
    ],
  } satisfies WorkflowStartOptions<typeof enrollmentWorkflow>;
}

/**
 * Workflow-ID policies, chosen deliberately:
 * - Conflict FAIL: while the payment's workflow runs, a second start fails with
 *   WorkflowExecutionAlreadyStartedError, which we answer 200 "duplicate". (USE_EXISTING would hide
 *   whether this delivery started anything, and TERMINATE_EXISTING would be a disaster.)
 * - Reuse REJECT_DUPLICATE: once the workflow has closed, in ANY state (completed, aborted, failed,
 *   terminated by an operator), a redelivery is still a duplicate. A payment is processed once; a
 *   re-run is an operator's decision (`temporal workflow reset`), never a webhook's. This holds for as
 *   long as the namespace retains closed workflows, which is why retention must outlast the
 *   providers' redelivery horizon (see scripts and README).
 */
export function createEnrollmentStarter({
  client,
  taskQueue,
  startTimeoutMs,
  logger,
  source = 'webhook',
  forwardToRunning = true,
}: StarterOptions): EnrollmentStarter & { settle(): Promise<void> } {
  const withDeadline = <T>(ms: number, fn: () => Promise<T>) =>
    client.connection.withDeadline(Date.now() + ms, fn);

  // Content already forwarded to a workflow, so a storm of replays of one body costs no Temporal call
  // at all. Bounded: the oldest entries go first.
  const forwarded = new Set<string>();
  const inFlight = new Set<string>();
  const slotsUsed = new Map<string, number>();
  const forwards = new Set<Promise<void>>();
  const remember = (key: string) => {
    forwarded.add(key);
    if (forwarded.size > FORWARDED_KEYS_KEPT) forwarded.delete(forwarded.values().next().value!);
  };

  /**
   * A redelivery of a running payment may carry what the workflow is waiting for (the checkout session
   * after a bare payment intent). It is forwarded only while the workflow waits in review at a step a
   * delivery can resolve, and only with content it has not taken: every signal is a history event, and
   * a replayed body must not grow the history. The status query reads without writing any. Best effort:
   * the payment is already durable, so a failure here must not turn the ack into a 503.
   */
  async function forwardDetails(workflowId: string, event: PaymentEvent, remainingMs: number): Promise<void> {
    if (remainingMs < 100) return;
    const key = `${workflowId}:${detailsKey(event)}`;
    // Concurrent replays of one body would all pass the status check before the first signal lands:
    // only one of them asks.
    if (forwarded.has(key) || inFlight.has(key)) return;
    // Concurrent deliveries of different content would likewise all see room under the workflow's
    // bound: each receiver holds a slot per signal it may send, so it never sends more than the bound.
    const slots = slotsUsed.get(workflowId) ?? 0;
    if (slots >= MAX_DETAILS_SIGNALS) return;
    slotsUsed.set(workflowId, slots + 1);
    if (slotsUsed.size > FORWARDED_KEYS_KEPT) slotsUsed.delete(slotsUsed.keys().next().value!);
    inFlight.add(key);
    let sent = false;
    try {
      await withDeadline(remainingMs, async () => {
        const handle = client.workflow.getHandle(workflowId);
        const status = await handle.query(statusQuery);
        const waiting = status.openReview && DETAILS_RESOLVE.has(status.openReview.step);
        const seen = status.detailsSeen ?? [];
        if (!waiting || seen.includes(detailsKey(event)) || seen.length >= MAX_DETAILS_SIGNALS) return;
        await handle.signal(paymentDetailsSignal, event);
        sent = true;
        remember(key);
      });
    } catch (err) {
      logger.debug({ workflowId, err: (err as Error).message }, 'details not forwarded to existing workflow');
    } finally {
      inFlight.delete(key);
      if (!sent) {
        const used = slotsUsed.get(workflowId);
        if (used !== undefined) slotsUsed.set(workflowId, Math.max(0, used - 1));
      }
    }
  }

  return {
    startAccess: createAccessStarter({ client, taskQueue, startTimeoutMs, logger, source, forwardToRunning }),

    async start(event) {
      const workflowId = enrollmentWorkflowId(event.provider, event.paymentId);
      const startedAt = Date.now();
      try {
        await withDeadline(startTimeoutMs, () =>
          client.workflow.start<typeof enrollmentWorkflow>(
            ENROLLMENT_WORKFLOW_TYPE,
            enrollmentStartOptions(event, taskQueue, source),
          ),
        );
        return { status: 'started', workflowId };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          // The payment is durable: the answer does not wait for the forward. Its status query waits
          // for a worker, so awaiting it would hold every duplicate's 200 while the workers are down.
          if (forwardToRunning && forwards.size < MAX_FORWARDS_IN_FLIGHT) {
            const forward = forwardDetails(workflowId, event, startTimeoutMs - (Date.now() - startedAt));
            forwards.add(forward);
            void forward.finally(() => forwards.delete(forward));
          }
          return { status: 'duplicate', workflowId };
        }
        throw new TemporalUnavailableError(`could not start ${workflowId}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    },

    /** Waits for forwards still in flight (each within its deadline): before the connection closes. */
    async settle() {
      await Promise.allSettled([...forwards]);
    },

    async ready() {
      try {
        await withDeadline(1000, () => client.workflowService.getSystemInfo({}));
        return true;
      } catch {
        return false;
      }
    },
  };
}
