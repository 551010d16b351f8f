/**
 * One webhook delivery, from its raw bytes to an Outcome, without HTTP: `judgeDelivery` decides on
 * the bytes alone (no I/O, so it is tested directly), `startPaid` takes a paid event to Temporal and
 * `startAccessChange` a refund, dispute or ended subscription.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type AccessEvent, accessWorkflowId } from '../domain/access-event';
import type { PaymentEvent } from '../domain/payment-event';
import { type Interpretation, type ProviderAdapter, SignatureError } from '../providers/adapter';
import { maskEmail } from '../runtime/logger';
import type { DeliveryLog, Outcome } from './outcome';
import { type EnrollmentStarter, TemporalUnavailableError } from './start-enrollment';

/** What the bytes of a delivery say: refused, nothing for us to do, a payment or an access change to start. */
export type Verdict =
  | Extract<Outcome, { kind: 'unauthorized' | 'invalid' | 'ignored' | 'stale' }>
  | { kind: 'paid'; event: PaymentEvent }
  | { kind: 'access'; event: AccessEvent };

/** What a signed paid or access event must also satisfy before it may start anything. */
export interface DeliveryPolicy {
  /**
   * An event created longer ago than this starts nothing (REDELIVERY_HORIZON_HOURS): Razorpay signs no
   * timestamp, so a captured body replayed after the retention period would otherwise start a new
   * workflow (for a refund too: one that revokes access). Providers stop redelivering well before it.
   */
  redeliveryHorizonMs: number;
  /** The `livemode` a paid or access event must carry when it carries one (STRIPE_LIVEMODE). */
  livemode: boolean;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  redeliveryHorizonMs: 360 * 3_600_000,
  livemode: false,
};

/** Strict UTF-8: a malformed byte must not silently become U+FFFD in a signed payload. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Throws only what is not a verdict (a bug in an adapter): the caller answers that 500, which makes
 * the provider redeliver.
 */
export function judgeDelivery(
  adapter: ProviderAdapter,
  raw: Buffer,
  headers: IncomingHttpHeaders,
  nowMs: number,
  policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY,
): Verdict {
  try {
    adapter.verify(raw, headers, nowMs);
  } catch (err) {
    if (!(err instanceof SignatureError)) throw err;
    return { kind: 'unauthorized', log: { signatureError: err.message } };
  }

  let parsed: unknown;
  try {
    // V8's JSON.parse is iterative: 100k levels of `[` parse without a stack overflow.
    parsed = JSON.parse(utf8.decode(raw));
  } catch {
    return { kind: 'invalid', error: 'malformed_json' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { kind: 'invalid', error: 'not_an_event_object' };
  }

  return judgeInterpretation(adapter.interpret(parsed as Record<string, unknown>, headers), nowMs, policy);
}

/**
 * What a verified event's meaning allows: the same rules for a delivery and for an event found by
 * reconciliation (src/activities/reconcile.ts), so neither can start what the other would refuse.
 */
export function judgeInterpretation(
  meaning: Interpretation,
  nowMs: number,
  policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY,
): Verdict {
  switch (meaning.kind) {
    case 'invalid':
      return {
        kind: 'invalid',
        error: 'invalid_event',
        reason: meaning.reason,
        log: { eventType: meaning.eventType, reason: meaning.reason },
      };
    case 'ignored':
      return {
        kind: 'ignored',
        eventType: meaning.eventType,
        log: { eventType: meaning.eventType, reason: meaning.reason },
      };
    case 'paid': {
      const { event } = meaning;
      return (
        refusal(event, event.eventCreatedAt ?? event.paidAt, paymentLog(event), nowMs, policy) ?? {
          kind: 'paid',
          event,
        }
      );
    }
    case 'access': {
      const { event } = meaning;
      return (
        refusal(event, event.eventCreatedAt, accessLog(event), nowMs, policy) ?? { kind: 'access', event }
      );
    }
  }
}

const paymentLog = (event: PaymentEvent): DeliveryLog => ({
  eventType: event.eventType,
  eventId: event.eventId,
  paymentId: event.paymentId,
});

const accessLog = (event: AccessEvent): DeliveryLog => ({
  eventType: event.eventType,
  eventId: event.eventId,
  ...(event.paymentId !== undefined && { paymentId: event.paymentId }),
});

/**
 * The rules a paid or access event meets after its signature and shape: fresh enough, and of this
 * deployment's mode. Undefined when it may start its workflow.
 */
function refusal(
  event: { eventType: string; livemode?: boolean },
  createdAt: string,
  log: DeliveryLog,
  nowMs: number,
  policy: DeliveryPolicy,
): Extract<Verdict, { kind: 'stale' | 'ignored' }> | undefined {
  if (nowMs - Date.parse(createdAt) > policy.redeliveryHorizonMs) {
    // 200, so the provider stops: an event this old is a replay, and its payment (or refund) was
    // handled, or found by reconciliation, long ago.
    return {
      kind: 'stale',
      eventType: event.eventType,
      log: { ...log, reason: `event created ${createdAt}, past the redelivery horizon` },
    };
  }
  if (event.livemode !== undefined && event.livemode !== policy.livemode) {
    return {
      kind: 'ignored',
      eventType: event.eventType,
      log: { ...log, reason: `livemode ${event.livemode} event, deployment is livemode ${policy.livemode}` },
    };
  }
  return undefined;
}

/** Starts (or finds) the payment's workflow; only Temporal being unavailable is an answer here. */
export async function startPaid(starter: EnrollmentStarter, event: PaymentEvent): Promise<Outcome> {
  const log = {
    eventType: event.eventType,
    eventId: event.eventId,
    paymentId: event.paymentId,
    email: maskEmail(event.student.email),
  };
  try {
    const { status, workflowId } = await starter.start(event);
    return { kind: status, workflowId, log: { ...log, workflowId } };
  } catch (err) {
    if (!(err instanceof TemporalUnavailableError)) throw err;
    return { kind: 'unavailable', log: { ...log, err: err.message } };
  }
}

/** Starts (or finds) the workflow of a refund, dispute or ended subscription, like `startPaid`. */
export async function startAccessChange(starter: EnrollmentStarter, event: AccessEvent): Promise<Outcome> {
  const log = { ...accessLog(event), workflowId: accessWorkflowId(event) };
  try {
    const { status, workflowId } = await starter.startAccess(event);
    return { kind: status, workflowId, log: { ...log, workflowId } };
  } catch (err) {
    if (!(err instanceof TemporalUnavailableError)) throw err;
    return { kind: 'unavailable', log: { ...log, err: err.message } };
  }
}

export async function deliver(
  adapter: ProviderAdapter,
  starter: EnrollmentStarter,
  raw: Buffer,
  headers: IncomingHttpHeaders,
  nowMs: number,
  policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY,
): Promise<Outcome> {
  const verdict = judgeDelivery(adapter, raw, headers, nowMs, policy);
  if (verdict.kind === 'paid') return startPaid(starter, verdict.event);
  if (verdict.kind === 'access') return startAccessChange(starter, verdict.event);
  return verdict;
}
