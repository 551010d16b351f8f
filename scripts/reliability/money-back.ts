/**
 * Attacks on access following the money back (src/workflows/access.ts): full refunds of half the
 * payments, delivered at least once and unordered like paid events, into downstream faults, racing
 * their own payments, and across a kill -9 of the worker. Each runs on a fresh system and ends with the
 * checks of ./scenarios.ts, which for a refunded payment become: no enrollment of it still active or
 * suspended, none revoked twice, exactly one completed access workflow per refund (./access-invariants.ts).
 */
import type { LedgerSnapshot } from '../../src/sandbox/ledger';
import { ACCESS_WORKFLOW_TYPE } from '../../src/workflows/access-messages';
import { listAccessWorkflows } from './access-invariants';
import { type ChaosSystem, sleep } from './harness';
import {
  addStats,
  deliverAll,
  type DeliveryStats,
  paymentKey,
  paymentKeyOfEnrollment,
  paymentsByEmail,
  type ProviderOptions,
  type RefundOptions,
  refundPayments,
  type TestPayment,
  type TestRefund,
} from './provider';
import {
  COPIES,
  DOWNSTREAM_FAULTS,
  FAULTY_DOWNSTREAMS_WORKER_ENV,
  retriedActivities,
  type RunOptions,
  waitForCompletion,
  withSystem,
} from './scenarios';

/**
 * The payments refunded: half of them, in pairs (indexes 0, 1, 4, 5, 8, 9, ...), so both providers and,
 * within three pairs, every product (the bundle too) are refunded.
 */
export const refundedHalf = (payments: TestPayment[]) =>
  payments.filter((_, i) => Math.floor(i / 2) % 2 === 0);

/** Every payment delivered (5 copies, unordered) and completed, before any money goes back. */
async function payAll(sys: ChaosSystem, payments: TestPayment[], provider: ProviderOptions) {
  const stats = await deliverAll(payments, { ...provider, concurrency: 50 });
  await waitForCompletion(sys.client, payments.length, 120_000 + payments.length * 500);
  return stats;
}

const waitForAccess = (sys: ChaosSystem, refunds: TestRefund[], timeoutMs: number) =>
  waitForCompletion(sys.client, refunds.length, timeoutMs, { workflowType: ACCESS_WORKFLOW_TYPE });

/**
 * Every change of one enrollment's access, retries included, carried one Idempotency-Key; and the LMS
 * did fail some requests (it is faulted only while the refunds run).
 */
function accessKeyProblems(ledger: LedgerSnapshot): string[] {
  const lms = ledger.requests.filter((r) => r.service === 'lms');
  const keys = new Map<string, Set<string | undefined>>();
  for (const r of lms.filter((r) => r.method === 'POST' && /\/enrollments\/[^/]+\/access$/.test(r.path)))
    keys.set(r.path, (keys.get(r.path) ?? new Set()).add(r.idempotencyKey));
  const problems = [...keys.entries()]
    .filter(([, k]) => k.size !== 1 || k.has(undefined))
    .map(([path, k]) => `${path} changed with ${k.size} idempotency keys`);
  if (!lms.some((r) => r.status === 429 || r.status >= 500))
    problems.push('the LMS failed no request during the refunds: faults were not injected');
  return problems;
}

/** 7. Full refunds of half the payments, 5 deliveries each at once, into LMS and CRM faults. */
export function refundStorm(count: number, o: RunOptions = {}) {
  return withSystem(
    'refund storm',
    count,
    { ...o, workerEnv: FAULTY_DOWNSTREAMS_WORKER_ENV },
    async ({ sys, payments, secrets, provider }) => {
      const paid = await payAll(sys, payments, provider);
      await sys.setFaults({
        lms: DOWNSTREAM_FAULTS.lms,
        hubspot: DOWNSTREAM_FAULTS.hubspot,
        hubspotTokenTtlSeconds: 2,
      });
      const refunds = await refundPayments(sys.sandbox.url, refundedHalf(payments), {
        secrets,
        copies: COPIES,
      });
      const refunding = await deliverAll(refunds, { ...provider, concurrency: 50 });
      // Each revocation attempt makes two LMS calls (find the enrollment, change it), so at these fault
      // rates its retries run longer than a payment's: the slowest take minutes of capped backoff.
      await waitForAccess(sys, refunds, 600_000 + count * 2000);
      await sys.setFaults({});
      const problems = accessKeyProblems(sys.ledger());
      const retried = await retriedActivities(
        sys.client,
        (await listAccessWorkflows(sys.client)).map((wf) => wf.workflowId),
      );
      if (retried === 0) problems.push('no retried activity is visible in access workflow histories');
      return { stats: addStats(paid, refunding), refunds, problems, retriedActivities: retried };
    },
  );
}

/**
 * Refunds each payment as soon as the LMS holds an enrollment of it (its workflow is granting), and
 * delivers the refund's webhooks; one still not enrolled at the deadline is refunded then.
 */
async function refundOnceEnrolled(
  sys: ChaosSystem,
  payments: TestPayment[],
  options: RefundOptions,
  provider: ProviderOptions,
  deadlineMs = 120_000,
): Promise<{ refunds: TestRefund[]; stats: DeliveryStats }> {
  const waiting = new Map(payments.map((p) => [paymentKey(p), p]));
  const refunds: TestRefund[] = [];
  const deliveries: Array<Promise<DeliveryStats>> = [];
  const deadline = Date.now() + deadlineMs;
  const byEmail = paymentsByEmail(payments);
  while (waiting.size > 0) {
    const enrolled = new Set(
      sys.sandbox.state.ledger
        .listEnrollments(() => true)
        .map((e) => paymentKeyOfEnrollment(e, byEmail))
        .filter((key) => waiting.has(key)),
    );
    const due = [...waiting.entries()].filter(([key]) => enrolled.has(key) || Date.now() > deadline);
    if (due.length > 0) {
      for (const [key] of due) waiting.delete(key);
      const made = await refundPayments(
        sys.sandbox.url,
        due.map(([, p]) => p),
        options,
      );
      refunds.push(...made);
      deliveries.push(deliverAll(made, { ...provider, concurrency: 10 }));
    }
    await sleep(20);
  }
  return { refunds, stats: addStats(...(await Promise.all(deliveries))) };
}

/**
 * Delivers the payments' own webhooks only once the access workflows of their refunds have completed:
 * as if their first deliveries had failed and the provider's retries came after the refund's.
 */
async function deliverAfterTheirRefunds(
  sys: ChaosSystem,
  payments: TestPayment[],
  provider: ProviderOptions,
  deadlineMs = 120_000,
): Promise<DeliveryStats> {
  const waiting = new Set(payments.map(paymentKey));
  const deadline = Date.now() + deadlineMs;
  while (waiting.size > 0 && Date.now() < deadline) {
    for (const wf of await listAccessWorkflows(sys.client, 'ExecutionStatus = "Completed"'))
      waiting.delete(wf.payment);
    await sleep(250);
  }
  return deliverAll(payments, { ...provider, concurrency: 10 });
}

/**
 * 8. Refunds racing their payments, a third of the refunded payments each way (in pairs, so both
 * providers each). Refunded right after the purchase is registered: (a) the refund's webhooks are
 * shuffled in with every paid webhook, spread over some 6 s, so they arrive before their payment's or
 * while its workflow runs; (b) the payment's own webhooks come only after the refund's access workflow
 * has finished (their first deliveries failed, say). (c) Refunded the moment the LMS holds the
 * payment's first enrollment, while its workflow is still granting (WhatsApp answers in 2 s).
 */
export function refundRacingPayment(count: number, o: RunOptions = {}) {
  return withSystem(
    'refund racing its payment',
    count,
    { ...o, faults: { whatsapp: { latencyMs: 2000 }, lms: { latencyMs: 100 } } },
    async ({ sys, payments, secrets, provider }) => {
      const refunded = refundedHalf(payments);
      const way = (n: number) => refunded.filter((_, j) => Math.floor(j / 2) % 3 === n);
      const [interleaved, paidLate, racing] = [way(0), way(1), way(2)];
      const options = { secrets, copies: COPIES };
      const first = await refundPayments(sys.sandbox.url, [...interleaved, ...paidLate], options);
      const late = new Set(paidLate.map(paymentKey));
      const [paid, paidAfter, raced] = await Promise.all([
        deliverAll([...payments.filter((p) => !late.has(paymentKey(p))), ...first], {
          ...provider,
          concurrency: 50,
          ratePerSecond: Math.max(20, count),
        }),
        deliverAfterTheirRefunds(sys, paidLate, provider),
        refundOnceEnrolled(sys, racing, options, provider),
      ]);
      const refunds = [...first, ...raced.refunds];
      await waitForCompletion(sys.client, payments.length, 120_000 + count * 500);
      await waitForAccess(sys, refunds, 180_000 + count * 500);
      return { stats: addStats(paid, paidAfter, raced.stats), refunds };
    },
  );
}

/**
 * 9. kill -9 of the worker while access workflows are revoking (every LMS answer 500 ms late, so
 * lookups and changes are in flight), once a quarter of the enrollments to revoke are revoked; a new
 * worker is started. The LMS requests the kill cut off count as faults injected.
 */
export function workerCrashDuringRevocation(count: number, o: RunOptions = {}) {
  return withSystem(
    'worker crash during revocation',
    count,
    o,
    async ({ sys, payments, secrets, provider }) => {
      const paid = await payAll(sys, payments, provider);
      await sys.setFaults({ lms: { latencyMs: 500 } });
      const refunded = refundedHalf(payments);
      const toRevoke = refunded.reduce((n, p) => n + Object.keys(p.courses).length, 0);
      const refunds = await refundPayments(sys.sandbox.url, refunded, { secrets, copies: COPIES });
      const refunding = deliverAll(refunds, { ...provider, concurrency: 50 });
      const revoked = () => sys.sandbox.state.ledger.listEnrollments((e) => e.status === 'revoked').length;
      const problems: string[] = [];
      const deadline = Date.now() + 120_000;
      while (revoked() < Math.ceil(toRevoke / 4) && Date.now() < deadline) await sleep(20);
      if (revoked() === 0) problems.push('nothing was revoked before the kill');
      await sys.worker.stop('SIGKILL');
      await sleep(500);
      await sys.worker.start();
      const stats = addStats(paid, await refunding);
      await waitForAccess(sys, refunds, 180_000 + count * 1000);
      await sys.setFaults({});
      const cut = sys.ledger().requests.filter((r) => r.service === 'lms' && r.aborted).length;
      if (cut === 0) problems.push('no LMS request was in flight at the kill');
      return { stats, refunds, crashes: 1, problems };
    },
  );
}
