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
import { startTracing, type Tracing, WORKFLOW_TRACING_MODULE } from '../../src/observability/tracing';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';
import { createLogger } from '../../src/runtime/logger';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { requireTemporalCli } from '../../scripts/temporal/binaries';
import { type Engine, type EngineKind, startEngine } from '../../scripts/temporal/engine';
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
  /** The dev server, or with `engine: 'cluster'` the production engine (PostgreSQL, a process per service). */
  temporal: Engine;
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
  /** The workflow bundle the worker runs (for replaying what it recorded). */
  workflowBundle: { code: string };
  /** With `tracing`: exports every span the receiver and the worker have ended so far. */
  flushTraces(): Promise<void>;
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
  requests: Array<{ service: string; status: number; idempotencyKey?: string; traceparent?: string }>;
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
  /** Which Temporal: the dev server (default) or the cluster (scripts/temporal/cluster.ts). */
  engine?: EngineKind;
  /** The LMS the worker enrolls into; default E2E_LMS (jest runs the e2e suite once per LMS). */
  lms?: LmsProvider;
  /**
   * false: the receiver, worker and client run without the payload codec, as before issue 13 (the
   * negative control of the test that greps the database for student data).
   */
  payloadCodec?: boolean;
  /**
   * Tracing on in the receiver and the worker, as OTEL_EXPORTER_OTLP_ENDPOINT=`otlpEndpoint` turns it
   * on in production: each its own service name, exporting over OTLP/HTTP.
   */
  tracing?: { otlpEndpoint: string };
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
  // With the Web UI, the engine picks a free UI port and returns its address as `uiUrl`.
  const starting = [
    startEngine({
      kind: options.engine ?? 'dev',
      cliPath: cli,
      dataDir,
      persist: options.persist,
      headless: !options.webUi,
      uiPort: codec?.uiPort,
      uiCodecEndpoint: codec?.uiEndpoint,
    }),
    startSandbox({ credentials, seed: 7 }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      failureConverterPath: options.payloadCodec === false ? undefined : FAILURE_CONVERTER_PATH,
      workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
      logger: new DefaultLogger('ERROR'),
    }),
  ] as const;
  // The engine and the sandbox outlive this process when left running (PostgreSQL is a daemon): a
  // start that fails part-way stops what did start.
  const stopStarted = async () => {
    await Promise.allSettled([
      starting[0].then((engine) => engine.stop()),
      starting[1].then((running) => running.close()),
      codec?.server.close(),
    ]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const [temporal, sandbox, bundle] = await Promise.all(starting).catch(async (err: unknown) => {
    await stopStarted();
    throw err;
  });
  try {
    return await startProduct();
  } catch (err) {
    await stopStarted();
    throw err;
  }

  async function startProduct(): Promise<System> {
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
      ...(options.tracing && { OTEL_EXPORTER_OTLP_ENDPOINT: options.tracing.otlpEndpoint }),
      ...payloadKeys,
      ...credentials,
    };
    const workerConfig: WorkerConfig = loadWorkerConfig(env);
    const webhookConfig = loadWebhookConfig(env);
    const logger = createLogger('e2e', env.LOG_LEVEL);
    const converter = options.payloadCodec === false ? {} : dataConverter(payloadKeyRing(workerConfig));
    const workerTracing = startTracing(workerConfig, 'enrollflow-worker', logger);
    const webhookTracing = startTracing(webhookConfig, 'enrollflow-webhook', logger);
    const tracings = [workerTracing, webhookTracing].filter((t): t is Tracing => t !== undefined);

    const nativeConnection = await NativeConnection.connect({ address: temporal.address });
    const startWorker = async (config: WorkerConfig, dataConverter: typeof converter) => {
      const worker: Worker = await createEnrollmentWorker({
        config,
        connection: nativeConnection,
        logger,
        workflowBundle: bundle,
        shutdownGraceTime: '1s',
        dataConverter,
        tracing: workerTracing,
      });
      return { worker, running: worker.run() };
    };
    let current = await startWorker(workerConfig, converter);
    const stopWorker = async () => {
      current.worker.shutdown();
      await current.running.catch(() => undefined);
    };
    const receiver = await startWebhookReceiver(webhookConfig, logger, {
      dataConverter: converter,
      tracing: webhookTracing,
    });
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
      workflowBundle: bundle,
      async flushTraces() {
        await Promise.all(tracings.map((t) => t.forceFlush()));
      },
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
        await Promise.all(tracings.map((t) => t.shutdown()));
        await nativeConnection.close().catch(() => undefined);
        await connection.close().catch(() => undefined);
        await sandbox.close().catch(() => undefined);
        await codec?.server.close().catch(() => undefined);
        await temporal.stop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
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
  let starting: Promise<System> | undefined;
  beforeAll(async () => {
    starting = startSystem(options);
    running = await starting;
  }, 180_000);
  afterAll(async () => {
    // A start that outlived beforeAll's timeout still finishes: stop what it started.
    await (running ?? (await starting?.catch(() => undefined)))?.stop();
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
