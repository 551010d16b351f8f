/**
 * The enrollment activities: one attempt each, classified into success, retryable failure (with the
 * downstream's requested delay) or non-retryable failure. Retrying is the workflow's retry policy's
 * job (`retry.nonRetryableErrorTypes = NON_RETRYABLE_ERROR_TYPES`), never a loop in here.
 *
 * Register on the worker: `activities: createActivities(config)`. Everything created here (the
 * HubSpot token cache above all) lives as long as the worker process and is shared by all executions.
 */
import type { Tracer } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import type { WorkerConfig } from '../config';
import { confirmAccessChangeOnce, type ChangeReader, readGrantOnce, stopGrantingOnce } from './access';
import { type Catalog, loadCatalog } from '../catalog';
import { confirmPurchaseOnce, type ProviderRecordReader, providerRecordReader } from './confirm';
import { createLogger, type Logger } from '../runtime/logger';
import { currentAttempt } from './activity-context';
import { toActivityError } from './errors';
import type { ClassifyDeps, HttpDeps } from './http';
import { upsertContactOnce } from './hubspot';
import { HubSpotTokenCache } from './hubspot-token';
import { changeAccessOnce, createLms, enrollStudentOnce } from './lms';
import { readRazorpayChange } from './providers/razorpay-changes';
import { listRazorpayPage } from './providers/razorpay-listing';
import { readStripeChange } from './providers/stripe-changes';
import { listStripeEventsPage } from './providers/stripe-listing';
import { type PageLister, reconcilePageOnce } from './reconcile';
import type { ReconcilePageInput, ReconcilePageResult } from '../domain/reconcile';
import type {
  ChangeAccessInput,
  ChangeAccessResult,
  ConfirmAccessChangeInput,
  ConfirmAccessChangeResult,
  ConfirmPurchaseInput,
  ConfirmPurchaseResult,
  EnrollStudentInput,
  EnrollStudentResult,
  PaymentRef,
  ReadGrantResult,
  SendWelcomeInput,
  SendWelcomeResult,
  StopGrantingInput,
  StopGrantingResult,
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
  /** How refunds, disputes and subscriptions are read; default: the providers' APIs. */
  readChange?: ChangeReader;
  /** For the access activities, which read and signal payments' workflows, and reconciliation's starts. */
  temporal?: Client;
  /** How reconciliation lists a provider's records; default: the providers' APIs. */
  listPage?: PageLister;
  /** The worker's tracer when it traces: every downstream HTTP call gets a CLIENT span (http.ts). */
  tracer?: Tracer;
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
    tracer: deps.tracer,
    now: deps.now ?? Date.now,
    random: deps.random ?? Math.random,
  };
  const hubspotTokens = new HubSpotTokenCache(config, http);
  const lms = createLms(config, http);
  const confirmDeps = {
    catalog: deps.catalog ?? loadCatalog(config.CATALOG_PATH),
    readRecord: deps.readRecord ?? providerRecordReader(config, http),
    livemode: config.STRIPE_LIVEMODE,
  };
  const changeReaders: Record<PaymentRef['provider'], ChangeReader> = {
    razorpay: (change) => readRazorpayChange(config, http, change),
    stripe: (change) => readStripeChange(config, change, logger),
  };
  const readChange: ChangeReader = deps.readChange ?? ((change) => changeReaders[change.provider](change));
  const grants = { temporal: deps.temporal, catalog: confirmDeps.catalog };
  const reconcile = {
    temporal: deps.temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    listPage:
      deps.listPage ??
      ((page: ReconcilePageInput) =>
        page.provider === 'razorpay'
          ? listRazorpayPage(config, http, page.stream, page.window, page.cursor)
          : listStripeEventsPage(config, logger, page.window, page.cursor)),
    // The receiver's own rules, so reconciliation starts nothing a delivery of the same event could not.
    policy: {
      redeliveryHorizonMs: config.REDELIVERY_HORIZON_HOURS * 3_600_000,
      livemode: config.STRIPE_LIVEMODE ?? false,
    },
    logger,
    now: http.now,
  };

  // Arrow properties, not methods: the worker and tests take them off the object, so no `this`.
  return {
    /** Confirm the payment with its provider and resolve what it bought against the catalog. */
    confirmPurchase: (input: ConfirmPurchaseInput): Promise<ConfirmPurchaseResult> =>
      atBoundary(() => confirmPurchaseOnce(confirmDeps, input)),
    /** Enroll the student in the LMS course (LMS_PROVIDER); an active enrollment already there is success. */
    enrollStudent: (input: EnrollStudentInput): Promise<EnrollStudentResult> =>
      atBoundary(() => enrollStudentOnce(lms, input)),
    /** Send the welcome template on WhatsApp; never retried once the request may have reached Meta. */
    sendWelcomeMessage: (input: SendWelcomeInput): Promise<SendWelcomeResult> =>
      atBoundary(() => sendWelcomeOnce(config, http, input)),
    /** Create or update the student's HubSpot contact, keyed by email. */
    upsertCrmContact: (input: UpsertContactInput): Promise<UpsertContactResult> =>
      atBoundary(() => upsertContactOnce(config, hubspotTokens, http, input)),
    /** Read a refund, dispute or ended subscription from its provider, and the payment it concerns. */
    confirmAccessChange: (input: ConfirmAccessChangeInput): Promise<ConfirmAccessChangeResult> =>
      atBoundary(() => confirmAccessChangeOnce(readChange, input)),
    /** What the payment's workflow granted; fails retryably while that workflow still runs. */
    readGrant: (input: { payment: PaymentRef }): Promise<ReadGrantResult> =>
      atBoundary(() => readGrantOnce(grants, input)),
    /** Tell a payment still running that its money went back. */
    stopGranting: (input: StopGrantingInput): Promise<StopGrantingResult> =>
      atBoundary(() => stopGrantingOnce(grants, input)),
    /** List one page of a provider's payments, refunds or events and start what no webhook started. */
    reconcilePage: (input: ReconcilePageInput): Promise<ReconcilePageResult> =>
      atBoundary(() => reconcilePageOnce(reconcile, input)),
    /** Suspend, revoke or restore one granted course in the LMS. */
    changeAccess: (input: ChangeAccessInput): Promise<ChangeAccessResult> =>
      atBoundary(() =>
        changeAccessOnce(lms, (course) => confirmDeps.catalog.courseById.get(course)?.lmsCourseId, input),
      ),
  };
}

export type EnrollmentActivities = ReturnType<typeof createActivities>;
