/**
 * Starting the workflow of money going back (a refund, a dispute, an ended subscription), with the
 * same promises as a payment's start: the answer waits until Temporal has durably accepted it, within
 * the same deadline, and a redelivery is a duplicate.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { type AccessEvent, accessCauseKey, accessWorkflowId } from '../domain/access-event';
import type { accessWorkflow } from '../workflows';
import {
  ACCESS_WORKFLOW_TYPE,
  type AccessWorkflowInput,
  accessEventSignal,
} from '../workflows/access-messages';
import {
  enrollmentStateSearchAttribute,
  paymentIdSearchAttribute,
  paymentProviderSearchAttribute,
  type PaymentSource,
  paymentSourceSearchAttribute,
} from '../workflows/messages';
import { SOURCE_LABEL, detailsTable } from '../workflows/details';
import { escapeMarkdown } from '../workflows/markdown';
import { type StartOutcome, type StarterOptions, TemporalUnavailableError } from './start-outcome';

/** The `EnrollmentState` an access workflow shows from its start until it decides. */
export const ACCESS_START_STATE = 'changing_access';

/** Dispute events already signalled by this process, so replaying one body costs no Temporal call. */
const SIGNALLED_KEYS_KEPT = 10_000;

const KIND_LABEL: Record<AccessEvent['kind'], string> = {
  refund: 'Refund',
  dispute: 'Dispute',
  subscription: 'Subscription ended',
};

/** The Web UI's one line for the workflow: ids and what the event says, nothing about the student. */
export function accessSummary(event: AccessEvent, source: PaymentSource = 'webhook'): string {
  const refunded = event.refundedMinor === undefined ? '' : ` (${event.refundedMinor} refunded in all)`;
  const payment = event.paymentId ? ` of ${event.paymentId}` : '';
  // The ids are `[A-Za-z0-9_]`; the status is the provider's free text, so it is escaped.
  const status = event.status ? ` · ${escapeMarkdown(event.status)}` : '';
  const found = source === 'webhook' ? '' : ` · ${SOURCE_LABEL[source]}`;
  return `${KIND_LABEL[event.kind]} ${event.causeId}${refunded}${payment} · ${event.provider}${status}${found}`;
}

/** The event as received, for the Web UI's static "Details" panel (every value escaped). */
export function accessDetails(event: AccessEvent, source: PaymentSource = 'webhook'): string {
  const rows: Array<[string, string | undefined]> = [
    ['Provider', event.provider],
    ['Source', SOURCE_LABEL[source]],
    ['Change', event.kind],
    ['Cause', event.causeId],
    ['Refunded in all (minor units)', event.refundedMinor?.toString()],
    ['Payment', event.paymentId],
    ['Status (as the event says)', event.status],
    ['First event', `${event.eventType}${event.eventId ? ` (${event.eventId})` : ''}`],
    ['Event created', event.eventCreatedAt],
  ];
  return detailsTable(rows);
}

/** Everything the receiver's start of an access workflow carries; the ID policies are a payment's. */
export function accessStartOptions(event: AccessEvent, taskQueue: string, source: PaymentSource = 'webhook') {
  return {
    taskQueue,
    workflowId: accessWorkflowId(event),
    args: [{ change: event }] as [AccessWorkflowInput],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    staticSummary: accessSummary(event, source),
    staticDetails: accessDetails(event, source),
    typedSearchAttributes: [
      // An ended subscription, or an old Stripe charge, names no payment.
      ...(event.paymentId ? [{ key: paymentIdSearchAttribute, value: event.paymentId }] : []),
      { key: paymentProviderSearchAttribute, value: event.provider },
      { key: enrollmentStateSearchAttribute, value: ACCESS_START_STATE },
      { key: paymentSourceSearchAttribute, value: source },
    ],
  } satisfies WorkflowStartOptions<typeof accessWorkflow>;
}

/** A payment's starter options: the access starter is made with the same. */
export type AccessStarterOptions = StarterOptions;

/**
 * One workflow per refund, dispute and ended subscription (`accessWorkflowId`), with a payment's ID
 * policies: conflict FAIL, reuse REJECT_DUPLICATE, so a redelivery is answered "duplicate" while the
 * workflow runs and after it closed. A dispute has several events (created, then won or lost, then
 * closed) under one id: a later one finds its workflow started and is signalled to it, within what is
 * left of the deadline, before the answer. A refund or a subscription has one event that matters; its
 * redelivery is just a duplicate.
 */
export function createAccessStarter({
  client,
  taskQueue,
  startTimeoutMs,
  logger,
  source = 'webhook',
  forwardToRunning = true,
}: AccessStarterOptions): (event: AccessEvent) => Promise<StartOutcome> {
  // The signed body's content: a genuine later event differs in type or time, a replay does not.
  // Every signal is a history event, and a replayed body must not grow the history.
  const contentKey = (workflowId: string, event: AccessEvent) =>
    `${workflowId}:${event.eventType}:${event.status ?? ''}:${event.eventCreatedAt}`;
  const signalled = new Set<string>();
  const remember = (key: string) => {
    signalled.add(key);
    if (signalled.size > SIGNALLED_KEYS_KEPT) signalled.delete(signalled.values().next().value!);
  };

  /**
   * Throws TemporalUnavailableError unless the running workflow has the event, or has closed. A
   * closed dispute workflow has decided already, and Temporal keeps it closed (REJECT_DUPLICATE), so
   * a later event is acknowledged as a duplicate for an operator to read in the logs, not redelivered.
   */
  async function signalDispute(workflowId: string, event: AccessEvent, deadline: number): Promise<void> {
    const key = contentKey(workflowId, event);
    if (signalled.has(key)) return;
    try {
      await client.connection.withDeadline(deadline, () =>
        client.workflow.getHandle(workflowId).signal(accessEventSignal, event),
      );
      remember(key);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        logger.info(
          { workflowId, eventType: event.eventType, cause: accessCauseKey(event) },
          'dispute event for a closed access workflow: not signalled',
        );
        return;
      }
      throw new TemporalUnavailableError(`could not signal ${workflowId}: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  return async (event) => {
    const options = accessStartOptions(event, taskQueue, source);
    const { workflowId } = options;
    const deadline = Date.now() + startTimeoutMs;
    try {
      await client.connection.withDeadline(deadline, () =>
        client.workflow.start<typeof accessWorkflow>(ACCESS_WORKFLOW_TYPE, options),
      );
      // The workflow has this event as its input: a redelivery of it need not be signalled.
      if (event.kind === 'dispute') remember(contentKey(workflowId, event));
      return { status: 'started', workflowId };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
        throw new TemporalUnavailableError(`could not start ${workflowId}: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    if (event.kind === 'dispute' && forwardToRunning) await signalDispute(workflowId, event, deadline);
    return { status: 'duplicate', workflowId };
  };
}
