import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port';

const run = promisify(execFile);

export interface PostgresOptions {
  /** Debian's server binaries (initdb, pg_ctl), from scripts/temporal-engine.sh. */
  bin: string;
  /** The cluster's data folder, created on first start; kept between starts. */
  dataDir: string;
  port?: number;
  logFile: string;
}

export interface Postgres {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Stops the server and starts it again on the same port; `immediate` is a crash (recovery on start). */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** The postmaster's pid (its backends are its children). */
  pids(): number[];
  /** Runs one SQL statement in `database` and returns psql's unaligned output. */
  query(database: string, sql: string): Promise<string>;
  stop(): Promise<void>;
}

const USER = 'temporal';

/**
 * A PostgreSQL cluster of the project's own under `dataDir`, listening on loopback TCP only (no Unix
 * socket), never the machine's system cluster. Other users of the machine can reach loopback, so it
 * asks for a password (SCRAM), generated at the first start and kept beside the data folder, readable
 * by its owner only. PostgreSQL refuses to run as root, so as root the cluster belongs to Debian's
 * `postgres` account.
 */
export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  const asRoot = process.getuid?.() === 0;
  const tool = (name: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(options.bin, name), ...args])
      : run(path.join(options.bin, name), args);

  fs.mkdirSync(path.dirname(options.dataDir), { recursive: true });
  const passwordFile = `${options.dataDir}-password`;
  if (!fs.existsSync(path.join(options.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(passwordFile, randomBytes(24).toString('hex'), { mode: 0o600 });
    // initdb reads the password from a file it can open: the data folder's owner's, removed after.
    const initPassword = path.join(options.dataDir, '..', `.initdb-${process.pid}`);
    fs.copyFileSync(passwordFile, initPassword);
    if (asRoot) {
      await run('chown', ['postgres:postgres', options.dataDir, initPassword]);
      openPathFor(options.dataDir);
    }
    try {
      await tool('initdb', [
        '-D',
        options.dataDir,
        '-U',
        USER,
        `--pwfile=${initPassword}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-instructions',
      ]);
    } finally {
      fs.rmSync(initPassword, { force: true });
    }
  }
  // A folder set up before passwords were asked for trusts loopback: no password then.
  const password = fs.existsSync(passwordFile) ? fs.readFileSync(passwordFile, 'utf8').trim() : '';
  fs.writeFileSync(options.logFile, '', { flag: 'a' });
  if (asRoot) await run('chown', ['postgres:postgres', options.logFile]);

  const port = options.port ?? (await freePort());
  // No Unix socket (`-k ''`): its path would depend on where the clone is, and everything connects
  // over TCP. Temporal's services each hold their own pool, more than the default 100 connections.
  const serverOptions = `-p ${port} -k '' -c listen_addresses=127.0.0.1 -c max_connections=400`;
  const start = () =>
    tool('pg_ctl', [
      '-D',
      options.dataDir,
      '-l',
      options.logFile,
      '-w',
      '-t',
      '60',
      '-o',
      serverOptions,
      'start',
    ]);
  const stop = (mode: 'fast' | 'immediate') =>
    tool('pg_ctl', ['-D', options.dataDir, '-w', '-t', '60', '-m', mode, 'stop']).catch((err: Error) => {
      // A pid file left by a postmaster that died (a crash, a reboot) names no process: nothing to stop.
      if (
        !/not running|does not exist|No such file|No such process/i.test(
          `${(err as { stderr?: string }).stderr ?? err.message}`,
        )
      )
        throw err;
    });
  // A server left running by a killed earlier session holds the folder: stop it first.
  await stop('fast');
  await start();

  const psql = path.join(options.bin, 'psql');
  return {
    host: '127.0.0.1',
    port,
    user: USER,
    password,
    async restart(mode = 'fast') {
      await stop(mode);
      await start();
    },
    pids() {
      const pidFile = path.join(options.dataDir, 'postmaster.pid');
      return fs.existsSync(pidFile) ? [Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0])] : [];
    },
    async query(database, sql) {
      const { stdout } = await run(
        psql,
        ['-h', '127.0.0.1', '-p', String(port), '-U', USER, '-d', database, '-At', '-c', sql],
        { env: { ...process.env, PGPASSWORD: password } },
      );
      return stdout.trim();
    },
    async stop() {
      await stop('fast');
    },
  };
}

/** Lets the postgres account reach a data folder under root's folders (a test's mkdtemp is 0700). */
function openPathFor(dir: string): void {
  for (let parent = path.dirname(dir); parent !== path.dirname(parent); parent = path.dirname(parent)) {
    const mode = fs.statSync(parent).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(parent, mode | 0o001);
  }
}
