/**
 * Reconciliation: the provider's own list of what was paid, refunded or disputed, checked against the
 * workflows webhooks started. Each record is started through the receiver's path (same workflow ID,
 * same ID policies), so a record whose webhook came is a free duplicate and one whose webhook never
 * came is found. A Schedule per provider runs it every RECONCILE_INTERVAL_MINUTES; an operator's
 * `ops reconcile` runs it over a window they name, as a dry run or for real.
 *
 * The window of a scheduled run starts where the last successful run's window ended, less an overlap,
 * and ends a settling delay before now. Temporal hands each scheduled run the last successful run's
 * result (`lastResult`); a run that failed part-way hands on nothing, so the next run starts from the
 * same place and no page that was not processed is ever passed over. Pages are processed one activity
 * each, in order; a long window continues as new with its cursor.
 */
import { continueAsNew, log, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EnrollmentActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/failures';
import { RECONCILE_STREAMS, type ReconcileWindow } from '../domain/reconcile';
import {
  MAX_ITEMS_KEPT,
  type ReconcileProgress,
  type ReconcileResult,
  type ReconcileWorkflowInput,
  type WindowRules,
} from './reconcile-messages';

/** Pages per run before it continues as new: each is a few history events, a run stays small. */
const PAGES_PER_RUN = 200;

/**
 * A page is a list call and up to a hundred starts: minutes at most. A provider that is down, or
 * throttling (its 429's own delay becomes `nextRetryDelay`), is asked again for as long as it takes;
 * the Schedule skips runs meanwhile, and the alert on the last success says so. Bad credentials
 * (ProviderRejected) fail the run at once, for a person to fix.
 */
const { reconcilePage } = proxyActivities<EnrollmentActivities>({
  startToCloseTimeout: '5m',
  retry: {
    initialInterval: '2s',
    maximumInterval: '2m',
    backoffCoefficient: 2,
    nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES],
  },
});

export async function reconcileWorkflow(input: ReconcileWorkflowInput): Promise<ReconcileResult> {
  const progress: ReconcileProgress = input.progress ?? {
    ...(input.window ? { window: input.window } : scheduledWindow(input.rules, nowSeconds(), previousEnd())),
    stream: 0,
    totals: { pages: 0, listed: 0, started: 0, duplicates: 0, ignored: 0, refused: 0 },
    startedItems: [],
    refusedItems: [],
  };
  const streams = RECONCILE_STREAMS[input.provider];
  let pagesThisRun = 0;

  while (progress.stream < streams.length) {
    const page = await reconcilePage({
      provider: input.provider,
      stream: streams[progress.stream]!,
      window: progress.window,
      cursor: progress.cursor,
      mode: input.mode,
    });
    const { totals } = progress;
    // A dry run starts nothing, so a payment whose events fall on two pages would be listed twice.
    const known = new Set(progress.startedItems.map((i) => i.workflowId));
    const started =
      input.mode === 'dry_run' ? page.started.filter((i) => !known.has(i.workflowId)) : page.started;
    totals.pages += 1;
    totals.listed += page.listed;
    totals.started += started.length;
    totals.duplicates += page.duplicates + page.started.length - started.length;
    totals.ignored += page.ignored;
    totals.refused += page.refused.length;
    keep(progress.startedItems, started);
    keep(progress.refusedItems, page.refused);
    if (page.next !== undefined) {
      progress.cursor = page.next;
    } else {
      progress.stream += 1;
      progress.cursor = undefined;
    }
    pagesThisRun += 1;
    if (
      progress.stream < streams.length &&
      (pagesThisRun >= (input.pagesPerRun ?? PAGES_PER_RUN) || workflowInfo().continueAsNewSuggested)
    ) {
      return continueAsNew<typeof reconcileWorkflow>({ ...input, progress });
    }
  }

  const result: ReconcileResult = {
    provider: input.provider,
    mode: input.mode,
    window: progress.window,
    totals: progress.totals,
    startedItems: progress.startedItems,
    refusedItems: progress.refusedItems,
    ...(progress.clampedAt !== undefined && { clampedAt: progress.clampedAt }),
    ...(progress.daily && { daily: true }),
  };
  log.info('reconciliation done', {
    provider: input.provider,
    mode: input.mode,
    from: progress.window.from,
    to: progress.window.to,
    ...progress.totals,
  });
  return result;
}

const keep = <T>(into: T[], items: T[]) => {
  into.push(...items.slice(0, Math.max(0, MAX_ITEMS_KEPT - into.length)));
};

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The last successful scheduled run's window end, if Temporal handed its result on. */
function previousEnd(): number | undefined {
  const last = workflowInfo().lastResult as Partial<ReconcileResult> | undefined;
  const to = last?.window?.to;
  return typeof to === 'number' && Number.isFinite(to) ? to : undefined;
}

/**
 * [previous end - overlap, now - settle], never reaching back past the redelivery horizon (then
 * `clampedAt` says where it was held). The first run of each UTC day looks back the whole lookback
 * instead (`daily`): Razorpay lists payments by creation, so one created, then captured hours later
 * (a late authorisation) whose capture webhook was lost lies before every overlap. `now` is the
 * workflow's clock: replay computes the same window.
 */
export function scheduledWindow(
  rules: WindowRules | undefined,
  now: number,
  previous: number | undefined,
): { window: ReconcileWindow; clampedAt?: number; daily?: true } {
  if (!rules) throw new Error('a scheduled reconciliation needs its window rules');
  const to = now - rules.settleSeconds;
  const daily = previous !== undefined && Math.floor(previous / DAY) !== Math.floor(to / DAY);
  const wanted =
    previous === undefined || daily
      ? Math.min(to - rules.firstLookbackSeconds, (previous ?? Infinity) - rules.overlapSeconds)
      : previous - rules.overlapSeconds;
  const floor = now - rules.maxLookbackSeconds;
  const from = Math.min(to, Math.max(wanted, floor));
  return { window: { from, to }, ...(wanted < floor && { clampedAt: floor }), ...(daily && { daily }) };
}

const DAY = 86_400;
