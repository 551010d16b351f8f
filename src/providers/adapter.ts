import type { IncomingHttpHeaders } from 'node:http';
import type { z } from 'zod';
import { type PaymentEvent, paymentEventSchema } from '../domain/payment-event';
import type { PaymentProvider } from '.';

/** What a verified, parsed delivery means for us. */
export type Interpretation =
  /** A paid event: start (or find) the payment's workflow. */
  | { kind: 'paid'; event: PaymentEvent }
  /** Signed and well-formed, but nothing for us to do (refunds, failures, unpaid sessions...). */
  | { kind: 'ignored'; eventType: string; reason: string }
  /** Signed, but we cannot identify the payment: 400, the provider retries and someone looks. */
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
