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
import {
  LMS_PROVIDERS,
  type LmsProvider,
  loadCodecServerConfig,
  loadWebhookConfig,
  loadWorkerConfig,
  payloadKeyRing,
  type WorkerConfig,
} from '../../src/config';
import { startCodecServer } from '../../src/codec-server/main';
import { freePort } from '../../scripts/temporal/free-port';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';
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
  /** With `codecServer`: the codec server the Web UI decodes through, and its token. */
  codec?: { url: string; token: string; uiEndpoint: string };
  /** The dev server's SQLite file (with `persist`), for tests that read what Temporal stored. */
  dbFile?: string;
  secrets: { razorpay: string; stripe: string };
  /** The LMS the worker enrolls into (LMS_PROVIDER). */
  lms: LmsProvider;
  ledger(): Promise<Ledger>;
  setFaults(spec: Record<string, unknown>): Promise<void>;
  /** Stops the worker and starts it again with these variables changed (a deployment of the worker). */
  restartWorker(overrides: NodeJS.ProcessEnv): Promise<void>;
  stop(): Promise<void>;
}

export interface Ledger {
  enrollments: Array<{
    lms: LmsProvider;
    email: string;
    course_id: string;
    /** Generic LMS only. */
    external_ref?: string;
    status: 'active' | 'suspended' | 'revoked' | 'pending';
    lms_state?: string;
    lms_user_id?: string;
    access_changes: Array<{ from: string; to: string; idempotencyKey?: string }>;
  }>;
  lmsUsers: Array<{ lms: LmsProvider; id: string; email: string; login: string }>;
  messages: Array<{ to: string; messageId?: string; id?: string }>;
  contacts: Array<{ id: string; email: string; upserts: number; properties: Record<string, string> }>;
  requests: Array<{ service: string; status: number; idempotencyKey?: string }>;
}

/**
 * The LMS the e2e suite runs against: jest.config.js runs test/e2e once per LMS, each run setting
 * E2E_LMS_PROVIDER (test/helpers/e2e-lms-*.ts).
 */
export const E2E_LMS: LmsProvider = (() => {
  const chosen = process.env.E2E_LMS_PROVIDER ?? 'generic';
  if (!(LMS_PROVIDERS as readonly string[]).includes(chosen)) throw new Error(`E2E_LMS_PROVIDER=${chosen}?`);
  return chosen as LmsProvider;
})();

/** Moodle and Canvas keep the email as the adapters send it: lower case. */
export const sameEmail = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export interface SystemOptions {
  /** Also serve the Temporal Web UI (on a free loopback port; its address is `temporal.uiUrl`). */
  webUi?: boolean;
  /**
   * Also run the codec server, and give the Web UI its endpoint with the token in the path, as
   * `npm run dev` does (`codec.uiEndpoint`).
   */
  codecServer?: boolean;
  /** Keep Temporal's state in a SQLite file (`dbFile`) instead of memory. */
  persist?: boolean;
  /** The LMS the worker enrolls into; default E2E_LMS (jest runs the e2e suite once per LMS). */
  lms?: LmsProvider;
  /**
   * false: the receiver, worker and client run without the payload codec, as before issue 13 (the
   * negative control of the test that greps the database for student data).
   */
  payloadCodec?: boolean;
}

export async function startSystem(options: SystemOptions = {}): Promise<System> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const cli = requireTemporalCli();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-e2e-'));
  const secret = () => randomBytes(16).toString('hex');
  const secrets = { razorpay: `rzp_${secret()}`, stripe: `whsec_${secret()}` };
  const lms = options.lms ?? E2E_LMS;
  const credentials = {
    LMS_API_KEY: `lms_${secret()}`,
    MOODLE_TOKEN: secret(),
    CANVAS_TOKEN: `canvas_${secret()}`,
    WHATSAPP_ACCESS_TOKEN: `wa_${secret()}`,
    WHATSAPP_PHONE_NUMBER_ID: '100000000000001',
    HUBSPOT_CLIENT_ID: 'client-e2e',
    HUBSPOT_CLIENT_SECRET: `hs_${secret()}`,
    HUBSPOT_REFRESH_TOKEN: `refresh_${secret()}`,
    RAZORPAY_KEY_ID: `rzp_test_${secret()}`,
    RAZORPAY_KEY_SECRET: secret(),
    STRIPE_API_KEY: `sk_test_${secret()}`,
  };

  const payloadKeys = newPayloadKeyEnv('e2e-1');
  const codec = options.codecServer ? await startTestCodecServer(payloadKeys) : undefined;
  const [temporal, sandbox, bundle] = await Promise.all([
    // With the Web UI, startDevServer picks a free UI port and returns its address as `uiUrl`.
    startDevServer({
      cliPath: cli,
      headless: !options.webUi,
      uiPort: codec?.uiPort,
      uiCodecEndpoint: codec?.uiEndpoint,
      logFile: path.join(dataDir, 'temporal.log'),
      dbFile: options.persist ? path.join(dataDir, 'temporal.sqlite') : undefined,
    }),
    startSandbox({ credentials, seed: 7 }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      failureConverterPath: options.payloadCodec === false ? undefined : FAILURE_CONVERTER_PATH,
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
    LMS_PROVIDER: lms,
    LMS_BASE_URL: `${sandbox.url}/lms`,
    MOODLE_URL: `${sandbox.url}/moodle`,
    CANVAS_URL: `${sandbox.url}/canvas`,
    WHATSAPP_GRAPH_URL: `${sandbox.url}/whatsapp`,
    HUBSPOT_BASE_URL: `${sandbox.url}/hubspot`,
    RAZORPAY_API_URL: `${sandbox.url}/razorpay`,
    STRIPE_API_URL: sandbox.url,
    CATALOG_PATH: SAMPLE_CATALOG,
    HTTP_TIMEOUT_MS: '3000',
    ...payloadKeys,
    ...credentials,
  };
  const workerConfig: WorkerConfig = loadWorkerConfig(env);
  const webhookConfig = loadWebhookConfig(env);
  const logger = createLogger('e2e', env.LOG_LEVEL);
  const converter = options.payloadCodec === false ? {} : dataConverter(payloadKeyRing(workerConfig));

  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const startWorker = async (config: WorkerConfig, dataConverter: typeof converter) => {
    const worker: Worker = await createEnrollmentWorker({
      config,
      connection: nativeConnection,
      logger,
      workflowBundle: bundle,
      shutdownGraceTime: '1s',
      dataConverter,
    });
    return { worker, running: worker.run() };
  };
  let current = await startWorker(workerConfig, converter);
  const stopWorker = async () => {
    current.worker.shutdown();
    await current.running.catch(() => undefined);
  };
  const receiver = await startWebhookReceiver(webhookConfig, logger, { dataConverter: converter });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection, dataConverter: converter });

  return {
    temporal,
    cli,
    sandbox,
    receiver,
    client,
    env,
    dbFile: options.persist ? path.join(dataDir, 'temporal.sqlite') : undefined,
    codec: codec && { url: codec.server.url, token: codec.token, uiEndpoint: codec.uiEndpoint },
    secrets,
    lms,
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
    async restartWorker(overrides) {
      await stopWorker();
      const config = loadWorkerConfig({ ...env, ...overrides });
      current = await startWorker(config, dataConverter(payloadKeyRing(config)));
    },
    async stop() {
      await receiver.close().catch(() => undefined);
      await stopWorker();
      await nativeConnection.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
      await sandbox.close().catch(() => undefined);
      await codec?.server.close().catch(() => undefined);
      await temporal.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The codec server for a Web UI on a port picked now, which its CORS rule names. */
async function startTestCodecServer(payloadKeys: { PAYLOAD_KEYS: string; PAYLOAD_KEY_ID: string }) {
  const uiPort = await freePort();
  const token = randomBytes(24).toString('hex');
  const server = await startCodecServer(
    loadCodecServerConfig({
      ...payloadKeys,
      CODEC_PORT: '0',
      CODEC_AUTH: token,
      CODEC_CORS_ORIGINS: `http://127.0.0.1:${uiPort}`,
    }),
    createLogger('codec', process.env.E2E_LOG_LEVEL ?? 'silent'),
  );
  return { server, token, uiPort, uiEndpoint: `${server.url}/auth/${token}` };
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
