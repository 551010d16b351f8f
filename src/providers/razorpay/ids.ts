import { createHash } from 'node:crypto';
import { derivedAlphanumeric, randomAlphanumeric } from '../fixture';

export const PAYMENT_ID_PREFIX = 'pay_';

/** Ids an operator may copy from the Razorpay dashboard that are not the key of a payment workflow. */
export const notPaymentIds = [
  ['order_', 'a Razorpay order id; payments are keyed by the payment id (pay_...) shown on the order'],
] as const;

/** `pay_` + 14 alphanumerics. */
export const newRazorpayPaymentId = (): string => `${PAYMENT_ID_PREFIX}${randomAlphanumeric(14)}`;

/** An event id like Razorpay's `X-Razorpay-Event-Id` (14 alphanumerics), stable for one body. */
export function razorpayEventIdFor(rawBody: string | Buffer): string {
  return derivedAlphanumeric(createHash('sha256').update(rawBody).digest('hex'), 14);
}
