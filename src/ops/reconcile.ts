/**
 * `ops reconcile`: a backfill after a long outage of the webhook path. It runs the scheduled
 * reconciliation's own workflow over the window the operator names, so it is visible in the Web UI,
 * survives the CLI being stopped (the same command, with the same window, attaches to it), and starts exactly
 * what the Schedule would: the payments and refunds (and Stripe's disputes and ended subscriptions)
 * whose workflow does not exist yet. A dry
 * run (the default) asks Temporal whether each exists and starts nothing.
 */
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy } from '@temporalio/client';
import { InvalidArgumentError } from 'commander';
import type { PaymentProvider } from '../domain/payment-event';
import type { ReconcileMode } from '../domain/reconcile';
import { formatAmount } from '../domain/money';
import type { reconcileWorkflow } from '../workflows';
import { paymentProviderSearchAttribute } from '../workflows/messages';
import {
  RECONCILE_WORKFLOW_TYPE,
  type ReconcileResult,
  type ReconcileWorkflowInput,
} from '../workflows/reconcile-messages';
import type { OpsConnection } from './connect';
import { UsageError } from './errors';
import { table } from './format';

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An ISO 8601 time, or how long ago: `90m`, `6h`, `2d`. */
export function parseTime(flag: string, now: Date) {
  return (value: string): Date => {
    const relative = /^(\d+)([mhd])$/.exec(value.trim());
    const at = relative
      ? new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!)
      : new Date(value);
    if (Number.isNaN(at.getTime()) || (!relative && !/^\d{4}-\d{2}-\d{2}T/.test(value.trim()))) {
      throw new InvalidArgumentError(
        `${flag} takes an ISO 8601 time (2026-12-06T10:00:00Z) or an age (90m, 6h, 2d)`,
      );
    }
    return at;
  };
}

export interface ReconcileRequest {
  provider: PaymentProvider;
  since: Date;
  until: Date;
  yes: boolean;
  taskQueue: string;
}

export interface ReconcileReport extends ReconcileResult {
  workflowId: string;
}

const compact = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/[-:]|\.\d+/g, '');

export async function reconcile(
  ops: Pick<OpsConnection, 'client'>,
  request: ReconcileRequest,
  now: Date,
  onStart: (workflowId: string) => void = () => undefined,
): Promise<ReconcileReport> {
  // A window reaching into the future would let new records shift Razorpay's skip-paged lists.
  const until = Math.min(request.until.getTime(), now.getTime());
  const window = { from: Math.floor(request.since.getTime() / 1000), to: Math.floor(until / 1000) };
  if (window.from >= window.to) throw new UsageError('--since must be before --until (and before now)');
  const mode: ReconcileMode = request.yes ? 'backfill' : 'dry_run';
  const workflowId = `reconcile-${request.provider}-${mode === 'backfill' ? 'backfill' : 'dry-run'}-${compact(window.from)}-${compact(window.to)}`;
  const input: ReconcileWorkflowInput = { provider: request.provider, mode, window };
  const handle = await ops.client.workflow.start<typeof reconcileWorkflow>(RECONCILE_WORKFLOW_TYPE, {
    taskQueue: request.taskQueue,
    workflowId,
    args: [input],
    // The same command while it runs attaches to it; once it closed, it runs again (all duplicates then).
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [{ key: paymentProviderSearchAttribute, value: request.provider }],
    staticSummary: `Reconciliation with ${request.provider} (${mode === 'backfill' ? 'backfill' : 'dry run'}) asked by an operator`,
  });
  onStart(workflowId);
  return { ...(await handle.result()), workflowId };
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

export function renderReconcile(report: ReconcileReport): string {
  const dry = report.mode === 'dry_run';
  const { totals } = report;
  const lines = [
    `${dry ? 'Dry run: ' : ''}reconciliation with ${report.provider}, ${iso(report.window.from)} .. ${iso(report.window.to)} (workflow ${report.workflowId})`,
    `listed ${totals.listed}, already started ${totals.duplicates} (by a webhook or an earlier run), nothing to start ${totals.ignored}, refused ${totals.refused}`,
    '',
  ];
  if (report.startedItems.length === 0) {
    lines.push(
      dry
        ? 'Nothing to start: every record already has its workflow.'
        : 'Started nothing: every record already had its workflow.',
    );
  } else {
    lines.push(`${dry ? 'Would start' : 'Started'} ${totals.started}:`);
    lines.push(
      table(report.startedItems, [
        { header: 'KIND', value: (i) => i.kind },
        { header: 'ID', value: (i) => i.id },
        {
          header: 'AMOUNT',
          value: (i) =>
            i.amountMinor !== undefined && i.currency ? formatAmount(i.amountMinor, i.currency) : '',
        },
        { header: 'CREATED', value: (i) => i.createdAt ?? '' },
        { header: 'WORKFLOW', value: (i) => i.workflowId },
      ]).trimEnd(),
    );
    if (totals.started > report.startedItems.length) {
      lines.push(`... and ${totals.started - report.startedItems.length} more (see the workflow's result)`);
    }
  }
  if (report.refusedItems.length > 0) {
    lines.push('', `Refused ${totals.refused} (not started; check each with the provider):`);
    for (const r of report.refusedItems) lines.push(`  ${r.id}: ${r.reason}`);
  }
  if (dry && totals.started > 0) lines.push('', 'Nothing was started. Run again with --yes to start them.');
  return `${lines.join('\n')}\n`;
}
