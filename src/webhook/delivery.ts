/**
 * One webhook delivery, from its raw bytes to an Outcome, without HTTP: `judgeDelivery` decides on
 * the bytes alone (no I/O, so it is tested directly), `startPaid` takes a paid event to Temporal.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PaymentEvent } from '../domain/payment-event';
import { type ProviderAdapter, SignatureError } from '../providers/adapter';
import { maskEmail } from '../runtime/logger';
import type { Outcome } from './outcome';
import { type EnrollmentStarter, TemporalUnavailableError } from './start-enrollment';

/** What the bytes of a delivery say: refused, nothing for us to do, or a payment to start. */
export type Verdict =
  | Extract<Outcome, { kind: 'unauthorized' | 'invalid' | 'ignored' | 'stale' }>
  | { kind: 'paid'; event: PaymentEvent };

/** What a signed paid event must also satisfy before it may start anything. */
export interface DeliveryPolicy {
  /**
   * A paid event created longer ago than this starts nothing (REDELIVERY_HORIZON_HOURS): Razorpay signs
   * no timestamp, so a captured body replayed after the retention period would otherwise start a new
   * workflow. Providers stop redelivering well before it.
   */
  redeliveryHorizonMs: number;
  /** The `livemode` a paid event must carry when it carries one (STRIPE_LIVEMODE). */
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

  const meaning = adapter.interpret(parsed as Record<string, unknown>, headers);
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
    case 'paid':
      return admit(meaning.event, nowMs, policy);
  }
}

/** The rules a paid event meets after its signature and shape: fresh enough, and of this deployment's mode. */
function admit(event: PaymentEvent, nowMs: number, policy: DeliveryPolicy): Verdict {
  const log = { eventType: event.eventType, eventId: event.eventId, paymentId: event.paymentId };
  const createdMs = Date.parse(event.eventCreatedAt ?? event.paidAt);
  if (nowMs - createdMs > policy.redeliveryHorizonMs) {
    // 200, so the provider stops: an event this old is a replay, and its payment was handled (or
    // found by reconciliation) long ago.
    return {
      kind: 'stale',
      eventType: event.eventType,
      log: {
        ...log,
        reason: `event created ${event.eventCreatedAt ?? event.paidAt}, past the redelivery horizon`,
      },
    };
  }
  if (event.livemode !== undefined && event.livemode !== policy.livemode) {
    return {
      kind: 'ignored',
      eventType: event.eventType,
      log: { ...log, reason: `livemode ${event.livemode} event, deployment is livemode ${policy.livemode}` },
    };
  }
  return { kind: 'paid', event };
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

export async function deliver(
  adapter: ProviderAdapter,
  starter: EnrollmentStarter,
  raw: Buffer,
  headers: IncomingHttpHeaders,
  nowMs: number,
  policy: DeliveryPolicy = DEFAULT_DELIVERY_POLICY,
): Promise<Outcome> {
  const verdict = judgeDelivery(adapter, raw, headers, nowMs, policy);
  return verdict.kind === 'paid' ? startPaid(starter, verdict.event) : verdict;
}
