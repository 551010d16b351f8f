/**
 * The worker: runs enrollment workflows and the activities that call the LMS, WhatsApp and the CRM.
 * One long-lived connection and one set of activity dependencies (HTTP agents, the CRM token cache)
 * per process.
 */
import {
  type LogLevel,
  type LogMetadata,
  NativeConnection,
  Runtime,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from './activities';
import { loadWorkerConfig, type WorkerConfig } from './config';
import { createLogger, type Logger } from './shared/logger';
import { assertRetentionCoversRedelivery } from './temporal/retention-guard';

export interface EnrollmentWorkerOptions {
  config: WorkerConfig;
  connection: NativeConnection;
  logger: Logger;
  /** A prebuilt bundle (bundleWorkflowCode) to skip bundling at start-up; tests reuse one. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

export function createEnrollmentWorker(options: EnrollmentWorkerOptions): Promise<Worker> {
  const { config, connection, logger } = options;
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities(config, { logger: logger.child({ component: 'activities' }) }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
  });
}

/** Routes the SDK's own logs (including workflow `log.*` calls) into our JSON logs. */
export function installTemporalLogging(logger: Logger): void {
  const sdk = logger.child({ component: 'temporal' });
  const at = (level: LogLevel) => (message: string, meta?: LogMetadata) => {
    const method =
      level === 'TRACE'
        ? 'trace'
        : level === 'DEBUG'
          ? 'debug'
          : level === 'WARN'
            ? 'warn'
            : level === 'ERROR'
              ? 'error'
              : 'info';
    sdk[method](meta ?? {}, message);
  };
  Runtime.install({
    logger: {
      log: (level, message, meta) => at(level)(message, meta),
      trace: at('TRACE'),
      debug: at('DEBUG'),
      info: at('INFO'),
      warn: at('WARN'),
      error: at('ERROR'),
    },
  });
}

async function main() {
  const config = loadWorkerConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  installTemporalLogging(logger);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    const { retentionHours } = await assertRetentionCoversRedelivery(
      connection,
      config.TEMPORAL_NAMESPACE,
      config.REDELIVERY_HORIZON_HOURS,
    );
    const workflowBundle = config.WORKFLOW_BUNDLE_PATH
      ? { codePath: config.WORKFLOW_BUNDLE_PATH }
      : undefined;
    const worker = await createEnrollmentWorker({ config, connection, logger, workflowBundle });
    logger.info(
      {
        address: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
      },
      'worker polling',
    );
    // Runtime handles SIGINT/SIGTERM: the worker stops polling and drains within shutdownGraceTime.
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
