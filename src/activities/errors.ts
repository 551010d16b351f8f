/**
 * The failure vocabulary of the activities. Every failure leaves an activity as an ApplicationFailure
 * whose `type` is one of the names below (stable: the workflow and dashboards match on them) and whose
 * `details[0]` is `{ attempt, status?, code? }`.
 *
 * Retryable (Temporal retries with the workflow's policy, or after `nextRetryDelay` when set):
 * - DownstreamUnavailable: 5xx, 408, 409 in-flight duplicate, connection refused / DNS failure, and
 *   resets on idempotent calls; WhatsApp codes 1, 2, 131000.
 * - RateLimited: 429, WhatsApp 130429 / 131056 / 4 / 80007; carries the server's delay when known.
 * - DownstreamTimeout: an idempotent call (LMS, HubSpot) ran past HTTP_TIMEOUT_MS.
 * - DownstreamBadResponse: a 2xx an idempotent call could not use (no id, not JSON).
 *
 * Not retryable (listed in NON_RETRYABLE_ERROR_TYPES; the workflow opens a manual review):
 * - InvalidActivityInput: the input broke the contract (e.g. phone not E.164); retrying cannot help.
 * - LmsRejected: 4xx from the LMS (422 enrollment_rejected / invalid_request / idempotency_key_reused).
 * - WhatsAppRejected: Meta refused the message (131026, 131047, 190, 100, 132000, 132001, unknown 4xx).
 * - WhatsAppOutcomeUnknown: the request may have reached Meta but no answer came back (timeout, reset,
 *   unreadable 200). Sends are not idempotent, so an operator decides instead of risking a second message.
 * - CrmRejected: 4xx from HubSpot other than auth and rate limits, or a per-input error in the batch.
 * - HubSpotAuthFailed: the OAuth refresh was refused, or a fresh token was still answered with 401.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NON_RETRYABLE_ERROR_TYPES, type NonRetryableErrorType } from '../shared/activity-errors';
import type { ActivityFailureDetails } from './types';

// The non-retryable list lives in src/shared so the workflow's retry policies can import it by value.
export { NON_RETRYABLE_ERROR_TYPES };

export const RETRYABLE_ERROR_TYPES = [
  'DownstreamUnavailable',
  'RateLimited',
  'DownstreamTimeout',
  'DownstreamBadResponse',
] as const;

export type { NonRetryableErrorType };
export type RetryableErrorType = (typeof RETRYABLE_ERROR_TYPES)[number];
export type ActivityErrorType = NonRetryableErrorType | RetryableErrorType;

export function isNonRetryableType(type: string): type is NonRetryableErrorType {
  return (NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(type);
}

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
 * when the failure crosses the activity boundary (`toApplicationFailure`).
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
    super(message, info.cause === undefined ? undefined : { cause: info.cause });
    this.status = info.status;
    this.code = info.code;
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
    cause: isErrorLike(failure.cause) ? failure.cause : undefined,
  });
}

/**
 * The boundary every activity ends at: classified failures become ApplicationFailures, cancellation
 * passes through untouched, and anything unforeseen (a bug) is wrapped so it still carries the attempt.
 */
export function toActivityError(err: unknown, attempt: number): Error {
  if (err instanceof DownstreamFailure) return toApplicationFailure(err, attempt);
  if (err instanceof CancelledFailure || err instanceof ApplicationFailure) return err;
  const cause = isErrorLike(err) ? err : new Error(String(err));
  return ApplicationFailure.create({
    message: `Unexpected activity error: ${cause.message}`,
    type: cause.name || 'Error',
    details: [{ attempt } satisfies ActivityFailureDetails],
    cause,
  });
}
