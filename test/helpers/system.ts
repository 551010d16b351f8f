import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import {
  bundleWorkflowCode,
  DefaultLogger,
  NativeConnection,
  Runtime,
  type Worker,
} from '@temporalio/worker';
import { loadWebhookConfig, loadWorkerConfig, type WorkerConfig } from '../../src/config';
import { createLogger } from '../../src/runtime/logger';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { requireTemporalCli } from '../../scripts/temporal/binaries';
import { startDevServer, type DevServer } from '../../scripts/temporal/dev-server';
import { startWebhookReceiver, type RunningReceiver } from '../../src/webhook/main';
import { createEnrollmentWorker } from '../../src/worker';

/**
 * The whole system for end-to-end tests, as a user runs it but on free loopback ports: a real
 * Temporal dev server (the `temporal` CLI from PyPI), the sandbox downstreams, the real worker with
 * the real activities, and the real webhook receiver. Everything talks over real sockets.
 */
/** The catalog `npm run dev` sells from; tests buy its products at its prices. */
export const SAMPLE_CATALOG = path.join(__dirname, '..', '..', 'catalog', 'sample.yaml');

export interface System {
  temporal: DevServer;
  cli: string;
  sandbox: RunningSandbox;
  receiver: RunningReceiver;
  client: Client;
  env: NodeJS.ProcessEnv;
  secrets: { razorpay: string; stripe: string };
  ledger(): Promise<Ledger>;
  setFaults(spec: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

export interface Ledger {
  enrollments: Array<{
    email: string;
    course_id: string;
    external_ref: string;
    status: 'active' | 'suspended' | 'revoked';
    access_changes: Array<{ from: string; to: string; idempotencyKey: string }>;
  }>;
  messages: Array<{ to: string; messageId?: string; id?: string }>;
  contacts: Array<{ id: string; email: string; upserts: number; properties: Record<string, string> }>;
  requests: Array<{ service: string; status: number; idempotencyKey?: string }>;
}

export interface SystemOptions {
  /** Also serve the Temporal Web UI (on a free loopback port; its address is `temporal.uiUrl`). */
  webUi?: boolean;
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cli = requireTemporalCli();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-e2e-'));
  const secret = () => randomBytes(16).toString('hex');
  const secrets = { razorpay: `rzp_${secret()}`, stripe: `whsec_${secret()}` };
  const credentials = {
    LMS_API_KEY: `lms_${secret()}`,
    WHATSAPP_ACCESS_TOKEN: `wa_${secret()}`,
    WHATSAPP_PHONE_NUMBER_ID: '100000000000001',
    HUBSPOT_CLIENT_ID: 'client-e2e',
    HUBSPOT_CLIENT_SECRET: `hs_${secret()}`,
    HUBSPOT_REFRESH_TOKEN: `refresh_${secret()}`,
    RAZORPAY_KEY_ID: `rzp_test_${secret()}`,
    RAZORPAY_KEY_SECRET: secret(),
    STRIPE_API_KEY: `sk_test_${secret()}`,
  };

  const [temporal, sandbox, bundle] = await Promise.all([
    // With the Web UI, startDevServer picks a free UI port and returns its address as `uiUrl`.
    startDevServer({ cliPath: cli, headless: !options.webUi, logFile: path.join(dataDir, 'temporal.log') }),
    startSandbox({ credentials, seed: 7 }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: new DefaultLogger('ERROR'),
    }),
  ]);

  const env: NodeJS.ProcessEnv = {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: 'enrollments-e2e',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    WEBHOOK_PORT: '0',
    RAZORPAY_WEBHOOK_SECRETS: secrets.razorpay,
    STRIPE_WEBHOOK_SECRETS: secrets.stripe,
    LMS_BASE_URL: `${sandbox.url}/lms`,
    WHATSAPP_GRAPH_URL: `${sandbox.url}/whatsapp`,
    HUBSPOT_BASE_URL: `${sandbox.url}/hubspot`,
    RAZORPAY_API_URL: `${sandbox.url}/razorpay`,
    STRIPE_API_URL: sandbox.url,
    CATALOG_PATH: SAMPLE_CATALOG,
    HTTP_TIMEOUT_MS: '3000',
    ...credentials,
  };
  const workerConfig: WorkerConfig = loadWorkerConfig(env);
  const webhookConfig = loadWebhookConfig(env);
  const logger = createLogger('e2e', env.LOG_LEVEL);

  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker: Worker = await createEnrollmentWorker({
    config: workerConfig,
    connection: nativeConnection,
    logger,
    workflowBundle: bundle,
    shutdownGraceTime: '1s',
  });
  const workerRun = worker.run();
  const receiver = await startWebhookReceiver(webhookConfig, logger);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });

  return {
    temporal,
    cli,
    sandbox,
    receiver,
    client,
    env,
    secrets,
    async ledger() {
      const res = await fetch(`${sandbox.url}/_sandbox/ledger`);
      return (await res.json()) as Ledger;
    },
    async setFaults(spec) {
      const res = await fetch(`${sandbox.url}/_sandbox/faults`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(spec),
      });
      if (!res.ok) throw new Error(`sandbox refused faults: ${res.status} ${await res.text()}`);
    },
    async stop() {
      await receiver.close().catch(() => undefined);
      worker.shutdown();
      await workerRun.catch(() => undefined);
      await nativeConnection.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
      await temporal.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * One system for a test file: started before its tests, stopped after them. The handle forwards to
 * the running system (a Proxy, so tests keep writing `system.client`), and says so if used too early.
 */
export function useSystem(options: SystemOptions = {}): System {
  let running: System | undefined;
  beforeAll(async () => {
    running = await startSystem(options);
  }, 180_000);
  afterAll(async () => {
    await running?.stop();
  }, 60_000);
  return new Proxy({} as System, {
    get: (_, key) => {
      if (!running) throw new Error('the system has not started (use it inside a test)');
      // Its methods are closures over the running processes, never `this`: safe to hand out unbound.
      return Reflect.get(running, key) as unknown;
    },
  });
}

let students = 0;
/** A student email no other test of the run uses, so the sandbox ledger can be read per student. */
export const studentEmail = (tag: string) =>
  `${tag}-${Date.now().toString(36)}-${(students += 1)}@example.com`;
