/** The webhook receiver process: `POST /webhooks/razorpay`, `POST /webhooks/stripe`, health probes. */
import { createServer, type Server } from 'node:http';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { temporalConnectionOptions } from '../temporal/connection-options';
import type { DataConverter } from '@temporalio/common';
import { loadWebhookConfig, payloadKeyRing, type WebhookConfig } from '../config';
import { dataConverter } from '../temporal/data-converter';
import { createLogger, type Logger } from '../runtime/logger';
import { warnOfMissingV8Flags } from '../runtime/v8-flags';
import { createWebhookMetrics } from '../observability/webhook-metrics';
import { clientInterceptors, startTracing, type Tracing } from '../observability/tracing';
import { createWebhookApp } from './app';
import { createAdapters } from '../providers';
import { createEnrollmentStarter } from './start-enrollment';
import { closeOnSignals, runMain } from '../runtime/process';
import { listen } from '../runtime/listen';

export interface RunningReceiver {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * Slow-loris limits. Node answers 408 and closes a connection whose headers (or whole request) have
 * not arrived in time. Options rather than environment: production keeps the defaults, tests shorten them.
 */
export interface ReceiverOptions {
  /** The whole request, headers and body, must arrive within this time. */
  requestTimeoutMs?: number;
  /** The headers must arrive within this time. */
  headersTimeoutMs?: number;
  /** TLS / API key for Temporal (src/temporal/connection-options.ts); default: plain address. */
  temporalConnection?: ConnectionOptions;
  /** Default: the payload codec over the config's key ring. A test's negative control passes `{}`. */
  dataConverter?: DataConverter;
  /** The process's tracing (startTracing), when it traces: a span per delivery, carried into the start. */
  tracing?: Tracing;
}

export const DEFAULT_RECEIVER_OPTIONS = { requestTimeoutMs: 15_000, headersTimeoutMs: 10_000 } as const;

/** Listens and returns once accepting; used by main() and by the end-to-end tests. */
export async function startWebhookReceiver(
  config: WebhookConfig,
  logger: Logger,
  options: ReceiverOptions = {},
): Promise<RunningReceiver> {
  const { requestTimeoutMs, headersTimeoutMs } = { ...DEFAULT_RECEIVER_OPTIONS, ...options };
  // Lazy: the receiver starts (and answers 503) even while Temporal is down, instead of crash-looping.
  const connection = Connection.lazy(options.temporalConnection ?? { address: config.TEMPORAL_ADDRESS });
  const client = new Client({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: options.dataConverter ?? dataConverter(payloadKeyRing(config)),
    interceptors: { workflow: clientInterceptors(options.tracing) },
  });
  const metrics = createWebhookMetrics();
  const starter = createEnrollmentStarter({
    client,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    startTimeoutMs: config.WEBHOOK_START_TIMEOUT_MS,
    logger,
  });
  const timed = metrics.timeStarts(starter);
  const app = createWebhookApp({
    adapters: createAdapters(config),
    starter: timed,
    logger,
    metrics,
    tracer: options.tracing?.tracer,
    policy: {
      redeliveryHorizonMs: config.REDELIVERY_HORIZON_HOURS * 3_600_000,
      livemode: config.STRIPE_LIVEMODE ?? false,
    },
  });
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(headersTimeoutMs, requestTimeoutMs),
      // Node enforces both timeouts only when it sweeps its connections, every 30 s by default, which
      // would let a slow-loris connection live up to 30 s past them. It can only be set at creation.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(headersTimeoutMs / 4))),
    },
    app,
  );
  const { port } = await listen(server, config.WEBHOOK_PORT, config.WEBHOOK_HOST);
  return {
    server,
    url: `http://${config.WEBHOOK_HOST}:${port}`,
    async close() {
      // Stop accepting, let in-flight deliveries finish, then drop idle keep-alive sockets.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await starter.settle();
      await connection.close();
    },
  };
}

async function main() {
  const config = loadWebhookConfig();
  const logger = createLogger('webhook', config.LOG_LEVEL);
  warnOfMissingV8Flags(logger, 'webhook');
  const tracing = startTracing(config, 'enrollflow-webhook', logger);
  const receiver = await startWebhookReceiver(config, logger, {
    temporalConnection: temporalConnectionOptions(config, process.env),
    tracing,
  });
  logger.info({ url: receiver.url, temporal: config.TEMPORAL_ADDRESS }, 'webhook receiver listening');
  const close = async () => {
    await receiver.close();
    await tracing?.shutdown();
  };
  closeOnSignals(logger, close, {
    closing: 'draining webhook receiver',
    failed: 'unclean shutdown',
  });
}

if (require.main === module) runMain(main);
