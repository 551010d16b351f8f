/**
 * The attack on the webhook path itself: for a day every webhook is refused (the receiver holds a
 * secret the provider does not sign with), and the provider gives up on them. Only reconciliation
 * (src/workflows/reconcile.ts, run by the worker's Schedules) can find those payments. The scenario
 * triggers the Schedules the worker created, as their next tick would run, and ends with the checks of
 * ./scenarios.ts; it adds that reconciliation started exactly the abandoned payments, under
 * `PaymentSource="reconciliation"`, and that with webhooks healthy it starts nothing.
 */
import { ScheduleOverlapPolicy, WorkflowNotFoundError } from '@temporalio/client';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { providerNames, providers } from '../../src/providers';
import { randomSecret } from '../../src/tools/sign';
import { ENROLLMENT_WORKFLOW_TYPE, paymentSourceSearchAttribute } from '../../src/workflows/messages';
import { type ReconcileResult, reconcileScheduleId } from '../../src/workflows/reconcile-messages';
import { type ChaosSystem, sleep } from './harness';
import { addStats, deliverAll, type Sender, type TestPayment } from './provider';
import { type RunOptions, type ScenarioReport, waitForCompletion, withSystem } from './scenarios';

/** What reconciliation did in the scenario, beside the standard figures. */
export interface ReconciliationFigures {
  /** Payments whose every webhook was refused until the provider gave up. */
  abandoned: number;
  /** Workflows the runs after the outage started (both providers). */
  reconciled: number;
  /**
   * Records those runs found already started: by their webhook, or (a Stripe payment's second paid
   * event) by the same run.
   */
  reconcileDuplicates: number;
  /** Workflows the runs with webhooks healthy started: none is the claim. */
  healthyStarted: number;
  healthyDuplicates: number;
  /** Payment workflows by their `PaymentSource` search attribute. */
  bySource: Record<string, number>;
  /** From triggering the runs after the outage to every payment completed. */
  recoverySeconds: number;
}

export type ReconciliationReport = ScenarioReport & ReconciliationFigures;

export const isReconciliationReport = (r: ScenarioReport): r is ReconciliationReport => 'reconciled' in r;

const OVERLAP_SECONDS = 3600;

/** The worker's Schedules, which the scenario pauses and triggers: only the runs it triggers happen. */
export const RECONCILE_WORKER_ENV = {
  RECONCILE_INTERVAL_MINUTES: '60',
  RECONCILE_OVERLAP_MINUTES: String(OVERLAP_SECONDS / 60),
  // Payments made a moment ago are in the window (the default waits 2 min for their webhooks).
  RECONCILE_SETTLE_SECONDS: '0',
};

/** The payments of the outage: half, in pairs (0, 1, 4, 5, ...), so both providers and every product. */
export const abandonedHalf = (payments: TestPayment[]) =>
  payments.filter((_, i) => Math.floor(i / 2) % 2 === 0);

/**
 * The payments' webhooks as the provider sends them while the receiver's secret is wrong: the same
 * bytes (and Razorpay event ids), signed with a secret the receiver does not hold, one per provider.
 */
function signedWithWrongSecret(payments: TestPayment[]): Sender[] {
  const secrets = Object.fromEntries(providerNames.map((p) => [p, randomSecret(p)])) as Record<
    PaymentProvider,
    string
  >;
  return payments.map((p) => ({
    provider: p.provider,
    deliveries: p.deliveries.map((d) => {
      const { headers } = providers[p.provider].sign(d.signed.body, JSON.parse(d.signed.body) as object, {
        secret: secrets[p.provider],
        eventId: d.signed.eventId,
      });
      return { eventType: d.eventType, signed: { ...d.signed, headers } };
    }),
  }));
}

/**
 * Triggers the provider's Schedule (a paused Schedule still takes a triggered action) and waits for
 * that run's result. A run that continued as new is followed to its end.
 */
async function reconcileNow(
  sys: ChaosSystem,
  provider: PaymentProvider,
  timeoutMs: number,
): Promise<ReconcileResult> {
  const schedule = sys.client.schedule.getHandle(reconcileScheduleId(provider));
  const taken = (await schedule.describe()).info.numActionsTaken;
  // As a tick (the Schedule's own policy): a run triggered with the SDK's default, ALLOW_ALL, is not
  // tracked by the Schedule, so its result is not handed on and the next run looks back in full again.
  await schedule.trigger(ScheduleOverlapPolicy.SKIP);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { info } = await schedule.describe();
    if (info.numActionsTaken > taken) {
      const last = [...info.recentActions].sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime()).at(-1)!;
      const { workflowId } = last.action.workflow;
      let timer: NodeJS.Timeout | undefined;
      const timeUp = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${workflowId} did not finish in ${timeoutMs} ms`)),
          Math.max(0, deadline - Date.now()),
        );
      });
      try {
        return await Promise.race([
          sys.client.workflow.getHandle(workflowId).result() as Promise<ReconcileResult>,
          timeUp,
        ]);
      } finally {
        clearTimeout(timer);
      }
    }
    if (Date.now() > deadline)
      throw new Error(`${reconcileScheduleId(provider)} took no action when triggered`);
    await sleep(250);
  }
}

/** Both Schedules at once (each its own run), results by provider. */
async function reconcileBoth(sys: ChaosSystem, timeoutMs: number) {
  const results = await Promise.all(providerNames.map((p) => reconcileNow(sys, p, timeoutMs)));
  return new Map(results.map((r) => [r.provider, r]));
}

/** Payment workflow ids by `PaymentSource`, once visibility shows `expected` of them (or the time is up). */
async function workflowsBySource(sys: ChaosSystem, expected: number, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bySource = new Map<string, Set<string>>();
    for await (const wf of sys.client.workflow.list({
      query: `WorkflowType = "${ENROLLMENT_WORKFLOW_TYPE}"`,
    })) {
      const source = wf.typedSearchAttributes.get(paymentSourceSearchAttribute) ?? 'none';
      bySource.set(source, (bySource.get(source) ?? new Set()).add(wf.workflowId));
    }
    const listed = [...bySource.values()].reduce((n, ids) => n + ids.size, 0);
    if (listed >= expected || Date.now() > deadline) return bySource;
    await sleep(250);
  }
}

/**
 * 15. The webhook path down for a day: half the payments' webhooks (5 each, both paid events) are
 * all refused with 401 while the other half's go through; the provider retries each for a while and
 * gives up. Both Schedules are then triggered, and every payment must complete; triggered again with
 * every payment done, they must start nothing.
 */
export async function webhookPathDown(count: number, o: RunOptions = {}): Promise<ReconciliationReport> {
  const figures: ReconciliationFigures = {
    abandoned: 0,
    reconciled: 0,
    reconcileDuplicates: 0,
    healthyStarted: 0,
    healthyDuplicates: 0,
    bySource: {},
    recoverySeconds: 0,
  };
  const report = await withSystem(
    'webhook path down for a day',
    count,
    { ...o, workerEnv: RECONCILE_WORKER_ENV },
    async ({ sys, payments, provider }) => {
      const problems: string[] = [];
      // Only the runs triggered below happen (a Schedule created just now could still tick on the hour).
      for (const p of providerNames)
        await sys.client.schedule
          .getHandle(reconcileScheduleId(p))
          .pause('reliability scenario triggers runs');
      const abandoned = abandonedHalf(payments);
      const lost = new Set(abandoned.map((p) => enrollmentWorkflowId(p.provider, p.paymentId)));
      const normal = payments.filter((p) => !lost.has(enrollmentWorkflowId(p.provider, p.paymentId)));
      figures.abandoned = abandoned.length;

      // The provider gives up on a failing delivery after a few retries here (Razorpay: 24 h, Stripe: 3 days).
      const [delivered, refused] = await Promise.all([
        deliverAll(normal, { ...provider, concurrency: 25 }),
        deliverAll(signedWithWrongSecret(abandoned), { ...provider, concurrency: 50, deadlineMs: 1000 }),
      ]);
      const answers = Object.keys(refused.statuses);
      if (answers.length !== 1 || answers[0] !== '401')
        problems.push(
          `the outage's deliveries were answered ${JSON.stringify(refused.statuses)}, not 401 only`,
        );
      if (refused.gaveUp !== refused.deliveries)
        problems.push(
          `the provider gave up on ${refused.gaveUp} of ${refused.deliveries} refused deliveries`,
        );
      await waitForCompletion(sys.client, normal.length, 120_000 + count * 500);
      for (const id of lost) {
        const exists = await sys.client.workflow
          .getHandle(id)
          .describe()
          .then(
            () => true,
            (err: unknown) => {
              if (err instanceof WorkflowNotFoundError) return false;
              throw err;
            },
          );
        if (exists) problems.push(`${id} was started although every webhook of it was refused`);
      }

      const runTimeoutMs = 60_000 + count * 500;
      const triggered = Date.now();
      const after = await reconcileBoth(sys, runTimeoutMs);
      const started = new Set<string>();
      for (const [name, r] of after) {
        figures.reconciled += r.totals.started;
        figures.reconcileDuplicates += r.totals.duplicates;
        for (const item of r.startedItems) started.add(item.workflowId);
        const expected = abandoned.filter((p) => p.provider === name).length;
        if (r.totals.started !== expected)
          problems.push(
            `${name} reconciliation started ${r.totals.started}, ${expected} payments were abandoned`,
          );
        if (r.totals.refused > 0)
          problems.push(`${name} reconciliation refused ${JSON.stringify(r.refusedItems.slice(0, 3))}`);
      }
      const strays = [...started].filter((id) => !lost.has(id));
      if (strays.length > 0) problems.push(`reconciliation started what a webhook had: ${strays.join(', ')}`);
      await waitForCompletion(sys.client, payments.length, 120_000 + count * 500);
      figures.recoverySeconds = Math.round((Date.now() - triggered) / 100) / 10;

      const bySource = await workflowsBySource(sys, payments.length);
      figures.bySource = Object.fromEntries([...bySource].map(([source, ids]) => [source, ids.size]));
      const ofSource = (source: string) => bySource.get(source) ?? new Set<string>();
      const notReconciled = [...lost].filter((id) => !ofSource('reconciliation').has(id));
      const notWebhook = normal
        .map((p) => enrollmentWorkflowId(p.provider, p.paymentId))
        .filter((id) => !ofSource('webhook').has(id));
      if (notReconciled.length > 0 || ofSource('reconciliation').size !== lost.size)
        problems.push(
          `PaymentSource="reconciliation" is not exactly the abandoned payments: ${notReconciled.length} missing`,
        );
      if (notWebhook.length > 0 || ofSource('webhook').size !== normal.length)
        problems.push(
          `PaymentSource="webhook" is not exactly the delivered payments: ${notWebhook.length} missing`,
        );

      // Webhooks healthy (every payment done): a run finds only duplicates.
      const healthy = await reconcileBoth(sys, runTimeoutMs);
      for (const [name, r] of healthy) {
        figures.healthyStarted += r.totals.started;
        figures.healthyDuplicates += r.totals.duplicates;
        const ofProvider = payments.filter((p) => p.provider === name).length;
        if (r.totals.started !== 0)
          problems.push(`${name} reconciliation started ${r.totals.started} with webhooks healthy`);
        if (r.totals.duplicates < ofProvider)
          problems.push(
            `${name} reconciliation found ${r.totals.duplicates} duplicates of ${ofProvider} payments`,
          );
        // As a next tick does, it started where the previous successful run ended, less the overlap
        // (the day's first run looks back further: see scheduledWindow).
        const previous = after.get(name)!.window;
        if (!r.daily && r.window.from !== previous.to - OVERLAP_SECONDS)
          problems.push(
            `${name}'s next run looked from ${r.window.from}, not ${previous.to} less the overlap`,
          );
      }
      // The give-ups are the outage itself, checked above, not deliveries the system failed to answer.
      return { stats: addStats(delivered, { ...refused, gaveUp: 0 }), problems };
    },
  );
  return { ...report, ...figures };
}

/** The reconciliation figures of the reports that have them, as a Markdown table. */
export function reconciliationTable(reports: ScenarioReport[]): string {
  const rows = reports.filter(isReconciliationReport);
  const cols: Array<[string, (r: ReconciliationReport) => string | number]> = [
    ['scenario', (r) => r.scenario],
    ['payments', (r) => r.payments],
    ['webhooks abandoned', (r) => r.abandoned],
    ['started by reconciliation', (r) => r.reconciled],
    ['duplicates', (r) => r.reconcileDuplicates],
    ['started with webhooks healthy', (r) => r.healthyStarted],
    ['duplicates with webhooks healthy', (r) => r.healthyDuplicates],
    ['s to recover', (r) => r.recoverySeconds],
    [
      'workflows by PaymentSource',
      (r) =>
        Object.entries(r.bySource)
          .map(([k, n]) => `${k}×${n}`)
          .join(' ') || '-',
    ],
  ];
  return [
    `| ${cols.map(([h]) => h).join(' | ')} |`,
    `|${cols.map(() => ' --- ').join('|')}|`,
    ...rows.map((r) => `| ${cols.map(([, f]) => String(f(r))).join(' | ')} |`),
  ].join('\n');
}
