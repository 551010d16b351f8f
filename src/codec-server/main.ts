/** The codec server process: `POST .../encode`, `POST .../decode` for the Web UI and the `temporal` CLI. */
import { createServer, type Server } from 'node:http';
import { loadCodecServerConfig, payloadKeyRing, type CodecServerConfig } from '../config';
import { createLogger, type Logger } from '../runtime/logger';
import { closeOnSignals, runMain } from '../runtime/process';
import { AesGcmPayloadCodec } from '../temporal/payload-codec';
import { createCodecApp } from './app';
import { listen } from '../runtime/listen';

export interface RunningCodecServer {
  server: Server;
  /** `http://host:port`, without the token: safe to log. */
  url: string;
  close(): Promise<void>;
}

/** Listens and returns once accepting; used by main(), `npm run dev` and the tests. CODEC_PORT 0 = a free port. */
export async function startCodecServer(
  config: CodecServerConfig,
  logger: Logger,
): Promise<RunningCodecServer> {
  const app = createCodecApp({
    codec: new AesGcmPayloadCodec(payloadKeyRing(config)),
    authToken: config.CODEC_AUTH,
    corsOrigins: config.CODEC_CORS_ORIGINS,
    logger,
  });
  // Same slow-loris bounds as the receiver's defaults: a decode is one small request.
  const server = createServer({ requestTimeout: 15_000, headersTimeout: 10_000 }, app);
  const { port } = await listen(server, config.CODEC_PORT, config.CODEC_HOST);
  return {
    server,
    url: `http://${config.CODEC_HOST}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}

async function main() {
  const config = loadCodecServerConfig();
  const logger = createLogger('codec-server', config.LOG_LEVEL);
  const running = await startCodecServer(config, logger);
  logger.info({ url: running.url }, 'codec server listening');
  closeOnSignals(logger, () => running.close(), {
    closing: 'closing codec server',
    failed: 'unclean shutdown',
  });
}

if (require.main === module) runMain(main);
