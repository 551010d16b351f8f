/**
 * Reading one payment workflow: its execution (describe), its live status (the `status` query), the
 * payment it was started with (first history event) and, once closed, how it ended. Every failure
 * becomes an OpsError naming the workflow, so commands never print a stack trace for a wrong id.
 */
import {
  WorkflowFailedError,
  WorkflowNotFoundError,
  type WorkflowExecutionDescription,
} from '@temporalio/client';
import { arrayFromPayloads, type Payload } from '@temporalio/common';
import { paymentEventSchema, type PaymentEvent } from '../domain/payment-event';
import {
  statusQuery,
  type EnrollmentStatus,
  type EnrollmentSummary,
  type EnrollmentWorkflowInput,
} from '../workflows/messages';
import type { OpsConnection } from './connect';
import { OpsError } from './errors';
import { grpcMessage, isDeadlineExceeded, isGrpcNotFound } from './grpc';
import { ENROLLMENT_WORKFLOW_TYPE } from '../workflows/messages';

/** A query is answered by a worker; without one it would hang until the RPC deadline. */
export const QUERY_TIMEOUT_MS = 5_000;

export const notFound = (ops: Pick<OpsConnection, 'namespace'>, workflowId: string) =>
  new OpsError(`no payment workflow ${workflowId} in namespace ${ops.namespace}`);

export async function describePayment(
  ops: OpsConnection,
  workflowId: string,
): Promise<WorkflowExecutionDescription> {
  let description: WorkflowExecutionDescription;
  try {
    description = await ops.client.workflow.getHandle(workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || isGrpcNotFound(err)) throw notFound(ops, workflowId);
    throw new OpsError(`could not describe ${workflowId}: ${grpcMessage(err)}`);
  }
  if (description.type !== ENROLLMENT_WORKFLOW_TYPE) {
    throw new OpsError(
      `${workflowId} is a ${description.type} workflow, not a payment (${ENROLLMENT_WORKFLOW_TYPE})`,
    );
  }
  return description;
}

/** The workflow's own view of its steps and reviews. Needs a worker polling the workflow's task queue. */
export async function queryStatus(
  ops: OpsConnection,
  workflowId: string,
  runId?: string,
): Promise<EnrollmentStatus> {
  const handle = ops.client.workflow.getHandle(workflowId, runId);
  try {
    return await ops.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
      handle.query(statusQuery),
    );
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || isGrpcNotFound(err)) throw notFound(ops, workflowId);
    const why = isDeadlineExceeded(err)
      ? `no answer within ${QUERY_TIMEOUT_MS / 1000} s (is a worker polling its task queue?)`
      : grpcMessage(err);
    throw new OpsError(`could not query the status of ${workflowId}: ${why}`);
  }
}

/**
 * The payment the workflow was started with (amount, currency, when it was paid): the status query
 * does not carry the amount, and describe() does not carry the input.
 *
 * Read as ONE history page of ONE event (the first, WorkflowExecutionStarted, holds the input) rather
 * than `handle.fetchHistory()`, which downloads every page of the history: this is a single small RPC
 * whatever the history's length, needs no worker (unlike a query), works on closed workflows, and
 * can never be stale, because a workflow's input is immutable (a reset run copies it).
 */
export async function readStartedPayment(
  ops: OpsConnection,
  workflowId: string,
  runId?: string,
): Promise<PaymentEvent | undefined> {
  const response = await ops.client.workflowService.getWorkflowExecutionHistory({
    namespace: ops.namespace,
    execution: { workflowId, runId },
    maximumPageSize: 1,
  });
  const first = response.history?.events?.[0];
  let payloads = (first?.workflowExecutionStartedEventAttributes?.input?.payloads ?? []) as Payload[];
  const converter = ops.client.options.loadedDataConverter;
  // Codecs encode in order, so decode in reverse; the default client has none.
  for (const codec of [...converter.payloadCodecs].reverse()) payloads = await codec.decode(payloads);
  const [input] = arrayFromPayloads(converter.payloadConverter, payloads) as [
    EnrollmentWorkflowInput | undefined,
  ];
  const parsed = paymentEventSchema.safeParse(input?.payment);
  return parsed.success ? parsed.data : undefined;
}

export interface ClosedOutcome {
  /** The workflow's return value, when it completed. */
  summary?: EnrollmentSummary;
  /** Why it ended otherwise (terminated: the operator's reason; failed: the failure). */
  detail?: string;
}

export async function readClosedOutcome(
  ops: OpsConnection,
  description: WorkflowExecutionDescription,
): Promise<ClosedOutcome> {
  const handle = ops.client.workflow.getHandle(description.workflowId, description.runId);
  if (description.status.name === 'COMPLETED') {
    return { summary: (await handle.result()) as EnrollmentSummary };
  }
  if (description.status.name === 'TERMINATED') {
    // The last event carries who terminated it and why: one reverse page of one event.
    const response = await ops.client.workflowService.getWorkflowExecutionHistoryReverse({
      namespace: ops.namespace,
      execution: { workflowId: description.workflowId, runId: description.runId },
      maximumPageSize: 1,
    });
    const last = response.history?.events?.[0]?.workflowExecutionTerminatedEventAttributes;
    return {
      detail: last ? `terminated by ${last.identity || 'unknown'}: ${last.reason || 'no reason'}` : undefined,
    };
  }
  try {
    await handle.result();
    return {};
  } catch (err) {
    if (err instanceof WorkflowFailedError) return { detail: err.cause?.message ?? err.message };
    return { detail: grpcMessage(err) };
  }
}
