import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { Registry } from 'prom-client';
import { loadWebhookConfig, loadWorkerConfig, payloadKeyRing } from '../../src/config';
import { createBusinessMetrics } from '../../src/observability/business-metrics';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { createLogger } from '../../src/runtime/logger';
import { requireTemporalCli } from '../../scripts/temporal/binaries';
import { startDevServer, type DevServer } from '../../scripts/temporal/dev-server';
import { freePort } from '../../scripts/temporal/free-port';
import { sendDeliveries } from '../../src/tools/deliver';
import { newPaymentId } from '../../src/providers';
import { startWebhookReceiver, type RunningReceiver } from '../../src/webhook/main';
import { statusQuery } from '../../src/workflows/messages';
import { eventually } from '../helpers/eventually';
import { SAMPLE_CATALOG } from '../helpers/system';
import { allRules, parseExposition, ROOT, unexportedReferences } from './alert-rules';
import { productNodeArgs } from '../../scripts/product-process';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter';

/**
 * The worker as it is deployed: `src/worker.ts` in its own process (the compose health check's
 * `/healthz`, the business gauges at `/metrics` on WORKER_METRICS_PORT, the SDK exporter on
 * TEMPORAL_SDK_METRICS_PORT), against a real Temporal dev server, the sandbox downstreams and the real
 * receiver. One payment goes to review (the LMS rejects its student), one completes.
 */
const REVIEW_EMAIL = `review-${randomBytes(4).toString('hex')}@example.com`;
const secret = () => randomBytes(16).toString('hex');
const payloadKeys = newPayloadKeyEnv('observability-test');
const credentials = {
  LMS_API_KEY: `lms_${secret()}`,
  WHATSAPP_ACCESS_TOKEN: `wa_${secret()}`,
  WHATSAPP_PHONE_NUMBER_ID: '100000000000042',
  HUBSPOT_CLIENT_ID: 'client-observability',
  HUBSPOT_CLIENT_SECRET: `hs_${secret()}`,
  HUBSPOT_REFRESH_TOKEN: `refresh_${secret()}`,
  RAZORPAY_KEY_ID: `rzp_test_${secret()}`,
  RAZORPAY_KEY_SECRET: secret(),
  STRIPE_API_KEY: `sk_test_${secret()}`,
};
const webhookSecrets = {
  RAZORPAY_WEBHOOK_SECRETS: `rzp_${secret()}`,
  STRIPE_WEBHOOK_SECRETS: `whsec_${secret()}`,
};

let dir: string;
let temporal: DevServer;
let sandbox: RunningSandbox;
let receiver: RunningReceiver;
let connection: Connection;
let client: Client;
let worker: ChildProcess;
let workerOutput = '';
let workerUrl: string;
let sdkUrl: string;
const payments = { review: newPaymentId('razorpay'), done: newPaymentId('razorpay') };

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, text: await res.text() };
};
const scrape = async (url: string) => parseExposition((await get(`${url}/metrics`)).text);

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-observability-'));
  const bundleFile = path.join(dir, 'workflow-bundle.js');
  [temporal, sandbox] = await Promise.all([
    startDevServer({
      cliPath: requireTemporalCli(),
      headless: true,
      logFile: path.join(dir, 'temporal.log'),
    }),
    startSandbox({ credentials, seed: 5, faults: { lms: { failEmails: [REVIEW_EMAIL] } } }),
    // Prebuilt, as in the Docker image: the worker starts without running webpack.
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
      logger: new DefaultLogger('ERROR'),
    }).then(({ code }) => fs.writeFileSync(bundleFile, code)),
  ]);
  const [metricsPort, sdkPort] = [await freePort(), await freePort()];
  workerUrl = `http://127.0.0.1:${metricsPort}`;
  sdkUrl = `http://127.0.0.1:${sdkPort}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'enrollments-observability',
    WEBHOOK_PORT: '0',
    LMS_BASE_URL: `${sandbox.url}/lms`,
    WHATSAPP_GRAPH_URL: `${sandbox.url}/whatsapp`,
    HUBSPOT_BASE_URL: `${sandbox.url}/hubspot`,
    RAZORPAY_API_URL: `${sandbox.url}/razorpay`,
    STRIPE_API_URL: sandbox.url,
    CATALOG_PATH: SAMPLE_CATALOG,
    HTTP_TIMEOUT_MS: '3000',
    WORKFLOW_BUNDLE_PATH: bundleFile,
    WORKER_METRICS_PORT: String(metricsPort),
    TEMPORAL_SDK_METRICS_PORT: String(sdkPort),
    BUSINESS_METRICS_INTERVAL_SECONDS: '1',
    ...payloadKeys,
    ...credentials,
    ...webhookSecrets,
  };
  worker = spawn(process.execPath, productNodeArgs('src/worker.ts'), {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d: Buffer) => (workerOutput += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (workerOutput += d.toString()));
  receiver = await startWebhookReceiver(loadWebhookConfig(env), createLogger('webhook', 'silent'));
  connection = await Connection.connect({ address: temporal.address });
  client = new Client({ connection, dataConverter: dataConverter(payloadKeyRing(loadWorkerConfig(env))) });
  await eventually(
    async () => {
      if (worker.exitCode !== null) throw new Error(`worker exited ${worker.exitCode}:\n${workerOutput}`);
      return (await get(`${workerUrl}/healthz`)).status === 200;
    },
    40_000,
    100,
  );
}, 90_000);

afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.kill('SIGKILL');
    await exited;
  }
  await receiver?.close().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await sandbox?.close().catch(() => undefined);
  await temporal?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

const pay = (paymentId: string, email: string) =>
  sendDeliveries({
    provider: 'razorpay',
    url: receiver.url,
    secret: webhookSecrets.RAZORPAY_WEBHOOK_SECRETS,
    sandboxUrl: sandbox.url,
    fixture: { paymentId, email, courseId: 'course-ml-101', phone: '+919876543210' },
  });

const workerLines = () =>
  workerOutput
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('worker process observability', () => {
  it('answers /healthz 200 while polling, and the SDK exporter serves temporal_ metrics', async () => {
    const health = await get(`${workerUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok', worker: 'RUNNING' });

    const sdk = await scrape(sdkUrl);
    expect([...sdk.names].filter((n) => n.startsWith('temporal_')).length).toBeGreaterThanOrEqual(5);
    for (const name of [
      'temporal_request',
      'temporal_worker_start',
      'temporal_worker_task_slots_available',
    ]) {
      expect(sdk.names.has(name)).toBe(true);
    }
    expect(sdk.value('temporal_num_pollers', { task_queue: 'enrollments-observability' })).toBeGreaterThan(0);
  });

  it('shows a payment in review in the business gauges, with its age taken from the open review', async () => {
    const [review] = await pay(payments.review, REVIEW_EMAIL);
    const [done] = await pay(payments.done, `done-${payments.done}@example.com`);
    expect([review!.status, done!.status]).toEqual([200, 200]);

    const gauges = await eventually(
      async () => {
        const m = await scrape(workerUrl);
        const ready =
          m.value('enrollflow_payments_in_review') === 1 &&
          (m.value('enrollflow_oldest_review_age_seconds') ?? 0) > 0;
        return ready ? m : undefined;
      },
      20_000,
      250,
    );
    expect(gauges.value('enrollflow_payments_running', { state: 'needs_review' })).toBe(1);
    expect(gauges.value('enrollflow_paid_not_enrolled', { over: '10m' })).toBe(0);
    expect(gauges.value('enrollflow_business_metrics_refresh_failures_total')).toBe(0);
    expect(gauges.value('enrollflow_business_metrics_last_success_timestamp_seconds')).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    expect(gauges.names.has('process_cpu_user_seconds_total')).toBe(true);

    // The same queries against the real visibility, 11 minutes from now: the payment still in review
    // is paid but not enrolled, and its review age comes from openReview.openedAt.
    const later = Date.now() + 11 * 60_000;
    const snapshot = await createBusinessMetrics({
      client,
      registry: new Registry(),
      logger: createLogger('test', 'silent'),
      now: () => later,
    }).refresh();
    const status = await client.workflow.getHandle(`payment-razorpay-${payments.review}`).query(statusQuery);
    expect(status.state).toBe('needs_review');
    expect(snapshot.inReview).toBe(1);
    expect(snapshot.paidNotEnrolled).toBe(1);
    expect(snapshot.oldestReviewAgeSeconds).toBe(
      Math.round((later - Date.parse(status.openReview!.openedAt)) / 1000),
    );
  });

  it('exports the workflow histogram and activity failures through the SDK exporter', async () => {
    await client.workflow.getHandle(`payment-razorpay-${payments.done}`).result();
    const sdk = await eventually(
      async () => {
        const m = await scrape(sdkUrl);
        return (m.value('enrollflow_paid_to_enrolled_count') ?? 0) >= 1 ? m : undefined;
      },
      10_000,
      250,
    );
    // Our bucket overrides (ms): minutes for paid-to-enrolled, seconds for schedule-to-start.
    expect(sdk.value('enrollflow_paid_to_enrolled_bucket', { provider: 'razorpay', le: '600000' })).toBe(1);
    expect(sdk.value('temporal_activity_schedule_to_start_latency_bucket', { le: '2500' })).toBeGreaterThan(
      0,
    );
    expect(
      sdk.value('temporal_activity_execution_failed', { activity_type: 'enrollStudent' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('logs activity calls with workflow id, activity id and attempt, and no credentials or raw emails', () => {
    const lms = workerLines().find(
      (l) => l.msg === 'lms create_enrollment' && l.workflowId === `payment-razorpay-${payments.review}`,
    );
    expect(lms).toMatchObject({ activityType: 'enrollStudent', attempt: 1, status: expect.any(Number) });
    expect(lms!.activityId).toEqual(expect.any(String));
    for (const value of [
      ...Object.values(credentials).filter((v) => v.length > 20),
      ...Object.values(webhookSecrets),
    ]) {
      expect(workerOutput).not.toContain(value);
    }
    expect(workerOutput).not.toContain(REVIEW_EMAIL);
  });

  it('creates the reconciliation Schedules and reports when each last completed', async () => {
    const schedules = [];
    for await (const s of client.schedule.list()) schedules.push(s.scheduleId);
    expect(schedules.sort()).toEqual(['reconcile-razorpay', 'reconcile-stripe']);
    const triggeredAt = Math.floor(Date.now() / 1000);
    // The Schedule's own overlap policy: a run triggered with it hands its result on to the next.
    await client.schedule.getHandle('reconcile-razorpay').trigger(ScheduleOverlapPolicy.SKIP);
    const worker = await eventually(async () => {
      const m = await scrape(workerUrl);
      const at = m.value('enrollflow_reconciliation_last_success_timestamp_seconds', {
        provider: 'razorpay',
      });
      return at !== undefined && at >= triggeredAt ? m : undefined;
    }, 30_000);
    expect(worker.value('enrollflow_reconciliation_interval_seconds', { provider: 'stripe' })).toBe(900);
    // Found nothing (every payment here came by webhook), yet its series exist for increase() to see.
    const sdk = await scrape(sdkUrl);
    expect(sdk.value('enrollflow_reconciled_payments_total', { provider: 'razorpay', kind: 'payment' })).toBe(
      0,
    );
  });

  it('has alert rules that name only metrics really exported (receiver, worker, SDK exporter)', async () => {
    const exported = parseExposition(
      (await get(`${receiver.url}/metrics`)).text,
      (await get(`${workerUrl}/metrics`)).text,
      (await get(`${sdkUrl}/metrics`)).text,
    );
    expect(unexportedReferences(allRules(), exported)).toEqual([]);
  });

  it('stops answering /healthz 200 when the worker drains on SIGTERM, and exits cleanly', async () => {
    const exited = new Promise<number | null>((resolve) => worker.once('exit', resolve));
    worker.kill('SIGTERM');
    await eventually(
      async () => (await get(`${workerUrl}/healthz`).catch(() => ({ status: 0 }))).status !== 200,
      10_000,
      50,
    );
    expect(await exited).toBe(0);
    expect(workerLines().map((l) => l.msg)).toContain('worker stopped');
  });
});
