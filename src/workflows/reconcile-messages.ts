/**
 * Everything a client needs to start or read a reconciliation (./reconcile.ts): its type, its input
 * and result, and the Schedule ids. Free of Node built-ins and I/O, like ./messages.
 */
import type { PaymentProvider } from '../domain/payment-event';
import type { ReconcileMode, ReconcileWindow, ReconciledItem } from '../domain/reconcile';
import type * as workflows from './index';

export const RECONCILE_WORKFLOW_TYPE = 'reconcileWorkflow' satisfies keyof typeof workflows;

/** One Schedule per provider, created or updated by the worker at start (src/temporal/reconcile-schedules.ts). */
export const reconcileScheduleId = (provider: PaymentProvider) => `reconcile-${provider}`;

/** How a scheduled run places its window; the worker sets them from its configuration. */
export interface WindowRules {
  /** How far back a run starts before the previous successful run's end: a late capture is still seen. */
  overlapSeconds: number;
  /** How long before "now" a run ends: the webhook of a payment made this moment is still on its way. */
  settleSeconds: number;
  /**
   * How far back the first run looks when no run succeeded before (a new Schedule), and the first run
   * of each UTC day: a payment created long before it was captured is still seen.
   */
  firstLookbackSeconds: number;
  /**
   * How far back any run may look: the redelivery horizon. Past it a payment's closed workflow may be
   * forgotten by Temporal, and starting it again would grant twice.
   */
  maxLookbackSeconds: number;
}

export interface ReconcileTotals {
  pages: number;
  listed: number;
  started: number;
  duplicates: number;
  ignored: number;
  refused: number;
}

export interface ReconcileProgress {
  window: ReconcileWindow;
  /** Where a scheduled window's start was held at the redelivery horizon. */
  clampedAt?: number;
  /** The day's first scheduled run, which looks back the whole lookback (see scheduledWindow). */
  daily?: boolean;
  /** Index into the provider's streams (RECONCILE_STREAMS) and the page cursor within it. */
  stream: number;
  cursor?: string;
  totals: ReconcileTotals;
  startedItems: ReconciledItem[];
  refusedItems: Array<{ id: string; reason: string }>;
}

export interface ReconcileWorkflowInput {
  provider: PaymentProvider;
  mode: ReconcileMode;
  /** A backfill's or dry run's window, as the operator named it (unix seconds). */
  window?: ReconcileWindow;
  /** A scheduled run's window rules. */
  rules?: WindowRules;
  /** Where a run that continued as new picks up. */
  progress?: ReconcileProgress;
  /** Pages a run processes before it continues as new (default PAGES_PER_RUN); tests set it small. */
  pagesPerRun?: number;
}

export interface ReconcileResult {
  provider: PaymentProvider;
  mode: ReconcileMode;
  window: ReconcileWindow;
  totals: ReconcileTotals;
  /** What was started (in a dry run: would be), the first MAX_ITEMS_KEPT of them. */
  startedItems: ReconciledItem[];
  refusedItems: Array<{ id: string; reason: string }>;
  /** Set when the window's start was held at the redelivery horizon. */
  clampedAt?: number;
  /** Set on the day's first scheduled run, which looked back RECONCILE_FIRST_LOOKBACK_HOURS. */
  daily?: boolean;
}

/** Items kept in the result, so a backfill of a long outage cannot outgrow a payload. */
export const MAX_ITEMS_KEPT = 1000;
