import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, type Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Registry } from 'prom-client';
import { loadWorkerConfig } from '../../src/config';
import { createBusinessMetrics } from '../../src/observability/business-metrics';
import { runOps } from '../../src/ops/cli';
import { createLogger } from '../../src/runtime/logger';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import { sendDeliveries } from '../../src/tools/deliver';
import { registerDispute, registerRefund } from '../../src/tools/purchase';
import { accessWorkflowId } from '../../src/domain/access-event';
import { newPaymentId, type PaymentProvider, providerNames } from '../../src/providers';
import { ensureReconcileSchedules } from '../../src/temporal/reconcile-schedules';
import { createEnrollmentStarter } from '../../src/webhook/start-enrollment';
import { createEnrollmentWorker } from '../../src/worker';
import { paymentSourceSearchAttribute, resolveReviewSignal } from '../../src/workflows/messages';
import { type ReconcileResult, reconcileScheduleId } from '../../src/workflows/reconcile-messages';
import { eventually } from '../helpers/eventually';
import { paymentEvent } from '../helpers/payments';
import { startSystem, type System } from '../helpers/system';
import { isCommand, parseRunbook, placeholdersOf, quotesTestedCommand, substitute } from './runbook-doc';
import {
  accessChangeIn,
  deliverChange,
  LmsBlocks,
  openReviewId,
  opsEnv,
  pay,
  payIntoReview,
  registerPaymentOf,
  resultOf,
  statusOf,
  visibleAs,
  waitForState,
  type TestPayment,
} from './support';
import { FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter';
import { parsePayloadKeys } from '../../src/temporal/payload-codec';

const run = promisify(execFile);

/**
 * docs/operations.md, executed: every fenced block tagged `ops-test=<scenario>` runs here, command by
 * command, against a real dev server and worker, after the scenario below has put a payment into the
 * situation the runbook section describes. `temporal ...` lines run in bash exactly as written (with
 * the placeholders filled in and a `temporal` on PATH); `npm run ops -- ...` lines are split into
 * arguments by bash and run in-process. A doc command that breaks, a block without a scenario or a
 * scenario without a block, and a `temporal` command quoted outside a tested block all fail here.
 */
const DOC = path.resolve(__dirname, '..', '..', 'docs', 'operations.md');
const runbook = parseRunbook(fs.readFileSync(DOC, 'utf8'));
const REVIEWER = 'oncall@example.com';

let system: System;
let blocks: LmsBlocks;
let binDir: string;
const workers: Array<{ worker: Worker; running: Promise<void>; connection: NativeConnection }> = [];

beforeAll(async () => {
  system = await startSystem({ codecServer: true });
  blocks = new LmsBlocks(system);
  // A `temporal` on PATH, as the runbook assumes, whichever binary the system found.
  binDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-runbook-'));
  fs.symlinkSync(path.resolve(system.cli), path.join(binDir, 'temporal'));
}, 180_000);

afterAll(async () => {
  for (const w of workers) await stopWorker(w);
  await system?.stop();
  if (binDir) fs.rmSync(binDir, { recursive: true, force: true });
}, 60_000);

interface CommandOutput {
  command: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** What the runbook's Tools section exports: the cluster, and the workers' task queue for `ops reconcile`. */
const runbookEnv = (): NodeJS.ProcessEnv => ({
  ...opsEnv(system),
  TEMPORAL_TASK_QUEUE: system.env.TEMPORAL_TASK_QUEUE,
  // As `.data/dev.env` holds them, and the Tools section exports them for `temporal`.
  CODEC_ENDPOINT: system.codec!.url,
  CODEC_AUTH: system.codec!.token,
  TEMPORAL_CODEC_ENDPOINT: system.codec!.url,
  TEMPORAL_CODEC_AUTH: `Bearer ${system.codec!.token}`,
});

async function runTemporal(command: string): Promise<CommandOutput> {
  const env = {
    ...process.env,
    ...runbookEnv(),
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
  };
  try {
    const { stdout, stderr } = await run('bash', ['-o', 'pipefail', '-c', command], { env, timeout: 30_000 });
    return { command, code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return {
      command,
      code: typeof e.code === 'number' ? e.code : 1,
      stdout: e.stdout ?? '',
      stderr: e.stderr ?? '',
    };
  }
}

/** `npm run ops -- <args>`: bash does the quoting, exactly as in a terminal; the CLI runs in-process. */
async function runOpsCommand(command: string): Promise<CommandOutput> {
  const args = command.replace(/^npm run ops --\s*/, '');
  const { stdout: raw } = await run('bash', ['-c', `set -- ${args}\nprintf '%s\\0' "$@"`]);
  const argv = raw.split('\0').slice(0, -1);
  let stdout = '';
  let stderr = '';
  const code = await runOps(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: runbookEnv(),
  });
  return { command, code, stdout, stderr };
}

/** `ops reconcile` names the workflow it runs on stderr before waiting for it: progress, not an error. */
const RECONCILE_PROGRESS = /^running reconcile-\S+ \(stopping this command leaves it running\)\n/;
/** `payload-keys new` says on stderr what to do with the key, so stdout is the ring entry alone. */
const PAYLOAD_KEY_HINT = /^Add it to PAYLOAD_KEYS everywhere.*\n/;

type Vars = Record<string, string>;

interface Scenario {
  /** Puts the system into the situation of the doc section; returns the placeholder values. */
  setup(): Promise<Vars>;
  /** Runs after command `index` of the block, before the next one: the pause a person takes. */
  after?(index: number, vars: Vars): Promise<void>;
  verify?(outputs: CommandOutput[], vars: Vars): Promise<void>;
}

const varsOf = (p: TestPayment): Vars => ({ PAYMENT_ID: p.paymentId, WORKFLOW_ID: p.workflowId, REVIEWER });

const lineOf = (text: string, needle: string) => text.split('\n').filter((l) => l.includes(needle));

async function pendingAttempt(workflowId: string, activity: string, atLeast: number): Promise<void> {
  await eventually(
    async () => {
      const { raw } = await system.client.workflow.getHandle(workflowId).describe();
      const pending = raw.pendingActivities?.find((a) => a.activityType?.name === activity);
      return (pending?.attempt ?? 0) >= atLeast && pending?.lastFailure ? true : undefined;
    },
    20_000,
    200,
  );
}

/** A review decided with abort (the "mistake" the reset sections undo); resolves once it has closed. */
async function abortByMistake(p: TestPayment): Promise<void> {
  const reviewId = await openReviewId(system, p.workflowId);
  await system.client.workflow.getHandle(p.workflowId).signal(resolveReviewSignal, {
    reviewId,
    action: 'abort',
    reviewer: 'someone@example.com',
    note: 'wrong payment',
  });
  expect(await resultOf(system, p.workflowId)).toMatchObject({ outcome: 'aborted' });
}

async function startWorker(taskQueue: string, overrides: NodeJS.ProcessEnv = {}) {
  const env = { ...system.env, TEMPORAL_TASK_QUEUE: taskQueue, ...overrides };
  const connection = await NativeConnection.connect({ address: system.temporal.address });
  const worker = await createEnrollmentWorker({
    config: loadWorkerConfig(env),
    connection,
    logger: createLogger('runbook', 'silent'),
    workflowBundle: await workflowBundle(),
    shutdownGraceTime: '1s',
  });
  const entry = { worker, running: worker.run(), connection };
  workers.push(entry);
  return entry;
}

async function stopWorker(entry: (typeof workers)[number]): Promise<void> {
  const i = workers.indexOf(entry);
  if (i >= 0) workers.splice(i, 1);
  if (entry.worker.getState() === 'RUNNING') entry.worker.shutdown();
  await entry.running.catch(() => undefined);
  await entry.connection.close().catch(() => undefined);
}

let bundle: Awaited<ReturnType<typeof bundleWorkflowCode>> | undefined;
async function workflowBundle() {
  bundle ??= await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('ERROR'),
  });
  return bundle;
}

/**
 * The reconciliation Schedules as a worker creates them at start (the test's workers are created
 * in-process, without them), for the worker on `taskQueue`. Paused, with the longest interval, so only
 * the runs a scenario triggers happen (a paused Schedule still takes a triggered action); no settling
 * delay, so a payment registered a moment ago is in a run's window. Deleted after each section.
 */
async function reconcileSchedules(taskQueue: string): Promise<void> {
  const config = loadWorkerConfig({
    ...system.env,
    TEMPORAL_TASK_QUEUE: taskQueue,
    RECONCILE_INTERVAL_MINUTES: '1440',
    RECONCILE_SETTLE_SECONDS: '0',
  });
  await ensureReconcileSchedules(system.client, config, createLogger('runbook', 'silent'));
  for (const provider of providerNames) {
    await system.client.schedule
      .getHandle(reconcileScheduleId(provider))
      .pause('runbook test: runs are triggered');
  }
}

async function deleteReconcileSchedules(): Promise<void> {
  for (const provider of providerNames) {
    await system.client.schedule
      .getHandle(reconcileScheduleId(provider))
      .delete()
      .catch(() => undefined);
  }
}

const actionsTaken = async (provider: PaymentProvider): Promise<number> =>
  (await system.client.schedule.getHandle(reconcileScheduleId(provider)).describe()).info.numActionsTaken;

/** The workflow id of the run the Schedule started after it had taken `before` actions. */
async function runAfter(provider: PaymentProvider, before: number): Promise<string> {
  const schedule = system.client.schedule.getHandle(reconcileScheduleId(provider));
  return eventually(
    async () => {
      const { info } = await schedule.describe();
      if (info.numActionsTaken <= before) return undefined;
      const latest = [...info.recentActions].sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime()).at(-1);
      return latest?.action.workflow.workflowId;
    },
    15_000,
    200,
  );
}

/** Runs the provider's Schedule now, as its next tick would; returns the run's workflow id. */
async function triggerReconcile(provider: PaymentProvider): Promise<string> {
  const before = await actionsTaken(provider);
  await system.client.schedule.getHandle(reconcileScheduleId(provider)).trigger();
  return runAfter(provider, before);
}

async function visibleCount(query: string, count = 1): Promise<void> {
  await eventually(async () => (await system.client.workflow.count(query)).count === count, 15_000, 100);
}

/** A payment the provider holds (paid, captured) whose webhook never came. */
async function paidWithoutWebhook(): Promise<TestPayment> {
  const paymentId = newPaymentId('razorpay');
  const email = `lost-${paymentId.toLowerCase()}@example.com`;
  const event = paymentEvent({
    paymentId,
    student: { email, name: 'Lost Webhook', phone: '+919876500009' },
  });
  await registerPaymentOf(system, event);
  return { provider: 'razorpay', paymentId, workflowId: enrollmentWorkflowId('razorpay', paymentId), email };
}

let badKeysWorker: Awaited<ReturnType<typeof startWorker>> | undefined;

const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

const scenarios: Record<string, Scenario> = {
  'codec-cli': {
    async setup() {
      const p = await pay(system, { provider: 'stripe', phone: '+919876500077' });
      await resultOf(system, p.workflowId);
      return varsOf(p);
    },
    verify([describe, query], vars) {
      // Decoded: the summary names the payment, the result and the status are readable JSON.
      expect(describe!.stdout).toContain(`stripe ${vars.PAYMENT_ID}`);
      expect(describe!.stdout).toContain('"outcome":"completed"');
      expect(describe!.stdout).not.toContain('binary/encrypted');
      expect(query!.stdout).toContain('"state":"completed"');
      return Promise.resolve();
    },
  },

  'payload-keys': {
    async setup() {
      await payIntoReview(system, blocks);
      return { NEW_KEY_ID: 'k-runbook-2' };
    },
    verify([generated, usage]) {
      const entry = generated!.stdout.trim();
      expect(entry).toMatch(/^k-runbook-2:[A-Za-z0-9+/]{43}=$/);
      expect(parsePayloadKeys(entry, undefined).activeKeyId).toBe('k-runbook-2');
      // The running payment was written under the system's key, the one that seals.
      expect(lineOf(usage!.stdout, 'e2e-1')[0]).toMatch(/^e2e-1\s+[1-9]\d*\s+[1-9]\d*\s+active$/);
      return Promise.resolve();
    },
  },

  'review-inspect': {
    setup: async () => varsOf(await payIntoReview(system, blocks, { courseId: 'course-ds-301' })),
    async verify([reviews, list, show, describe, query], vars) {
      expect(lineOf(reviews!.stdout, vars.PAYMENT_ID!)[0]).toMatch(
        /enroll-1 .*14999\.00 INR\s+course-ds-301 .*LmsRejected/,
      );
      expect(list!.stdout).toContain(vars.WORKFLOW_ID);
      expect(show!.stdout).toContain('State      needs_review');
      expect(describe!.stdout).toContain(vars.WORKFLOW_ID);
      expect(query!.stdout).toContain('"state":"needs_review"');
    },
  },

  'review-resolve': {
    async setup() {
      const p = await payIntoReview(system, blocks);
      await blocks.unblockAll();
      return { ...varsOf(p), REVIEW_ID: await openReviewId(system, p.workflowId) };
    },
    async verify([resolved], vars) {
      expect(resolved!.stdout).toMatch(/Now: workflow completed, outcome completed/);
      expect(await resultOf(system, vars.WORKFLOW_ID!)).toMatchObject({ outcome: 'completed', reviews: 1 });
    },
  },

  'review-patch': {
    async setup() {
      // The order's notes name no catalog product: the confirmation step cannot say what was bought.
      const p = await pay(system, { courseId: null });
      await waitForState(system, p.workflowId, (s) => s.openReview?.id === 'confirm-1');
      return varsOf(p);
    },
    async verify(_, vars) {
      expect(await resultOf(system, vars.WORKFLOW_ID!)).toMatchObject({ outcome: 'completed' });
      const status = await statusOf(system, vars.WORKFLOW_ID!);
      expect(status.purchase).toMatchObject({ productId: 'course-ml-101', overriddenBy: REVIEWER });
      const ledger = await system.ledger();
      expect(
        ledger.enrollments.filter((e) => e.external_ref?.startsWith(`razorpay:${vars.PAYMENT_ID}`)),
      ).toHaveLength(1);
    },
  },

  'review-signal': {
    async setup() {
      const p = await payIntoReview(system, blocks);
      await blocks.unblockAll();
      return { ...varsOf(p), REVIEW_ID: await openReviewId(system, p.workflowId) };
    },
    async verify([, result], vars) {
      expect(result!.stdout).toContain('"outcome":"completed"');
      const status = await statusOf(system, vars.WORKFLOW_ID!);
      expect(status.reviews[0]!.resolution).toMatchObject({ action: 'retry', reviewer: REVIEWER });
    },
  },

  'lms-down-diagnose': {
    async setup() {
      await system.setFaults({ lms: { errorRate: 1 } });
      const p = await pay(system);
      await pendingAttempt(p.workflowId, 'enrollStudent', 2);
      await visibleAs(system, p.workflowId, 'enrolling');
      return varsOf(p);
    },
    async verify([list, describe, show], vars) {
      expect(list!.stdout).toContain(vars.WORKFLOW_ID);
      expect(describe!.stdout).toContain('enrollStudent');
      expect(describe!.stdout).toContain('DownstreamUnavailable');
      expect(show!.stdout).toMatch(
        /Temporal is retrying:\n {2}enroll \(enrollStudent\) \w+, attempt \d+.*last failure: DownstreamUnavailable: LMS unavailable/,
      );
    },
  },

  'lms-down-recover': {
    async setup() {
      const a = await payIntoReview(system, blocks);
      const b = await payIntoReview(system, blocks);
      await blocks.unblockAll();
      return { ...varsOf(a), OTHER_WORKFLOW_ID: b.workflowId };
    },
    async verify([dry, sent, reviews], vars) {
      for (const id of [vars.WORKFLOW_ID!, vars.OTHER_WORKFLOW_ID!]) {
        expect(dry!.stdout).toMatch(new RegExp(`would retry\\s+${id}`));
        expect(await resultOf(system, id)).toMatchObject({ outcome: 'completed', reviews: 1 });
      }
      expect(sent!.stdout).toContain('Sent resolveReview(retry) to 2; 0 skipped; 0 failed.');
      expect(reviews!.stdout).toBe('No payments need review.\n');
    },
  },

  'lms-down-batch': {
    async setup() {
      const a = await payIntoReview(system, blocks);
      const b = await payIntoReview(system, blocks);
      await blocks.unblockAll();
      return { ...varsOf(a), OTHER_WORKFLOW_ID: b.workflowId };
    },
    async verify([signal], vars) {
      expect(signal!.stdout).toMatch(/Started batch for job ID/);
      for (const id of [vars.WORKFLOW_ID!, vars.OTHER_WORKFLOW_ID!]) {
        expect(await resultOf(system, id)).toMatchObject({ outcome: 'completed', reviews: 1 });
      }
    },
  },

  'whatsapp-token': {
    /** The real sequence: a worker with a dead token, 190 into review, rotation = a worker restart. */
    async setup() {
      const taskQueue = 'runbook-whatsapp';
      const expired = await startWorker(taskQueue, { WHATSAPP_ACCESS_TOKEN: 'expired-token-0000' });
      const starter = createEnrollmentStarter({
        client: system.client,
        taskQueue,
        startTimeoutMs: 5_000,
        logger: createLogger('runbook', 'silent'),
      });
      const events = [1, 2].map((n) =>
        paymentEvent({
          paymentId: newPaymentId('razorpay'),
          student: {
            email: `wa${n}-${Date.now()}@example.com`,
            name: 'Wa Student',
            phone: `+91987650000${n}`,
          },
        }),
      );
      for (const event of events) {
        await registerPaymentOf(system, event);
        await starter.start(event);
      }
      const ids = events.map((e) => enrollmentWorkflowId(e.provider, e.paymentId));
      for (const id of ids) {
        const status = await waitForState(system, id, (s) => s.state === 'needs_review');
        expect(status.openReview).toMatchObject({ step: 'welcome' });
        expect(status.openReview!.reason).toMatch(/^WhatsAppRejected: WhatsApp error 190/);
        await visibleAs(system, id, 'needs_review');
      }
      // Rotate the token: stop the worker that has the old one, start one with the new one.
      await stopWorker(expired);
      await startWorker(taskQueue);
      const messagesBefore = (await system.ledger()).messages.length;
      return {
        TASK_QUEUE: taskQueue,
        REVIEWER,
        WORKFLOW_ID: ids[0]!,
        OTHER_WORKFLOW_ID: ids[1]!,
        MESSAGES_BEFORE: String(messagesBefore),
      };
    },
    async verify([describe, dry, sent], vars) {
      expect(describe!.stdout).toMatch(/Poller|Identity/i);
      expect(dry!.stdout).toMatch(/Dry run: nothing sent\. 2 would get resolveReview\(retry\)/);
      expect(sent!.stdout).toContain('Sent resolveReview(retry) to 2; 0 skipped; 0 failed.');
      for (const id of [vars.WORKFLOW_ID!, vars.OTHER_WORKFLOW_ID!]) {
        expect(await resultOf(system, id)).toMatchObject({
          outcome: 'completed',
          messageId: expect.any(String),
        });
      }
      // Retrying a 190 cannot duplicate: nothing was sent before, exactly one message each now. (Counted
      // by recipient: a payment of an earlier section may still finish its LMS retries meanwhile.)
      const messages = (await system.ledger()).messages.slice(Number(vars.MESSAGES_BEFORE));
      const toThem = messages.map((m) => m.to).filter((to) => to === '919876500001' || to === '919876500002');
      expect(toThem.sort()).toEqual(['919876500001', '919876500002']);
    },
  },

  'crm-diagnose': {
    async setup() {
      await system.setFaults({ hubspot: { rateLimitRate: 1, retryAfter: { seconds: 30 } } });
      const p = await pay(system);
      await pendingAttempt(p.workflowId, 'upsertCrmContact', 2);
      await visibleAs(system, p.workflowId, 'crm');
      return varsOf(p);
    },
    async verify([list, describe], vars) {
      expect(list!.stdout).toContain(vars.WORKFLOW_ID);
      expect(describe!.stdout).toContain('upsertCrmContact');
      expect(describe!.stdout).toContain('RateLimited');
    },
  },

  'crm-recover': {
    setup: async () => ({ REVIEWER }),
    async verify([dry, sent]) {
      expect(dry!.stdout).toContain('Dry run: nothing sent.');
      expect(sent!.stdout).toMatch(/Sent resolveReview\(retry\) to 0; \d+ skipped; 0 failed\./);
    },
  },

  'secret-verify': {
    async setup() {
      const since = new Date(Date.now() - 2_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const p = await pay(system, { provider: 'stripe' });
      await resultOf(system, p.workflowId);
      await eventually(async () => {
        const { count } = await system.client.workflow.count(
          `PaymentProvider="stripe" AND StartTime > "${since}"`,
        );
        return count === 1;
      });
      return { ...varsOf(p), SINCE: since };
    },
    async verify([count, list], vars) {
      expect(count!.stdout).toMatch(/Total: 1\b/);
      expect(list!.stdout).toContain(vars.WORKFLOW_ID);
    },
  },

  'duplicate-proof': {
    async setup() {
      const paymentId = newPaymentId('razorpay');
      const results = await sendDeliveries({
        provider: 'razorpay',
        url: system.receiver.url,
        secret: system.secrets.razorpay,
        sandboxUrl: system.sandbox.url,
        fixture: {
          paymentId,
          email: `dup-${paymentId.toLowerCase()}@example.com`,
          courseId: 'course-ml-101',
        },
        duplicates: 3,
        mix: true,
      });
      expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
      const workflowId = enrollmentWorkflowId('razorpay', paymentId);
      await resultOf(system, workflowId);
      return { PAYMENT_ID: paymentId, WORKFLOW_ID: workflowId, REVIEWER };
    },
    async verify([list, show, history, namespace], vars) {
      expect(lineOf(list!.stdout, vars.WORKFLOW_ID!)).toHaveLength(1);
      expect(show!.stdout).toMatch(/Result {5}completed: enrollment \S+, message wamid\.\S+, contact \S+/);
      for (const activity of ['enrollStudent', 'sendWelcomeMessage', 'upsertCrmContact']) {
        expect(lineOf(history!.stdout, activity)).toHaveLength(1);
      }
      expect(lineOf(history!.stdout, 'paymentDetails').length).toBeLessThanOrEqual(2);
      expect(namespace!.stdout).toMatch(/720h|30 days|2592000/);
    },
  },

  'reconcile-found': {
    /** The webhook never came; the scheduled reconciliation's run found the payment and started it. */
    async setup() {
      const since = isoSeconds(Date.now() - 2_000);
      const p = await paidWithoutWebhook();
      await reconcileSchedules(system.env.TEMPORAL_TASK_QUEUE!);
      const run = await triggerReconcile('razorpay');
      const result = (await system.client.workflow.getHandle(run).result()) as ReconcileResult;
      // Every earlier section's payment had its webhook: this one is all the run started.
      expect(result.startedItems.map((i) => i.id)).toEqual([p.paymentId]);
      await visibleCount(`PaymentSource="reconciliation" AND WorkflowId="${p.workflowId}"`);
      return { ...varsOf(p), SINCE: since };
    },
    async verify([all, recent, show], vars) {
      expect(all!.stdout).toContain(vars.WORKFLOW_ID);
      expect(lineOf(recent!.stdout, 'payment-')).toEqual([expect.stringContaining(vars.WORKFLOW_ID!)]);
      expect(show!.stdout).toMatch(
        new RegExp(
          `Payment {4}${vars.PAYMENT_ID} \\(razorpay\\), .*found by reconciliation \\(no webhook started it\\)`,
        ),
      );
      expect(await resultOf(system, vars.WORKFLOW_ID!)).toMatchObject({ outcome: 'completed' });
      const ledger = await system.ledger();
      expect(
        ledger.enrollments.filter((e) => e.external_ref?.startsWith(`razorpay:${vars.PAYMENT_ID}:`)),
      ).toHaveLength(1);
    },
  },

  'reconcile-diagnose': {
    /** Razorpay refuses the worker's API key: the run fails; someone paused the Schedule meanwhile. */
    async setup() {
      const taskQueue = 'runbook-reconcile-bad-keys';
      badKeysWorker = await startWorker(taskQueue, { RAZORPAY_KEY_SECRET: 'revoked-key-secret' });
      await reconcileSchedules(taskQueue);
      const run = await triggerReconcile('razorpay');
      // What the Web UI shows, decoded through the codec: the cause and its message.
      const failed = await system.client.workflow
        .getHandle(run)
        .result()
        .then(
          () => undefined,
          (err: unknown) => err as Error & { cause?: Error & { cause?: Error & { type?: string } } },
        );
      // The workflow failed on its activity, which failed on Razorpay's answer.
      expect(failed?.cause?.cause).toMatchObject({
        type: 'ProviderRejected',
        message: expect.stringContaining('Razorpay refused the API key (HTTP 401)'),
      });
      await system.client.schedule
        .getHandle(reconcileScheduleId('razorpay'))
        .pause(`paused by ${REVIEWER}: Razorpay keys being rotated`);
      await visibleCount(
        `TemporalScheduledById="reconcile-razorpay" AND ExecutionStatus="Failed" AND WorkflowId="${run}"`,
      );
      return { RUN_WORKFLOW_ID: run };
    },
    async verify([schedule, runs, run], vars) {
      expect(schedule!.stdout).toMatch(/Paused\s+true/);
      expect(schedule!.stdout).toContain(`paused by ${REVIEWER}: Razorpay keys being rotated`);
      // A run's id is the Schedule's id and the second it ran: an earlier section's run may share it.
      expect(lineOf(runs!.stdout, vars.RUN_WORKFLOW_ID!).filter((l) => /\bFailed\b/.test(l))).toHaveLength(1);
      expect(run!.stdout).toMatch(/FAILED/i);
      // Why it failed is sealed with the payloads: the Web UI decodes it (checked in setup).
      expect(run!.stdout).toContain('Encoded failure');
      if (badKeysWorker) await stopWorker(badKeysWorker);
    },
  },

  'reconcile-resume': {
    /** Paused, keys fixed: unpaused and run now, on the system's worker. */
    async setup() {
      await reconcileSchedules(system.env.TEMPORAL_TASK_QUEUE!);
      return { TAKEN: String(await actionsTaken('razorpay')) };
    },
    async after(index, vars) {
      if (index !== 1) return;
      const run = await runAfter('razorpay', Number(vars.TAKEN));
      // Every payment so far had its workflow: with webhooks healthy, a run starts nothing.
      const result = (await system.client.workflow.getHandle(run).result()) as ReconcileResult;
      expect(result.totals).toMatchObject({ started: 0, refused: 0 });
      expect(result.totals.duplicates).toBeGreaterThan(0);
      await visibleCount(
        `TemporalScheduledById="reconcile-razorpay" AND ExecutionStatus="Completed" AND WorkflowId="${run}"`,
      );
      vars.RUN_WORKFLOW_ID = run;
    },
    async verify([, , completed], vars) {
      const { state } = await system.client.schedule.getHandle(reconcileScheduleId('razorpay')).describe();
      expect(state).toMatchObject({ paused: false, note: 'Razorpay keys fixed' });
      expect(completed!.stdout).toContain(vars.RUN_WORKFLOW_ID);
      // The gauge the alert reads: the close time of this run, the latest completed one.
      const { closeTime } = await system.client.workflow.getHandle(vars.RUN_WORKFLOW_ID!).describe();
      const snapshot = await createBusinessMetrics({
        client: system.client,
        registry: new Registry(),
        logger: createLogger('runbook', 'silent'),
        reconciliation: { providers: ['razorpay'], intervalSeconds: 1440 * 60 },
      }).refresh();
      expect(snapshot.reconciledAt.razorpay).toBe(Math.floor(closeTime!.getTime() / 1000));
    },
  },

  'reconcile-backfill': {
    /** A payment whose webhook never came, and no Schedule to find it: the operator's backfill does. */
    async setup() {
      const since = isoSeconds(Date.now() - 30 * 60_000);
      return { ...varsOf(await paidWithoutWebhook()), SINCE: since };
    },
    async after(index, vars) {
      if (index !== 0) return;
      // The dry run started nothing.
      await expect(system.client.workflow.getHandle(vars.WORKFLOW_ID!).describe()).rejects.toBeInstanceOf(
        WorkflowNotFoundError,
      );
    },
    async verify([dry, backfill, show], vars) {
      expect(dry!.stdout).toMatch(/^Dry run: reconciliation with razorpay, /);
      expect(lineOf(dry!.stdout, vars.PAYMENT_ID!)).toEqual([
        expect.stringMatching(
          new RegExp(`^payment +${vars.PAYMENT_ID} +₹[\\d,]+\\.\\d{2} +\\S+ +${vars.WORKFLOW_ID}$`),
        ),
      ]);
      expect(dry!.stdout).toContain('Nothing was started. Run again with --yes to start them.');
      expect(backfill!.stderr).toMatch(/^running reconcile-razorpay-backfill-/);
      expect(lineOf(backfill!.stdout, vars.PAYMENT_ID!)).toHaveLength(1);
      expect(backfill!.stdout).toMatch(/^Started \d+:/m);
      expect(show!.stdout).toContain("found by an operator's backfill (no webhook started it)");
      const handle = system.client.workflow.getHandle(vars.WORKFLOW_ID!);
      const described = await handle.describe();
      expect(described.typedSearchAttributes.get(paymentSourceSearchAttribute)).toBe('operator');
      expect(await resultOf(system, vars.WORKFLOW_ID!)).toMatchObject({ outcome: 'completed' });
    },
  },

  'reset-last': {
    async setup() {
      const p = await payIntoReview(system, blocks);
      const { runId } = await system.client.workflow.getHandle(p.workflowId).describe();
      return { ...varsOf(p), RUN_ID: runId };
    },
    async verify([reset], vars) {
      expect(reset!.stdout).toMatch(/Resetting workflow/);
      const described = await system.client.workflow.getHandle(vars.WORKFLOW_ID!).describe();
      expect(described.runId).not.toBe(vars.RUN_ID);
      expect(described.status.name).toBe('RUNNING');
      await waitForState(system, vars.WORKFLOW_ID!, (s) => s.state === 'needs_review');
    },
  },

  'reset-event': {
    async setup() {
      const p = await payIntoReview(system, blocks);
      await abortByMistake(p);
      const history = await system.client.workflow.getHandle(p.workflowId).fetchHistory();
      const events = history.events ?? [];
      const decided = events.find(
        (e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'resolveReview',
      );
      const before = events.filter(
        (e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) < Number(decided!.eventId),
      );
      return { ...varsOf(p), EVENT_ID: String(before.at(-1)!.eventId) };
    },
    async verify(_, vars) {
      const described = await system.client.workflow.getHandle(vars.WORKFLOW_ID!).describe();
      expect(described.status.name).toBe('RUNNING');
      const status = await waitForState(system, vars.WORKFLOW_ID!, (s) => s.state === 'needs_review');
      // Back in the same review, undecided: the mistaken abort was not replayed.
      expect(status.reviews).toHaveLength(1);
      expect(status.openReview?.resolution).toBeUndefined();
    },
  },

  'reset-first': {
    async setup() {
      const p = await pay(system, { courseId: null });
      await waitForState(system, p.workflowId, (s) => s.openReview?.id === 'confirm-1');
      await abortByMistake(p);
      return varsOf(p);
    },
    async after(index, vars) {
      if (index === 0) {
        await waitForState(system, vars.WORKFLOW_ID!, (s) => s.openReview?.id === 'confirm-1');
      }
    },
    async verify([, resolved], vars) {
      expect(resolved!.stdout).toMatch(/Now: workflow completed, outcome completed/);
      expect(await resultOf(system, vars.WORKFLOW_ID!)).toMatchObject({ outcome: 'completed' });
    },
  },

  cancel: {
    async setup() {
      await system.setFaults({ lms: { errorRate: 1 } });
      const p = await pay(system);
      await pendingAttempt(p.workflowId, 'enrollStudent', 2);
      return varsOf(p);
    },
    async verify(_outputs, vars) {
      const handle = system.client.workflow.getHandle(vars.WORKFLOW_ID!);
      await eventually(async () =>
        (await handle.describe()).status.name === 'CANCELLED' ? true : undefined,
      );
      const status = await statusOf(system, vars.WORKFLOW_ID!);
      expect(status.reviews).toEqual([]);
      expect((await system.ledger()).enrollments.map((e) => e.external_ref)).not.toContain(
        `razorpay:${vars.PAYMENT_ID}`,
      );
    },
  },

  'patch-census': {
    async setup() {
      // One payment run by today's code (it records show-steps-late), one that no worker has run yet.
      const patched = await payIntoReview(system, blocks);
      const payment = paymentEvent();
      const unrun = await system.client.workflow.start('enrollmentWorkflow', {
        taskQueue: 'runbook-no-worker',
        workflowId: enrollmentWorkflowId(payment.provider, payment.paymentId),
        args: [{ payment }],
      });
      return { ...varsOf(patched), UNRUN_ID: unrun.workflowId };
    },
    async verify([list], vars) {
      await system.client.workflow
        .getHandle(vars.UNRUN_ID!)
        .terminate('runbook test: done')
        .catch(() => undefined);
      expect(list!.stdout).toContain(vars.UNRUN_ID);
      expect(list!.stdout).not.toContain(vars.WORKFLOW_ID);
    },
  },

  'access-inspect': {
    async setup() {
      const p = await pay(system);
      await resultOf(system, p.workflowId);
      const dispute = await registerDispute(system.sandbox.url, 'razorpay', { paymentId: p.paymentId });
      await deliverChange(system, 'razorpay', dispute);
      const workflowId = accessWorkflowId({
        provider: 'razorpay',
        kind: 'dispute',
        causeId: dispute.disputeId,
      });
      await accessChangeIn(system, workflowId, (s) => s.state === 'suspended');
      await visibleAs(system, workflowId, 'suspended');
      return { ...varsOf(p), ACCESS_WORKFLOW_ID: workflowId };
    },
    async verify([show, list, suspended, query], vars) {
      expect(show!.stdout).toMatch(/Access:\n.*granted .*\n.*suspended +payment\.dispute\.created disp_/);
      expect(list!.stdout).toContain(vars.ACCESS_WORKFLOW_ID);
      expect(suspended!.stdout).toContain(vars.ACCESS_WORKFLOW_ID);
      expect(query!.stdout).toContain('"state":"suspended"');
      const ledger = await system.ledger();
      const enrollment = ledger.enrollments.find((e) => e.external_ref?.includes(vars.PAYMENT_ID!));
      expect(enrollment).toMatchObject({ status: 'suspended' });
    },
  },

  'access-resolve': {
    async setup() {
      const p = await pay(system);
      await resultOf(system, p.workflowId);
      const refund = await registerRefund(system.sandbox.url, 'razorpay', {
        paymentId: p.paymentId,
        amountMinor: 100_000,
      });
      await deliverChange(system, 'razorpay', refund);
      const workflowId = accessWorkflowId({ provider: 'razorpay', kind: 'refund', causeId: refund.refundId });
      await accessChangeIn(system, workflowId, (s) => s.openReview?.id === 'decide-1');
      return { ...varsOf(p), ACCESS_WORKFLOW_ID: workflowId };
    },
    async verify([, result], vars) {
      expect(result!.stdout).toContain('"outcome":"revoked"');
      const ledger = await system.ledger();
      const enrollment = ledger.enrollments.find((e) => e.external_ref?.includes(vars.PAYMENT_ID!));
      expect(enrollment).toMatchObject({ status: 'revoked' });
    },
  },

  terminate: {
    setup: async () => varsOf(await payIntoReview(system, blocks)),
    async verify([, show], vars) {
      const described = await system.client.workflow.getHandle(vars.WORKFLOW_ID!).describe();
      expect(described.status.name).toBe('TERMINATED');
      expect(show!.stdout).toMatch(/Execution {2}TERMINATED/);
      expect(show!.stdout).toContain(`stopped by ${REVIEWER}: duplicate of a manual enrollment`);
      expect(show!.stdout).toContain(
        'State      needs_review (as it was when the workflow ended TERMINATED)',
      );
      expect(show!.stdout).toContain('never decided: the workflow closed while it was open');
    },
  },
};

/** Between sections: no faults, and no payment left in review for the next section's bulk commands. */
afterEach(async () => {
  await deleteReconcileSchedules();
  await blocks.unblockAll();
  await system.setFaults({ lms: null, whatsapp: null, hubspot: null });
  const query = 'EnrollmentState="needs_review" AND ExecutionStatus="Running"';
  for await (const wf of system.client.workflow.list({ query })) {
    await system.client.workflow
      .getHandle(wf.workflowId)
      .terminate('runbook test: next section')
      .catch(() => undefined);
  }
  await eventually(async () => (await system.client.workflow.count(query)).count === 0, 15_000, 100);
}, 30_000);

describe('docs/operations.md', () => {
  it('tags every temporal and ops command it quotes for this test, and has a scenario per block', () => {
    expect(runbook.untaggedCommands).toEqual([]);
    const names = runbook.blocks.map((b) => b.scenario);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual(Object.keys(scenarios).sort());
    const tested = runbook.blocks.flatMap((b) => b.commands);
    for (const command of tested) expect({ command, ok: isCommand(command) }).toEqual({ command, ok: true });
    const untested = runbook.inlineTemporal.filter((inline) => !quotesTestedCommand(inline, tested));
    expect(untested).toEqual([]);
  });

  it('covers every Temporal operation the runbook relies on', () => {
    const tested = runbook.blocks.flatMap((b) => b.commands).join('\n');
    for (const pattern of [
      /^temporal workflow describe --workflow-id /m,
      /^temporal workflow query --workflow-id \S+ --name status$/m,
      /^temporal workflow signal --workflow-id \S+ --name resolveReview --input /m,
      /^temporal workflow signal --query .* --name resolveReview --input .* --reason .* --yes$/m,
      /^temporal workflow reset --workflow-id \S+ --type LastWorkflowTask --reason /m,
      /^temporal workflow reset --workflow-id \S+ --type FirstWorkflowTask /m,
      /^temporal workflow reset --workflow-id \S+ --event-id \S+ /m,
      /^temporal workflow terminate --workflow-id \S+ --reason /m,
      /^temporal workflow cancel --workflow-id \S+$/m,
      /^temporal workflow list --query /m,
    ]) {
      expect(tested).toMatch(pattern);
    }
  });

  for (const block of runbook.blocks) {
    it(`runs the ${block.scenario} block (line ${block.line})`, async () => {
      const scenario = scenarios[block.scenario];
      if (!scenario) throw new Error(`no scenario for the ops-test=${block.scenario} block`);
      const vars = await scenario.setup();
      const outputs: CommandOutput[] = [];
      for (const [index, template] of block.commands.entries()) {
        const missing = placeholdersOf(template).filter((name) => vars[name] === undefined);
        expect({ template, missing }).toEqual({ template, missing: [] });
        const command = substitute(template, vars);
        const output = command.startsWith('temporal ')
          ? await runTemporal(command)
          : await runOpsCommand(command);
        const stderr = output.stderr.replace(RECONCILE_PROGRESS, '').replace(PAYLOAD_KEY_HINT, '');
        expect({ command, code: output.code, stderr }).toEqual({ command, code: 0, stderr: '' });
        outputs.push(output);
        await scenario.after?.(index, vars);
      }
      await scenario.verify?.(outputs, vars);
    }, 45_000);
  }
});
