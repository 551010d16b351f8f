import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** What scripts/temporal-engine.sh built or found: the production engine's parts. */
export interface EngineBinaries {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 of the server's release, which the SQL tool applies. */
  schemaDir: string;
  uiServer: string;
  /** The UI server's module: its config/docker.yaml is what the temporalio/ui image runs. */
  uiRoot: string;
  /** PostgreSQL's server binaries (initdb, pg_ctl, postgres). */
  postgresBin: string;
}

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Asks scripts/temporal-engine.sh, the one place that pins, builds and installs the engine (it builds
 * into .tools/ the first time, which takes minutes, and reuses the build after).
 */
export function resolveEngineBinaries(): EngineBinaries {
  const out = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'temporal-engine.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const found = new Map(
    out
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.includes('='))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );
  const need = (key: string) => {
    const value = found.get(key);
    if (!value) throw new Error(`scripts/temporal-engine.sh printed no ${key}`);
    return value;
  };
  return {
    server: need('TEMPORAL_SERVER_PATH'),
    sqlTool: need('TEMPORAL_SQL_TOOL'),
    schemaDir: need('SCHEMA_DIR'),
    uiServer: need('TEMPORAL_UI_SERVER_PATH'),
    uiRoot: need('TEMPORAL_UI_ROOT'),
    postgresBin: need('POSTGRES_BIN'),
  };
}
