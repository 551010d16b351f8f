/**
 * `npm run bench`: one run, everything on loopback, every figure of ours beside its ceiling measured
 * in the same run against the same fresh Temporal dev server. Prints the report and writes it into
 * docs/benchmarks.md (between the generated-results markers; the rest of that file is kept).
 *
 * With `--engine cluster`, one run measures the dev server and then the production-shaped cluster
 * (PostgreSQL, a process per service), each on a fresh system with the same measurements and ceilings
 * of its own, plus what a payment costs on each (bench/costs.ts), and writes them side by side into
 * their own generated section of docs/benchmarks.md; the dev server's section is left as it is.
 *
 * Options: --quick (1 repetition, short windows: for development), --profile DIR (`--cpu-prof` the
 * receivers and the worker), --no-variants (skip the persistence comparison), --no-write,
 * --engine dev|cluster.
 * Environment: BENCH_REPS, BENCH_CONNECTIONS, BENCH_SECONDS override the defaults below.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { dataConverter } from '../src/temporal/data-converter';
import { parsePayloadKeys } from '../src/temporal/payload-codec';
import { CpuMeter, type CpuUse } from './cpu';
import {
  ackAutocannonRate,
  ackDuplicates,
  ackMax,
  ackPaced,
  CEILING_ACTIVITIES,
  endToEndCeiling,
  endToEndOurs,
  type EndToEndResult,
  enrolled,
  pacedStarts,
  preparePayments,
  rawStarts,
  startsLikeOurs,
} from './phases';
import { activityTimes } from './activity-times';
import { codecCost } from './codec';
import { countFsyncsPerStart } from './fsyncs';
import { httpReady, NodeProcess, ROOT, sleep } from './procs';
import { measurePaymentCosts } from './costs';
import { renderEngineComparison } from './engine-report';
import { CLUSTER_MARKERS, renderReport, writeReport, type BenchResults, type Sample } from './report';
import {
  type PersistenceVariant,
  startBenchSystem,
  startVariantServer,
  TASK_QUEUES,
  temporalPids,
} from './system';
import { freePort } from '../scripts/temporal/free-port';
import { type EngineKind, parseEngine } from '../scripts/temporal/engine';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = flag('--quick');
const REPS = Number(process.env.BENCH_REPS ?? (quick ? 1 : 3));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? (quick ? 3 : 5));
const RATE_SECONDS = quick ? 3 : 4;
const RATES = [50, 100, 200];
const DUPLICATE_COPIES = 5;
const E2E_SATURATION_PAYMENTS = quick ? 150 : 300;
const E2E_RATE = 10;
const E2E_RATE_SECONDS = quick ? 5 : 10;
const SETTLE_MS = 1000;
const VARIANT_REPS = Math.min(REPS, 2);
const VARIANTS: PersistenceVariant[] = flag('--no-variants')
  ? []
  : ['sqlite-rollback', 'sqlite-wal-normal', 'in-memory'];
const FSYNC_STARTS = quick ? 200 : 400;
const COST_PAYMENTS = quick ? 40 : 100;

const log = (...parts: unknown[]) =>
  console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...parts);

function foreignProcesses(): string[] {
  try {
    return execFileSync('pgrep', ['-fa', 'jest|verify.ts|chaos'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() && !line.includes('enrollflow-bench'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

function machineInfo(cli: string) {
  const cpu = os.cpus();
  return {
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    temporal: execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim(),
    kernel: os.release(),
  };
}

/** The system under measurement while it runs, so a measurement that throws does not leave it running. */
let running: { stop(): Promise<void> } | undefined;

/** What one engine's run measures beyond the common measurements. */
interface EngineRun {
  engine: EngineKind;
  variants: PersistenceVariant[];
  /** The dev server's fsyncs per start (strace); meaningless for PostgreSQL's separate processes. */
  fsyncs: boolean;
  costs: boolean;
  profileDir?: string;
}

/** Every measurement against one fresh system on `run.engine`; stops the system before it returns. */
async function measureEngine(run: EngineRun): Promise<{ results: BenchResults; dir: string }> {
  const started = Date.now();
  const foreignAtStart = foreignProcesses();
  const loadAtStart = os.loadavg()[0]!;
  log(
    `${run.engine}: repetitions ${REPS}, connections ${CONNECTIONS}, window ${SECONDS} s; starting the system`,
  );
  const sys = await startBenchSystem({ engine: run.engine, cpuProfDir: run.profileDir });
  running = sys;
  const info = machineInfo(sys.cli);
  log(`${info.cores} × ${info.cpuModel}, Node ${info.node}, ${info.temporal}; system in ${sys.dir}`);

  const host = '127.0.0.1';
  const http = { host, port: sys.httpCeiling.port };
  const ack = { host, port: sys.ackReceiver.port };
  const e2e = { host, port: sys.e2eReceiver.port };
  const pids = () => ({
    temporal: temporalPids(sys.temporal),
    receiverAck: sys.ackReceiver.proc.pid,
    receiverE2e: sys.e2eReceiver.proc.pid,
    worker: sys.worker.pid,
    sandbox: sys.sandbox.pid,
    httpCeiling: sys.httpCeiling.proc.pid,
    ceilingWorker: sys.ceilingWorker.pid,
    bench: process.pid,
  });
  const whole = new CpuMeter(pids);
  const cpu: Record<string, CpuUse[]> = {};
  const metered = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    // Let the server finish the previous measurement's asynchronous work (transfer and visibility
    // tasks) so it does not bill this one.
    await sleep(SETTLE_MS);
    const meter = new CpuMeter(pids);
    const result = await fn();
    (cpu[name] ??= []).push(meter.stop());
    return result;
  };

  const results: BenchResults = {
    config: {
      reps: REPS,
      connections: CONNECTIONS,
      seconds: SECONDS,
      rateSeconds: RATE_SECONDS,
      rates: RATES,
      duplicateCopies: DUPLICATE_COPIES,
      e2eSaturationPayments: E2E_SATURATION_PAYMENTS,
      e2eRate: E2E_RATE,
      e2eRateSeconds: E2E_RATE_SECONDS,
      ceilingActivities: CEILING_ACTIVITIES,
      variantReps: VARIANT_REPS,
      shape: sys.shape,
      quick,
    },
    machine: info,
    samples: {},
    e2e: { ours: { saturation: [], paced: [] }, ceiling: { saturation: [], paced: [] } },
    cpu,
    memory: {},
    variants: [],
    fsyncs: undefined,
    quiet: { foreignAtStart, foreignAtEnd: [], loadAtStart, foreignCores: NaN },
    durationSeconds: NaN,
    engine: run.engine,
  };
  const add = (name: string, sample: Sample) => (results.samples[name] ??= []).push(sample);

  const plainClient = new Client({ connection: sys.connection });
  log('warming up');
  await ackMax(http, sys.secret, CONNECTIONS, 2, 3000);
  await ackMax(ack, sys.secret, CONNECTIONS, 2);
  await rawStarts(sys.client, CONNECTIONS, 2);
  await endToEndCeiling({ client: sys.client, payments: 40, connections: CONNECTIONS });
  await endToEndOurs(e2e, await preparePayments(sys.sandboxUrl, sys.secret, 40), {
    client: sys.client,
    connections: CONNECTIONS,
  });

  for (let rep = 1; rep <= REPS; rep++) {
    log(`acknowledgements, repetition ${rep}/${REPS}`);
    add(
      'httpCeiling',
      await metered('httpCeiling', () => ackMax(http, sys.secret, CONNECTIONS, SECONDS, 12_000)),
    );
    add('rawStarts', await metered('rawStarts', () => rawStarts(sys.client, CONNECTIONS, SECONDS)));
    // The same ceiling with a client that seals nothing: what the codec costs a start.
    add(
      'rawStartsNoCodec',
      await metered('rawStartsNoCodec', () => rawStarts(plainClient, CONNECTIONS, SECONDS)),
    );
    add(
      'startsLikeOurs',
      await metered('startsLikeOurs', () => startsLikeOurs(sys.client, CONNECTIONS, SECONDS)),
    );
    add('ackMax', await metered('ackMax', () => ackMax(ack, sys.secret, CONNECTIONS, SECONDS)));
    add(
      'duplicates',
      await metered('duplicates', () =>
        ackDuplicates(ack, sys.secret, DUPLICATE_COPIES, CONNECTIONS, SECONDS),
      ),
    );
    for (const rate of RATES) {
      await sleep(SETTLE_MS);
      add(`pacedStarts@${rate}`, await pacedStarts(sys.client, rate, RATE_SECONDS));
      add(
        `paced@${rate}`,
        await metered(`paced@${rate}`, () => ackPaced(ack, sys.secret, rate, CONNECTIONS, RATE_SECONDS)),
      );
      await sleep(SETTLE_MS);
      add(
        `autocannonRate@${rate}`,
        await ackAutocannonRate(ack, sys.secret, rate, CONNECTIONS, RATE_SECONDS),
      );
    }
  }

  let oursSent: string[] = [];
  const e2eRun = async (name: 'ours' | 'ceiling', rate?: number): Promise<EndToEndResult> => {
    const options = {
      client: sys.client,
      connections: CONNECTIONS,
      rate,
      payments: rate ? rate * E2E_RATE_SECONDS : E2E_SATURATION_PAYMENTS,
    };
    const key = `e2e-${name}-${rate ? 'paced' : 'saturation'}`;
    // Our payments are registered with the sandbox provider before the window, the histories read after it.
    const deliveries =
      name === 'ours' ? await preparePayments(sys.sandboxUrl, sys.secret, options.payments) : [];
    const { result, sent } = await metered(key, () =>
      name === 'ours' ? endToEndOurs(e2e, deliveries, options) : endToEndCeiling(options),
    );
    if (name === 'ours') oursSent = [...sent.keys()];
    result.activities = await activityTimes(
      sys.client,
      sent,
      name === 'ours' ? { accept: enrolled, workerLog: sys.worker.logFile } : {},
    );
    return result;
  };
  for (let rep = 1; rep <= REPS; rep++) {
    log(`paid-to-enrolled, repetition ${rep}/${REPS}`);
    results.e2e.ceiling.saturation.push(await e2eRun('ceiling'));
    results.e2e.ours.saturation.push(await e2eRun('ours'));
    results.e2e.ceiling.paced.push(await e2eRun('ceiling', E2E_RATE));
    results.e2e.ours.paced.push(await e2eRun('ours', E2E_RATE));
  }

  if (run.costs) {
    log(`what a payment costs: ${COST_PAYMENTS} payments at ${E2E_RATE}/s, histories and store read after`);
    results.costs = await measurePaymentCosts(sys, e2e, COST_PAYMENTS, E2E_RATE);
  }

  log('payload codec: the sealed payloads of 20 payments, sealed and opened in this process');
  results.codec = await codecCost(
    sys.client,
    parsePayloadKeys(sys.payloadKeys.PAYLOAD_KEYS, sys.payloadKeys.PAYLOAD_KEY_ID),
    oursSent.slice(0, 20),
    REPS,
  );

  const memory = (proc: NodeProcess) => proc.memory();
  results.memory = {
    worker: memory(sys.worker),
    receiverAck: memory(sys.ackReceiver.proc),
    receiverE2e: memory(sys.e2eReceiver.proc),
    httpCeiling: memory(sys.httpCeiling.proc),
    ceilingWorker: memory(sys.ceilingWorker),
    sandbox: memory(sys.sandbox),
  };
  const wholeUse = whole.stop();
  results.quiet.foreignCores = wholeUse.foreignCores;
  results.cpu.whole = [wholeUse];
  if (run.fsyncs && sys.temporal.kind === 'dev') {
    log(`fsyncs per start (${FSYNC_STARTS} starts under strace)`);
    results.fsyncs = await countFsyncsPerStart(
      sys.temporal.process.pid!,
      sys.client,
      path.join(sys.dir, 'strace-dev-server.txt'),
      FSYNC_STARTS,
    );
  }
  running = undefined;
  await sys.stop();

  for (const variant of run.variants) {
    log(`persistence variant ${variant}`);
    const server = await startVariantServer(sys.cli, sys.dir, variant);
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({
      connection,
      dataConverter: dataConverter(
        parsePayloadKeys(sys.payloadKeys.PAYLOAD_KEYS, sys.payloadKeys.PAYLOAD_KEY_ID),
      ),
    });
    const port = await freePort();
    const receiver = await NodeProcess.start({
      name: `receiver-${variant}`,
      script: sys.script('src/webhook/main.ts'),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_PATH: path.join(ROOT, 'node_modules'),
        LOG_LEVEL: 'info',
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_TASK_QUEUE: TASK_QUEUES.ackOnly,
        WEBHOOK_PORT: String(port),
        RAZORPAY_WEBHOOK_SECRETS: sys.secret,
        STRIPE_WEBHOOK_SECRETS: `whsec_${'0'.repeat(32)}`,
        ...sys.payloadKeys,
      },
      logFile: path.join(sys.dir, `receiver-${variant}.log`),
      ready: httpReady(`http://${host}:${port}/readyz`),
    });
    const target = { host, port };
    await ackMax(target, sys.secret, CONNECTIONS, 2);
    await rawStarts(client, CONNECTIONS, 2);
    const samples: Record<string, Sample[]> = {};
    const put = (name: string, s: Sample) => (samples[name] ??= []).push(s);
    for (let rep = 1; rep <= VARIANT_REPS; rep++) {
      await sleep(SETTLE_MS);
      put('rawStarts', await rawStarts(client, CONNECTIONS, SECONDS));
      await sleep(SETTLE_MS);
      put('ackMax', await ackMax(target, sys.secret, CONNECTIONS, SECONDS, 1000));
      await sleep(SETTLE_MS);
      put('pacedStarts@100', await pacedStarts(client, 100, RATE_SECONDS));
      await sleep(SETTLE_MS);
      put('paced@100', await ackPaced(target, sys.secret, 100, CONNECTIONS, RATE_SECONDS));
    }
    const fsyncs =
      variant === 'in-memory'
        ? undefined
        : await countFsyncsPerStart(
            server.process.pid!,
            client,
            path.join(sys.dir, `strace-${variant}.txt`),
            FSYNC_STARTS,
          );
    results.variants.push({ variant, samples, receiverMemory: receiver.memory(), fsyncs });
    await receiver.stop();
    await connection.close();
    await server.stop();
  }

  results.quiet.foreignAtEnd = foreignProcesses();
  results.durationSeconds = (Date.now() - started) / 1000;
  fs.writeFileSync(path.join(sys.dir, 'results.json'), JSON.stringify(results, null, 2));
  return { results, dir: sys.dir };
}

async function publish(report: string, dirs: string[], markers?: typeof CLUSTER_MARKERS) {
  console.log(`\n${report}`);
  if (flag('--no-write')) return;
  const file = path.join(ROOT, 'docs', 'benchmarks.md');
  await writeReport(file, report, markers);
  log(`written to ${path.relative(ROOT, file)}; raw results and logs in ${dirs.join(', ')}`);
}

async function main() {
  const engine = parseEngine(option('--engine'));
  const profileDir = option('--profile');
  const profile = (name: string) => profileDir && path.resolve(profileDir, name);
  if (engine === 'dev') {
    const dev = await measureEngine({
      engine,
      variants: VARIANTS,
      fsyncs: true,
      costs: false,
      profileDir: profile('.'),
    });
    await publish(renderReport(dev.results), [dev.dir]);
    return;
  }
  // Both engines in one run, one after the other, so both are measured on the same machine in the
  // same state; the dev server's persistence comparison belongs to its own report.
  const measure = async (kind: EngineKind) => {
    const measured = await measureEngine({
      engine: kind,
      variants: [],
      fsyncs: false,
      costs: true,
      profileDir: profile(kind),
    });
    // Each engine's full report beside its raw results, for what the comparison leaves out.
    fs.writeFileSync(path.join(measured.dir, 'report.md'), renderReport(measured.results));
    return measured;
  };
  const dev = await measure('dev');
  const cluster = await measure('cluster');
  await publish(
    renderEngineComparison(dev.results, cluster.results),
    [dev.dir, cluster.dir],
    CLUSTER_MARKERS,
  );
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    console.error(err);
    await running?.stop().catch((stopErr: unknown) => console.error(stopErr));
    process.exit(1);
  },
);
