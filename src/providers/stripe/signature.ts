/**
 * Stripe's signature scheme, `Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "t.body">`, through
 * the official SDK both ways: verifying with `webhooks.signature.verifyHeader` and signing with its
 * test helper, so the receiver is checked against Stripe's own implementation rather than against a
 * second copy of our reading of the docs.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { SignOptions, SignedHeaders } from '../definition';
import { SignatureError } from '../adapter';
import { stripeSdk } from './sdk';

export const SIGNATURE_HEADER = 'stripe-signature';
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** The SDK's signature helpers; refuses an SDK version without them at the first use. */
function stripeSignature() {
  const { signature } = stripeSdk().webhooks;
  if (!signature) throw new Error('this stripe SDK version has no webhooks.signature');
  return signature;
}

/**
 * Verification is the official SDK's (`Stripe.webhooks.signature.verifyHeader`): it parses
 * `t=...,v1=...`, accepts any matching v1 (Stripe sends several while a secret rolls), ignores other
 * schemes and enforces the timestamp tolerance. We add what it lacks: several active endpoint
 * secrets at once, for our own rotation, and two guards that keep the check on the bytes received:
 * - the SDK HMACs a *decoded* string (a leading BOM dropped, invalid UTF-8 turned into U+FFFD), so
 *   different bytes could pass under one signature; Stripe sends BOM-less UTF-8 JSON, we require it;
 * - the SDK takes `parseInt` of the last `t=` and skips the age check when that is NaN; we require
 *   exactly one all-digits timestamp.
 */
export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secrets: string[],
  toleranceSeconds: number,
  nowMs: number,
): void {
  if (!header) throw new SignatureError('missing Stripe-Signature');
  if (!isUtf8(rawBody) || rawBody.subarray(0, 3).equals(UTF8_BOM)) {
    throw new SignatureError('body is not BOM-less UTF-8, so it cannot be verified byte for byte');
  }
  // Counted the way the SDK splits the header, so a bare `t` part counts too.
  const timestamps = header.split(',').filter((part) => part.split('=')[0] === 't');
  if (timestamps.length !== 1 || !/^t=\d{1,15}$/.test(timestamps[0]!)) {
    throw new SignatureError('Stripe-Signature needs exactly one numeric t=');
  }
  let lastReason = 'no secrets configured';
  for (const secret of secrets) {
    try {
      stripeSignature().verifyHeader(rawBody, header, secret, toleranceSeconds, undefined, nowMs);
      return;
    } catch (err) {
      lastReason = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    }
  }
  throw new SignatureError(lastReason);
}

/** `Stripe-Signature: t=<unix s>,v1=<hex>`, as the SDK's own test helper builds it. */
export function stripeSignatureHeader(rawBody: string, secret: string, timestamp?: number): string {
  return stripeSdk().webhooks.generateTestHeaderString(
    timestamp === undefined ? { payload: rawBody, secret } : { payload: rawBody, secret, timestamp },
  );
}

/** The headers Stripe sends with a delivery of `rawBody`; the event id is the body's `evt_...`. */
export function stripeDeliveryHeaders(rawBody: string, body: object, opts: SignOptions): SignedHeaders {
  const id = (body as { id?: unknown }).id;
  return {
    eventId: typeof id === 'string' ? id : '',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      // Test-mode deliveries also carry a `v0` signature made with a key the merchant never sees;
      // receivers must ignore schemes other than v1, so it is sent here too.
      [SIGNATURE_HEADER]: `${stripeSignatureHeader(rawBody, opts.secret, opts.timestamp)},v0=${randomBytes(32).toString('hex')}`,
    },
  };
}

/** A secret shaped like an endpoint's signing secret. */
export const randomStripeSecret = (): string => `whsec_${randomBytes(24).toString('base64url')}`;
