/**
 * Activity-side failures: `DownstreamFailure` classifies a failure inside the activity code with a
 * type from the vocabulary in src/domain/failures.ts; `toActivityError` turns it into the
 * ApplicationFailure that crosses the activity boundary, with `details[0] = { attempt, status?, code? }`.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { type ActivityErrorType, isNonRetryableType } from '../domain/failures';
import { redactContacts, redactError } from '../domain/mask';
import type { ActivityFailureDetails } from './types';

export interface DownstreamFailureInfo {
  status?: number;
  code?: string;
  /** Delay the downstream asked for (already clamped and jittered), becomes `nextRetryDelay`. */
  retryDelayMs?: number;
  cause?: unknown;
}

/**
 * A classified failure inside the activity code. It carries no attempt number on purpose: the HubSpot
 * token refresh is shared by concurrent activity executions, and each one reports its own attempt
 * when the failure crosses the activity boundary (`toApplicationFailure`). Its message and code may
 * quote a downstream (an SDK's error, a code from an error body), which can echo the student's email
 * or phone: both are masked (`redactContacts`), since they become the failure message, the review
 * reason and log lines.
 */
export class DownstreamFailure extends Error {
  override name = 'DownstreamFailure';
  readonly status?: number;
  readonly code?: string;
  readonly retryDelayMs?: number;

  constructor(
    readonly type: ActivityErrorType,
    message: string,
    info: DownstreamFailureInfo = {},
  ) {
    super(redactContacts(message), info.cause === undefined ? undefined : { cause: info.cause });
    this.status = info.status;
    this.code = info.code === undefined ? undefined : redactContacts(info.code);
    this.retryDelayMs = info.retryDelayMs;
  }

  get nonRetryable(): boolean {
    return isNonRetryableType(this.type);
  }
}

/** `instanceof Error` fails for errors from another realm (Node internals seen from a jest VM). */
function isErrorLike(value: unknown): value is Error {
  return (
    value instanceof Error ||
    (typeof value === 'object' &&
      value !== null &&
      typeof (value as Error).message === 'string' &&
      'stack' in value)
  );
}

export function toApplicationFailure(failure: DownstreamFailure, attempt: number): ApplicationFailure {
  const details: ActivityFailureDetails = { attempt };
  if (failure.status !== undefined) details.status = failure.status;
  if (failure.code !== undefined) details.code = failure.code;
  return ApplicationFailure.create({
    message: failure.message,
    type: failure.type,
    // Redundant with NON_RETRYABLE_ERROR_TYPES in the workflow's policy, on purpose: either one suffices.
    nonRetryable: failure.nonRetryable,
    nextRetryDelay: failure.nonRetryable ? undefined : failure.retryDelayMs,
    details: [details],
    // The cause (an SDK's error, say) crosses too: its message and stack may quote the request.
    cause: isErrorLike(failure.cause) ? redactError(failure.cause) : undefined,
  });
}

/**
 * The boundary every activity ends at: classified failures become ApplicationFailures, cancellation
 * passes through untouched, and anything unforeseen (a bug) is wrapped so it still carries the attempt.
 */
export function toActivityError(err: unknown, attempt: number): Error {
  if (err instanceof DownstreamFailure) return toApplicationFailure(err, attempt);
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  const cause = redactError(isErrorLike(err) ? err : new Error(String(err)));
  return ApplicationFailure.create({
    message: `Unexpected activity error: ${cause.message}`,
    type: cause.name || 'Error',
    details: [{ attempt } satisfies ActivityFailureDetails],
    cause,
  });
}
