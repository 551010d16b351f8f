import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  refundRacingPayment,
  refundStorm,
  workerCrashDuringRevocation,
} from '../../scripts/reliability/money-back';
import {
  isReconciliationReport,
  reconciliationTable,
  webhookPathDown,
} from '../../scripts/reliability/reconciliation';
import {
  downstreamFaults,
  duplicateStorm,
  figuresTable,
  receiverCrash,
  reviewUnderLoad,
  scanLogs,
  type ScenarioReport,
  temporalRestart,
  workerCrash,
} from '../../scripts/reliability/scenarios';

/**
 * The reliability scenarios at `npm test` size, each on its own freshly started system of real
 * processes. `npm run verify` runs the same scenarios at full size. The invariant in every one:
 * every payment (each registered with the sandbox provider first, for a catalog product at its price)
 * completes with exactly one enrollment per course it bought (a bundle grants several), one welcome and
 * one CRM contact, and nothing is enrolled that no payment paid for. With refunds (the last three): a
 * payment refunded in full keeps no course active or suspended, no enrollment is revoked twice, every
 * refund runs exactly one access workflow to completion, and the payments not refunded keep everything.
 */
const reports: ScenarioReport[] = [];
const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-bundle-'));
const options = { bundleFile: path.join(bundleDir, 'workflow-bundle.js') };

/** What every scenario must show: no problem found, nothing lost or duplicated, access follows the money. */
async function expectInvariants<R extends ScenarioReport>(report: Promise<R>): Promise<R> {
  const r = await report;
  reports.push(r);
  expect({
    problems: r.problems,
    lost: r.lost,
    duplicated: r.duplicated,
    unmatched: r.unmatched,
    accessKept: r.accessKept,
    revokedTwice: r.revokedTwice,
  }).toEqual({ problems: [], lost: 0, duplicated: 0, unmatched: 0, accessKept: 0, revokedTwice: 0 });
  expect([r.workflows, r.completed]).toEqual([r.payments, r.payments]);
  return r;
}

async function expectNothingLostOrDuplicated<R extends ScenarioReport>(report: Promise<R>): Promise<R> {
  const r = await expectInvariants(report);
  // Bundles are among the products bought: more courses granted than payments made.
  expect(r.grants).toBeGreaterThan(r.payments);
  expect([r.enrollments, r.messages, r.contacts]).toEqual([r.grants, r.payments, r.payments]);
  expect([r.accessWorkflows, r.revoked]).toEqual([0, 0]);
  return r;
}

/** A refund scenario: half the payments refunded in full, each by exactly one completed access workflow. */
async function expectAccessToFollowTheMoney(report: Promise<ScenarioReport>): Promise<ScenarioReport> {
  const r = await expectInvariants(report);
  expect(r.refunds).toBe(r.payments / 2);
  expect(r.accessWorkflows).toBe(r.refunds);
  expect(Object.values(r.accessOutcomes).reduce((a, b) => a + b, 0)).toBe(r.refunds);
  expect(Object.values(r.landed).reduce((a, b) => a + b, 0)).toBe(r.refunds);
  return r;
}

afterAll(() => {
  if (reports.length) console.log(`reliability figures (npm test size)\n${figuresTable(reports)}`);
  if (reports.some(isReconciliationReport))
    console.log(`reconciliation figures (npm test size)\n${reconciliationTable(reports)}`);
  for (const r of reports) fs.rmSync(r.dir, { recursive: true, force: true });
  fs.rmSync(bundleDir, { recursive: true, force: true });
});

describe('reliability: nothing lost, nothing duplicated', () => {
  it('survives a duplicate storm: 5 concurrent deliveries per payment, both paid events, random order', async () => {
    const r = await expectNothingLostOrDuplicated(duplicateStorm(30, options));
    expect(r.deliveries).toBe(150);
  }, 300_000);

  it('rides out downstream and provider API faults (5xx, 429 with Retry-After, timeouts, expiring CRM tokens) with one LMS key per course bought', async () => {
    const r = await expectNothingLostOrDuplicated(downstreamFaults(12, options));
    expect(r.faultsInjected).toBeGreaterThan(5);
    expect(r.retriedActivities).toBeGreaterThan(0);
  }, 600_000);

  it('rides out the same faults against the Moodle emulation (errors as HTTP 200 database exceptions): one Moodle account per student, one enrolment per course', async () => {
    const r = await expectNothingLostOrDuplicated(downstreamFaults(10, { ...options, lms: 'moodle' }));
    expect(r.faultsInjected).toBeGreaterThan(5);
    expect(r.retriedActivities).toBeGreaterThan(0);
  }, 600_000);

  it('recovers from a kill -9 of the worker without sending any welcome twice', async () => {
    const r = await expectNothingLostOrDuplicated(workerCrash(12, options));
    expect(r.crashes).toBe(1);
  }, 300_000);

  it('answers 503 while Temporal is down and completes every payment after the restart', async () => {
    const r = await expectNothingLostOrDuplicated(temporalRestart(12, options));
    expect(r.refused['503']).toBeGreaterThan(0);
  }, 300_000);

  it('loses nothing when the webhook receiver is killed with requests in flight', async () => {
    const r = await expectNothingLostOrDuplicated(receiverCrash(12, options));
    expect(r.refused['0']).toBeGreaterThan(0);
  }, 300_000);

  it('finds every permanently failing payment in review and completes them with one batch signal', async () => {
    const r = await expectNothingLostOrDuplicated(reviewUnderLoad(15, options));
    expect(r.reviewsResolved).toBe(3);
  }, 300_000);

  it('revokes every fully refunded payment once, with 5 deliveries per refund into LMS and CRM faults', async () => {
    const r = await expectAccessToFollowTheMoney(refundStorm(12, options));
    expect(r.accessOutcomes).toEqual({ revoked: r.refunds });
    expect(r.landed).toEqual({ after: r.refunds });
    expect(r.faultsInjected).toBeGreaterThan(5);
    expect(r.retriedActivities).toBeGreaterThan(0);
  }, 600_000);

  it('grants nothing, or takes it back, when a refund races its payment’s own webhooks', async () => {
    const r = await expectAccessToFollowTheMoney(refundRacingPayment(24, options));
    // Eight were refunded before any delivery, so their payments granted nothing whatever came first;
    // four of those refunds came before their payment's webhooks and found no payment at all.
    expect(r.landed.before).toBeGreaterThanOrEqual(4);
    expect((r.landed.before ?? 0) + (r.landed.during ?? 0)).toBeGreaterThanOrEqual(8);
    expect(r.enrollments).toBeLessThan(r.grants);
  }, 600_000);

  it('revokes once across a kill -9 of the worker in the middle of revocations', async () => {
    const r = await expectAccessToFollowTheMoney(workerCrashDuringRevocation(12, options));
    expect(r.crashes).toBe(1);
    expect(r.accessOutcomes).toEqual({ revoked: r.refunds });
    expect(r.faultsInjected).toBeGreaterThan(0);
  }, 600_000);

  it('finds every payment whose webhooks were all refused and abandoned by reconciliation, and starts nothing with webhooks healthy', async () => {
    const r = await expectNothingLostOrDuplicated(webhookPathDown(20, options));
    expect(r.abandoned).toBe(10);
    // Each of their 5 deliveries refused at least once (the scenario checks they got nothing but 401).
    expect(r.refused['401']).toBeGreaterThanOrEqual(50);
    expect(r.reconciled).toBe(r.abandoned);
    expect(r.reconcileDuplicates).toBeGreaterThanOrEqual(r.payments - r.abandoned);
    expect(r.bySource).toEqual({ webhook: r.payments - r.abandoned, reconciliation: r.abandoned });
    expect(r.healthyStarted).toBe(0);
    expect(r.healthyDuplicates).toBeGreaterThanOrEqual(r.payments);
  }, 300_000);

  it('writes no secret, token or student contact detail to any process log', () => {
    expect(reports.length).toBeGreaterThan(0);
    expect(scanLogs(reports)).toEqual([]);
  });
});
