/**
 * One Temporal Schedule per provider (`reconcile-razorpay`, `reconcile-stripe`), created or brought up
 * to date by every worker at start, so a deployment's configuration is what runs. An update keeps the
 * Schedule's state: one an operator paused (Web UI, `temporal schedule toggle --pause`) stays paused.
 */
import {
  type Client,
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type ScheduleOptions,
} from '@temporalio/client';
import type { WorkerConfig } from '../config';
import type { PaymentProvider } from '../domain/payment-event';
import { providerNames } from '../providers';
import type { Logger } from '../runtime/logger';
import type { reconcileWorkflow } from '../workflows';
import { paymentProviderSearchAttribute } from '../workflows/messages';
import {
  RECONCILE_WORKFLOW_TYPE,
  type ReconcileWorkflowInput,
  type WindowRules,
  reconcileScheduleId,
} from '../workflows/reconcile-messages';

export type ScheduleConfig = Pick<
  WorkerConfig,
  | 'TEMPORAL_TASK_QUEUE'
  | 'RECONCILE_INTERVAL_MINUTES'
  | 'RECONCILE_OVERLAP_MINUTES'
  | 'RECONCILE_SETTLE_SECONDS'
  | 'RECONCILE_FIRST_LOOKBACK_HOURS'
  | 'REDELIVERY_HORIZON_HOURS'
>;

export function windowRules(config: ScheduleConfig): WindowRules {
  const maxLookbackSeconds = Math.floor(config.REDELIVERY_HORIZON_HOURS * 3600);
  return {
    overlapSeconds: Math.round(config.RECONCILE_OVERLAP_MINUTES * 60),
    settleSeconds: config.RECONCILE_SETTLE_SECONDS,
    firstLookbackSeconds: Math.min(
      Math.round(config.RECONCILE_FIRST_LOOKBACK_HOURS * 3600),
      maxLookbackSeconds,
    ),
    maxLookbackSeconds,
  };
}

export function reconcileSchedule(
  provider: PaymentProvider,
  config: ScheduleConfig,
): ScheduleOptions & { action: { type: 'startWorkflow' } } {
  const input: ReconcileWorkflowInput = { provider, mode: 'scheduled', rules: windowRules(config) };
  return {
    scheduleId: reconcileScheduleId(provider),
    spec: { intervals: [{ every: Math.round(config.RECONCILE_INTERVAL_MINUTES * 60_000) }] },
    action: {
      type: 'startWorkflow',
      workflowType: RECONCILE_WORKFLOW_TYPE,
      // The Schedule appends each run's time to it.
      workflowId: reconcileScheduleId(provider),
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      args: [input] satisfies Parameters<typeof reconcileWorkflow>,
      typedSearchAttributes: [{ key: paymentProviderSearchAttribute, value: provider }],
      staticSummary: `Reconciliation with ${provider}: start what no webhook started`,
    },
    policies: {
      // A run still paging (or waiting out a provider outage) is not doubled; it resumes its own window.
      overlap: ScheduleOverlapPolicy.SKIP,
      // Missed runs need no catching up: the next run starts where the last successful one ended.
      catchupWindow: '1 minute',
      pauseOnFailure: false,
    },
    state: { note: 'created by the enrollflow worker (RECONCILE_INTERVAL_MINUTES)' },
  };
}

export async function ensureReconcileSchedules(
  client: Client,
  config: ScheduleConfig,
  logger: Logger,
): Promise<void> {
  for (const provider of providerNames) {
    const options = reconcileSchedule(provider, config);
    try {
      await client.schedule.create(options);
      logger.info({ scheduleId: options.scheduleId }, 'reconciliation schedule created');
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(options.scheduleId).update((previous) => ({
        ...previous,
        spec: options.spec,
        action: options.action,
        policies: options.policies,
      }));
      logger.info({ scheduleId: options.scheduleId }, 'reconciliation schedule updated');
    }
  }
}
