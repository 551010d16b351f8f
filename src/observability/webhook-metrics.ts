/**
 * The receiver's Prometheus metrics, served on its own port at `GET /metrics`. The app calls
 * `record(...)` once per answered request (from its single `finish`), and the starter is wrapped once
 * (`timeStarts`) to measure how long Temporal takes to accept a start. Each metrics object owns its
 * registry: nothing is registered globally, so tests can build as many receivers as they like.
 *
 * Label values are bounded: provider is a registered provider or `other`, event_type is one of the
 * registry's known event types (else `other`, or `none` when the body was never trusted or read), and
 * outcome is one of `deliveryOutcomes`. A forged delivery can therefore not create new series.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { knownEventTypes, providerNames } from '../providers';
import type { EnrollmentStarter, StartOutcome } from '../webhook/start-enrollment';

export const deliveryOutcomes = [
  'started',
  'duplicate',
  'ignored',
  'stale',
  'invalid',
  'unauthorized',
  'too_large',
  'unsupported',
  'unavailable',
  'error',
] as const;
export type DeliveryOutcome = (typeof deliveryOutcomes)[number];

/** Buckets around the 2.5 s start deadline (WEBHOOK_START_TIMEOUT_MS), so p95/p99 near it are visible. */
export const START_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4];

/** What the app knows about an answered request: exactly what its `finish` has in hand. */
export interface DeliveryFacts {
  /** `req.params.provider`, as requested (unknown providers are counted as `other`). */
  provider: unknown;
  /** The answered Outcome's `kind`, exactly as the receiver decided it. */
  outcome: DeliveryOutcome;
  /** The event type the adapter read from a verified body, when it got that far. */
  eventType?: unknown;
}

export interface WebhookMetrics {
  readonly registry: Registry;
  /** Counts one answered delivery. Never throws: metrics must not break an acknowledgement. */
  record(delivery: DeliveryFacts): void;
  /** The same starter, with the duration of every start (started, duplicate or failed) observed. */
  timeStarts(starter: EnrollmentStarter): EnrollmentStarter;
  /** `GET /metrics` handler (the Prometheus text format); works as an express handler too. */
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

const providerLabels: ReadonlySet<string> = new Set(providerNames);

const label = (value: unknown, known: ReadonlySet<string>, absent: string) =>
  typeof value !== 'string' || value === '' ? absent : known.has(value) ? value : 'other';

export function createWebhookMetrics(options: { defaultMetrics?: boolean } = {}): WebhookMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const deliveries = new Counter({
    name: 'enrollflow_webhook_deliveries_total',
    help: 'Webhook requests answered, by provider, event type and outcome',
    labelNames: ['provider', 'event_type', 'outcome'] as const,
    registers: [registry],
  });
  const signatureFailures = new Counter({
    name: 'enrollflow_webhook_signature_failures_total',
    help: 'Deliveries refused with 401 (missing, wrong, retired or stale signature)',
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'enrollflow_webhook_duplicates_total',
    help: "Paid deliveries answered 'duplicate' (the payment's workflow already exists)",
    labelNames: ['provider'] as const,
    registers: [registry],
  });
  const startSeconds = new Histogram({
    name: 'enrollflow_workflow_start_seconds',
    help: 'Time for Temporal to durably accept (or refuse as a duplicate) a workflow start',
    labelNames: ['provider', 'outcome'] as const,
    buckets: START_SECONDS_BUCKETS,
    registers: [registry],
  });
  // Zero series from the start: `rate()` and ratios in alert rules then see 0, not "no data".
  for (const provider of providerLabels) {
    signatureFailures.labels({ provider }).inc(0);
    duplicates.labels({ provider }).inc(0);
  }

  return {
    registry,

    record({ provider, outcome, eventType }) {
      try {
        const p = label(provider, providerLabels, 'other');
        deliveries.inc({ provider: p, event_type: label(eventType, knownEventTypes, 'none'), outcome });
        if (outcome === 'unauthorized') signatureFailures.inc({ provider: p });
        if (outcome === 'duplicate') duplicates.inc({ provider: p });
      } catch {
        // A metrics bug must never turn into a failed webhook.
      }
    },

    timeStarts(starter) {
      const timed =
        <E extends { provider: string }>(start: (event: E) => Promise<StartOutcome>) =>
        async (event: E) => {
          const end = startSeconds.startTimer({ provider: label(event.provider, providerLabels, 'other') });
          try {
            const result = await start(event);
            end({ outcome: result.status });
            return result;
          } catch (err) {
            end({ outcome: 'unavailable' });
            throw err;
          }
        };
      return {
        ready: () => starter.ready(),
        start: timed((event) => starter.start(event)),
        startAccess: timed((event) => starter.startAccess(event)),
      };
    },

    async handler(_req, res) {
      try {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
      } catch {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      }
    },
  };
}
