import type { IncomingHttpHeaders } from 'node:http';
import type { PaymentEvent, PaymentProvider } from '../../shared/payment-event';

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

/** A header that appears once, as a string; anything else (absent, repeated into an array) is refused. */
export function singleHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

export const unixSecondsToIso = (s: number): string => new Date(s * 1000).toISOString();
