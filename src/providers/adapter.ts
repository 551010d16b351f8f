import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import { type AccessEvent, accessEventSchema } from '../domain/access-event';
import { type PaymentEvent, paymentEventSchema } from '../domain/payment-event';
import { describeIssues } from '../domain/zod-issues';
import type { PaymentProvider } from '.';

/** What a verified, parsed delivery means for us. */
export type Interpretation =
  /** A paid event: start (or find) the payment's workflow. */
  | { kind: 'paid'; event: PaymentEvent }
  /**
   * Money going back (a refund, a dispute, an ended subscription): start (or find) its access
   * workflow, which asks the provider before it changes anyone's access.
   */
  | { kind: 'access'; event: AccessEvent }
  /**
   * Signed, but nothing for us to do (failures, unpaid sessions, a refund not processed yet), or an
   * access event we cannot key: acknowledged, never refused, and logged with the reason.
   */
  | { kind: 'ignored'; eventType: string; reason: string }
  /**
   * Signed, but we cannot identify the payment: 400, the provider retries and someone looks. Kept for
   * paid events (and envelopes that are no event at all); an access event we cannot key is ignored.
   */
  | { kind: 'invalid'; eventType?: string; reason: string };

/**
 * One per provider. The HTTP layer knows nothing about Razorpay or Stripe beyond picking the adapter:
 * verify the raw bytes (throwing SignatureError), then interpret the parsed JSON.
 */
export interface ProviderAdapter {
  readonly provider: PaymentProvider;
  /** `nowMs` is injected so tolerance checks are testable without clock tricks. */
  verify(rawBody: Buffer, headers: IncomingHttpHeaders, nowMs: number): void;
  interpret(body: Record<string, unknown>, headers: IncomingHttpHeaders): Interpretation;
}

/** One error class for every verification failure; the message is for our logs, never the response. */
export class SignatureError extends Error {
  override name = 'SignatureError';
}

/**
 * An adapter with no secret would refuse every delivery with a 401 the provider retries for days;
 * failing at start-up says what is wrong while someone is watching.
 */
export function requireSecrets(variable: string, secrets: readonly string[]): void {
  if (secrets.length === 0)
    throw new Error(`${variable}: at least one webhook secret is needed to verify deliveries`);
}

/** A header that appears once, as a string; anything else (absent, repeated into an array) is refused. */
export function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** ISO 8601, or undefined for a time no Date can hold (the event is then invalid: a 400, not a crash). */
export function unixSecondsToIso(s: number): string | undefined {
  const date = new Date(s * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Trimmed non-empty text; anything else (numbers, objects, blanks) is absent. */
export const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() ? v.trim() : undefined;

/** A map such as Razorpay `notes` or Stripe `metadata`; anything else (`[]`, null, a string) is empty. */
export const plainRecord = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

const firstFitting =
  (schema: z.ZodType) =>
  (...candidates: unknown[]): string | undefined => {
    for (const candidate of candidates) {
      const value = text(candidate);
      if (value !== undefined && schema.safeParse(value).success) return value;
    }
    return undefined;
  };

const { student, courseId, eventId } = paymentEventSchema.shape;

/**
 * Student, course and event-id values are advisory: the first candidate the event schema accepts,
 * else absent. One the schema would refuse (a 40-character phone, a 1 KB event-id header, which is
 * not even signed) must not fail a signed paid event: a 400 makes the provider retry, then give up on,
 * a payment that was taken. Absent data sends the workflow to review, where a person fixes it.
 */
export const advisory = {
  email: firstFitting(student.shape.email),
  name: firstFitting(student.shape.name),
  phone: firstFitting(student.shape.phone),
  courseId: firstFitting(courseId),
  eventId: firstFitting(eventId),
};

/**
 * What an access event names beside its cause (the payment, the status it reports) only labels it:
 * the access workflow reads the provider's record. A value the schema would refuse is dropped, so it
 * cannot cost the event its workflow.
 */
export const accessAdvisory = {
  paymentId: firstFitting(accessEventSchema.shape.paymentId),
  status: firstFitting(accessEventSchema.shape.status),
};

/**
 * A signed refund, dispute or subscription end: its access event, or ignored with the reason when it
 * cannot be keyed (no cause id, no event time). Never invalid: a 4xx would only make the provider
 * retry the same bytes for days, and then disable the endpoint.
 */
export function accessInterpretation(
  eventType: string,
  // The event time may be one no Date can hold: the schema then says so, in the reason.
  fields: Omit<z.input<typeof accessEventSchema>, 'eventType' | 'eventCreatedAt'> & {
    eventCreatedAt: string | undefined;
  },
): Interpretation {
  const event = accessEventSchema.safeParse({ ...fields, eventType });
  if (!event.success) return { kind: 'ignored', eventType, reason: describeIssues(event.error) };
  return { kind: 'access', event: event.data };
}
