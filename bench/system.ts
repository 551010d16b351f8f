/**
 * Everything the benchmark measures, started fresh in a temp directory, all on 127.0.0.1:
 * - Temporal started exactly as `npm run dev` starts it (scripts/temporal/engine.ts): by default the
 *   dev server (SQLite file with `SQLITE_PRAGMAS`), or with `engine: 'cluster'` the production engine
 *   (PostgreSQL, a process per service, two history nodes; its data in `<dir>/cluster`); either way
 *   our search attributes and 30-day retention;
 * - the sandbox downstreams and payment providers (src/sandbox/main.ts, zero added latency, started
 *   with the credentials the worker uses for them), the product's worker
 *   (src/worker.ts) and two product receivers (src/webhook/main.ts): one whose task queue no worker
 *   polls, for acknowledgement figures comparable with the raw start ceiling (starts with no worker),
 *   and one on the worker's queue, for paid-to-enrolled;
 * - the ceilings: a bare Express + HMAC server, and a worker with no-op activities.
 * The worker confirms each payment with the sandbox's provider API and resolves it against the sample
 * catalog (catalog/sample.yaml), as `npm run dev` runs it.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { writeWorkflowBundle } from '../scripts/bundle-workflows';
import { requireTemporalCli } from '../scripts/temporal/binaries';
import { type DevServer, startDevServer } from '../scripts/temporal/dev-server';
import { type Engine, type EngineKind, enginePids, startEngine } from '../scripts/temporal/engine';
import { freePort } from '../scripts/temporal/free-port';
import { httpReady, logLineReady, NodeProcess, ROOT } from './procs';
import { V8_FLAGS } from '../src/runtime/v8-flags';
import { TASK_QUEUE_DEFAULT } from '../src/workflows/messages';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../src/temporal/data-converter';
import { newPayloadKeyEnv, parsePayloadKeys } from '../src/temporal/payload-codec';

/** The catalog `npm run dev` sells from; the bench's payments buy its `course-ml-101` at its price. */
export const SAMPLE_CATALOG = path.join(ROOT, 'catalog', 'sample.yaml');

export const TASK_QUEUES = {
  /** The product worker's queue (paid-to-enrolled). */
  enrollments: TASK_QUEUE_DEFAULT,
  /** The ack receiver's queue: polled by nobody, like the raw start ceiling's. */
  ackOnly: 'bench-ack-only',
  /** Raw start ceiling: no-op workflows, polled by nobody. */
  noop: 'bench-noop',
  /** Paid-to-enrolled ceiling: as many no-op activities as a payment runs, polled by the ceiling worker. */
  ceiling: 'bench-ceiling',
} as const;

export interface BenchSystem {
  dir: string;
  cli: string;
  shape: ProcessShape;
  /** Where a product script (`src/...ts`) runs from in this shape. */
  script: (tsScript: string) => string;
  temporal: Engine;
  client: Client;
  connection: Connection;
  /** PAYLOAD_KEYS / PAYLOAD_KEY_ID of every product process, for processes the bench starts itself. */
  payloadKeys: { PAYLOAD_KEYS: string; PAYLOAD_KEY_ID: string };
  secret: string;
  sandboxUrl: string;
  httpCeiling: { proc: NodeProcess; port: number };
  ackReceiver: { proc: NodeProcess; port: number };
  e2eReceiver: { proc: NodeProcess; port: number };
  worker: NodeProcess;
  ceilingWorker: NodeProcess;
  sandbox: NodeProcess;
  stop(): Promise<void>;
}

/**
 * How the product's processes run. `production`: compiled by the project's own `tsc -p
 * tsconfig.build.json` (type checking skipped: the bench must not fail on a colleague's work in
 * progress) and run as `node dist/...`, as the Docker image runs them. `dev`: `node --import tsx
 * src/...`, as `npm run dev` runs them (tsx adds its loader thread and transpile caches).
 */
export type ProcessShape = 'production' | 'dev';

/** Compiles src/ like the Dockerfile's `npm run build` into `outDir`; returns the script resolver. */
export async function compileProduct(outDir: string): Promise<(tsScript: string) => string> {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(
    process.execPath,
    [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--noCheck', '--outDir', outDir],
    {
      cwd: ROOT,
    },
  );
  return (tsScript) => path.join(outDir, tsScript.replace(/^src\//, '').replace(/\.ts$/, '.js'));
}

export interface SystemOptions {
  shape?: ProcessShape;
  /** Write `--cpu-prof` profiles of the receivers and the worker here. */
  cpuProfDir?: string;
  /** Extra environment for the product's processes (e.g. to compare a setting). */
  productEnv?: Record<string, string>;
  /** Another worker script in place of src/worker.ts (experiments). */
  workerScript?: string;
  /** Another receiver script in place of src/webhook/main.ts (experiments). */
  receiverScript?: string;
  /** Which Temporal: the dev server (default) or the production-shaped cluster. */
  engine?: EngineKind;
  /** Another Temporal server in place of the product's dev server (experiments). */
  devServer?: (cli: string, dir: string) => Promise<Pick<DevServer, 'address' | 'process' | 'stop'>>;
}

async function startTemporal(options: SystemOptions, cli: string, dir: string): Promise<Engine> {
  if (options.devServer) {
    const custom = await options.devServer(cli, dir);
    return { kind: 'dev', namespace: 'default', ...custom };
  }
  return startEngine({ kind: options.engine ?? 'dev', cliPath: cli, dataDir: dir, headless: true });
}

/**
 * The Temporal server's processes for a CPU meter: the dev server's one process, or every
 * process of the cluster with their descendants (PostgreSQL's backends).
 */
export function temporalPids(temporal: Engine): number | number[] {
  return temporal.kind === 'dev' ? temporal.process.pid! : enginePids(temporal);
}

export async function startBenchSystem(options: SystemOptions = {}): Promise<BenchSystem> {
  const cli = requireTemporalCli();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-bench-'));
  const hex = (n: number) => randomBytes(n).toString('hex');
  const secrets = {
    RAZORPAY_WEBHOOK_SECRETS: `rzp_${hex(16)}`,
    STRIPE_WEBHOOK_SECRETS: `whsec_${hex(16)}`,
    LMS_API_KEY: `lms_${hex(16)}`,
    WHATSAPP_ACCESS_TOKEN: `wa_${hex(16)}`,
    WHATSAPP_PHONE_NUMBER_ID: '100000000000009',
    HUBSPOT_CLIENT_ID: `client-${hex(4)}`,
    HUBSPOT_CLIENT_SECRET: `hs_${hex(16)}`,
    HUBSPOT_REFRESH_TOKEN: `refresh_${hex(16)}`,
    RAZORPAY_KEY_ID: `rzp_test_${hex(7)}`,
    RAZORPAY_KEY_SECRET: hex(12),
    STRIPE_API_KEY: `sk_test_${hex(16)}`,
  };
  const payloadKeys = newPayloadKeyEnv('bench-1');
  const productBundle = path.join(dir, 'workflow-bundle.js');
  const benchBundle = path.join(dir, 'bench-bundle.js');
  const shape = options.shape ?? 'production';
  const [temporal, script] = await Promise.all([
    startTemporal(options, cli, dir),
    shape === 'production' ? compileProduct(path.join(dir, 'dist')) : (tsScript: string) => tsScript,
    writeWorkflowBundle(productBundle),
    bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      failureConverterPath: FAILURE_CONVERTER_PATH,
    }).then(({ code }) => fs.writeFileSync(benchBundle, code)),
  ]);

  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // The compiled product lives outside the repository: let it find the repository's packages.
    NODE_PATH: path.join(ROOT, 'node_modules'),
    LOG_LEVEL: 'info',
    TEMPORAL_ADDRESS: temporal.address,
    // The product seals every payload (issue 13); the bench measures it that way.
    ...payloadKeys,
    ...secrets,
  };
  const log = (name: string) => path.join(dir, `${name}.log`);

  // Whatever started is stopped again if anything fails to start: no orphans after a failed run.
  const started: Array<{ stop(): Promise<void> }> = [temporal];
  const cleanUp = async (err: unknown): Promise<never> => {
    await Promise.allSettled(started.reverse().map((p) => p.stop()));
    throw err;
  };
  try {
    const sandboxLog = log('sandbox');
    const track = async <T extends { stop(): Promise<void> }>(p: Promise<T>): Promise<T> => {
      const value = await p;
      started.push(value);
      return value;
    };
    const sandbox = await NodeProcess.start({
      name: 'sandbox',
      script: script('src/sandbox/main.ts'),
      env: { ...base, SANDBOX_PORT: '0' },
      logFile: sandboxLog,
      ready: logLineReady(sandboxLog, /"msg":"sandbox listening"/),
    });
    started.push(sandbox);
    const sandboxUrl = /"url":"(http:[^"]+)"/.exec(fs.readFileSync(sandboxLog, 'utf8'))![1]!;

    const product: NodeJS.ProcessEnv = {
      ...base,
      LMS_BASE_URL: `${sandboxUrl}/lms`,
      WHATSAPP_GRAPH_URL: `${sandboxUrl}/whatsapp`,
      HUBSPOT_BASE_URL: `${sandboxUrl}/hubspot`,
      // The confirmation step reads the payment back from the provider (the sandbox, started with the
      // same RAZORPAY_KEY_ID / RAZORPAY_KEY_SECRET / STRIPE_API_KEY from `secrets`).
      RAZORPAY_API_URL: `${sandboxUrl}/razorpay`,
      STRIPE_API_URL: sandboxUrl,
      STRIPE_LIVEMODE: 'false',
      CATALOG_PATH: SAMPLE_CATALOG,
      WORKFLOW_BUNDLE_PATH: productBundle,
      WORKER_METRICS_PORT: '0',
      TEMPORAL_SDK_METRICS_PORT: String(await freePort()),
      // A reconciliation run crossing a measurement would list and re-start every payment made so far.
      RECONCILE_SCHEDULES: 'false',
      ...options.productEnv,
    };
    const receiver = async (name: string, taskQueue: string) => {
      const port = await freePort();
      const proc = await track(
        NodeProcess.start({
          name,
          script: options.receiverScript ?? script('src/webhook/main.ts'),
          env: { ...product, TEMPORAL_TASK_QUEUE: taskQueue, WEBHOOK_PORT: String(port) },
          logFile: log(name),
          ready: httpReady(`http://127.0.0.1:${port}/readyz`),
          cpuProfDir: options.cpuProfDir,
        }),
      );
      return { proc, port };
    };
    const httpCeilingPort = await freePort();
    const workerLog = log('worker');
    const ceilingLog = log('ceiling-worker');
    const [worker, ceilingWorker, ackReceiver, e2eReceiver, httpCeiling] = await Promise.all([
      track(
        NodeProcess.start({
          name: 'worker',
          script: options.workerScript ?? script('src/worker.ts'),
          env: { ...product, TEMPORAL_TASK_QUEUE: TASK_QUEUES.enrollments },
          logFile: workerLog,
          ready: logLineReady(workerLog, /"msg":"worker polling"/),
          cpuProfDir: options.cpuProfDir,
        }),
      ),
      track(
        NodeProcess.start({
          name: 'ceiling-worker',
          script: 'bench/ceiling-worker.ts',
          // The product worker's V8 flags, so the ceiling runs under the settings of what it bounds.
          v8Flags: V8_FLAGS.worker,
          env: { ...product, BENCH_TASK_QUEUE: TASK_QUEUES.ceiling, BENCH_BUNDLE: benchBundle },
          logFile: ceilingLog,
          ready: logLineReady(ceilingLog, /ceiling worker polling/),
          cpuProfDir: options.cpuProfDir,
        }),
      ),
      receiver('receiver-ack', TASK_QUEUES.ackOnly),
      receiver('receiver-e2e', TASK_QUEUES.enrollments),
      track(
        NodeProcess.start({
          name: 'http-ceiling',
          script: 'bench/http-ceiling.ts',
          env: { ...base, BENCH_PORT: String(httpCeilingPort) },
          logFile: log('http-ceiling'),
          ready: httpReady(`http://127.0.0.1:${httpCeilingPort}/healthz`),
        }),
      ).then((proc) => ({ proc, port: httpCeilingPort })),
    ]);
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({
      connection,
      dataConverter: dataConverter(parsePayloadKeys(payloadKeys.PAYLOAD_KEYS, payloadKeys.PAYLOAD_KEY_ID)),
    });

    return {
      dir,
      cli,
      shape,
      script,
      temporal,
      client,
      connection,
      payloadKeys,
      secret: secrets.RAZORPAY_WEBHOOK_SECRETS,
      sandboxUrl,
      httpCeiling,
      ackReceiver,
      e2eReceiver,
      worker,
      ceilingWorker,
      sandbox,
      async stop() {
        await Promise.all([ackReceiver.proc, e2eReceiver.proc, httpCeiling.proc].map((p) => p.stop()));
        await Promise.all([worker.stop(), ceilingWorker.stop()]);
        await sandbox.stop();
        await connection.close();
        await temporal.stop();
      },
    };
  } catch (err) {
    return cleanUp(err);
  }
}

export type PersistenceVariant = 'sqlite-rollback' | 'sqlite-wal-normal' | 'in-memory';

/** The `--sqlite-pragma` values of each variant: what `npm run dev` would trade for what. */
export const VARIANT_PRAGMAS: Record<PersistenceVariant, string[]> = {
  /** SQLite's (and the dev server's) default: a rollback journal, fsyncs on every commit. */
  'sqlite-rollback': [],
  /** Faster than ours, but commits wait for a checkpoint to reach the disk. */
  'sqlite-wal-normal': ['journal_mode=wal', 'synchronous=normal'],
  'in-memory': [],
};

/** A second dev server, started like `npm run dev`'s but with the variant's persistence. */
export function startVariantServer(
  cli: string,
  dir: string,
  variant: PersistenceVariant,
): Promise<DevServer> {
  return startDevServer({
    cliPath: cli,
    dbFile: variant === 'in-memory' ? undefined : path.join(dir, `temporal-${variant}.sqlite`),
    sqlitePragmas: VARIANT_PRAGMAS[variant],
    headless: true,
    logFile: path.join(dir, `temporal-${variant}.log`),
  });
}
