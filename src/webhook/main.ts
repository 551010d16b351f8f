/** The webhook receiver process: `POST /webhooks/razorpay`, `POST /webhooks/stripe`, health probes. */
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { loadWebhookConfig, type WebhookConfig } from '../config';
import { createLogger, type Logger } from '../shared/logger';
import { createWebhookApp } from './app';
import { razorpayAdapter } from './providers/razorpay';
import { stripeAdapter } from './providers/stripe';
import { createEnrollmentStarter } from './start-enrollment';

export interface RunningReceiver {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Listens and returns once accepting; used by main() and by the end-to-end tests. */
export async function startWebhookReceiver(config: WebhookConfig, logger: Logger): Promise<RunningReceiver> {
  // Lazy: the receiver starts (and answers 503) even while Temporal is down, instead of crash-looping.
  const connection = Connection.lazy({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const starter = createEnrollmentStarter({
    client,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    startTimeoutMs: config.WEBHOOK_START_TIMEOUT_MS,
    logger,
  });
  const app = createWebhookApp({
    adapters: {
      razorpay: razorpayAdapter(config.RAZORPAY_WEBHOOK_SECRETS),
      stripe: stripeAdapter(config.STRIPE_WEBHOOK_SECRETS, config.STRIPE_TOLERANCE_SECONDS),
    },
    starter,
    logger,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.WEBHOOK_PORT, config.WEBHOOK_HOST, (err?: Error) =>
      err ? reject(err) : resolve(s),
    );
  });
  // Slow-loris: a request must arrive in full within this time.
  server.requestTimeout = 15_000;
  server.headersTimeout = 10_000;
  const { port } = server.address() as { port: number };
  return {
    server,
    url: `http://${config.WEBHOOK_HOST}:${port}`,
    async close() {
      // Stop accepting, let in-flight deliveries finish, then drop idle keep-alive sockets.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await connection.close();
    },
  };
}

async function main() {
  const config = loadWebhookConfig();
  const logger = createLogger('webhook', config.LOG_LEVEL);
  const receiver = await startWebhookReceiver(config, logger);
  logger.info({ url: receiver.url, temporal: config.TEMPORAL_ADDRESS }, 'webhook receiver listening');
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'draining webhook receiver');
    receiver.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
