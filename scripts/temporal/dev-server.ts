import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { ensureSearchAttributes } from '../../src/temporal/search-attributes';
import { searchAttributeRegistrations } from '../../src/workflows/messages';
import { freePort } from './free-port';

const run = promisify(execFile);

/**
 * How long closed workflows are kept, and so how long workflow-ID uniqueness rejects a redelivered
 * payment. Providers redeliver for 24 h (Razorpay, automatic) and 3 days (Stripe, automatic), and a
 * merchant can replay a Razorpay event by hand for up to 15 days: 30 days covers all of them with margin.
 */
export const NAMESPACE_RETENTION = '720h';

/**
 * SQLite settings of a file-backed dev server (`npm run dev`, the tests, the bench). The default
 * rollback journal costs every commit a journal write, two fsyncs and a journal delete; in WAL mode a
 * commit appends to the log and fsyncs it once. `synchronous=full` keeps that fsync on every commit,
 * so an acknowledged payment's start survives a power loss, not only a crash of the server; `normal`
 * would be faster still but may lose the last commits to a power loss. `npm run bench` measures the
 * difference (docs/benchmarks.md, Persistence). Production runs on PostgreSQL (docker-compose.yml).
 */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=full'] as const;

export interface DevServerOptions {
  cliPath: string;
  /** SQLite file; omitted = in-memory (tests that do not restart the server). */
  dbFile?: string;
  /** `--sqlite-pragma` values for `dbFile`; default SQLITE_PRAGMAS (the bench compares others). */
  sqlitePragmas?: readonly string[];
  port?: number;
  uiPort?: number;
  headless?: boolean;
  namespace?: string;
  /** Where the server's own log goes (it is verbose); default: discarded. */
  logFile?: string;
  /** The codec server the Web UI decodes payloads through (`--ui-codec-endpoint`), as the browser reaches it. */
  uiCodecEndpoint?: string;
}

export interface DevServer {
  kind: 'dev';
  address: string;
  uiUrl?: string;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` on loopback with our search attributes registered and the
 * namespace retention set, and resolves once the frontend answers.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  // Ports are picked free but released before the CLI binds them, and the server binds internal
  // ports of its own: when another server grabs one in between, it dies at start. Try again with
  // fresh ports (those the caller did not fix).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(options);
    } catch (err) {
      if (!(err instanceof ServerExitedError) || attempt >= 3) throw err;
    }
  }
}

class ServerExitedError extends Error {}

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  const port = options.port ?? (await freePort());
  const uiPort = options.headless ? undefined : (options.uiPort ?? (await freePort()));
  const namespace = options.namespace ?? 'default';
  const address = `127.0.0.1:${port}`;
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push('--http-port', String(await freePort()), '--metrics-port', String(await freePort()));
  if (uiPort) {
    args.push('--ui-port', String(uiPort), '--ui-disable-news-fetch');
    if (options.uiCodecEndpoint) args.push('--ui-codec-endpoint', options.uiCodecEndpoint);
  } else args.push('--headless');
  if (options.dbFile) {
    fs.mkdirSync(path.dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
    for (const pragma of options.sqlitePragmas ?? SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(searchAttributeRegistrations)) {
    args.push('--search-attribute', `${name}=${type}`);
  }

  const log = options.logFile ? fs.openSync(options.logFile, 'a') : 'ignore';
  const child = spawn(options.cliPath, args, { stdio: ['ignore', log, log] });
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `dev server exited with ${code ?? signal}`));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  };

  try {
    await waitUntilServing(address, () => exited);
    await run(options.cliPath, [
      'operator',
      'namespace',
      'update',
      '--address',
      address,
      '--namespace',
      namespace,
      '--retention',
      NAMESPACE_RETENTION,
    ]);
    // `--search-attribute` registers only into a new database: one kept from an earlier version
    // (`.data/temporal.sqlite`) gets the attributes added since registered here.
    const connection = await Connection.connect({ address });
    try {
      await ensureSearchAttributes(connection, namespace, { info: () => undefined });
    } finally {
      await connection.close();
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    if (typeof log === 'number') fs.closeSync(log);
  }
  return {
    kind: 'dev',
    address,
    uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined,
    namespace,
    process: child,
    stop,
  };
}

/** Resolves once the frontend at `address` answers; fails early when `exited` names a dead process. */
export async function waitUntilServing(
  address: string,
  exited: () => string | undefined,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const why = exited();
    if (why) throw new ServerExitedError(`temporal ${why} before serving (is port ${address} taken?)`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.withDeadline(Date.now() + 1000, () => connection.workflowService.getSystemInfo({}));
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  throw new Error(`temporal at ${address} not serving after ${timeoutMs} ms: ${String(lastError)}`);
}
