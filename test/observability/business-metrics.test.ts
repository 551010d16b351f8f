import { Registry } from 'prom-client';
import {
  type BusinessMetricsOptions,
  createBusinessMetrics,
  type WorkflowVisibility,
} from '../../src/observability/business-metrics';
import { createLogger } from '../../src/runtime/logger';
import type { EnrollmentStatus } from '../../src/workflows/messages';
import { parseExposition } from './alert-rules';

/**
 * The gauges' arithmetic against a fake visibility (the real one is exercised in
 * worker-process.test.ts): which queries are sent, and how the oldest review is found.
 */
const NOW = Date.parse('2026-11-24T12:00:00.000Z');
const minutesAgo = (m: number) => new Date(NOW - m * 60_000);

interface FakeWorkflow {
  workflowId: string;
  startTime: Date;
  /** openReview.openedAt; undefined = no review open any more; 'fail' = the query fails. */
  openedAt?: Date | 'fail';
}

function fakeVisibility(counts: Record<string, number>, reviews: FakeWorkflow[] = []) {
  const queries: string[] = [];
  const statusQueries: string[] = [];
  const client: WorkflowVisibility = {
    workflow: {
      async count(query = '') {
        queries.push(query);
        const state = /EnrollmentState="([a-z_]+)"$/.exec(query)?.[1];
        if (query.includes(' IN (')) return { count: counts.late ?? 0 };
        return { count: (state ? counts[state] : undefined) ?? 0 };
      },
      async *list({ query = '' } = {}) {
        queries.push(`list: ${query}`);
        yield* reviews.map(({ workflowId, startTime }) => ({ workflowId, startTime }));
      },
      getHandle(workflowId) {
        return {
          async query() {
            statusQueries.push(workflowId);
            const wf = reviews.find((r) => r.workflowId === workflowId)!;
            if (wf.openedAt === 'fail') throw new Error('no worker');
            return {
              openReview: wf.openedAt && { step: 'enroll', reason: 'x', openedAt: wf.openedAt.toISOString() },
            } as EnrollmentStatus;
          },
        };
      },
    },
  };
  return { client, queries, statusQueries };
}

function metricsOf(client: WorkflowVisibility, options: Partial<BusinessMetricsOptions> = {}) {
  const registry = new Registry();
  const metrics = createBusinessMetrics({
    client,
    registry,
    logger: createLogger('test', 'silent'),
    now: () => NOW,
    ...options,
  });
  return { metrics, scrape: async () => parseExposition(await registry.metrics()) };
}

describe('business metrics', () => {
  it('counts running payments per state, in review, and paid but not enrolled after 10 minutes', async () => {
    const fake = fakeVisibility({ validating: 2, enrolling: 3, needs_review: 0, late: 4 });
    const { metrics, scrape } = metricsOf(fake.client);

    await expect(metrics.refresh()).resolves.toEqual({
      running: {
        confirming: 0,
        validating: 2,
        enrolling: 3,
        messaging: 0,
        crm: 0,
        needs_review: 0,
        completed: 0,
        aborted: 0,
      },
      inReview: 0,
      oldestReviewAgeSeconds: 0,
      paidNotEnrolled: 4,
      accessInReview: 0,
      reconciledAt: {},
    });
    const base = 'WorkflowType="enrollmentWorkflow" AND ExecutionStatus="Running"';
    expect(fake.queries).toContain(`${base} AND EnrollmentState="needs_review"`);
    expect(fake.queries).toContain(
      `${base} AND EnrollmentState IN ("confirming", "validating", "enrolling", "needs_review") AND StartTime < "2026-11-24T11:50:00.000Z"`,
    );
    // Nothing in review: no listing, no status queries.
    expect(fake.queries.filter((q) => q.startsWith('list:'))).toEqual([]);

    const m = await scrape();
    expect(m.value('enrollflow_payments_running', { state: 'enrolling' })).toBe(3);
    expect(m.value('enrollflow_payments_in_review')).toBe(0);
    expect(m.value('enrollflow_oldest_review_age_seconds')).toBe(0);
    expect(m.value('enrollflow_paid_not_enrolled', { over: '10m' })).toBe(4);
    expect(m.value('enrollflow_business_metrics_last_success_timestamp_seconds')).toBe(NOW / 1000);
  });

  it('takes the oldest review from openReview.openedAt, querying oldest starts first and stopping early', async () => {
    const fake = fakeVisibility({ needs_review: 4 }, [
      // Listed newest first, as visibility does.
      { workflowId: 'wf-new', startTime: minutesAgo(5), openedAt: minutesAgo(4) },
      { workflowId: 'wf-mid', startTime: minutesAgo(50), openedAt: minutesAgo(45) },
      // Started first but spent 50 minutes in retries before its review opened.
      { workflowId: 'wf-old', startTime: minutesAgo(60), openedAt: minutesAgo(10) },
      { workflowId: 'wf-resolved', startTime: minutesAgo(70), openedAt: undefined },
    ]);
    const { metrics, scrape } = metricsOf(fake.client);

    const snapshot = await metrics.refresh();
    expect(snapshot.inReview).toBe(4);
    expect(snapshot.oldestReviewAgeSeconds).toBe(45 * 60);
    // wf-new started after the oldest opened review (45 min ago): it cannot be older, not queried.
    expect(fake.statusQueries).toEqual(['wf-resolved', 'wf-old', 'wf-mid']);
    expect((await scrape()).value('enrollflow_oldest_review_age_seconds')).toBe(2700);
  });

  it('errs towards an older age when the status query fails or the query budget runs out', async () => {
    const failing = fakeVisibility({ needs_review: 2 }, [
      { workflowId: 'a', startTime: minutesAgo(40), openedAt: 'fail' },
      { workflowId: 'b', startTime: minutesAgo(20), openedAt: minutesAgo(15) },
    ]);
    expect((await metricsOf(failing.client).metrics.refresh()).oldestReviewAgeSeconds).toBe(40 * 60);

    const many = fakeVisibility({ needs_review: 3 }, [
      { workflowId: 'x', startTime: minutesAgo(30), openedAt: minutesAgo(5) },
      { workflowId: 'y', startTime: minutesAgo(20), openedAt: minutesAgo(3) },
      { workflowId: 'z', startTime: minutesAgo(10), openedAt: minutesAgo(1) },
    ]);
    const { metrics } = metricsOf(many.client, { maxStatusQueries: 1 });
    // x's review opened 5 min ago; y was not queried, so its 20-minute-old start stands in.
    expect((await metrics.refresh()).oldestReviewAgeSeconds).toBe(20 * 60);
    expect(many.statusQueries).toEqual(['x']);
  });

  it('keeps the last values and counts a failure when visibility cannot be read', async () => {
    let down = false;
    const fake = fakeVisibility({ needs_review: 0, late: 1 });
    const count = fake.client.workflow.count.bind(fake.client.workflow);
    fake.client.workflow.count = (q) => (down ? Promise.reject(new Error('unavailable')) : count(q));
    const { metrics, scrape } = metricsOf(fake.client);

    await metrics.refresh();
    down = true;
    await expect(metrics.refresh()).rejects.toThrow('unavailable');
    const m = await scrape();
    expect(m.value('enrollflow_paid_not_enrolled', { over: '10m' })).toBe(1);
    expect(m.value('enrollflow_business_metrics_refresh_failures_total')).toBe(1);
  });

  it('refreshes on an interval, one refresh at a time, until stopped', async () => {
    const pending: Array<() => void> = [];
    const fake = fakeVisibility({});
    fake.client.workflow.count = () => new Promise((resolve) => pending.push(() => resolve({ count: 0 })));
    const { metrics } = metricsOf(fake.client);
    metrics.start(10);
    await new Promise((r) => setTimeout(r, 80));
    // One refresh (8 state counts + 2) is still waiting: the ticks meanwhile started no other.
    expect(pending).toHaveLength(10);
    pending.forEach((resolve) => resolve());
    await new Promise((r) => setTimeout(r, 40));
    expect(pending.length).toBeGreaterThan(10);
    const stopped = metrics.stop();
    pending.forEach((resolve) => resolve());
    await stopped;
    const after = pending.length;
    await new Promise((r) => setTimeout(r, 40));
    expect(pending).toHaveLength(after);
  });
});
