/**
 * The failure vocabulary: every `ApplicationFailure.type` an activity raises, and which of them
 * Temporal may retry. One pure module because three parties must agree on it: the activities that
 * raise them (src/activities/errors.ts), the workflow's declarative retry policies (which list the
 * non-retryable ones) and the operators' dashboards and review reasons, which match on the names.
 *
 * Retryable (Temporal retries with the workflow's policy, or after `nextRetryDelay` when set):
 * - DownstreamUnavailable: 5xx, 408, 409 in-flight duplicate, connection refused / DNS failure, and
 *   resets on idempotent calls; WhatsApp codes 1, 2, 131000.
 * - RateLimited: 429, WhatsApp 130429 / 131056 / 4 / 80007; carries the server's delay when known.
 * - DownstreamTimeout: an idempotent call (LMS, HubSpot) ran past HTTP_TIMEOUT_MS.
 * - DownstreamBadResponse: a 2xx an idempotent call could not use (no id, not JSON).
 * - PaymentStillRunning: an access change waits for the payment's own workflow to close before it
 *   reads what was granted; asked again on the retry policy's backoff (capped at a minute).
 *
 * Not retryable (the workflow opens a manual review):
 * - InvalidActivityInput: the input broke the contract (e.g. phone not E.164); retrying cannot help.
 * - LmsRejected: the LMS refused this enrollment or change: generic 4xx (422 enrollment_rejected /
 *   invalid_request / idempotency_key_reused), Moodle invalidparameter / wsnoinstance /
 *   wsusercannotassign, Canvas 400 / 404; or the student's state there needs a person (suspended).
 * - LmsMisconfigured: the LMS refused enrollflow's credentials or permissions, or is not where its
 *   URL says (generic 401/403, Moodle invalidtoken / accessexception or a non-JSON answer, Canvas 401
 *   and 403 other than throttling): an operator fixes the configuration, then retries.
 * - WhatsAppRejected: Meta refused the message (131026, 131047, 190, 100, 132000, 132001, unknown 4xx).
 * - WhatsAppOutcomeUnknown: the request may have reached Meta but no answer came back (timeout, reset,
 *   unreadable 200). Sends are not idempotent, so an operator decides instead of risking a second message.
 * - CrmRejected: 4xx from HubSpot other than auth and rate limits, or a per-input error in the batch.
 * - HubSpotAuthFailed: the OAuth refresh was refused, or a fresh token was still answered with 401.
 * - ProviderRejected: a payment provider's API refused our credentials (401) or the request itself;
 *   the keys must be fixed before any confirmation can succeed.
 *
 * Workflow-safe: plain data, no Node built-ins.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'LmsRejected',
  'LmsMisconfigured',
  'WhatsAppRejected',
  'WhatsAppOutcomeUnknown',
  'CrmRejected',
  'HubSpotAuthFailed',
  'ProviderRejected',
  'InvalidActivityInput',
] as const;

export const RETRYABLE_ERROR_TYPES = [
  'DownstreamUnavailable',
  'RateLimited',
  'DownstreamTimeout',
  'DownstreamBadResponse',
  'PaymentStillRunning',
] as const;

export type NonRetryableErrorType = (typeof NON_RETRYABLE_ERROR_TYPES)[number];
export type RetryableErrorType = (typeof RETRYABLE_ERROR_TYPES)[number];
export type ActivityErrorType = NonRetryableErrorType | RetryableErrorType;

export function isNonRetryableType(type: string): type is NonRetryableErrorType {
  return (NON_RETRYABLE_ERROR_TYPES as readonly string[]).includes(type);
}
