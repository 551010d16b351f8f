import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SignOptions, SignedHeaders } from '../definition';
import { SignatureError } from '../adapter';
import { razorpayEventIdFor } from './ids';

export const SIGNATURE_HEADER = 'x-razorpay-signature';
export const EVENT_ID_HEADER = 'x-razorpay-event-id';
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Hand-written rather than the `razorpay` package's `validateWebhookSignature`: that helper takes the
 * body as a string (so it would re-encode what we received) and compares with `===`, which is not
 * constant-time. This is the documented scheme: hex HMAC-SHA256 of the raw bytes with the webhook
 * secret, checked against every active secret (rotation: old events keep the old secret's signature).
 */
export function verifyRazorpaySignature(
  rawBody: Buffer,
  signature: string | undefined,
  secrets: string[],
): void {
  if (!signature) throw new SignatureError('missing X-Razorpay-Signature');
  if (!HEX_SHA256.test(signature)) throw new SignatureError('X-Razorpay-Signature is not a hex SHA-256');
  const received = Buffer.from(signature, 'hex');
  // Check every secret, even after a match, so timing does not reveal which secret is active.
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(rawBody).digest();
    if (timingSafeEqual(expected, received)) matched = true;
  }
  if (!matched) throw new SignatureError('no active secret produced this signature');
}

/** `X-Razorpay-Signature`: lowercase hex HMAC-SHA256 of the raw body, keyed with the webhook secret. */
export function signRazorpay(rawBody: string | Buffer, secret: string): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** The headers Razorpay sends with a delivery of `rawBody`. */
export function razorpayDeliveryHeaders(rawBody: string, opts: SignOptions): SignedHeaders {
  const eventId = opts.eventId ?? razorpayEventIdFor(rawBody);
  return {
    eventId,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Razorpay-Webhook/v1',
      [EVENT_ID_HEADER]: eventId,
      [SIGNATURE_HEADER]: signRazorpay(rawBody, opts.secret),
    },
  };
}

/** Razorpay webhook secrets are free text chosen by the merchant; hex is as good a shape as any. */
export const randomRazorpaySecret = (): string => randomBytes(16).toString('hex');
