/**
 * Signing exactly as the providers do, over the raw bytes that go on the wire. Stripe headers come
 * from the official SDK so that our receiver is checked against Stripe's own implementation, not
 * against a second copy of our reading of the docs.
 */
import { createHmac, randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import type { PaymentProvider } from '../shared/payment-event';
import { razorpayEventIdFor } from './provider-events';

/** `X-Razorpay-Signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the webhook secret. */
export function signRazorpay(rawBody: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** `Stripe-Signature: t=<unix s>,v1=<hex>`, as the SDK's own test helper builds it. */
export function stripeSignatureHeader(rawBody: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString(
    timestamp === undefined ? { payload: rawBody, secret } : { payload: rawBody, secret, timestamp },
  );
}

/**
 * The bytes a provider would put on the wire for `body`. Razorpay (PHP `json_encode`) escapes `/`
 * as `\/` and non-ASCII as `\uXXXX`; Stripe pretty-prints with two spaces. Both differ from
 * `JSON.stringify(JSON.parse(raw))`, which is the point: a receiver that verifies a re-serialised
 * body instead of the received bytes fails here exactly as it would in production.
 */
export function serializeAsProvider(provider: PaymentProvider, body: object): string {
  if (provider === 'stripe') return JSON.stringify(body, null, 2);
  return JSON.stringify(body)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

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
export function randomSecret(provider: PaymentProvider): string {
  return provider === 'stripe'
    ? `whsec_${randomBytes(24).toString('base64url')}`
    : randomBytes(16).toString('hex');
}

export interface SignOptions {
  secret: string;
  /** Razorpay: `X-Razorpay-Event-Id`. Default: derived from the body, so redeliveries reuse it. */
  eventId?: string;
  /** Stripe: signature timestamp in unix seconds (default now). */
  timestamp?: number;
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
  const raw = serializeAsProvider(provider, body);
  const wire = opts.tamper ? tamperBody(raw) : raw;
  if (provider === 'razorpay') {
    const eventId = opts.eventId ?? razorpayEventIdFor(raw);
    return {
      body: wire,
      eventId,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Razorpay-Webhook/v1',
        'x-razorpay-event-id': eventId,
        'x-razorpay-signature': signRazorpay(raw, opts.secret),
      },
    };
  }
  const id = (body as { id?: unknown }).id;
  return {
    body: wire,
    eventId: typeof id === 'string' ? id : '',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      // Test-mode deliveries also carry a `v0` signature made with a key the merchant never sees;
      // receivers must ignore schemes other than v1, so it is sent here too.
      'stripe-signature': `${stripeSignatureHeader(raw, opts.secret, opts.timestamp)},v0=${randomBytes(32).toString('hex')}`,
    },
  };
}
