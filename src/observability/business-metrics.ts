/**
 * Business gauges for the worker's `/metrics`, recomputed every BUSINESS_METRICS_INTERVAL_SECONDS from
 * Temporal visibility (the same search attributes operators query): what is waiting for a person, and
 * which payments have been taken but not turned into an enrollment.
 *
 * - `enrollflow_payments_running{state}`: running enrollment workflows per `EnrollmentState`.
 * - `enrollflow_payments_in_review`: running and `EnrollmentState="needs_review"`.
 * - `enrollflow_oldest_review_age_seconds`: how long the oldest open review has been waiting (0: none).
 * - `enrollflow_paid_not_enrolled{over="10m"}`: running, still `validating`, `enrolling` or
 *   `needs_review`, and started more than 10 minutes ago (`StartTime < "<now - 10 min>"`).
 * - `enrollflow_access_changes_in_review`: running access changes (refunds, disputes, ended
 *   subscriptions) waiting for a person: a revocation failing for good, or a partial refund to decide.
 * - `enrollflow_reconciliation_last_success_timestamp_seconds{provider}`: when the provider's scheduled
 *   reconciliation last completed (its latest completed run's CloseTime, found by the Schedule's
 *   `TemporalScheduledById`); this process's start time while none has. With
 *   `enrollflow_reconciliation_interval_seconds{provider}` an alert can say "not for 3 intervals".
 * - `enrollflow_business_metrics_last_success_timestamp_seconds`, `..._refresh_failures_total`: so an
 *   alert can tell "no payment waits" from "we cannot see".
 *
 * Oldest review: visibility can count and filter but not sort, and a workflow's StartTime is when the
 * payment arrived, not when its review opened (a payment can spend many minutes in retries first).
 * So the running reviews are listed (bounded, `maxReviewsListed`), sorted by StartTime here, and the
 * workflows' own `status` query gives `openReview.openedAt`, oldest start first. Since a review opens
 * after its workflow starts, the walk stops as soon as the next StartTime is later than the oldest
 * `openedAt` found: exact, and usually one or two queries. Past `maxStatusQueries`, or when a query
 * fails (no worker answering), the StartTime stands in for `openedAt`, which can only overstate the
 * age: the alert errs towards firing. With more than `maxReviewsListed` reviews open, the oldest is
 * sought among those listed (logged as a warning); the count gauge is exact either way.
 *
 * Each worker replica exports the same values: alert on `max()` across instances.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../runtime/logger';
import { paymentStates, type EnrollmentStatus, statusQuery } from '../workflows/messages';
import { ENROLLMENT_WORKFLOW_TYPE } from '../workflows/messages';
import { ACCESS_WORKFLOW_TYPE } from '../workflows/access-messages';
import { reconcileScheduleId } from '../workflows/reconcile-messages';
import type { PaymentProvider } from '../providers';

/** The slice of `@temporalio/client`'s Client used here; tests inject a fake. */
export interface WorkflowVisibility {
  workflow: {
    count(query?: string): Promise<{ count: number }>;
    list(options?: {
      query?: string;
      pageSize?: number;
    }): AsyncIterable<{ workflowId: string; startTime: Date; closeTime?: Date }>;
    getHandle(workflowId: string): { query(def: typeof statusQuery): Promise<EnrollmentStatus> };
  };
}

export interface BusinessMetricsOptions {
  client: WorkflowVisibility;
  registry: Registry;
  logger: Logger;
  /** Epoch milliseconds. */
  now?: () => number;
  workflowType?: string;
  /** Paid but not enrolled after this long is worth an alert. */
  notEnrolledAfterMinutes?: number;
  maxReviewsListed?: number;
  maxStatusQueries?: number;
  queryTimeoutMs?: number;
  /** The reconciliation Schedules to report on (src/temporal/reconcile-schedules.ts). */
  reconciliation?: {
    providers: readonly PaymentProvider[];
    intervalSeconds: number;
  };
}

export interface BusinessSnapshot {
  running: Record<string, number>;
  inReview: number;
  oldestReviewAgeSeconds: number;
  paidNotEnrolled: number;
  accessInReview: number;
  /** Unix seconds of each provider's last completed scheduled reconciliation (or this process's start). */
  reconciledAt: Record<string, number>;
}

export interface BusinessMetrics {
  /** Recomputes every gauge once; rejects (and keeps the previous values) when visibility fails. */
  refresh(): Promise<BusinessSnapshot>;
  /** Refreshes now and then every `intervalMs`, never two at once; `stop()` ends it. */
  start(intervalMs: number): void;
  stop(): Promise<void>;
}

/** States in which the student does not have the course yet (needs_review may be a later step's). */
export const NOT_ENROLLED_STATES = ['confirming', 'validating', 'enrolling', 'needs_review'] as const;

const quote = (value: string) => `"${value.replace(/["\\]/g, '\\$&')}"`;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createBusinessMetrics(options: BusinessMetricsOptions): BusinessMetrics {
  const {
    client,
    registry,
    logger,
    now = Date.now,
    workflowType = ENROLLMENT_WORKFLOW_TYPE,
    notEnrolledAfterMinutes = 10,
    maxReviewsListed = 1000,
    maxStatusQueries = 20,
    queryTimeoutMs = 5000,
    reconciliation,
  } = options;
  const startedAt = Math.floor(now() / 1000);
  const over = `${notEnrolledAfterMinutes}m`;
  const registers = [registry];

  const running = new Gauge({
    name: 'enrollflow_payments_running',
    help: 'Running enrollment workflows by EnrollmentState (Temporal visibility)',
    labelNames: ['state'] as const,
    registers,
  });
  const inReview = new Gauge({
    name: 'enrollflow_payments_in_review',
    help: 'Running enrollment workflows waiting in manual review (EnrollmentState="needs_review")',
    registers,
  });
  const oldestReviewAge = new Gauge({
    name: 'enrollflow_oldest_review_age_seconds',
    help: 'Age of the oldest open manual review (openReview.openedAt), 0 when none is open',
    registers,
  });
  const paidNotEnrolled = new Gauge({
    name: 'enrollflow_paid_not_enrolled',
    help: 'Running payments still validating, enrolling or in review, started longer ago than `over`',
    labelNames: ['over'] as const,
    registers,
  });
  const accessInReview = new Gauge({
    name: 'enrollflow_access_changes_in_review',
    help: 'Running access changes (refunds, disputes, ended subscriptions) waiting in manual review',
    registers,
  });
  const reconciledAt = new Gauge({
    name: 'enrollflow_reconciliation_last_success_timestamp_seconds',
    help: "When the provider's scheduled reconciliation last completed (Unix time; the worker's start while none has)",
    labelNames: ['provider'] as const,
    registers,
  });
  const reconcileInterval = new Gauge({
    name: 'enrollflow_reconciliation_interval_seconds',
    help: "How often the provider's reconciliation Schedule runs (RECONCILE_INTERVAL_MINUTES)",
    labelNames: ['provider'] as const,
    registers,
  });
  for (const provider of reconciliation?.providers ?? [])
    reconcileInterval.set({ provider }, reconciliation!.intervalSeconds);
  const lastSuccess = new Gauge({
    name: 'enrollflow_business_metrics_last_success_timestamp_seconds',
    help: 'When the business gauges were last computed successfully (Unix time)',
    registers,
  });
  const failures = new Counter({
    name: 'enrollflow_business_metrics_refresh_failures_total',
    help: 'Refreshes of the business gauges that failed (Temporal visibility unreachable or refusing)',
    registers,
  });

  const runningBase = `WorkflowType=${quote(workflowType)} AND ExecutionStatus="Running"`;
  const count = async (query: string) => (await client.workflow.count(query)).count;

  /** Epoch ms when the review of `workflowId` opened; undefined if it has none open any more. */
  async function reviewOpenedAt(workflowId: string): Promise<number | undefined> {
    const status = await withTimeout(
      client.workflow.getHandle(workflowId).query(statusQuery),
      queryTimeoutMs,
      `status query of ${workflowId}`,
    );
    const openedAt = status.openReview ? Date.parse(status.openReview.openedAt) : NaN;
    return Number.isNaN(openedAt) ? undefined : openedAt;
  }

  async function oldestReviewOpenedAt(): Promise<number | undefined> {
    const candidates: Array<{ workflowId: string; startTime: Date }> = [];
    const query = `${runningBase} AND EnrollmentState="needs_review"`;
    for await (const wf of client.workflow.list({ query, pageSize: Math.min(maxReviewsListed, 1000) })) {
      if (candidates.length >= maxReviewsListed) {
        logger.warn({ maxReviewsListed }, 'more reviews open than listed: oldest review age is approximate');
        break;
      }
      candidates.push({ workflowId: wf.workflowId, startTime: wf.startTime });
    }
    candidates.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());

    let oldest: number | undefined;
    let queries = 0;
    for (const { workflowId, startTime } of candidates) {
      const started = startTime.getTime();
      // Opened after it started: nobody from here on can have an older review.
      if (oldest !== undefined && started >= oldest) break;
      if (queries >= maxStatusQueries) {
        oldest = Math.min(oldest ?? started, started);
        break;
      }
      queries += 1;
      let openedAt: number | undefined;
      try {
        openedAt = await reviewOpenedAt(workflowId);
        if (openedAt === undefined) continue; // Resolved since it was listed.
      } catch (err) {
        logger.debug({ workflowId, err: (err as Error).message }, 'status query failed; using StartTime');
        openedAt = started;
      }
      oldest = Math.min(oldest ?? openedAt, openedAt);
    }
    return oldest;
  }

  /** Unix seconds: visibility lists closed runs latest-closed first. */
  async function lastReconciled(provider: PaymentProvider): Promise<number> {
    const query = `TemporalScheduledById=${quote(reconcileScheduleId(provider))} AND ExecutionStatus="Completed"`;
    for await (const run of client.workflow.list({ query, pageSize: 1 })) {
      if (run.closeTime) return Math.floor(run.closeTime.getTime() / 1000);
      break;
    }
    return startedAt;
  }

  async function refresh(): Promise<BusinessSnapshot> {
    try {
      const at = now();
      const cutoff = new Date(at - notEnrolledAfterMinutes * 60_000).toISOString();
      const states = NOT_ENROLLED_STATES.map(quote).join(', ');
      const [perState, late, accessReviews] = await Promise.all([
        Promise.all(paymentStates.map((s) => count(`${runningBase} AND EnrollmentState=${quote(s)}`))),
        count(`${runningBase} AND EnrollmentState IN (${states}) AND StartTime < ${quote(cutoff)}`),
        count(
          `WorkflowType=${quote(ACCESS_WORKFLOW_TYPE)} AND ExecutionStatus="Running" AND EnrollmentState="needs_review"`,
        ),
      ]);
      const providers = reconciliation?.providers ?? [];
      const reconciled = Object.fromEntries(
        await Promise.all(providers.map(async (p) => [p, await lastReconciled(p)] as const)),
      );
      const byState = Object.fromEntries(paymentStates.map((s, i) => [s, perState[i]!]));
      const reviews = byState.needs_review ?? 0;
      const oldest = reviews > 0 ? await oldestReviewOpenedAt() : undefined;
      const ageSeconds = oldest === undefined ? 0 : Math.max(0, (now() - oldest) / 1000);

      for (const [state, value] of Object.entries(byState)) running.set({ state }, value);
      inReview.set(reviews);
      oldestReviewAge.set(Math.round(ageSeconds));
      paidNotEnrolled.set({ over }, late);
      accessInReview.set(accessReviews);
      for (const [provider, at] of Object.entries(reconciled)) reconciledAt.set({ provider }, at);
      lastSuccess.set(Math.floor(now() / 1000));
      return {
        running: byState,
        inReview: reviews,
        oldestReviewAgeSeconds: Math.round(ageSeconds),
        paidNotEnrolled: late,
        accessInReview: accessReviews,
        reconciledAt: reconciled,
      };
    } catch (err) {
      failures.inc();
      throw err;
    }
  }

  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<unknown> | undefined;
  const tick = () => {
    if (inFlight) return;
    inFlight = refresh()
      .catch((err: unknown) => {
        logger.warn({ err: (err as Error).message }, 'business metrics refresh failed; gauges kept');
      })
      .finally(() => {
        inFlight = undefined;
      });
  };

  return {
    refresh,
    start(intervalMs) {
      if (timer) return;
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
  };
}
