/**
 * One page of reconciliation: list what the provider holds in a window, read each record with the
 * receiver's own adapter and rules, and start the workflow its webhook would have started, with the
 * same ID and ID policies. A record whose webhook came is a duplicate start, which costs one Temporal
 * call and changes nothing. A dry run asks Temporal whether each workflow exists instead.
 *
 * The whole page is one attempt: a failure part-way is retried from the page's start, and the starts
 * that already landed are duplicates then, so nothing is started twice and the page is never skipped.
 */
import { Context } from '@temporalio/activity';
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { accessWorkflowId } from '../domain/access-event';
import { enrollmentWorkflowId } from '../domain/ids';
import type { PaymentProvider } from '../domain/payment-event';
import type { ReconcilePageInput, ReconcilePageResult, ReconciledItem } from '../domain/reconcile';
import type { Interpretation } from '../providers/adapter';
import { interpretRazorpayEvent } from '../providers/razorpay';
import { interpretStripeEvent } from '../providers/stripe';
import type { Logger } from '../runtime/logger';
import { type DeliveryPolicy, judgeInterpretation } from '../webhook/delivery';
import { TemporalUnavailableError, createEnrollmentStarter } from '../webhook/start-enrollment';
import type { ListedPage } from './providers/razorpay-listing';
import { DownstreamFailure } from './errors';

/** The receiver's interpretation of a body; a listed record carries no delivery headers. */
const INTERPRET: Record<PaymentProvider, (body: Record<string, unknown>) => Interpretation> = {
  razorpay: (body) => interpretRazorpayEvent(body, {}),
  stripe: interpretStripeEvent,
};

const RECONCILED_KINDS: ReadonlyArray<ReconciledItem['kind']> = [
  'payment',
  'refund',
  'dispute',
  'subscription',
];

/** Each start within the page gets this long; a slower Temporal fails the attempt, which is retried. */
const START_TIMEOUT_MS = 10_000;

export type PageLister = (input: ReconcilePageInput) => Promise<ListedPage>;

export interface ReconcileDeps {
  temporal?: Client;
  taskQueue: string;
  listPage: PageLister;
  /** The receiver's rules: the redelivery horizon and livemode (REDELIVERY_HORIZON_HOURS, STRIPE_LIVEMODE). */
  policy: DeliveryPolicy;
  logger: Logger;
  now: () => number;
}

type Verdict = ReturnType<typeof judgeInterpretation>;
type Startable = Extract<Verdict, { kind: 'paid' | 'access' }>;

function itemOf(verdict: Startable): ReconciledItem {
  if (verdict.kind === 'paid') {
    const { event } = verdict;
    return {
      workflowId: enrollmentWorkflowId(event.provider, event.paymentId),
      kind: 'payment',
      id: event.paymentId,
      amountMinor: event.amountMinor,
      currency: event.currency,
      createdAt: event.paidAt,
    };
  }
  const { event } = verdict;
  return {
    workflowId: accessWorkflowId(event),
    kind: event.kind,
    id: event.causeId,
    ...(event.refundedMinor !== undefined && { amountMinor: event.refundedMinor }),
    createdAt: event.eventCreatedAt,
  };
}

/** The id a refused record is reported by: whatever the adapter could key it with. */
const refusedId = (verdict: Verdict): string =>
  String(
    ('log' in verdict && verdict.log?.paymentId) || ('eventType' in verdict && verdict.eventType) || '?',
  );

export async function reconcilePageOnce(
  deps: ReconcileDeps,
  input: ReconcilePageInput,
): Promise<ReconcilePageResult> {
  if (!deps.temporal)
    throw new Error('reconciliation needs a Temporal client (createActivities deps.temporal)');
  const client = deps.temporal;
  const page = await deps.listPage(input);
  const source = input.mode === 'scheduled' ? 'reconciliation' : 'operator';
  const starter = createEnrollmentStarter({
    client,
    taskQueue: deps.taskQueue,
    startTimeoutMs: START_TIMEOUT_MS,
    logger: deps.logger,
    source,
    forwardToRunning: false,
  });
  const result: ReconcilePageResult = {
    listed: page.listed,
    started: [],
    duplicates: 0,
    ignored: 0,
    refused: [],
    ...(page.next !== undefined && { next: page.next }),
  };

  const counter = reconciledCounter();
  // Every series exists from the first page on, so an alert's increase() counts the first find too.
  for (const kind of RECONCILED_KINDS) counter?.add(0, { provider: input.provider, kind });

  const seen = new Set<string>();
  for (const body of page.bodies) {
    const meaning = INTERPRET[input.provider](body);
    const verdict = judgeInterpretation(meaning, deps.now(), deps.policy);
    const startable = meaning.kind === 'paid' || meaning.kind === 'access';
    if (startable && verdict.kind !== 'paid' && verdict.kind !== 'access') {
      // A paid or access event the receiver's rules refuse: too old, or of the other livemode.
      result.refused.push({ id: refusedId(verdict), reason: verdict.log?.reason ?? verdict.kind });
      continue;
    }
    if (verdict.kind !== 'paid' && verdict.kind !== 'access') {
      result.ignored += 1;
      continue;
    }
    const item = itemOf(verdict);
    // A Stripe checkout's two paid events name one payment: in a dry run, the second is no new start.
    if (seen.has(item.workflowId)) {
      result.duplicates += 1;
      continue;
    }
    seen.add(item.workflowId);
    const started =
      input.mode === 'dry_run' ? !(await exists(client, item.workflowId)) : await start(starter, verdict);
    if (!started) {
      result.duplicates += 1;
      continue;
    }
    result.started.push(item);
    if (input.mode === 'dry_run') continue;
    deps.logger.warn(
      { provider: input.provider, kind: item.kind, id: item.id, workflowId: item.workflowId, source },
      'reconciliation started a workflow no webhook had started',
    );
    counter?.add(1, { provider: input.provider, kind: item.kind });
  }
  // Records the adapter read but the page did not list (a refund not processed) count as ignored too.
  result.ignored += page.listed - page.bodies.length;
  return result;
}

async function start(
  starter: ReturnType<typeof createEnrollmentStarter>,
  verdict: Startable,
): Promise<boolean> {
  try {
    const outcome =
      verdict.kind === 'paid' ? await starter.start(verdict.event) : await starter.startAccess(verdict.event);
    return outcome.status === 'started';
  } catch (err) {
    if (err instanceof TemporalUnavailableError) {
      throw new DownstreamFailure('DownstreamUnavailable', err.message, { cause: err });
    }
    throw err;
  }
}

async function exists(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw new DownstreamFailure(
      'DownstreamUnavailable',
      `Temporal describe ${workflowId}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}

/** Exported with the worker's SDK metrics; absent outside an activity (unit tests). */
function reconciledCounter() {
  try {
    return Context.current().metricMeter.createCounter(
      'enrollflow_reconciled_payments_total',
      '1',
      'Workflows reconciliation started because no webhook had started them, by provider and kind',
    );
  } catch {
    return undefined;
  }
}
