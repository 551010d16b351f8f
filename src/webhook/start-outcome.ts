/** What starting a workflow for a delivery can come to, for payments and access changes alike. */
import type { Client } from '@temporalio/client';
import type { Logger } from '../runtime/logger';
import type { PaymentSource } from '../workflows/messages';

export type StartOutcome = { status: 'started' | 'duplicate'; workflowId: string };

/** Temporal did not durably accept the start in time: answer 503 so the provider redelivers. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}

/** What the starters of payments and access changes are made with (./start-enrollment, ./start-access). */
export interface StarterOptions {
  client: Client;
  taskQueue: string;
  startTimeoutMs: number;
  logger: Logger;
  /** Who is starting: the receiver (default) or reconciliation (src/activities/reconcile.ts). */
  source?: PaymentSource;
  /**
   * Whether a duplicate's content goes on to its running workflow (a payment's details, a dispute's
   * later event). Default true. Reconciliation lists the same records run after run: forwarding them
   * would cost a query per duplicate and re-signal a dispute every run.
   */
  forwardToRunning?: boolean;
}
