/**
 * Attacks on the real system, each trying to make it lose or duplicate a payment, and the checks that
 * say whether it did. Sizes are parameters: `npm test` runs them small, `npm run verify` at full size.
 * The attacks on refunds (access follows the money back) are in ./money-back.ts, on the same system
 * and checks.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { enrollmentWorkflowId, idempotencyKey } from '../../src/domain/ids';
import type { LmsProvider } from '../../src/config';
import type { SandboxFaults } from '../../src/sandbox/faults';
import {
  ENROLLMENT_WORKFLOW_TYPE,
  type EnrollmentSummary,
  resolveReviewSignal,
  statusQuery,
} from '../../src/workflows/messages';
import type { Cluster } from '../temporal/cluster';
import type { EngineKind } from '../temporal/engine';
import { type AccessFigures, checkAccess } from './access-invariants';
import { type ChaosSystem, sleep, startChaosSystem, type SystemOptions } from './harness';
import {
  deliverAll,
  type DeliveryStats,
  makePayments,
  paymentKey,
  paymentKeyOfEnrollment,
  paymentsByEmail,
  type ProviderOptions,
  registerPayments,
  type TestPayment,
  type TestRefund,
} from './provider';

const run = promisify(execFile);
/** Deliveries per payment, and per refund. */
export const COPIES = 5;

export interface ScenarioReport extends AccessFigures {
  scenario: string;
  payments: number;
  deliveries: number;
  httpAttempts: number;
  /** Answers other than 2xx the provider saw (and redelivered after), by status; 0 = no answer. */
  refused: Record<string, number>;
  faultsInjected: number;
  crashes: number;
  workflows: number;
  completed: number;
  reviewsResolved: number;
  /** LMS enrollments the payments paid for: one per course of each product bought (a bundle, several). */
  grants: number;
  enrollments: number;
  messages: number;
  contacts: number;
  lost: number;
  duplicated: number;
  /** LMS enrollments no payment paid for: another course, or a payment that was never made. */
  unmatched: number;
  /** Activities that needed more than one attempt, read back from workflow histories. */
  retriedActivities?: number;
  seconds: number;
  problems: string[];
  logFiles: string[];
  /** The run's working folder (database, logs); the caller removes it after scanning the logs. */
  dir: string;
  /** Values that must never appear in any log. */
  secrets: string[];
  /** Student PII (full emails, phone numbers, payment-method fields) that must not appear either. */
  pii: string[];
}

export interface Context {
  sys: ChaosSystem;
  payments: TestPayment[];
  secrets: { razorpay: string; stripe: string };
  provider: ProviderOptions;
}

/** What a scenario's body did, beyond what the ledger and Temporal say. */
export interface ScenarioOutcome {
  stats: DeliveryStats;
  crashes?: number;
  reviewsResolved?: number;
  retriedActivities?: number;
  problems?: string[];
  /** The refunds it made: their payments are checked for access taken back, not for access kept. */
  refunds?: TestRefund[];
}

/** Starts a fresh system, makes and registers `count` payments, runs the attack, checks the invariants. */
export async function withSystem(
  scenario: string,
  count: number,
  options: SystemOptions & { failing?: (i: number) => boolean; bundleFile?: string },
  body: (ctx: Context) => Promise<ScenarioOutcome>,
): Promise<ScenarioReport> {
  const started = Date.now();
  const sys = await startChaosSystem(options);
  const secrets = {
    razorpay: sys.secrets.RAZORPAY_WEBHOOK_SECRETS!,
    stripe: sys.secrets.STRIPE_WEBHOOK_SECRETS!,
  };
  const payments = makePayments(count, {
    secrets,
    catalog: sys.catalog,
    copies: COPIES,
    failing: options.failing,
  });
  try {
    await registerPayments(sys.sandbox.url, payments);
    const outcome = await body({ sys, payments, secrets, provider: { url: () => sys.receiverUrl } });
    const report = await checkInvariants(sys, payments, scenario, outcome.refunds);
    report.problems.push(...(outcome.problems ?? []));
    const refused = Object.fromEntries(
      Object.entries(outcome.stats.statuses).filter(([s]) => !s.startsWith('2')),
    );
    if (outcome.stats.gaveUp > 0)
      report.problems.push(`${outcome.stats.gaveUp} deliveries never acknowledged`);
    return {
      ...report,
      deliveries: outcome.stats.deliveries,
      httpAttempts: outcome.stats.attempts,
      refused,
      crashes: outcome.crashes ?? 0,
      reviewsResolved: outcome.reviewsResolved ?? 0,
      retriedActivities: outcome.retriedActivities,
      seconds: Math.round((Date.now() - started) / 1000),
      logFiles: sys.logFiles(),
      dir: sys.dir,
      // The phone number id is an identifier in every Graph API URL, not a secret.
      secrets: Object.entries(sys.secrets)
        .filter(([name]) => name !== 'WHATSAPP_PHONE_NUMBER_ID')
        .map(([, value]) => value),
      pii: payments.flatMap((p) => [p.email, p.phone, p.phone.slice(1)]).concat(['success@razorpay']),
    };
  } finally {
    await sys.stop();
  }
}

/** The shape of the sandbox's HubSpot access tokens: scanned for, since each run issues new ones. */
export const ACCESS_TOKEN_PATTERN = /sbx-[A-Za-z0-9_-]{32}/;

/** Waits until `count` workflows of the type (payments unless told) have completed, or the time is up. */
export async function waitForCompletion(
  client: Client,
  count: number,
  timeoutMs: number,
  {
    whileWaiting,
    workflowType = ENROLLMENT_WORKFLOW_TYPE,
  }: { whileWaiting?: () => Promise<void>; workflowType?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { count: done } = await client.workflow
      .count(`WorkflowType = "${workflowType}" AND ExecutionStatus = "Completed"`)
      .catch(() => ({ count: -1 }));
    if (done >= count) return;
    if (Date.now() > deadline) return; // the invariant check reports what is missing
    await whileWaiting?.();
    await sleep(500);
  }
}

/**
 * What the ledger and Temporal say after a scenario. Every payment's workflow completed; a payment not
 * refunded has exactly one enrollment per course bought, still active, one welcome and one contact; a
 * payment refunded in full is neither lost for lacking them (a refund that came first leaves nothing
 * granted) nor at fault for a welcome sent before the refund: ./access-invariants.ts checks that its
 * access was taken back, once.
 */
export async function checkInvariants(
  sys: ChaosSystem,
  payments: TestPayment[],
  scenario: string,
  refunds: TestRefund[] = [],
): Promise<
  Omit<
    ScenarioReport,
    | 'deliveries'
    | 'httpAttempts'
    | 'refused'
    | 'crashes'
    | 'reviewsResolved'
    | 'seconds'
    | 'logFiles'
    | 'secrets'
    | 'pii'
    | 'dir'
  >
> {
  const problems: string[] = [];
  const ledger = sys.ledger();
  const countBy = <T>(items: T[], key: (t: T) => string) =>
    items.reduce((m, t) => m.set(key(t), (m.get(key(t)) ?? 0) + 1), new Map<string, number>());
  // One enrollment per course bought: `<provider>:<payment>:<catalog course> <LMS course>`. The generic
  // LMS keeps the worker's reference; for Moodle and Canvas the student says which payment it was.
  const byEmail = paymentsByEmail(payments);
  const catalogCourse = new Map(
    payments.flatMap((p) =>
      Object.entries(p.courses).map(([course, lms]) => [`${paymentKey(p)} ${lms}`, course]),
    ),
  );
  const courseKey = (e: { external_ref?: string; email: string; course_id: string }) => {
    if (e.external_ref) return `${e.external_ref} ${e.course_id}`;
    const payment = paymentKeyOfEnrollment(e, byEmail);
    return `${payment}:${catalogCourse.get(`${payment} ${e.course_id}`) ?? '?'} ${e.course_id}`;
  };
  const enrollments = countBy(ledger.enrollments, courseKey);
  const notActive = new Set(ledger.enrollments.filter((e) => e.status !== 'active').map(courseKey));
  const grantKeys = (p: TestPayment) =>
    Object.entries(p.courses).map(([course, lms]) => `${p.provider}:${p.paymentId}:${course} ${lms}`);
  const paidFor = new Set(payments.flatMap(grantKeys));
  const unmatched = [...enrollments.entries()].filter(([key]) => !paidFor.has(key));
  if (unmatched.length > 0)
    problems.push(`enrolled without a matching payment: ${unmatched.map(([key]) => key).join(', ')}`);
  const messages = countBy(ledger.messages, (m) => m.to);
  const contacts = countBy(ledger.contacts, (c) => c.email.toLowerCase());
  const refunded = new Set(refunds.filter((r) => r.full).map(paymentKey));

  const { count: workflows } = await sys.client.workflow.count(
    `WorkflowType = "${ENROLLMENT_WORKFLOW_TYPE}"`,
  );
  let completed = 0;
  let lost = 0;
  let duplicated = Math.max(0, workflows - payments.length);
  let grants = 0;
  let sums = { enrollments: 0, messages: 0, contacts: 0 };
  const outcomes = new Map<string, string>();
  for (const p of payments) {
    const id = enrollmentWorkflowId(p.provider, p.paymentId);
    const handle = sys.client.workflow.getHandle(id);
    const description = await handle.describe().catch(() => undefined);
    const status = description?.status.name ?? 'MISSING';
    const pending = (description?.raw.pendingActivities ?? [])
      .map(
        (a) =>
          `${a.activityType?.name} attempt ${a.attempt} state ${a.state} last failure: ${a.lastFailure?.message ?? '-'}`,
      )
      .join('; ');
    const keys = grantKeys(p);
    const isRefunded = refunded.has(paymentKey(p));
    const perCourse = keys.map((key) => enrollments.get(key) ?? 0);
    const e = perCourse.reduce((a, b) => a + b, 0);
    const m = messages.get(p.phone.slice(1)) ?? 0;
    const c = contacts.get(p.email.toLowerCase()) ?? 0;
    grants += perCourse.length;
    sums = { enrollments: sums.enrollments + e, messages: sums.messages + m, contacts: sums.contacts + c };
    duplicated +=
      perCourse.reduce((n, k) => n + Math.max(0, k - 1), 0) + Math.max(0, m - 1) + Math.max(0, c - 1);
    if (status === 'COMPLETED') {
      completed += 1;
      if (isRefunded) outcomes.set(paymentKey(p), ((await handle.result()) as EnrollmentSummary).outcome);
    }
    // A refunded payment owes nothing but a finished workflow; a payment not refunded keeps every course.
    const taken = isRefunded ? [] : keys.filter((key) => notActive.has(key));
    const owed = !isRefunded && (perCourse.includes(0) || m === 0 || c === 0);
    if (status !== 'COMPLETED' || owed || taken.length > 0) {
      lost += 1;
      if (problems.length < 10)
        problems.push(
          `${id} (${p.productId}): ${status}, enrollments ${perCourse.join('+')}, messages ${m}, contacts ${c}${taken.length ? `, access taken from ${taken.join(', ')} though not refunded` : ''} ${pending}`,
        );
    }
  }
  const faultsInjected = ledger.requests.filter(
    (r) => r.fault !== undefined || r.status === 429 || r.status >= 500 || r.aborted || r.status === 401,
  ).length;
  const access = await checkAccess(sys.client, ledger, refunds, outcomes, byEmail);
  return {
    scenario,
    payments: payments.length,
    workflows,
    completed,
    faultsInjected,
    lost,
    duplicated,
    unmatched: unmatched.reduce((n, [, k]) => n + k, 0),
    problems: [...problems, ...access.problems],
    grants,
    ...sums,
    ...access.figures,
  };
}

/** Counts activity attempts beyond the first in the histories of (up to `sample`) workflows. */
export async function retriedActivities(client: Client, workflowIds: string[], sample = 25): Promise<number> {
  let retried = 0;
  for (const id of workflowIds.slice(0, sample)) {
    const history = await client.workflow.getHandle(id).fetchHistory();
    for (const event of history.events ?? []) {
      if ((event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) retried += 1;
    }
  }
  return retried;
}

/**
 * What an operator does with a welcome whose outcome is unknown (the worker died mid-send): check
 * WhatsApp's side (here the sandbox ledger; in production the message status webhooks), then skip
 * if the student has the message, retry if not. Returns how many reviews it resolved.
 */
async function resolveUnknownWelcomes(sys: ChaosSystem): Promise<number> {
  let resolved = 0;
  for await (const wf of sys.client.workflow.list({ query: 'EnrollmentState = "needs_review"' })) {
    const handle = sys.client.workflow.getHandle(wf.workflowId);
    const status = await handle.query(statusQuery);
    const review = status.openReview;
    if (review?.step !== 'welcome' || !review.reason.startsWith('WhatsAppOutcomeUnknown')) continue;
    const phone = status.student.phone?.replace(/\D/g, '') ?? '';
    const delivered = sys.ledger().messages.some((m) => m.to === phone);
    await handle.signal(resolveReviewSignal, {
      reviewId: review.id,
      action: delivered ? 'skip' : 'retry',
      reviewer: 'chaos-operator',
      note: delivered ? 'message status shows it was delivered' : 'no message was delivered',
    });
    resolved += 1;
  }
  return resolved;
}

export interface RunOptions {
  bundleFile?: string;
  /** Which Temporal the system runs on (`npm run verify -- --engine cluster`). */
  engine?: EngineKind;
}

/** 1. Every payment delivered 5 times at once, in random order, mixing the two paid events. */
export function duplicateStorm(count: number, o: RunOptions = {}) {
  return withSystem('duplicate storm', count, o, async ({ sys, payments, provider }) => {
    const stats = await deliverAll(payments, { ...provider, concurrency: 50 });
    await waitForCompletion(sys.client, payments.length, 120_000 + count * 500);
    return { stats };
  });
}

/** Scenario 2's faults; the refund storm (./money-back.ts) injects the LMS's and HubSpot's into revocations. */
export const DOWNSTREAM_FAULTS = {
  lms: {
    errorRate: 0.3,
    rateLimitRate: 0.1,
    retryAfter: { seconds: 1 },
    latencyMs: 1500,
    latencyRate: 0.05,
  },
  // The welcome is the one non-idempotent call: a response lost to a timeout is, by design, an
  // operator's decision (see docs/reliability.md), so its slow responses stay inside the timeout.
  whatsapp: {
    errorRate: 0.3,
    rateLimitRate: 0.1,
    retryAfter: { httpDate: true as const, seconds: 1 },
    latencyMs: 400,
    latencyRate: 0.05,
  },
  hubspot: {
    errorRate: 0.3,
    rateLimitRate: 0.1,
    retryAfter: { seconds: 1 },
    latencyMs: 1500,
    latencyRate: 0.05,
  },
  // The provider APIs the confirmation step reads (several reads per attempt, so lower rates): only
  // reads, so every fault, a timeout included, is retried.
  razorpay: {
    errorRate: 0.05,
    rateLimitRate: 0.05,
    retryAfter: { seconds: 1 },
    latencyMs: 1500,
    latencyRate: 0.02,
  },
  stripe: {
    errorRate: 0.05,
    rateLimitRate: 0.05,
    retryAfter: { httpDate: true as const, seconds: 1 },
    latencyMs: 1500,
    latencyRate: 0.02,
  },
} satisfies SandboxFaults;

/**
 * The same attack on Moodle. One enrollment there is up to six web service calls (course, user,
 * create, the student's courses, the course's suspended students, enrol) where the generic LMS takes
 * one, so each call fails less often: an attempt fails about as often as the generic LMS's one call
 * (as the provider APIs' several reads per attempt get lower rates above). Errors are Moodle's
 * (HTTP 200 database exceptions), rate limits a proxy's 429.
 */
export const MOODLE_DOWNSTREAM_FAULTS = {
  ...DOWNSTREAM_FAULTS,
  lms: {
    errorRate: 0.07,
    rateLimitRate: 0.03,
    retryAfter: { seconds: 1 },
    latencyMs: 1500,
    latencyRate: 0.02,
  },
};

/** The worker under DOWNSTREAM_FAULTS: their slow answers outlast its HTTP timeout; CRM tokens expire early. */
export const FAULTY_DOWNSTREAMS_WORKER_ENV = {
  HTTP_TIMEOUT_MS: '1000',
  HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS: '0',
};

/**
 * 2. 30 % 5xx, 10 % 429 (Retry-After in seconds and as an HTTP-date), 5 % too slow, short-lived CRM tokens;
 * the provider APIs 5 % 5xx, 5 % 429, 2 % too slow.
 */
export function downstreamFaults(count: number, o: RunOptions & { lms?: LmsProvider } = {}) {
  const lms = o.lms ?? 'generic';
  return withSystem(
    lms === 'generic' ? 'downstream faults' : `downstream faults (${lms})`,
    count,
    {
      ...o,
      faults: lms === 'moodle' ? MOODLE_DOWNSTREAM_FAULTS : DOWNSTREAM_FAULTS,
      hubspotTokenTtlSeconds: 2,
      workerEnv: FAULTY_DOWNSTREAMS_WORKER_ENV,
    },
    async ({ sys, payments, provider }) => {
      const stats = await deliverAll(payments, provider);
      await waitForCompletion(sys.client, payments.length, 240_000 + count * 1000);
      const problems: string[] = [];
      const ledger = sys.ledger();
      const lmsRequests = ledger.requests.filter((r) => r.service === 'lms');
      const grants = payments.reduce((n, p) => n + Object.keys(p.courses).length, 0);
      if (lms === 'generic') {
        // Every LMS request for a course of a payment, retries included, carried that course's one stable key.
        const lmsKeys = new Set(lmsRequests.map((r) => r.idempotencyKey));
        const expected = new Set(
          payments.flatMap((p) =>
            Object.keys(p.courses).map((course) => idempotencyKey(p.provider, p.paymentId, `lms-${course}`)),
          ),
        );
        if ([...lmsKeys].some((k) => !k || !expected.has(k)) || lmsKeys.size !== expected.size) {
          problems.push(
            `LMS saw ${lmsKeys.size} distinct idempotency keys for ${expected.size} course grants`,
          );
        }
      } else {
        // No keys in Moodle or Canvas: one account per student is what retries must not break.
        const accounts = new Map<string, number>();
        for (const u of ledger.lmsUsers) accounts.set(u.email, (accounts.get(u.email) ?? 0) + 1);
        const doubled = [...accounts.values()].filter((n) => n > 1).length;
        if (doubled > 0) problems.push(`${doubled} students have more than one ${lms} account`);
        if (accounts.size !== payments.length)
          problems.push(`${accounts.size} ${lms} accounts for ${payments.length} students`);
      }
      if (lmsRequests.length <= grants) problems.push('the LMS saw no retries: faults were not injected');
      const retried = await retriedActivities(
        sys.client,
        payments.map((p) => enrollmentWorkflowId(p.provider, p.paymentId)),
      );
      if (retried === 0) problems.push('no retried activity is visible in workflow history');
      return { stats, problems, retriedActivities: retried };
    },
  );
}

/** 3. kill -9 the worker mid-run, then start a new one. */
export function workerCrash(count: number, o: RunOptions = {}) {
  return withSystem(
    'worker crash',
    count,
    {
      ...o,
      // Sends in flight at the kill, some of them retries after a 429: the hardest case for at-most-once.
      faults: {
        whatsapp: { latencyMs: 300, rateLimitRate: 0.3, retryAfter: { seconds: 1 } },
        lms: { latencyMs: 100 },
      },
    },
    async ({ sys, payments, provider }) => {
      const delivering = deliverAll(payments, { ...provider, ratePerSecond: Math.max(10, count / 3) });
      while (sys.ledger().enrollments.length < Math.ceil(count / 3)) await sleep(50);
      await sys.worker.stop('SIGKILL');
      await sleep(500);
      await sys.worker.start();
      const stats = await delivering;
      let reviewsResolved = 0;
      await waitForCompletion(sys.client, payments.length, 120_000 + count * 500, {
        whileWaiting: async () => {
          reviewsResolved += await resolveUnknownWelcomes(sys);
        },
      });
      return { stats, crashes: 1, reviewsResolved };
    },
  );
}

/**
 * 4. Stop Temporal mid-run (persistent database) and start it again: the dev server, or on the
 * cluster every service and PostgreSQL.
 */
export function temporalRestart(count: number, o: RunOptions = {}) {
  return withSystem('temporal restart', count, o, (ctx) =>
    duringDelivery(ctx, count, () => ctx.sys.restartTemporal(4000), {
      ratePerSecond: Math.max(5, count / 6),
      concurrency: 20,
    }),
  );
}

/** The cluster the system runs on: the faults below exist only there. */
function clusterOf(sys: ChaosSystem): Cluster {
  if (sys.temporal.kind !== 'cluster') throw new Error('this scenario needs --engine cluster');
  return sys.temporal;
}

/**
 * Runs `fault` once a fifth of the payments are enrolled while they are being delivered (the
 * provider redelivers what is answered 503), then waits for every payment; a welcome whose completion
 * was lost goes to a person, as after a worker crash.
 */
async function duringDelivery(
  { sys, payments, provider }: Context,
  count: number,
  fault: () => Promise<void>,
  delivery: { ratePerSecond?: number; concurrency: number } = { concurrency: 20 },
): Promise<ScenarioOutcome> {
  const delivering = deliverAll(payments, { ...provider, ...delivery });
  while (sys.ledger().enrollments.length < Math.ceil(count / 5)) await sleep(50);
  await fault();
  const stats = await delivering;
  let reviewsResolved = 0;
  await waitForCompletion(sys.client, payments.length, 180_000 + count * 500, {
    whileWaiting: async () => {
      reviewsResolved += await resolveUnknownWelcomes(sys);
    },
  });
  return { stats, crashes: 1, reviewsResolved };
}

/**
 * Cluster only: the duplicate storm, and `kill -9` of one history node in the middle of it. Its
 * shards move to the node left (membership notices the death): starts and tasks on them fail until
 * then, and are redelivered or retried.
 */
export function historyNodeKill(count: number, o: RunOptions = {}) {
  return withSystem('history node kill -9', count, { ...o, engine: 'cluster' }, (ctx) =>
    duringDelivery(ctx, count, () => clusterOf(ctx.sys).kill('history-2', 'SIGKILL'), { concurrency: 50 }),
  );
}

/** Cluster only: PostgreSQL crashes (immediate stop, recovery at start) mid-run and comes back. */
export function postgresRestart(count: number, o: RunOptions = {}) {
  return withSystem('postgresql restart', count, { ...o, engine: 'cluster' }, (ctx) =>
    duringDelivery(ctx, count, () => clusterOf(ctx.sys).postgres.restart('immediate'), {
      ratePerSecond: Math.max(5, count / 6),
      concurrency: 20,
    }),
  );
}

/** Cluster only: the frontend (the only address clients know) is killed mid-run and started again. */
export function frontendRestart(count: number, o: RunOptions = {}) {
  return withSystem('frontend restart', count, { ...o, engine: 'cluster' }, (ctx) =>
    duringDelivery(
      ctx,
      count,
      async () => {
        const cluster = clusterOf(ctx.sys);
        await cluster.kill('frontend', 'SIGKILL');
        await sleep(2000);
        await cluster.start('frontend');
      },
      { ratePerSecond: Math.max(5, count / 6), concurrency: 20 },
    ),
  );
}

/** 5. kill -9 the webhook receiver while requests are in flight; the provider redelivers. */
export function receiverCrash(count: number, o: RunOptions = {}) {
  return withSystem('receiver crash', count, o, async ({ sys, payments, provider }) => {
    const delivering = deliverAll(payments, {
      ...provider,
      ratePerSecond: Math.max(10, count / 3),
      concurrency: 30,
    });
    while (sys.ledger().enrollments.length < Math.ceil(count / 5)) await sleep(20);
    await sys.receiver.stop('SIGKILL');
    await sleep(1000);
    await sys.receiver.start();
    const stats = await delivering;
    await waitForCompletion(sys.client, payments.length, 120_000 + count * 500);
    return { stats, crashes: 1 };
  });
}

/** 6. A share of payments hits a permanent LMS failure; a batch signal by query resolves them all. */
export function reviewUnderLoad(count: number, o: RunOptions = {}) {
  const failing = (i: number) => i % 5 === 2;
  const stuck = Array.from({ length: count }, (_, i) => i).filter(failing).length;
  return withSystem(
    'manual review under load',
    count,
    { ...o, failing },
    async ({ sys, payments, provider }) => {
      await sys.setFaults({
        lms: { failEmails: payments.filter((p) => p.email.startsWith('closed.')).map((p) => p.email) },
      });
      const stats = await deliverAll(payments, provider);
      const query = 'EnrollmentState = "needs_review"';
      const deadline = Date.now() + 120_000;
      while ((await sys.client.workflow.count(query)).count < stuck) {
        if (Date.now() > deadline) throw new Error(`expected ${stuck} payments in review`);
        await sleep(250);
      }
      // The LMS reopens the course; one batch signal by visibility query resolves every stuck payment.
      await sys.setFaults({});
      await run(sys.cli, [
        'workflow',
        'signal',
        '--address',
        sys.temporal.address,
        '--query',
        query,
        '--name',
        'resolveReview',
        '--input',
        // A batch names the review by step (docs/operations.md): it decides only an open `enroll` review.
        JSON.stringify({
          reviewId: 'enroll-*',
          action: 'retry',
          reviewer: 'chaos-operator',
          note: 'course reopened',
        }),
        '--reason',
        'LMS course reopened',
        '--yes',
      ]);
      await waitForCompletion(sys.client, payments.length, 120_000 + count * 500);
      return { stats, reviewsResolved: stuck };
    },
  );
}

/** 13. Scans every process's log for secrets, tokens and student PII. Returns the findings. */
export function scanLogs(reports: ScenarioReport[]): string[] {
  const findings: string[] = [];
  for (const report of reports) {
    for (const file of report.logFiles) {
      if (!fs.existsSync(file)) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const value of [...report.secrets, ...report.pii]) {
        if (text.includes(value)) findings.push(`${report.scenario}: ${file} contains ${value.slice(0, 4)}…`);
      }
      if (ACCESS_TOKEN_PATTERN.test(text))
        findings.push(`${report.scenario}: ${file} contains a CRM access token`);
    }
  }
  return findings;
}

const tally = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, n]) => `${k}×${n}`)
    .join(' ') || '-';

export function figuresTable(reports: ScenarioReport[]): string {
  // Numeric columns are summed in the total row; the others leave it blank (or name it).
  const cols: Array<[string, (r: ScenarioReport) => string | number]> = [
    ['scenario', (r) => r.scenario],
    ['payments', (r) => r.payments],
    ['deliveries', (r) => r.deliveries],
    ['HTTP attempts', (r) => r.httpAttempts],
    ['refused (status×n)', (r) => tally(r.refused)],
    ['faults injected', (r) => r.faultsInjected],
    ['crashes', (r) => r.crashes],
    ['workflows', (r) => r.workflows],
    ['completed', (r) => r.completed],
    ['reviews resolved', (r) => r.reviewsResolved],
    ['course grants', (r) => r.grants],
    ['enrollments', (r) => r.enrollments],
    ['messages', (r) => r.messages],
    ['contacts', (r) => r.contacts],
    ['lost', (r) => r.lost],
    ['duplicated', (r) => r.duplicated],
    ['unmatched', (r) => r.unmatched],
    ['refunds', (r) => r.refunds],
    ['refund landed', (r) => tally(r.landed)],
    ['access workflows', (r) => r.accessWorkflows],
    ['access outcomes', (r) => tally(r.accessOutcomes)],
    ['revoked', (r) => r.revoked],
    ['access kept after full refund', (r) => r.accessKept],
    ['revoked twice', (r) => r.revokedTwice],
    ['s', (r) => r.seconds],
  ];
  const rows = reports.map((r) => cols.map(([, f]) => String(f(r))));
  rows.push(
    cols.map(([, f], i) => {
      if (i === 0) return 'total';
      const values = reports.map(f);
      return values.every((v) => typeof v === 'number') ? String(values.reduce((a, b) => a + b, 0)) : '';
    }),
  );
  const header = `| ${cols.map(([h]) => h).join(' | ')} |`;
  const rule = `|${cols.map(() => ' --- ').join('|')}|`;
  return [header, rule, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
