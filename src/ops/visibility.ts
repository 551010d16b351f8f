/**
 * Finding payment workflows by search attributes (PaymentId, PaymentProvider, EnrollmentState, plus
 * Temporal's own ExecutionStatus). Visibility is eventually consistent: a workflow that just changed
 * state may still be listed under the old one, so commands re-check each one with the status query.
 */
import type { WorkflowExecutionInfo } from '@temporalio/client';
import { paymentIdSearchAttribute, paymentProviderSearchAttribute } from '../workflows/messages';
import type { OpsConnection } from './connect';
import { EXIT_USAGE, OpsError } from './errors';
import { grpcMessage, isGrpcInvalidArgument } from './grpc';
import { ENROLLMENT_WORKFLOW_TYPE } from '../workflows/messages';

export const NEEDS_REVIEW_QUERY = 'EnrollmentState = "needs_review"';

/**
 * Only open workflows can take a signal. A workflow terminated while in review keeps its last
 * EnrollmentState ("needs_review") forever, so every query is narrowed to running ones.
 */
export const onlyRunning = (query: string): string =>
  `(${query}) AND ExecutionStatus = "Running" AND WorkflowType = "${ENROLLMENT_WORKFLOW_TYPE}"`;

export interface ListedPayment {
  workflowId: string;
  runId: string;
  provider?: string;
  paymentId?: string;
  startTime: Date;
}

const invalidQuery = (query: string, err: unknown) =>
  new OpsError(`invalid visibility query ${query}: ${grpcMessage(err)}`, EXIT_USAGE);

export async function countWorkflows(ops: OpsConnection, query: string): Promise<number> {
  try {
    return (await ops.client.workflow.count(query)).count;
  } catch (err) {
    if (isGrpcInvalidArgument(err)) throw invalidQuery(query, err);
    throw new OpsError(`could not count workflows: ${grpcMessage(err)}`);
  }
}

/** Up to `limit` matches (newest first, Temporal's order); `more` tells whether there were others. */
export async function listPayments(
  ops: OpsConnection,
  query: string,
  limit: number,
): Promise<{ payments: ListedPayment[]; more: boolean }> {
  const payments: ListedPayment[] = [];
  try {
    for await (const info of ops.client.workflow.list({ query, pageSize: Math.min(limit + 1, 1000) })) {
      if (payments.length === limit) return { payments, more: true };
      payments.push(toListed(info));
    }
  } catch (err) {
    if (isGrpcInvalidArgument(err)) throw invalidQuery(query, err);
    throw new OpsError(`could not list workflows: ${grpcMessage(err)}`);
  }
  return { payments, more: false };
}

function toListed(info: WorkflowExecutionInfo): ListedPayment {
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    provider: info.typedSearchAttributes.get(paymentProviderSearchAttribute),
    paymentId: info.typedSearchAttributes.get(paymentIdSearchAttribute),
    startTime: info.startTime,
  };
}
