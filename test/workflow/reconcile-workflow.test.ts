import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import type { ReconcilePageInput, ReconcilePageResult } from '../../src/domain/reconcile';
import { scheduledWindow } from '../../src/workflows/reconcile';
import type {
  ReconcileResult,
  ReconcileWorkflowInput,
  WindowRules,
} from '../../src/workflows/reconcile-messages';
import { scriptedActivities, useWorkflowEnvironment } from './scripted-activities';

/**
 * Reconciliation's rules, on Temporal's time-skipping server with the page activity scripted: where
 * a window starts and ends, how pages follow each other (and continue as new), that a throttled or
 * failed page is asked again rather than passed over, and that a run after a failed one starts where
 * the last successful run ended.
 */
const workflows = useWorkflowEnvironment('reconcile-test');

const RULES: WindowRules = {
  overlapSeconds: 3600,
  settleSeconds: 120,
  firstLookbackSeconds: 86_400,
  maxLookbackSeconds: 15 * 86_400,
};

const page = (over: Partial<ReconcilePageResult> = {}): ReconcilePageResult => ({
  listed: 0,
  started: [],
  duplicates: 0,
  ignored: 0,
  refused: [],
  ...over,
});

const run = (input: ReconcileWorkflowInput, id = `reconcile-${Math.random().toString(36).slice(2)}`) =>
  workflows.env.client.workflow.execute<(i: ReconcileWorkflowInput) => Promise<ReconcileResult>>(
    'reconcileWorkflow',
    { taskQueue: workflows.taskQueue, workflowId: id, args: [input] },
  );

describe('scheduledWindow', () => {
  const now = 1_800_000_000;

  it('looks back the first lookback from a settled end when no run succeeded before', () => {
    expect(scheduledWindow(RULES, now, undefined)).toEqual({
      window: { from: now - 120 - 86_400, to: now - 120 },
    });
  });

  it('starts an overlap before where the last successful run ended', () => {
    expect(scheduledWindow(RULES, now, now - 900)).toEqual({
      window: { from: now - 900 - 3600, to: now - 120 },
    });
  });

  it('never reaches back past the redelivery horizon, and says where it stopped', () => {
    const tenDaysAgo = now - 20 * 86_400;
    expect(scheduledWindow(RULES, now, tenDaysAgo)).toEqual({
      window: { from: now - 15 * 86_400, to: now - 120 },
      clampedAt: now - 15 * 86_400,
      daily: true,
    });
  });

  it("looks back the whole lookback on a UTC day's first run, for payments captured long after they were made", () => {
    const midnight = Math.ceil(now / 86_400) * 86_400;
    const firstOfDay = midnight + 300;
    expect(scheduledWindow(RULES, firstOfDay, midnight - 600)).toEqual({
      window: { from: firstOfDay - 120 - 86_400, to: firstOfDay - 120 },
      daily: true,
    });
    // The next run of the same day is back to the overlap.
    const next = firstOfDay + 900;
    expect(scheduledWindow(RULES, next, firstOfDay - 120)).toEqual({
      window: { from: firstOfDay - 120 - 3600, to: next - 120 },
    });
  });

  it('is empty, not inverted, when the last run ended inside the settling delay', () => {
    const { window } = scheduledWindow({ ...RULES, overlapSeconds: 0 }, now, now - 10);
    expect(window).toEqual({ from: now - 120, to: now - 120 });
  });
});

describe('reconcileWorkflow', () => {
  it('pages each stream in order with one fixed window, and sums what each page did', async () => {
    const calls: ReconcilePageInput[] = [];
    const { activities } = scriptedActivities({
      reconcilePage: (input) => {
        calls.push(input);
        if (input.stream === 'payments' && input.cursor === undefined)
          return page({ listed: 100, duplicates: 99, started: [item('pay_a')], next: '100' });
        if (input.stream === 'payments')
          return page({
            listed: 30,
            duplicates: 28,
            ignored: 1,
            refused: [{ id: 'pay_old', reason: 'past the horizon' }],
          });
        return page({ listed: 2, duplicates: 1, started: [item('rfnd_b', 'refund')] });
      },
    });
    const window = { from: 1_800_000_000, to: 1_800_003_600 };
    const result = await workflows.withWorker(activities, () =>
      run({ provider: 'razorpay', mode: 'backfill', window }),
    );
    expect(calls.map((c) => [c.stream, c.cursor])).toEqual([
      ['payments', undefined],
      ['payments', '100'],
      ['refunds', undefined],
    ]);
    expect(calls.every((c) => c.window.from === window.from && c.window.to === window.to)).toBe(true);
    expect(calls.every((c) => c.mode === 'backfill')).toBe(true);
    expect(result.totals).toEqual({
      pages: 3,
      listed: 132,
      started: 2,
      duplicates: 128,
      ignored: 1,
      refused: 1,
    });
    expect(result.startedItems.map((i) => i.id)).toEqual(['pay_a', 'rfnd_b']);
    expect(result.refusedItems).toEqual([{ id: 'pay_old', reason: 'past the horizon' }]);
    expect(result.window).toEqual(window);
  });

  it('continues as new with its cursor on a long window, and loses no page across runs', async () => {
    const calls: ReconcilePageInput[] = [];
    const { activities } = scriptedActivities({
      reconcilePage: (input) => {
        calls.push(input);
        const n = Number(input.cursor ?? 0);
        return page({ listed: 1, started: [item(`evt_${n}`)], ...(n < 4 && { next: String(n + 1) }) });
      },
    });
    const id = 'reconcile-long-window';
    let firstRunId = '';
    const result = await workflows.withWorker(activities, async () => {
      const handle = await workflows.env.client.workflow.start('reconcileWorkflow', {
        taskQueue: workflows.taskQueue,
        workflowId: id,
        args: [
          {
            provider: 'stripe',
            mode: 'backfill',
            window: { from: 1, to: 2 },
            pagesPerRun: 2,
          } satisfies ReconcileWorkflowInput,
        ],
      });
      firstRunId = handle.firstExecutionRunId;
      return (await handle.result()) as ReconcileResult;
    });
    expect(calls.map((c) => c.cursor)).toEqual([undefined, '1', '2', '3', '4']);
    expect(result.totals.pages).toBe(5);
    expect(result.startedItems.map((i) => i.id)).toEqual(['evt_0', 'evt_1', 'evt_2', 'evt_3', 'evt_4']);
    // The first run continued as new after two pages, with the cursor where it stopped.
    const first = await workflows.env.client.workflow.getHandle(id, firstRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
  });

  it("asks a throttled page again after the provider's delay, with the same window and cursor", async () => {
    const calls: Array<ReconcilePageInput & { attempt: number }> = [];
    const { activities } = scriptedActivities({
      reconcilePage: (input, attempt) => {
        calls.push({ ...input, attempt });
        if (input.cursor === '100' && attempt === 1) {
          throw ApplicationFailure.create({
            message: 'Razorpay list_payments: HTTP 429',
            type: 'RateLimited',
            nextRetryDelay: '45s',
          });
        }
        return page({ listed: 100, ...(input.cursor === undefined && { next: '100' }) });
      },
    });
    const before = await workflows.env.currentTimeMs();
    const result = await workflows.withWorker(activities, () =>
      run({ provider: 'stripe', mode: 'backfill', window: { from: 1, to: 2 } }),
    );
    const elapsed = (await workflows.env.currentTimeMs()) - before;
    expect(calls.map((c) => [c.cursor, c.attempt])).toEqual([
      [undefined, 1],
      ['100', 1],
      ['100', 2],
    ]);
    expect(result.totals.pages).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(45_000);
  });

  it('fails the run at once on refused credentials, handing on no window', async () => {
    const { activities } = scriptedActivities({
      reconcilePage: () => {
        throw ApplicationFailure.nonRetryable('Razorpay refused the API key (HTTP 401)', 'ProviderRejected');
      },
    });
    await expect(
      workflows.withWorker(activities, () => run({ provider: 'razorpay', mode: 'scheduled', rules: RULES })),
    ).rejects.toBeInstanceOf(WorkflowFailedError);
  });

  it('starts each scheduled run where the last successful one ended, never where a failed one did', async () => {
    // A cron workflow gets the last successful run's result exactly as a Schedule's runs do.
    const windows: Array<ReconcilePageInput['window']> = [];
    let runs = 0;
    const { activities } = scriptedActivities({
      reconcilePage: (input) => {
        windows.push(input.window);
        runs += 1;
        if (runs === 2)
          throw ApplicationFailure.nonRetryable('Razorpay refused the API key', 'ProviderRejected');
        return page();
      },
    });
    const id = 'reconcile-cron';
    await workflows.withWorker(activities, async () => {
      const handle = await workflows.env.client.workflow.start('reconcileWorkflow', {
        taskQueue: workflows.taskQueue,
        workflowId: id,
        args: [{ provider: 'stripe', mode: 'scheduled', rules: RULES } satisfies ReconcileWorkflowInput],
        cronSchedule: '*/15 * * * *',
      });
      // Skips the test server's clock from one cron run to the next.
      while (runs < 3) await workflows.env.sleep('15 minutes');
      await handle.terminate('test done');
    });
    const [first, , third] = windows;
    expect(first!.to - first!.from).toBe(RULES.firstLookbackSeconds);
    // The failed second run handed nothing on: the third overlaps the first's end, not the second's
    // (unless a UTC day began between them: then it looks back the whole lookback).
    const newDay = Math.floor(first!.to / 86_400) !== Math.floor(third!.to / 86_400);
    expect(third!.from).toBe(
      newDay ? third!.to - RULES.firstLookbackSeconds : first!.to - RULES.overlapSeconds,
    );
    expect(third!.to).toBeGreaterThan(first!.to);
  });
});

function item(id: string, kind: 'payment' | 'refund' = 'payment') {
  return { workflowId: `${kind}-${id}`, kind, id };
}
