import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createLogger, maskEmail } from '../../src/runtime/logger';
import { createEnrollmentStarter } from '../../src/webhook/start-enrollment';
import { paymentEvent } from '../helpers/payments';
import { startSystem, type System } from '../helpers/system';
import {
  LmsBlocks,
  opsEnv,
  opsRunner,
  pay,
  payIntoReview,
  resultOf,
  statusOf,
  visibleAs,
  waitForState,
  type TestPayment,
} from './support';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The ops CLI against the real system (dev server, worker, receiver, sandbox), called in-process
 * through runOps, plus once as a real child process to prove the entry point.
 */
let system: System;
let ops: ReturnType<typeof opsRunner>;
let blocks: LmsBlocks;

beforeAll(async () => {
  system = await startSystem();
  ops = opsRunner(system);
  blocks = new LmsBlocks(system);
}, 180_000);

afterAll(async () => {
  await system?.stop();
}, 60_000);

/** Whether any signal reached the workflow: the dry runs must not send one. */
async function signalsIn(workflowId: string): Promise<number> {
  const history = await system.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
}

const noStack = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('a payment stuck in review', () => {
  let stuck: TestPayment;

  beforeAll(async () => {
    stuck = await payIntoReview(system, blocks, { amountMinor: 499_900 });
  }, 30_000);

  it('is listed by `reviews` with reason, age, amount, course and masked student, as a table and as JSON', async () => {
    const table = await ops('reviews');
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const header = table.stdout.split('\n')[0];
    expect(header).toMatch(/^PAYMENT\s+PROVIDER\s+REVIEW\s+AGE\s+AMOUNT\s+COURSE\s+STUDENT\s+REASON$/);
    const line = table.stdout.split('\n').find((l) => l.startsWith(stuck.paymentId));
    expect(line).toMatch(
      /razorpay\s+enroll-1\s+\d+s\s+4999\.00 INR\s+course-ml-101\s+r\*\*\*@example\.com\s+LmsRejected: LMS rejected/,
    );
    expect(table.stdout).not.toContain(stuck.email);

    const json = await ops('reviews', '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout);
    const row = parsed.reviews.find((r: { paymentId: string }) => r.paymentId === stuck.paymentId);
    const status = await statusOf(system, stuck.workflowId);
    expect(row).toEqual({
      workflowId: stuck.workflowId,
      provider: 'razorpay',
      paymentId: stuck.paymentId,
      reviewId: 'enroll-1',
      step: 'enroll',
      reason: status.openReview!.reason,
      openedAt: status.openReview!.openedAt,
      ageSeconds: expect.any(Number),
      amountMinor: 499_900,
      currency: 'INR',
      amount: '4999.00 INR',
      courseId: 'course-ml-101',
      student: maskEmail(stuck.email),
    });
    expect(row.reason).toMatch(/^LmsRejected/);

    const stripeOnly = await ops('reviews', '--provider', 'stripe', '--json');
    expect(
      JSON.parse(stripeOnly.stdout).reviews.map((r: { paymentId: string }) => r.paymentId),
    ).not.toContain(stuck.paymentId);
  });

  it('is shown step by step by `show`, from its payment id or its workflow id', async () => {
    const shown = await ops('show', stuck.paymentId);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toContain(`Payment    ${stuck.paymentId} (razorpay), 4999.00 INR`);
    expect(shown.stdout).toMatch(/Execution {2}RUNNING, started/);
    expect(shown.stdout).toContain('State      needs_review');
    expect(shown.stdout).toMatch(/^STEP\s+STATUS\s+ATTEMPTS\s+RESULT \/ LAST ERROR$/m);
    expect(shown.stdout).toMatch(/^confirm\s+succeeded\s+1\s+verdict=grant product=course-ml-101$/m);
    expect(shown.stdout).toMatch(/^details\s+succeeded\s+0$/m);
    expect(shown.stdout).toMatch(/^enroll\s+failed\s+1\s+LmsRejected: LMS rejected/m);
    expect(shown.stdout).toMatch(/^welcome\s+pending\s+0$/m);
    expect(shown.stdout).toMatch(/^crm\s+pending\s+0$/m);
    expect(shown.stdout).toMatch(
      /1\. enroll-1 \(enroll\), opened .*LmsRejected[\s\S]*OPEN\. Decide: npm run ops -- resolve \S+ --review enroll-1 /,
    );
    expect(shown.stdout).not.toContain(stuck.email);

    const json = await ops('show', stuck.workflowId, '--json');
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({
      workflowId: stuck.workflowId,
      execution: { status: 'RUNNING' },
      payment: { provider: 'razorpay', paymentId: stuck.paymentId, amountMinor: 499_900, currency: 'INR' },
      state: 'needs_review',
      steps: { enroll: { status: 'failed', attempts: 1 }, welcome: { status: 'pending' } },
      openReview: { step: 'enroll' },
      student: { email: maskEmail(stuck.email) },
    });
    expect(parsed.reviews).toHaveLength(1);
  });

  it('refuses an invalid action with the valid ones, before contacting Temporal', async () => {
    const result = await ops(
      'resolve',
      stuck.paymentId,
      '--action',
      'redo',
      '--reviewer',
      'ops@example.com',
      '--note',
      'x',
    );
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: invalid action "redo": valid actions are retry, skip, abort\n',
    });
    const status = await statusOf(system, stuck.workflowId);
    expect(status.state).toBe('needs_review');
    expect(status.ignoredSignals).toEqual([]);
    expect(await signalsIn(stuck.workflowId)).toBe(0);
  });

  it('refuses a decision that names another review, before signalling', async () => {
    const result = await ops(
      'resolve',
      stuck.paymentId,
      '--review',
      'welcome-1',
      '--action',
      'retry',
      '--reviewer',
      'ops@example.com',
      '--note',
      'x',
    );
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toContain(
      `payment workflow ${stuck.workflowId} has review enroll-1 open, not welcome-1`,
    );
    expect(await signalsIn(stuck.workflowId)).toBe(0);
  });

  it('resolves with retry once the cause is fixed, and reports the completed workflow', async () => {
    await blocks.unblockAll();
    const result = await ops(
      'resolve',
      stuck.paymentId,
      '--action',
      'retry',
      '--reviewer',
      'ops@example.com',
      '--note',
      'course reopened',
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Sent resolveReview(retry) by ops@example.com to ${stuck.workflowId}`);
    expect(result.stdout).toMatch(/Now: workflow completed, outcome completed, enrollment \S+/);

    const summary = await resultOf(system, stuck.workflowId);
    expect(summary).toMatchObject({ outcome: 'completed', reviews: 1 });
    const status = await statusOf(system, stuck.workflowId);
    expect(status.reviews[0]!.resolution).toMatchObject({
      action: 'retry',
      reviewer: 'ops@example.com',
      note: 'course reopened',
    });
    const ledger = await system.ledger();
    expect(ledger.enrollments.filter((e) => e.email === stuck.email)).toHaveLength(1);
  });

  it('refuses to resolve a payment whose workflow has closed', async () => {
    const result = await ops(
      'resolve',
      stuck.paymentId,
      '--action',
      'skip',
      '--reviewer',
      'a@b.co',
      '--note',
      'x',
    );
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: payment workflow ${stuck.workflowId} is completed, not running: there is no review to resolve\n`,
    });
    const shown = await ops('show', stuck.paymentId);
    expect(shown.stdout).toMatch(/Execution {2}COMPLETED/);
    expect(shown.stdout).toMatch(/resolved: retry by ops@example\.com at \S+: course reopened/);
    expect(shown.stdout).toMatch(
      /Result {5}completed: enrollment \S+, message wamid\.\S+, contact \S+, 1 review\(s\)/,
    );
  });
});

describe('errors an operator can make', () => {
  it('names an unknown payment id, without a stack trace', async () => {
    for (const argv of [
      ['show', 'pay_Unknown0000001'],
      ['resolve', 'pay_Unknown0000001', '--action', 'retry', '--reviewer', 'a@b.co', '--note', 'x'],
    ]) {
      const result = await ops(...argv);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: no payment workflow payment-razorpay-pay_Unknown0000001 in namespace default\n',
      });
    }
    const stripe = await ops('show', 'weird_123', '--provider', 'stripe');
    expect(stripe.stderr).toBe('error: no payment workflow payment-stripe-weird_123 in namespace default\n');
  });

  it('rejects ids it cannot map to a payment, and missing flags, as usage errors', async () => {
    const session = await ops('show', 'cs_test_a1b2c3');
    expect(session.code).toBe(2);
    expect(session.stderr).toMatch(
      /Checkout Session id; payments are keyed by the PaymentIntent id \(pi_\.\.\.\)/,
    );
    const unknown = await ops('show', 'txn_123');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/cannot tell the provider of "txn_123": pass --provider razorpay\|stripe/);
    const missing = await ops('resolve', 'pay_X', '--action', 'retry');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--reviewer <who>' not specified");
    const abortWithPatch = await ops(
      'resolve',
      'pay_X',
      '--action',
      'abort',
      '--course-id',
      'c',
      '--reviewer',
      'a',
      '--note',
      'n',
    );
    expect(abortWithPatch.code).toBe(2);
    const namespace = await ops('reviews', '--namespace', 'no-such-namespace');
    expect(namespace).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/namespace no-such-namespace does not exist/),
    });
    for (const r of [session, unknown, missing, abortWithPatch, namespace]) noStack(r.stderr);
  });

  it('refuses to resolve a running payment that is not in review', async () => {
    await system.setFaults({ lms: { errorRate: 1 } });
    try {
      const busy = await pay(system);
      await waitForState(system, busy.workflowId, (s) => s.state === 'enrolling');
      const result = await ops(
        'resolve',
        busy.paymentId,
        '--action',
        'retry',
        '--reviewer',
        'a@b.co',
        '--note',
        'x',
      );
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: payment workflow ${busy.workflowId} is not waiting for review (state: enrolling): nothing to resolve\n`,
      });
      expect(await signalsIn(busy.workflowId)).toBe(0);
      const shown = await ops('show', busy.paymentId);
      expect(shown.stdout).toMatch(/State {6}enrolling/);
    } finally {
      await system.setFaults({ lms: { errorRate: 0 } });
    }
  });

  it('still shows what Temporal knows when no worker answers the status query', async () => {
    const starter = createEnrollmentStarter({
      client: system.client,
      taskQueue: 'ops-no-worker',
      startTimeoutMs: 5_000,
      logger: createLogger('ops-test', 'silent'),
    });
    const event = paymentEvent({ amountMinor: 75_000 });
    const { workflowId } = await starter.start(event);
    try {
      const shown = await ops('show', event.paymentId);
      expect(shown).toMatchObject({ code: 0, stderr: '' });
      expect(shown.stdout).toContain(`Payment    ${event.paymentId} (razorpay), 750.00 INR`);
      expect(shown.stdout).toMatch(/Execution {2}RUNNING/);
      expect(shown.stdout).toMatch(
        /Status {5}unavailable: could not query the status of payment-razorpay-\S+: /,
      );
    } finally {
      await system.client.workflow.getHandle(workflowId).terminate('ops test cleanup');
    }
  }, 20_000);

  it('resolves a purchase review by naming the catalog product the operator verified', async () => {
    // The order's notes name no product: the provider says paid, the catalog cannot say what.
    const bare = await pay(system, { courseId: null });
    const waiting = await waitForState(system, bare.workflowId, (s) => s.state === 'needs_review');
    expect(waiting.openReview).toMatchObject({ id: 'confirm-1', step: 'confirm', kind: 'purchase' });
    const result = await ops(
      'resolve',
      bare.paymentId,
      '--review',
      'confirm-1',
      '--action',
      'retry',
      '--product',
      'course-ml-101',
      '--reviewer',
      'ops@example.com',
      '--note',
      'product from the order page',
      '--json',
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      outcome: 'closed',
      review: { step: 'confirm', reason: waiting.openReview!.reason },
      input: { reviewId: 'confirm-1', action: 'retry', patch: { productId: 'course-ml-101' } },
      summary: { outcome: 'completed' },
    });
    const ledger = await system.ledger();
    expect(ledger.enrollments.filter((e) => e.email === bare.email).map((e) => e.course_id)).toEqual([
      'ML-101',
    ]);
  });
});

describe('retry-all', () => {
  it('counts without signalling by default, then resolves the matching payments with --yes', async () => {
    const batch: TestPayment[] = [];
    for (const provider of ['razorpay', 'razorpay', 'stripe'] as const) {
      batch.push(await payIntoReview(system, blocks, { provider }));
    }
    const ids = batch.map((p) => `"${p.paymentId}"`).join(', ');
    const query = `EnrollmentState="needs_review" AND PaymentId IN (${ids})`;
    const common = ['--reviewer', 'ops@example.com', '--note', 'LMS outage over'];

    const dry = await ops('retry-all', '--query', query, ...common);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toContain(`3 running payment workflow(s) match (${query})`);
    for (const p of batch)
      expect(dry.stdout).toMatch(new RegExp(`would retry\\s+${p.workflowId}: enroll LmsRejected`));
    expect(dry.stdout).toContain('Dry run: nothing sent. 3 would get resolveReview(retry), 0 skipped.');
    const filtered = await ops('retry-all', '--query', query, '--reason', 'error 190', ...common, '--json');
    expect(JSON.parse(filtered.stdout)).toMatchObject({
      matched: 3,
      dryRun: true,
      counts: { eligible: 0, skipped: 3 },
    });
    const otherStep = await ops('retry-all', '--query', query, '--step', 'crm', ...common, '--json');
    expect(JSON.parse(otherStep.stdout).items[0].detail).toBe('review is at step enroll, not crm');
    const badStep = await ops('retry-all', '--step', 'payment', ...common);
    expect(badStep.code).toBe(2);
    expect(badStep.stderr).toContain('valid steps are confirm, details, enroll, welcome, crm');
    for (const p of batch) {
      expect(await signalsIn(p.workflowId)).toBe(0);
      expect((await statusOf(system, p.workflowId)).openReview?.resolution).toBeUndefined();
    }

    await blocks.unblockAll();
    const stripeOnly = await ops(
      'retry-all',
      '--query',
      `${query} AND PaymentProvider="stripe"`,
      ...common,
      '--yes',
    );
    expect(stripeOnly.code).toBe(0);
    expect(stripeOnly.stdout).toContain('Sent resolveReview(retry) to 1; 0 skipped; 0 failed.');
    expect(await resultOf(system, batch[2]!.workflowId)).toMatchObject({
      outcome: 'completed',
      provider: 'stripe',
    });

    const rest = await ops('retry-all', '--query', query, ...common, '--yes', '--json');
    expect(rest.code).toBe(0);
    const parsed = JSON.parse(rest.stdout);
    expect(parsed.counts).toMatchObject({ signalled: 2, failed: 0 });
    expect(
      parsed.items
        .filter((i: { decision: string }) => i.decision === 'signalled')
        .map((i: { workflowId: string }) => i.workflowId)
        .sort(),
    ).toEqual([batch[0]!.workflowId, batch[1]!.workflowId].sort());
    for (const p of batch.slice(0, 2)) {
      expect(await resultOf(system, p.workflowId)).toMatchObject({ outcome: 'completed', reviews: 1 });
      expect((await statusOf(system, p.workflowId)).reviews[0]!.resolution).toMatchObject({
        action: 'retry',
        reviewer: 'ops@example.com',
        note: 'LMS outage over',
      });
    }
  });

  it('rejects abort and a malformed query', async () => {
    const abort = await ops('retry-all', '--action', 'abort', '--reviewer', 'a', '--note', 'n');
    expect(abort).toMatchObject({
      code: 2,
      stderr: 'error: invalid action "abort": valid actions are retry, skip\n',
    });
    const bad = await ops('retry-all', '--query', 'EnrollmentState ==== x', '--reviewer', 'a', '--note', 'n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid visibility query/);
  });
});

describe('the entry point as a real process', () => {
  it('runs `node --import tsx src/ops/cli.ts` with exit codes and one-line errors', async () => {
    const waiting = await payIntoReview(system, blocks);
    await visibleAs(system, waiting.workflowId, 'needs_review');
    const env = { ...process.env, ...opsEnv(system) };
    const cli = path.join('src', 'ops', 'cli.ts');
    const [listed, missing] = await Promise.all([
      run(process.execPath, ['--import', 'tsx', cli, 'reviews', '--json'], { cwd: ROOT, env }),
      run(process.execPath, ['--import', 'tsx', cli, 'show', 'pay_Missing0000001'], { cwd: ROOT, env }).then(
        () => {
          throw new Error('expected a non-zero exit');
        },
        (err: { code: number; stdout: string; stderr: string }) => err,
      ),
    ]);
    const reviews = JSON.parse(listed.stdout).reviews as Array<{ paymentId: string; reason: string }>;
    expect(reviews.find((r) => r.paymentId === waiting.paymentId)?.reason).toMatch(/^LmsRejected/);
    expect(missing).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error: no payment workflow payment-razorpay-pay_Missing0000001 in namespace default\n',
    });
  }, 30_000);
});
