/**
 * Reconciliation's vocabulary, shared by its workflow (src/workflows/reconcile.ts), its activity
 * (src/activities/reconcile.ts) and the ops CLI. Workflow-safe: plain data, no Node built-ins.
 */
import type { PaymentProvider } from './payment-event';

/** What is listed from a provider: the records a webhook would have announced. */
export type ReconcileStream = 'payments' | 'refunds' | 'events';

/**
 * Razorpay has no event list: its payments and refunds are listed by `created_at`. Stripe lists the
 * events it created (30 days of them), each the very body its webhook carried.
 */
export const RECONCILE_STREAMS: Record<PaymentProvider, readonly ReconcileStream[]> = {
  razorpay: ['payments', 'refunds'],
  stripe: ['events'],
};

/** Unix seconds, both ends included: the providers' `from`/`to` and `created[gte|lte]` filters. */
export interface ReconcileWindow {
  from: number;
  to: number;
}

/** Who asked: the Schedule, or an operator's `ops reconcile` (a dry run lists, starts nothing). */
export type ReconcileMode = 'scheduled' | 'backfill' | 'dry_run';

export interface ReconcilePageInput {
  provider: PaymentProvider;
  stream: ReconcileStream;
  window: ReconcileWindow;
  /** Where the page starts: Razorpay's `skip`, Stripe's `starting_after`; absent for the first page. */
  cursor?: string;
  mode: ReconcileMode;
}

/** One record a webhook should have started a workflow for. */
export interface ReconciledItem {
  workflowId: string;
  kind: 'payment' | 'refund' | 'dispute' | 'subscription';
  /** The payment, refund, dispute or subscription id. */
  id: string;
  amountMinor?: number;
  currency?: string;
  /** When the provider created it (ISO 8601). */
  createdAt?: string;
}

export interface ReconcilePageResult {
  /** Records the provider listed on this page. */
  listed: number;
  /** Workflows this page started; in a dry run, the ones it would start. */
  started: ReconciledItem[];
  /** Records whose workflow already existed: a webhook (or an earlier run) got there first. */
  duplicates: number;
  /** Records that start nothing (unpaid, failed, a refund not processed yet). */
  ignored: number;
  /** Records refused by the receiver's own rules (past the redelivery horizon, wrong livemode). */
  refused: Array<{ id: string; reason: string }>;
  /** The next page's cursor; absent on the last page. */
  next?: string;
}

/** The page size both providers allow at most. */
export const RECONCILE_PAGE_SIZE = 100;
