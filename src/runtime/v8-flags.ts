import type { Logger } from './logger';

/**
 * The V8 flags each long-running process is started with. They go on node's command line: V8 sizes
 * its heaps from them at start-up (Node documents `v8.setFlagsFromString` after start-up as unsupported,
 * and NODE_OPTIONS refuses these flags). Every launcher takes them from here or is checked against
 * here: `npm run dev`, the `worker` / `webhook` npm scripts, the Dockerfile and docker-compose.yml
 * (test/unit/deployment.test.ts), the bench and the tests that run these processes. Each figure is
 * in docs/benchmarks.md.
 */
export const V8_FLAGS = {
  /**
   * The worker waits on Temporal and the downstreams, not on its CPU, but with V8's default heuristics
   * its heaps (main thread and the workflow thread, which inherits the flag) balloon under load with
   * short-lived garbage: `--optimize-for-size` (a small young generation, a heap that grows less
   * eagerly) keeps its peak RSS far lower at saturation at no measurable cost.
   */
  worker: ['--optimize-for-size'],
  /**
   * After a full GC, V8 may let the receiver's heap grow to several times its live data before
   * collecting again; under a duplicate storm that is all short-lived garbage. Capping the growth keeps
   * the peak RSS down with the same acknowledgements per second, CPU and latency.
   * (`--optimize-for-size` costs the receiver latency: constant scavenges.)
   */
  webhook: ['--heap-growing-percent=20'],
} as const satisfies Record<string, readonly string[]>;

export type V8Role = keyof typeof V8_FLAGS;

/** The role's flags this process was not started with (so a launcher that forgot them is logged). */
export function missingV8Flags(role: V8Role, execArgv: readonly string[] = process.execArgv): string[] {
  return V8_FLAGS[role].filter((flag) => !execArgv.includes(flag));
}

/**
 * The flags for a product entry point, by its path (`src/worker.ts`, `dist/worker.js`,
 * `src/webhook/main.ts`, ...); none for anything else. For launchers written in TypeScript.
 */
export function v8FlagsForScript(script: string): string[] {
  const file = script.replace(/\\/g, '/');
  if (/(^|\/)worker\.[jt]s$/.test(file)) return [...V8_FLAGS.worker];
  if (/(^|\/)webhook\/main\.[jt]s$/.test(file)) return [...V8_FLAGS.webhook];
  return [];
}

/** Logs, once at start-up, a launcher that left out the role's flags: it still works, with more memory. */
export function warnOfMissingV8Flags(logger: Pick<Logger, 'warn'>, role: V8Role): void {
  const missing = missingV8Flags(role);
  if (missing.length === 0) return;
  logger.warn(
    { missing, expected: `node ${V8_FLAGS[role].join(' ')} …` },
    'started without the V8 flags this process is tuned for: peak memory will be higher (src/runtime/v8-flags.ts)',
  );
}
