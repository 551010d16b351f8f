/**
 * The enrollment activities: one attempt each, classified into success, retryable failure (with the
 * downstream's requested delay) or non-retryable failure. Retrying is the workflow's retry policy's
 * job (`retry.nonRetryableErrorTypes = NON_RETRYABLE_ERROR_TYPES`), never a loop in here.
 *
 * Register on the worker: `activities: createActivities(config)`. Everything created here (the
 * HubSpot token cache above all) lives as long as the worker process and is shared by all executions.
 */
import type { WorkerConfig } from '../config';
import { type Catalog, loadCatalog } from '../catalog';
import { confirmPurchaseOnce, type ProviderRecordReader, providerRecordReader } from './confirm';
import { createLogger, type Logger } from '../runtime/logger';
import { currentAttempt } from './activity-context';
import { toActivityError } from './errors';
import type { ClassifyDeps, HttpDeps } from './http';
import { upsertContactOnce } from './hubspot';
import { HubSpotTokenCache } from './hubspot-token';
import { enrollStudentOnce } from './lms';
import type {
  ConfirmPurchaseInput,
  ConfirmPurchaseResult,
  EnrollStudentInput,
  EnrollStudentResult,
  SendWelcomeInput,
  SendWelcomeResult,
  UpsertContactInput,
  UpsertContactResult,
} from './types';
import { sendWelcomeOnce } from './whatsapp';

export { NON_RETRYABLE_ERROR_TYPES, RETRYABLE_ERROR_TYPES } from '../domain/failures';
export type { ActivityErrorType, NonRetryableErrorType, RetryableErrorType } from '../domain/failures';
export type * from './types';

export interface ActivityDeps {
  logger?: Logger;
  fetch?: typeof fetch;
  /** Clock for token expiry and Retry-After dates (epoch ms). */
  now?: () => number;
  /** Source of Retry-After jitter in [0, 1); injectable so tests can assert exact delays. */
  random?: () => number;
  /** The catalog; default: loaded from CATALOG_PATH (a bad file stops the worker at start-up). */
  catalog?: Catalog;
  /** How provider records are read; default: the providers' APIs. */
  readRecord?: ProviderRecordReader;
}

async function atBoundary<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw toActivityError(err, currentAttempt());
  }
}

export function createActivities(config: WorkerConfig, deps: ActivityDeps = {}) {
  const logger = deps.logger ?? createLogger('enrollflow-activities', config.LOG_LEVEL);
  const http: HttpDeps & ClassifyDeps = {
    // Resolved per call so a test or an instrumentation that swaps globalThis.fetch is honoured.
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    logger,
    timeoutMs: config.HTTP_TIMEOUT_MS,
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
  };
  const hubspotTokens = new HubSpotTokenCache(config, http);
  const confirmDeps = {
    catalog: deps.catalog ?? loadCatalog(config.CATALOG_PATH),
    readRecord: deps.readRecord ?? providerRecordReader(config, http),
    livemode: config.STRIPE_LIVEMODE,
  };

  // Arrow properties, not methods: the worker and tests take them off the object, so no `this`.
  return {
    /** Confirm the payment with its provider and resolve what it bought against the catalog. */
    confirmPurchase: (input: ConfirmPurchaseInput): Promise<ConfirmPurchaseResult> =>
      atBoundary(() => confirmPurchaseOnce(confirmDeps, input)),
    /** Enroll the student in the LMS course; 409 already_enrolled counts as success. */
    enrollStudent: (input: EnrollStudentInput): Promise<EnrollStudentResult> =>
      atBoundary(() => enrollStudentOnce(config, http, input)),
    /** Send the welcome template on WhatsApp; never retried once the request may have reached Meta. */
    sendWelcomeMessage: (input: SendWelcomeInput): Promise<SendWelcomeResult> =>
      atBoundary(() => sendWelcomeOnce(config, http, input)),
    /** Create or update the student's HubSpot contact, keyed by email. */
    upsertCrmContact: (input: UpsertContactInput): Promise<UpsertContactResult> =>
      atBoundary(() => upsertContactOnce(config, hubspotTokens, http, input)),
  };
}

export type EnrollmentActivities = ReturnType<typeof createActivities>;
