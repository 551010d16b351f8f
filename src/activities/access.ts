/**
 * The reads an access change makes beside the LMS: the provider's word on the refund, dispute or
 * subscription (`confirmAccessChangeOnce`), and what the payment's own workflow granted
 * (`readGrantOnce`), asked of Temporal once that workflow has closed. `stopGrantingOnce` tells a
 * payment still running that its money went back, so it grants nothing more.
 */
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import type { Catalog } from '../catalog';
import { accessPolicySchema } from '../catalog/schema';
import { enrollmentWorkflowId } from '../domain/ids';
import {
  type EnrollmentStatus,
  type EnrollmentSummary,
  moneyBackSignal,
  statusQuery,
} from '../workflows/messages';
import { currentAttempt } from './activity-context';
import { DownstreamFailure } from './errors';
import type {
  ConfirmAccessChangeInput,
  ConfirmAccessChangeResult,
  PaymentRef,
  ReadGrantResult,
  StopGrantingInput,
  StopGrantingResult,
} from './types';

export type ChangeReader = (
  change: ConfirmAccessChangeInput['change'],
) => Promise<Omit<ConfirmAccessChangeResult, 'attempt'>>;

export async function confirmAccessChangeOnce(
  read: ChangeReader,
  input: ConfirmAccessChangeInput,
): Promise<ConfirmAccessChangeResult> {
  const attempt = currentAttempt();
  return { ...(await read(input.change)), attempt };
}

export interface GrantDeps {
  /** Absent in a worker without a Temporal client (unit tests of other activities). */
  temporal?: Client;
  catalog: Catalog;
}

function clientOf(deps: GrantDeps): Client {
  if (!deps.temporal)
    throw new Error('access activities need a Temporal client (createActivities deps.temporal)');
  return deps.temporal;
}

const unavailable = (what: string, err: unknown) =>
  new DownstreamFailure('DownstreamUnavailable', `Temporal ${what}: ${(err as Error).message}`, {
    cause: err,
  });

export async function readGrantOnce(
  deps: GrantDeps,
  input: { payment: PaymentRef },
): Promise<ReadGrantResult> {
  const attempt = currentAttempt();
  const workflowId = enrollmentWorkflowId(input.payment.provider, input.payment.paymentId);
  const handle = clientOf(deps).workflow.getHandle(workflowId);
  let closed: string;
  try {
    const description = await handle.describe();
    if (description.status.name === 'RUNNING') {
      // Asked again by the retry policy: soon at first (a payment told to stop closes in moments),
      // then at most once a minute (one waiting in review may wait for days).
      throw new DownstreamFailure(
        'PaymentStillRunning',
        `${workflowId} is still running: what it grants is read once it has closed`,
      );
    }
    closed = description.status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { seen: false, attempt };
    if (err instanceof DownstreamFailure) throw err;
    throw unavailable(`describe ${workflowId}`, err);
  }

  // The status query answers for every closed payment (the worker replays its history); the result
  // only for one that completed.
  let status: EnrollmentStatus;
  let summary: EnrollmentSummary | undefined;
  try {
    status = await handle.query(statusQuery);
    summary = closed === 'COMPLETED' ? ((await handle.result()) as EnrollmentSummary) : undefined;
  } catch (err) {
    throw unavailable(`read ${workflowId}`, err);
  }
  const productId = summary?.productId ?? status.purchase?.productId;
  const product = productId ? deps.catalog.productById.get(productId) : undefined;
  return {
    seen: true,
    outcome: summary?.outcome ?? closed.toLowerCase(),
    productId,
    courses: summary?.courses ?? status.purchase?.courses ?? [],
    // A bundle keeps the enrollment ids of the courses it enrolled even when a later course failed.
    enrolled: status.steps.enroll.status === 'succeeded' || Boolean(status.steps.enroll.result?.enrollmentId),
    ...createdBy(status.steps.enroll.result),
    student: status.student,
    amountMinor: status.purchase?.amountMinor,
    currency: status.purchase?.currency,
    // A product no longer in the catalog keeps the safe defaults.
    policy: product?.access ?? accessPolicySchema.parse({}),
    attempt,
  };
}

/** The courses the payment's enrollments made, when its record keeps them (see KeptResults.enroll). */
function createdBy(result: Record<string, string | boolean> | undefined): { created?: string[] } {
  const created = result?.created;
  return typeof created === 'string' ? { created: created.split(',').filter(Boolean) } : {};
}

export async function stopGrantingOnce(
  deps: GrantDeps,
  input: StopGrantingInput,
): Promise<StopGrantingResult> {
  const attempt = currentAttempt();
  const workflowId = enrollmentWorkflowId(input.payment.provider, input.payment.paymentId);
  try {
    await clientOf(deps)
      .workflow.getHandle(workflowId)
      .signal(moneyBackSignal, { cause: input.cause, reason: input.reason });
    return { told: true, attempt };
  } catch (err) {
    // Closed, or never started: nothing is granting, so there is nobody to tell.
    if (err instanceof WorkflowNotFoundError) return { told: false, attempt };
    throw unavailable(`signal ${workflowId}`, err);
  }
}
