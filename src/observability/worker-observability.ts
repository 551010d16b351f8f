/**
 * The worker's small HTTP listener on WORKER_METRICS_PORT (9464):
 * - `GET /healthz`: 200 while the Temporal worker is running (polling), 503 while it starts or drains.
 *   The compose health check calls it.
 * - `GET /metrics`: the business gauges (business-metrics.ts) and Node process metrics, prom-client.
 * The SDK's own metrics are on a second port, served by the SDK's exporter (sdk-metrics.ts).
 *
 * Metrics never take the worker down: a port that cannot be bound is logged as an error and the worker
 * keeps processing payments (Prometheus then reports the target down, which the alert rules page on).
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { providerNames } from '../providers';
import type { Logger } from '../runtime/logger';
import { type BusinessMetrics, createBusinessMetrics, type WorkflowVisibility } from './business-metrics';

export interface WorkerObservabilityOptions {
  port: number;
  /** 0.0.0.0 by default: Prometheus scrapes from another container. */
  host?: string;
  logger: Logger;
  /** The worker's state (`Worker.getState()`), or a placeholder before it exists; RUNNING is healthy. */
  state: () => string;
  businessMetricsIntervalMs: number;
}

export interface WorkerObservability {
  readonly registry: Registry;
  /** `http://host:port`, or undefined when the port could not be bound. */
  readonly url: string | undefined;
  /** Starts refreshing the business gauges from `client`'s visibility. */
  watch(client: WorkflowVisibility, options?: { reconcileIntervalSeconds?: number }): BusinessMetrics;
  close(): Promise<void>;
}

export async function startWorkerObservability(
  options: WorkerObservabilityOptions,
): Promise<WorkerObservability> {
  const { logger, state, host = '0.0.0.0' } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let business: BusinessMetrics | undefined;

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz') {
      const current = state();
      const ok = current === 'RUNNING';
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', worker: current }));
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
  });

  const url = await new Promise<string | undefined>((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      logger.error(
        { err: err.message, code: err.code, port: options.port },
        'worker metrics listener not started (WORKER_METRICS_PORT): /healthz and /metrics unavailable',
      );
      resolve(undefined);
    });
    server.listen(options.port, host, () => {
      const { port } = server.address() as { port: number };
      resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`);
    });
  });
  if (url) logger.info({ url }, 'worker health and metrics listening');

  return {
    registry,
    url,
    watch(client, watchOptions = {}) {
      const { reconcileIntervalSeconds } = watchOptions;
      business ??= createBusinessMetrics({
        client,
        registry,
        logger: logger.child({ component: 'metrics' }),
        ...(reconcileIntervalSeconds !== undefined && {
          reconciliation: {
            providers: providerNames,
            intervalSeconds: reconcileIntervalSeconds,
          },
        }),
      });
      business.start(options.businessMetricsIntervalMs);
      return business;
    },
    async close() {
      await business?.stop();
      if (!url) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // Prometheus keeps its scrape connection open.
      await closed;
    },
  };
}
