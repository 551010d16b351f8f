/** What starting a workflow for a delivery can come to, for payments and access changes alike. */

export type StartOutcome = { status: 'started' | 'duplicate'; workflowId: string };

/** Temporal did not durably accept the start in time: answer 503 so the provider redelivers. */
export class TemporalUnavailableError extends Error {
  override name = 'TemporalUnavailableError';
}
