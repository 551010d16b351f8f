import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { searchAttributeRegistrations } from '../../src/workflows/messages';
import { type EngineBinaries } from './engine-binaries';
import { freePort, freePortBelow32768 } from './free-port';
import { startPostgres, type Postgres } from './postgres';
import { NAMESPACE_RETENTION, waitUntilServing } from './dev-server';

const run = promisify(execFile);
const PROBE_QUERY = Object.keys(searchAttributeRegistrations)
  .map((name) => `${name} = "probe"`)
  .join(' OR ');
const OPS = path.resolve(__dirname, '..', '..', 'ops', 'temporal');

/** The server configuration and dynamic configuration docker-compose.yml mounts too. */
export const SERVER_CONFIG = path.join(OPS, 'config.yaml');
export const DYNAMIC_CONFIG = path.join(OPS, 'dynamicconfig.yaml');
/** The set-up scripts docker-compose.yml's one-shot services run too. */
export const SETUP_SCHEMA = path.join(OPS, 'setup-schema.sh');
export const SETUP_NAMESPACE = path.join(OPS, 'setup-namespace.sh');
export const HISTORY_NODES = 2;

export interface ClusterOptions {
  engine: EngineBinaries;
  /** The `temporal` CLI, for the namespace set-up (ops/temporal/setup-namespace.sh). */
  cliPath: string;
  /** PostgreSQL's data and every process's log; kept between starts (a restart keeps workflows). */
  dataDir: string;
  /** The frontend's gRPC port; default a free one. */
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** The codec server the Web UI decodes payloads through, as the browser reaches it. */
  uiCodecEndpoint?: string;
  namespace?: string;
  historyNodes?: number;
}

export type ServiceName = 'frontend' | 'matching' | 'worker' | `history-${number}`;

/** The processes of a cluster, in start order: the internal worker needs a frontend, so it is last. */
export function clusterServices(historyNodes = HISTORY_NODES): ServiceName[] {
  return [
    ...Array.from({ length: historyNodes }, (_, i) => `history-${i + 1}` as const),
    'matching',
    'frontend',
    'worker',
  ];
}

/** The Temporal service a process runs (TEMPORAL_SERVICES): every history node is `history`. */
export const temporalServiceOf = (service: ServiceName): string =>
  service.startsWith('history-') ? 'history' : service;

export interface Cluster {
  kind: 'cluster';
  address: string;
  uiUrl?: string;
  namespace: string;
  postgres: Postgres;
  services: ServiceName[];
  /** Sends a signal to one service's process and waits for it to exit (`kill -9` by default). */
  kill(service: ServiceName, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped service again, on its own ports, and waits until the cluster serves. */
  start(service: ServiceName): Promise<void>;
  /** The running processes: the services, the Web UI and PostgreSQL's postmaster. */
  pids(): number[];
  /** Where a service's log goes (the server's own, JSON lines). */
  logFile(service: ServiceName | 'postgres' | 'ui'): string;
  stop(): Promise<void>;
}

/**
 * Temporal as production runs it, on one machine: PostgreSQL (persistence and visibility, schema set
 * up and migrated by Temporal's SQL tool), then each service as its own `temporal-server` process on
 * loopback (a frontend, `historyNodes` history nodes sharing the shards, matching and the internal
 * worker) with the server and dynamic configuration under ops/temporal/ that docker-compose.yml runs,
 * the namespace with its retention and search attributes, and the Web UI pointed at the frontend.
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { engine } = options;
  const namespace = options.namespace ?? 'default';
  const logs = path.join(options.dataDir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const logFile = (name: string) => path.join(logs, `${name}.log`);

  const postgres = await startPostgres({
    bin: engine.postgresBin,
    dataDir: path.join(options.dataDir, 'postgres'),
    logFile: logFile('postgres'),
  });
  const children = new Map<string, ChildProcess>();
  const stopAll = async () => {
    await Promise.all([...children.values()].map((child) => terminate(child)));
    children.clear();
    await postgres.stop();
  };

  try {
    const database = {
      POSTGRES_SEEDS: postgres.host,
      DB_PORT: String(postgres.port),
      POSTGRES_USER: postgres.user,
      POSTGRES_PWD: postgres.password,
    };
    await run('sh', [SETUP_SCHEMA], {
      env: { ...baseEnv(), ...database, TEMPORAL_SQL_TOOL: engine.sqlTool, SCHEMA_DIR: engine.schemaDir },
    });

    const services = clusterServices(options.historyNodes);
    // Each pick is free but not reserved: two picks could be the same port, so picks are kept apart.
    const picked = new Set<number>();
    const pick = async (below32768 = false): Promise<number> => {
      for (;;) {
        const p = below32768 ? await freePortBelow32768() : await freePort();
        if (!picked.has(p)) {
          picked.add(p);
          return p;
        }
      }
    };
    const port = options.port ?? (await pick());
    picked.add(port);
    const ports: Record<string, string> = {
      FRONTEND_GRPC_PORT: String(port),
      FRONTEND_HTTP_PORT: String(await pick()),
      FRONTEND_MEMBERSHIP_PORT: String(await pick(true)),
      MATCHING_GRPC_PORT: String(await pick()),
      MATCHING_MEMBERSHIP_PORT: String(await pick(true)),
      WORKER_GRPC_PORT: String(await pick()),
      WORKER_MEMBERSHIP_PORT: String(await pick(true)),
    };
    // Every history node is the history service on ports of its own: the shards are divided among
    // the nodes that are up, through membership.
    const historyPorts = new Map<ServiceName, Record<string, string>>();
    for (const service of services.filter((s) => s.startsWith('history-'))) {
      historyPorts.set(service, {
        HISTORY_GRPC_PORT: String(await pick()),
        HISTORY_MEMBERSHIP_PORT: String(await pick(true)),
      });
    }
    const env = (service: ServiceName): NodeJS.ProcessEnv => ({
      ...baseEnv(),
      ...database,
      ...ports,
      ...historyPorts.get(service),
      TEMPORAL_SERVER_CONFIG_FILE_PATH: SERVER_CONFIG,
      DYNAMIC_CONFIG_FILE_PATH: DYNAMIC_CONFIG,
      TEMPORAL_SERVICES: temporalServiceOf(service),
      TEMPORAL_ALLOW_NO_AUTH: 'true',
      BIND_ON_IP: '127.0.0.1',
      TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
      LOG_LEVEL: 'warn',
    });
    const address = `127.0.0.1:${port}`;
    const exits = new Map<string, string>();
    const launch = (service: ServiceName) => {
      const log = fs.openSync(logFile(service), 'a');
      const child = spawn(engine.server, ['start'], { env: env(service), stdio: ['ignore', log, log] });
      fs.closeSync(log);
      exits.delete(service);
      child.once('exit', (code, signal) => exits.set(service, `exited with ${code ?? signal}`));
      children.set(service, child);
    };
    const serving = () =>
      waitUntilServing(
        address,
        () => {
          const dead = [...exits.entries()].find(([name]) => children.has(name));
          return dead && `${dead[0]} ${dead[1]} (log: ${logFile(dead[0])})`;
        },
        90_000,
      );

    // The first service to start on a new database writes the cluster's metadata, and services
    // starting at the same moment race to write it (all but one fail): one goes first. The internal
    // worker service needs a frontend to talk to: it goes last.
    const [first, ...others] = services.filter((s) => s !== 'worker');
    launch(first!);
    await waitFor(
      async () => (await postgres.query('temporal', 'select count(*) from cluster_metadata_info')) !== '0',
      () => exits.get(first!) && `${first} ${exits.get(first!)} (log: ${logFile(first!)})`,
      60_000,
    );
    for (const service of others) launch(service);
    await serving();
    launch('worker');

    await run('sh', [SETUP_NAMESPACE], {
      env: {
        ...baseEnv(),
        TEMPORAL_CLI: options.cliPath,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        NAMESPACE_RETENTION,
      },
    });
    await waitUntilNamespaceServes(address, namespace);

    let uiUrl: string | undefined;
    if (!options.headless) {
      const uiPort = options.uiPort ?? (await freePort());
      const log = fs.openSync(logFile('ui'), 'a');
      // The configuration the temporalio/ui image runs (config/docker.yaml of the same release),
      // set by the same variables docker-compose.yml gives it.
      const ui = spawn(engine.uiServer, ['--root', engine.uiRoot, '--env', 'docker', 'start'], {
        env: {
          ...baseEnv(),
          TEMPORAL_ADDRESS: address,
          TEMPORAL_UI_PORT: String(uiPort),
          TEMPORAL_DEFAULT_NAMESPACE: namespace,
          TEMPORAL_DISABLE_NEWS_FETCH: 'true',
          TEMPORAL_CORS_ORIGINS: `http://127.0.0.1:${uiPort},http://localhost:${uiPort}`,
          TEMPORAL_CODEC_ENDPOINT: options.uiCodecEndpoint ?? '',
        },
        stdio: ['ignore', log, log],
      });
      fs.closeSync(log);
      children.set('ui', ui);
      uiUrl = `http://127.0.0.1:${uiPort}`;
      await waitForHttp(uiUrl, () => ui.exitCode !== null && `the Web UI exited (log: ${logFile('ui')})`);
    }

    return {
      kind: 'cluster',
      address,
      uiUrl,
      namespace,
      postgres,
      services,
      async kill(service, signal = 'SIGKILL') {
        const child = children.get(service);
        children.delete(service);
        if (child) await terminate(child, signal);
      },
      async start(service) {
        if (children.has(service)) throw new Error(`${service} is already running`);
        launch(service);
        await serving();
      },
      pids: () => [...[...children.values()].map((child) => child.pid!).filter(Boolean), ...postgres.pids()],
      logFile,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** Only what the tools need from our environment: never the application's secrets. */
function baseEnv(): NodeJS.ProcessEnv {
  const { PATH, HOME, LANG, TZ } = process.env;
  return { PATH, HOME, LANG, TZ };
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
}

/**
 * A namespace just created, and search attributes just registered (on SQL visibility, aliases kept in
 * the namespace's record), reach the frontend only when its namespace cache refreshes: until then a
 * start naming them is refused, and the receiver would answer 503s. A count whose query names every
 * search attribute answers only once both are known, and the PostgreSQL visibility store serves.
 */
async function waitUntilNamespaceServes(address: string, namespace: string, timeoutMs = 60_000) {
  const connection = await Connection.connect({ address });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await connection.workflowService.countWorkflowExecutions({ namespace, query: PROBE_QUERY });
        return;
      } catch (err) {
        if (Date.now() > deadline) {
          throw new Error(`namespace ${namespace} not serving: ${String(err)}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    await connection.close();
  }
}

/** Polls `ready` until it holds; fails at once when `failed` names why it never will. */
async function waitFor(
  ready: () => Promise<boolean>,
  failed: () => string | false | undefined,
  timeoutMs: number,
  what = 'the cluster',
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const waitForHttp = (url: string, failed: () => string | false) =>
  waitFor(async () => (await fetch(url)).status < 500, failed, 30_000, url);
