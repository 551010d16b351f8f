/**
 * The system under attack, as separate OS processes so they can be killed for real: Temporal (the dev
 * server with a persistent SQLite file, or with `engine: 'cluster'` the production engine of
 * scripts/temporal/cluster.ts), the worker and the webhook receiver (each `node --import tsx`,
 * logging to its own file), and the sandbox downstreams and provider APIs in this process (their
 * ledger is the ground truth). Everything on 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { type Catalog, loadCatalog } from '../../src/catalog';
import type { LmsProvider } from '../../src/config';
import type { SandboxFaults } from '../../src/sandbox/faults';
import type { LedgerSnapshot } from '../../src/sandbox/ledger';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { requireTemporalCli } from '../temporal/binaries';
import { type Engine, type EngineKind, startEngine } from '../temporal/engine';
import { freePort } from '../temporal/free-port';
import { writeWorkflowBundle } from '../bundle-workflows';
import { productNodeArgs } from '../product-process';
import { TASK_QUEUE_DEFAULT } from '../../src/workflows/messages';
import { dataConverter } from '../../src/temporal/data-converter';
import { newPayloadKeyEnv, parsePayloadKeys } from '../../src/temporal/payload-codec';

const ROOT = path.resolve(__dirname, '..', '..');
/** The catalog the worker sells from: what the payments buy, and at what price. */
export const CATALOG_PATH = path.join(ROOT, 'catalog', 'sample.yaml');

/** A child process we can start, kill -9, and (optionally) have restarted like a container would be. */
export class ManagedProcess {
  private child?: ChildProcess;
  private deliberate = false;
  starts = 0;
  unexpectedExits = 0;

  constructor(
    readonly name: string,
    private readonly script: string,
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
    private readonly ready: () => Promise<boolean>,
    /** Restart after an unexpected exit (what `restart: unless-stopped` does in compose). */
    private readonly supervise = true,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** How the last run ended (null while running or if killed by a signal). */
  get exitCode(): number | null | undefined {
    return this.child?.exitCode;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    this.deliberate = false;
    const log = fs.openSync(this.logFile, 'a');
    const child = spawn(process.execPath, productNodeArgs(this.script), {
      cwd: ROOT,
      env: this.env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    this.child = child;
    this.starts += 1;
    child.once('exit', () => {
      if (this.child !== child || this.deliberate) return;
      this.unexpectedExits += 1;
      if (this.supervise) setTimeout(() => void this.start().catch(() => undefined), 500);
    });
    const deadline = Date.now() + timeoutMs;
    while (!(await this.ready().catch(() => false))) {
      if (child.exitCode !== null)
        throw new Error(`${this.name} exited with ${child.exitCode}; see ${this.logFile}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name} not ready after ${timeoutMs} ms; see ${this.logFile}`);
      await sleep(100);
    }
  }

  /** Stops it on purpose (SIGKILL = crash, SIGTERM = graceful); no supervisor restart follows. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.deliberate = true;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await gone;
    clearTimeout(timer);
  }
}

export interface SystemOptions {
  faults?: SandboxFaults;
  hubspotTokenTtlSeconds?: number;
  /** Extra worker environment (e.g. a short HTTP timeout). */
  workerEnv?: Record<string, string>;
  /** Where the workflow bundle is cached between systems of one run. */
  bundleFile?: string;
  /** The LMS the worker enrolls into (LMS_PROVIDER): each is played by the sandbox. */
  lms?: LmsProvider;
  /** Which Temporal: the dev server (default) or the cluster. */
  engine?: EngineKind;
}

export interface ChaosSystem {
  dir: string;
  cli: string;
  temporal: Engine;
  /** Stops all of Temporal and starts it again on the same state (and frontend port). */
  restartTemporal(downMs: number, during?: () => Promise<void>): Promise<void>;
  /** Plays the downstreams and the providers' APIs, which the worker's confirmation step reads. */
  sandbox: RunningSandbox;
  /** The worker's catalog (CATALOG_PATH). */
  catalog: Catalog;
  worker: ManagedProcess;
  receiver: ManagedProcess;
  receiverUrl: string;
  client: Client;
  secrets: Record<string, string>;
  ledger(): LedgerSnapshot;
  setFaults(faults: SandboxFaults): Promise<void>;
  logFiles(): string[];
  stop(): Promise<void>;
}

export async function startChaosSystem(options: SystemOptions = {}): Promise<ChaosSystem> {
  const cli = requireTemporalCli();
  const catalog = loadCatalog(CATALOG_PATH);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-chaos-'));
  const s = () => randomBytes(16).toString('hex');
  const secrets = {
    RAZORPAY_WEBHOOK_SECRETS: `rzp_${s()}`,
    STRIPE_WEBHOOK_SECRETS: `whsec_${s()}`,
    LMS_API_KEY: `lms_${s()}`,
    MOODLE_TOKEN: s(),
    CANVAS_TOKEN: `canvas_${s()}`,
    WHATSAPP_ACCESS_TOKEN: `wa_${s()}`,
    WHATSAPP_PHONE_NUMBER_ID: '100000000000009',
    HUBSPOT_CLIENT_ID: `client-${s().slice(0, 8)}`,
    HUBSPOT_CLIENT_SECRET: `hs_${s()}`,
    HUBSPOT_REFRESH_TOKEN: `refresh_${s()}`,
    RAZORPAY_KEY_ID: `rzp_test_${s()}`,
    RAZORPAY_KEY_SECRET: s(),
    STRIPE_API_KEY: `sk_test_${s()}`,
  };
  const bundleFile = options.bundleFile ?? path.join(dir, 'workflow-bundle.js');
  const temporalPort = await freePort();
  const engineOptions = {
    kind: options.engine ?? 'dev',
    cliPath: cli,
    port: temporalPort,
    dataDir: dir,
    headless: true,
  } as const;
  const sandboxLog = path.join(dir, 'sandbox.log');
  const [temporal, sandbox] = await Promise.all([
    startEngine(engineOptions),
    startSandbox({
      credentials: secrets,
      seed: 20261124,
      faults: options.faults,
      hubspotTokenTtlSeconds: options.hubspotTokenTtlSeconds,
      logger: pino({ level: 'info' }, pino.destination({ dest: sandboxLog, sync: true })),
    }),
    fs.existsSync(bundleFile) ? Promise.resolve(bundleFile) : writeWorkflowBundle(bundleFile),
  ]);
  let current = temporal;
  // Picked once the dev server is up: it binds ports of its own as it starts (services beside the
  // frontend), and one picked before could be taken by then.
  const receiverPort = await freePort();
  // Every process of the system, and this harness's own client, seal payloads under one fresh key.
  const payloadKeys = newPayloadKeyEnv('reliability-1');

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE_DEFAULT,
    WEBHOOK_PORT: String(receiverPort),
    LMS_PROVIDER: options.lms ?? 'generic',
    LMS_BASE_URL: `${sandbox.url}/lms`,
    MOODLE_URL: `${sandbox.url}/moodle`,
    CANVAS_URL: `${sandbox.url}/canvas`,
    WHATSAPP_GRAPH_URL: `${sandbox.url}/whatsapp`,
    HUBSPOT_BASE_URL: `${sandbox.url}/hubspot`,
    // The confirmation step asks the provider: the sandbox plays both APIs, with the credentials above.
    RAZORPAY_API_URL: `${sandbox.url}/razorpay`,
    STRIPE_API_URL: sandbox.url,
    CATALOG_PATH,
    WORKFLOW_BUNDLE_PATH: bundleFile,
    // Any free port: several systems (and a developer's `npm run dev`) may run at once.
    WORKER_METRICS_PORT: '0',
    TEMPORAL_SDK_METRICS_PORT: '0',
    ...payloadKeys,
    ...secrets,
  };
  const workerLog = path.join(dir, 'worker.log');
  const receiverUrl = `http://127.0.0.1:${receiverPort}`;
  const worker = new ManagedProcess(
    'worker',
    'src/worker.ts',
    { ...env, ...options.workerEnv },
    workerLog,
    // Ready once this start's "worker polling" line is in the log.
    (() => {
      let seen = 0;
      return () => {
        const count = (fs.readFileSync(workerLog, 'utf8').match(/"msg":"worker polling"/g) ?? []).length;
        if (count <= seen) return Promise.resolve(false);
        seen = count;
        return Promise.resolve(true);
      };
    })(),
  );
  const receiver = new ManagedProcess(
    'receiver',
    'src/webhook/main.ts',
    env,
    path.join(dir, 'receiver.log'),
    async () => {
      const res = await fetch(`${receiverUrl}/healthz`);
      return res.ok;
    },
  );
  await Promise.all([worker.start(), receiver.start()]);
  const connection = Connection.lazy({ address: temporal.address });
  const client = new Client({
    connection,
    dataConverter: dataConverter(parsePayloadKeys(payloadKeys.PAYLOAD_KEYS, payloadKeys.PAYLOAD_KEY_ID)),
  });

  return {
    dir,
    cli,
    get temporal() {
      return current;
    },
    async restartTemporal(downMs, during) {
      await current.stop();
      await Promise.all([sleep(downMs), during?.()]);
      current = await startEngine(engineOptions);
    },
    sandbox,
    catalog,
    worker,
    receiver,
    receiverUrl,
    client,
    // The payload key is a secret the logs must never hold either (the ring entry's key part).
    secrets: { ...secrets, PAYLOAD_KEY: payloadKeys.PAYLOAD_KEYS.split(':')[1]! },
    ledger: () => sandbox.state.snapshot(),
    async setFaults(faults) {
      const res = await fetch(`${sandbox.url}/_sandbox/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      });
      if (!res.ok) throw new Error(`sandbox refused faults: ${await res.text()}`);
    },
    logFiles: () => [workerLog, path.join(dir, 'receiver.log'), sandboxLog],
    async stop() {
      await receiver.stop();
      await worker.stop();
      await connection.close().catch(() => undefined);
      await sandbox.close();
      await current.stop();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
