/**
 * The declarative retry policies of every downstream call, shared by the payment and access workflows.
 */
import type { Duration } from '@temporalio/common';
import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { EnrollmentActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/failures';

// One proxy per downstream: each has its own failure profile, so its own declarative retry policy.
// startToCloseTimeout sits above the HTTP client's own timeout (HTTP_TIMEOUT_MS, at most 12 s) so the
// activity classifies a slow downstream itself; the Temporal timeout only catches a lost worker.
// Each step is bounded by time, not attempts: retried for up to an hour with the interval capped at a
// minute (so a recovered downstream is used again within a minute), then a person looks (review).
export const downstream = (
  retry: Pick<RetryPolicy, 'initialInterval' | 'maximumInterval'>,
  startToCloseTimeout: Duration = '15s',
) =>
  proxyActivities<EnrollmentActivities>({
    startToCloseTimeout,
    scheduleToCloseTimeout: '1h',
    retry: { ...retry, backoffCoefficient: 2, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  });

/** The provider's API is only read, so retrying it is always safe; its 429s carry their own delay. */
export const provider = downstream({ initialInterval: '1s', maximumInterval: '1m' });

/**
 * Every LMS adapter is safe to repeat (the generic LMS by key, Moodle and Canvas by reading before they
 * write). One attempt may make several calls in a row (Moodle: course, user, create, two reads, enrol;
 * each allowed HTTP_TIMEOUT_MS), so its start-to-close timeout leaves room for six of them.
 */
export const lms = downstream({ initialInterval: '1s', maximumInterval: '1m' }, '90s');

/**
 * WhatsApp is NOT idempotent. The activity only raises a retryable failure when Meta certainly did not
 * accept the message (an error code, a refused connection); an unknown outcome is non-retryable. A
 * slower start and longer ceiling respect Meta's rate limits (131056 asks for its own delay).
 */
export const whatsapp = downstream({ initialInterval: '2s', maximumInterval: '2m' });

/** HubSpot upsert-by-email is idempotent; its rate limits come with their own Retry-After. */
export const crm = downstream({ initialInterval: '1s', maximumInterval: '1m' });

/**
 * Temporal itself, read by an access change: it waits, without a deadline, for as long as the payment's
 * own workflow runs (a payment in review waits for a person), asking again at the delay the activity
 * names (`PaymentStillRunning`).
 */
export const temporalReads = proxyActivities<EnrollmentActivities>({
  startToCloseTimeout: '15s',
  retry: {
    initialInterval: '2s',
    maximumInterval: '1m',
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});
