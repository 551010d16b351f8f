/**
 * Load generators. Three shapes:
 * - `autocannonMax`: closed loop, `connections` requests in flight, as fast as answers come back
 *   (autocannon); gives the sustained answer rate and its latency.
 * - `autocannonRate`: autocannon's `overallRate`. Autocannon meters each connection per wall-clock
 *   second and all connections' seconds start together, so each second's quota leaves as a burst at
 *   the top of the second: latencies are those of a burst of `rate` requests, not of a steady stream.
 * - `paced`: open loop, request i sent at t0 + i/rate whatever happened to earlier ones (at most
 *   `connections` sockets; a request waiting for one counts that wait), latency from the scheduled
 *   send time, so a slow answer cannot hide the queueing it causes (no coordinated omission).
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { latencySummary } from './stats';

export interface Request {
  path: string;
  body: string;
  headers: Record<string, string>;
}

export interface LoadResult {
  /** 2xx answers per second over the measured window. */
  okPerSecond: number;
  sent: number;
  ok: number;
  /** Non-2xx answers, by status; `error` = no answer (reset, refused, timeout). */
  failures: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
  /** Offered rate actually achieved (paced only). */
  offeredPerSecond?: number;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  durationSeconds: number;
  next: () => Request;
  overallRate?: number;
}

function runAutocannon(options: AutocannonOptions): Promise<LoadResult> {
  const first = options.next();
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationSeconds,
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        timeout: 10,
        requests: [
          {
            method: 'POST',
            path: first.path,
            setupRequest: (req) => {
              const next = options.next();
              return { ...req, path: next.path, body: next.body, headers: next.headers };
            },
          },
        ],
      },
      (err, result) => {
        if (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const failures: Record<string, number> = {};
        for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) {
          if (!code.startsWith('2')) failures[code] = count ?? 0;
        }
        if (result.errors + result.timeouts > 0) failures.error = result.errors + result.timeouts;
        resolve({
          okPerSecond: result['2xx'] / options.durationSeconds,
          sent: result.requests.sent,
          ok: result['2xx'],
          failures,
          p50: result.latency.p50,
          p99: result.latency.p99,
          max: result.latency.max,
        });
      },
    );
  });
}

export const autocannonMax = (options: Omit<AutocannonOptions, 'overallRate'>) => runAutocannon(options);
export const autocannonRate = (options: AutocannonOptions & { overallRate: number }) =>
  runAutocannon(options);

export interface PacedOptions {
  host: string;
  port: number;
  rate: number;
  durationSeconds: number;
  connections: number;
  next: () => Request;
  /** Called with the scheduled send time (performance.now()) and status of each answer. */
  onAnswer?: (req: Request, scheduledAt: number, status: number) => void;
}

/** One request over a keep-alive agent: resolves with the status, 0 when no answer came. */
export function post(agent: http.Agent, host: string, port: number, req: Request, timeoutMs = 10_000) {
  return new Promise<number>((resolve) => {
    const r = http.request(
      {
        host,
        port,
        method: 'POST',
        path: req.path,
        agent,
        headers: { ...req.headers, 'content-length': Buffer.byteLength(req.body) },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', () => resolve(0));
      },
    );
    r.once('timeout', () => r.destroy(new Error('timeout')));
    r.once('error', () => resolve(0));
    r.end(req.body);
  });
}

export async function paced(options: PacedOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.durationSeconds);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let ok = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  let lastSent = t0;
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const req = options.next();
    lastSent = performance.now();
    pending.push(
      post(agent, options.host, options.port, req).then((status) => {
        const latency = performance.now() - due;
        options.onAnswer?.(req, due, status);
        if (status >= 200 && status < 300) {
          ok += 1;
          latencies.push(latency);
        } else {
          const key = status === 0 ? 'error' : String(status);
          failures[key] = (failures[key] ?? 0) + 1;
        }
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return {
    ...latencySummary(latencies),
    okPerSecond: ok / options.durationSeconds,
    sent: total,
    ok,
    failures,
    offeredPerSecond: total / ((lastSent - t0) / 1000 + interval / 1000),
  };
}

/**
 * Runs `op` from `concurrency` lanes for `durationSeconds` (closed loop); counts successes and
 * latencies. Used for the raw Temporal start ceiling.
 */
export async function closedLoop(
  concurrency: number,
  durationSeconds: number,
  op: () => Promise<void>,
): Promise<{ okPerSecond: number; ok: number; failed: number; p50: number; p99: number; max: number }> {
  const latencies: number[] = [];
  let failed = 0;
  const end = performance.now() + durationSeconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          await op();
          latencies.push(performance.now() - started);
        } catch {
          failed += 1;
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  return {
    ...latencySummary(latencies),
    okPerSecond: latencies.length / elapsed,
    ok: latencies.length,
    failed,
  };
}
