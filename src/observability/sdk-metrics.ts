/**
 * The Temporal SDK's metrics: Core's Prometheus exporter on TEMPORAL_SDK_METRICS_PORT (9465), path
 * `/metrics`. It serves the SDK's worker metrics (`temporal_` prefix: activity failures, schedule-to-start
 * latencies, task slots, pollers, ...) and the metrics workflows record through `metricMeter`
 * (`enrollflow_paid_to_enrolled`, unprefixed). Exporter defaults kept: counters have no `_total`
 * suffix and durations are in milliseconds (`temporal_activity_schedule_to_start_latency` is in ms).
 *
 * The runtime is installed once per process, logger and metrics together (Runtime.install may only
 * run once). If the port cannot be bound, the runtime is installed without the exporter and the error
 * is logged: the worker still processes payments, and Prometheus reports the target down.
 */
import { Runtime, type RuntimeOptions, type TelemetryOptions } from '@temporalio/worker';
import type { Logger } from '../runtime/logger';

/** Milliseconds; the exporter's defaults stop at 10 s, while a payment may take minutes to enroll. */
const PAID_TO_ENROLLED_MS = [
  1_000, 5_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000, 21_600_000,
  86_400_000,
];
/** Milliseconds; the defaults jump from 1 s to 10 s, too coarse to alert on a backlog of a few seconds. */
const SCHEDULE_TO_START_MS = [10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000];

export function sdkMetricsTelemetry(port: number, host = '0.0.0.0'): TelemetryOptions {
  return {
    metrics: {
      prometheus: {
        bindAddress: `${host}:${port}`,
        histogramBucketOverrides: {
          enrollflow_paid_to_enrolled: PAID_TO_ENROLLED_MS,
          activity_schedule_to_start_latency: SCHEDULE_TO_START_MS,
          workflow_task_schedule_to_start_latency: SCHEDULE_TO_START_MS,
        },
      },
    },
  };
}

/**
 * `Runtime.install(options)` plus the Prometheus exporter on `sdkMetricsPort` (none when undefined).
 * Returns whether the exporter is running.
 */
export function installRuntimeWithSdkMetrics(
  options: Omit<RuntimeOptions, 'telemetryOptions'>,
  sdkMetricsPort: number | undefined,
  logger: Logger,
  install: (options: RuntimeOptions) => unknown = (o) => Runtime.install(o),
): boolean {
  if (sdkMetricsPort === undefined) {
    install(options);
    return false;
  }
  try {
    install({ ...options, telemetryOptions: sdkMetricsTelemetry(sdkMetricsPort) });
    logger.info({ port: sdkMetricsPort }, 'Temporal SDK metrics exporter listening');
    return true;
  } catch (err) {
    logger.error(
      { err: (err as Error).message, port: sdkMetricsPort },
      'Temporal SDK metrics exporter not started (TEMPORAL_SDK_METRICS_PORT); running without it',
    );
    install(options);
    return false;
  }
}
