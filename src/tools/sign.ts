/**
 * Deliveries signed exactly as the providers sign them, over the raw bytes that go on the wire. Each
 * provider's scheme, serialisation and headers live in its folder (src/providers/<name>); this module
 * only adds what a tester needs on top, such as a body tampered with after signing.
 */
import { type PaymentProvider, providers } from '../providers';
import type { SignOptions as ProviderSignOptions } from '../providers/definition';

/** The bytes the provider would put on the wire for `body`. */
export const serializeAsProvider = (provider: PaymentProvider, body: object): string =>
  providers[provider].serialize(body);

/**
 * Changes exactly one byte and keeps the JSON valid, so a receiver must reject it on the signature
 * rather than on parsing: the first digit of the amount (what an attacker would edit), else the
 * first digit anywhere.
 */
export function tamperBody(rawBody: string): string {
  const amount = /"amount(?:_total)?"\s*:\s*(\d)/.exec(rawBody);
  const index = amount ? amount.index + amount[0].length - 1 : rawBody.search(/\d/);
  if (index < 0) throw new Error('Cannot tamper with a body that contains no digit');
  const digit = Number(rawBody[index]);
  // 1-9 only: a leading zero would make the JSON number invalid.
  const replacement = String((digit % 9) + 1);
  return rawBody.slice(0, index) + replacement + rawBody.slice(index + 1);
}

/** A secret the receiver cannot know, shaped like the real thing. */
export const randomSecret = (provider: PaymentProvider): string => providers[provider].randomSecret();

export interface SignOptions extends ProviderSignOptions {
  /** Change one byte of the body after signing. */
  tamper?: boolean;
}

export interface SignedDelivery {
  body: string;
  headers: Record<string, string>;
  /** Razorpay: the event id header; Stripe: the `evt_...` id inside the body. */
  eventId: string;
}

/** Serialises, signs and (optionally) tampers one event; send the result as many times as needed. */
export function signedDelivery(provider: PaymentProvider, body: object, opts: SignOptions): SignedDelivery {
  const definition = providers[provider];
  const raw = definition.serialize(body);
  const { headers, eventId } = definition.sign(raw, body, opts);
  return { body: opts.tamper ? tamperBody(raw) : raw, headers, eventId };
}
