import path from 'node:path';
import { startCluster, type Cluster } from './cluster';
import { startDevServer, type DevServer } from './dev-server';
import { resolveEngineBinaries } from './engine-binaries';

/**
 * Which Temporal a run uses: `dev`, the CLI's embedded dev server (one process, SQLite), everywhere
 * by default; `cluster`, the production engine (PostgreSQL, a process per service, two history
 * nodes), with `--engine cluster` on `npm run dev`, `npm run verify` and `npm run bench`.
 */
export const ENGINES = ['dev', 'cluster'] as const;
export type EngineKind = (typeof ENGINES)[number];
export type Engine = DevServer | Cluster;

export function parseEngine(value: string | undefined): EngineKind {
  const kind = value ?? 'dev';
  if (!(ENGINES as readonly string[]).includes(kind)) {
    throw new Error(`--engine must be one of ${ENGINES.join(', ')}; got "${kind}"`);
  }
  return kind as EngineKind;
}

export interface EngineOptions {
  kind: EngineKind;
  cliPath: string;
  /** Where the engine keeps its state and logs (the dev server's SQLite file, the cluster's folder). */
  dataDir: string;
  /** false: the dev server keeps its state in memory (the cluster always persists). */
  persist?: boolean;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  uiCodecEndpoint?: string;
  namespace?: string;
}

export async function startEngine(options: EngineOptions): Promise<Engine> {
  const { kind, dataDir, persist = true, ...common } = options;
  if (kind === 'cluster') {
    return startCluster({
      ...common,
      engine: resolveEngineBinaries(),
      dataDir: path.join(dataDir, 'cluster'),
    });
  }
  return startDevServer({
    ...common,
    dbFile: persist ? path.join(dataDir, 'temporal.sqlite') : undefined,
    logFile: path.join(dataDir, 'temporal-server.log'),
  });
}

/** The operating-system processes of the engine (for CPU and memory figures). */
export function enginePids(engine: Engine): number[] {
  return engine.kind === 'cluster' ? engine.pids() : [engine.process.pid!];
}
