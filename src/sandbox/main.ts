/**
 * Standalone sandbox: `tsx src/sandbox/main.ts`. Point the worker at it with LMS_BASE_URL=<url>/lms
 * (or MOODLE_URL=<url>/moodle, CANVAS_URL=<url>/canvas), WHATSAPP_GRAPH_URL=<url>/whatsapp,
 * HUBSPOT_BASE_URL=<url>/hubspot.
 */
import { ConfigError } from '../config';
import { createLogger } from '../runtime/logger';
import { credentialsFrom, loadSandboxConfig } from './config';
import { faultsForLog } from './faults';
import { startSandbox } from './start';
import { closeOnSignals } from '../runtime/process';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

async function main(): Promise<void> {
  const config = loadSandboxConfig();
  const logger = createLogger('sandbox', config.LOG_LEVEL);
  if (!LOOPBACK.has(config.SANDBOX_HOST)) {
    logger.warn({ host: config.SANDBOX_HOST }, 'the /_sandbox control routes have no auth; bind to loopback');
  }

  const sandbox = await startSandbox({
    host: config.SANDBOX_HOST,
    port: config.SANDBOX_PORT,
    credentials: credentialsFrom(config),
    hubspotTokenTtlSeconds: config.SANDBOX_HUBSPOT_TOKEN_TTL_SECONDS,
    faults: config.SANDBOX_FAULTS,
    seed: config.SANDBOX_SEED,
    logger,
  });
  logger.info(
    {
      url: sandbox.url,
      lms: `${sandbox.url}/lms`,
      whatsapp: `${sandbox.url}/whatsapp`,
      hubspot: `${sandbox.url}/hubspot`,
      seed: sandbox.state.seed,
      faults: faultsForLog(sandbox.state.faults.current()),
    },
    'sandbox listening',
  );

  closeOnSignals(logger, () => sandbox.close(), {
    closing: 'sandbox stopping',
    failed: 'sandbox did not close cleanly',
  });
}

main().catch((err: unknown) => {
  // A ConfigError's message is the whole story (and free of secrets); a stack adds nothing.
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
