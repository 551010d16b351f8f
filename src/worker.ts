/**
 * The worker: runs the payment, access and reconciliation workflows and the activities that call the
 * providers, the LMS, WhatsApp and the CRM. At start it checks the namespace (retention, search
 * attributes) and creates or updates the reconciliation Schedules. One long-lived connection and one
 * set of activity dependencies (HTTP agents, the CRM token cache) per process.
 */
import { Client } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import {
  type LogLevel,
  type LogMetadata,
  NativeConnection,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities } from './activities';
import { loadWorkerConfig, payloadKeyRing, type WorkerConfig } from './config';
import { dataConverter } from './temporal/data-converter';
import { installRuntimeWithSdkMetrics } from './observability/sdk-metrics';
import {
  activityInterceptors,
  clientInterceptors,
  startTracing,
  type Tracing,
  WORKFLOW_TRACING_MODULE,
  workflowSpanSink,
} from './observability/tracing';
import { startWorkerObservability } from './observability/worker-observability';
import { createLogger, type Logger } from './runtime/logger';
import { warnOfMissingV8Flags } from './runtime/v8-flags';
import { temporalConnectionOptions } from './temporal/connection-options';
import { ensureReconcileSchedules } from './temporal/reconcile-schedules';
import { assertRetentionCoversRedelivery } from './temporal/retention-guard';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { runMain } from './runtime/process';

export interface EnrollmentWorkerOptions {
  config: WorkerConfig;
  connection: NativeConnection;
  logger: Logger;
  /** A prebuilt bundle (bundleWorkflowCode) to skip bundling at start-up; tests reuse one. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
  /** Default: the payload codec over the config's key ring. A test's negative control passes `{}`. */
  dataConverter?: DataConverter;
  /** The process's tracing (startTracing), when it traces: activity spans, HTTP client spans, workflow spans. */
  tracing?: Tracing;
}

export function createEnrollmentWorker(options: EnrollmentWorkerOptions): Promise<Worker> {
  const { config, connection, logger, tracing } = options;
  const converter = options.dataConverter ?? dataConverter(payloadKeyRing(config));
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    dataConverter: converter,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    // A prebuilt bundle carries the workflow tracing module already (scripts/bundle-workflows.ts).
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : { workflowsPath: require.resolve('./workflows') }),
    interceptors: {
      activity: activityInterceptors(tracing),
      ...(options.workflowBundle ? {} : { workflowModules: [WORKFLOW_TRACING_MODULE] }),
    },
    sinks: workflowSpanSink(tracing),
    activities: createActivities(config, {
      logger: logger.child({ component: 'activities' }),
      // Access changes read and signal payments' workflows through the worker's own connection.
      temporal: new Client({
        connection,
        namespace: config.TEMPORAL_NAMESPACE,
        dataConverter: converter,
        interceptors: { workflow: clientInterceptors(tracing) },
      }),
      tracer: tracing?.tracer,
    }),
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
  });
}

/**
 * Installs the process's Temporal runtime once: the SDK's own logs (including workflow `log.*` calls)
 * go into our JSON logs, and its metrics to a Prometheus exporter on `sdkMetricsPort`, if given.
 */
export function installTemporalRuntime(logger: Logger, sdkMetricsPort?: number): void {
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
  installRuntimeWithSdkMetrics(
    {
      logger: {
        log: (level, message, meta) => at(level)(message, meta),
        trace: at('TRACE'),
        debug: at('DEBUG'),
        info: at('INFO'),
        warn: at('WARN'),
        error: at('ERROR'),
      },
    },
    sdkMetricsPort,
    logger,
  );
}

async function main() {
  const config = loadWorkerConfig();
  const logger = createLogger('worker', config.LOG_LEVEL);
  warnOfMissingV8Flags(logger, 'worker');
  installTemporalRuntime(logger, config.TEMPORAL_SDK_METRICS_PORT);
  const tracing = startTracing(config, 'enrollflow-worker', logger);
  let worker: Worker | undefined;
  const observability = await startWorkerObservability({
    port: config.WORKER_METRICS_PORT,
    logger,
    state: () => worker?.getState() ?? 'STARTING',
    businessMetricsIntervalMs: config.BUSINESS_METRICS_INTERVAL_SECONDS * 1000,
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config, process.env));
  try {
    const { retentionHours } = await assertRetentionCoversRedelivery(
      connection,
      config.TEMPORAL_NAMESPACE,
      config.REDELIVERY_HORIZON_HOURS,
    );
    await ensureSearchAttributes(connection, config.TEMPORAL_NAMESPACE, logger);
    const workflowBundle = config.WORKFLOW_BUNDLE_PATH
      ? { codePath: config.WORKFLOW_BUNDLE_PATH }
      : undefined;
    worker = await createEnrollmentWorker({ config, connection, logger, workflowBundle, tracing });
    const client = new Client({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      dataConverter: dataConverter(payloadKeyRing(config)),
    });
    if (config.RECONCILE_SCHEDULES) {
      // The safety net must not take payments down with it: a worker that cannot create the Schedules
      // (no permission, say) still polls, and EnrollflowReconciliationNotSucceeding fires.
      await ensureReconcileSchedules(client, config, logger).catch((err: unknown) =>
        logger.error({ err: (err as Error).message }, 'reconciliation schedules not created or updated'),
      );
    } else {
      logger.warn('RECONCILE_SCHEDULES=false: the reconciliation Schedules are left as they are');
    }
    observability.watch(client, { reconcileIntervalSeconds: config.RECONCILE_INTERVAL_MINUTES * 60 });
    logger.info(
      {
        address: config.TEMPORAL_ADDRESS,
        namespace: config.TEMPORAL_NAMESPACE,
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        retentionHours,
      },
      'worker polling',
    );
    // Runtime handles SIGINT/SIGTERM: the worker stops polling and drains within shutdownGraceTime.
    await worker.run();
    logger.info('worker stopped');
  } finally {
    await observability.close();
    await connection.close();
    // After the drain, so the last activities' spans are exported too.
    await tracing?.shutdown();
  }
}

if (require.main === module) runMain(main);
