/**
 * Child processes of the benchmark: the product's receiver, worker and sandbox, and the ceiling
 * servers, each a real `node --import tsx <script>` process (as `npm run dev` and the reliability
 * harness run them), logging to its own file. Optionally profiled with `--cpu-prof`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { v8FlagsForScript } from '../src/runtime/v8-flags';

export const ROOT = path.resolve(__dirname, '..');

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface NodeProcessOptions {
  name: string;
  /** A TypeScript file relative to the repository root (run with tsx), or an absolute .js file. */
  script: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Resolves true once the process serves. */
  ready: () => Promise<boolean>;
  /**
   * V8 flags; default: those the product's launchers give this entry point (src/runtime/v8-flags.ts),
   * so the bench runs each process exactly as the Dockerfile and `npm run dev` do.
   */
  v8Flags?: readonly string[];
  /** Directory for a `--cpu-prof` profile, written when the process exits cleanly. */
  cpuProfDir?: string;
  timeoutMs?: number;
}

export class NodeProcess {
  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  static async start(options: NodeProcessOptions): Promise<NodeProcess> {
    const compiled = path.isAbsolute(options.script) && options.script.endsWith('.js');
    const args = [...(options.v8Flags ?? v8FlagsForScript(options.script))];
    if (!compiled) args.push('--import', 'tsx');
    if (options.env.BENCH_NODE_ARGS) args.push(...options.env.BENCH_NODE_ARGS.split(' '));
    if (options.cpuProfDir) {
      // One directory per process: other threads (tsx's loader, the workflow thread) write profiles
      // of their own next to the main thread's.
      const dir = path.join(options.cpuProfDir, options.name);
      fs.mkdirSync(dir, { recursive: true });
      args.push('--cpu-prof', '--cpu-prof-dir', dir);
    }
    const log = fs.openSync(options.logFile, 'a');
    const child = spawn(process.execPath, [...args, path.resolve(ROOT, options.script)], {
      cwd: ROOT,
      env: options.env,
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const proc = new NodeProcess(options.name, child, options.logFile);
    const deadline = Date.now() + (options.timeoutMs ?? 90_000);
    while (!(await options.ready().catch(() => false))) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${options.name} exited (${child.exitCode ?? child.signalCode}); see ${options.logFile}`,
        );
      }
      if (Date.now() > deadline) {
        await proc.stop();
        throw new Error(`${options.name} not ready in time; see ${options.logFile}`);
      }
      await sleep(100);
    }
    return proc;
  }

  /** Peak and current resident set size from /proc (kB figures converted to MiB). */
  memory(): { peakMiB: number; rssMiB: number } {
    return procMemory(this.pid);
  }

  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(timer);
  }
}

export function procMemory(pid: number): { peakMiB: number; rssMiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMiB: kb('VmHWM') / 1024, rssMiB: kb('VmRSS') / 1024 };
}

/** Ready once `pattern` appears in the log file (e.g. the worker's "worker polling" line). */
export const logLineReady = (file: string, pattern: RegExp) => () =>
  Promise.resolve(fs.existsSync(file) && pattern.test(fs.readFileSync(file, 'utf8')));

/** Ready once GET `url` answers 2xx. */
export const httpReady = (url: string) => async () => (await fetch(url)).ok;
