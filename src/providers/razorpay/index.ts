/** Razorpay: everything the rest of enrollflow knows about it, read through the registry. */
import type { ProviderDefinition } from '../definition';
import { type ProviderAdapter, requireSecrets, singleHeader } from '../adapter';
import { interpretRazorpayEvent } from './events';
import { isRazorpayEventKind, razorpayEvent, razorpayEventKinds } from './fixtures';
import { PAYMENT_ID_PREFIX, newRazorpayPaymentId, notPaymentIds } from './ids';
import { serializeAsRazorpay } from './serialize';
import {
  SIGNATURE_HEADER,
  randomRazorpaySecret,
  razorpayDeliveryHeaders,
  verifyRazorpaySignature,
} from './signature';

export { interpretRazorpayEvent } from './events';
export { verifyRazorpaySignature, signRazorpay } from './signature';

export function razorpayAdapter(secrets: string[]): ProviderAdapter {
  requireSecrets('RAZORPAY_WEBHOOK_SECRETS', secrets);
  return {
    provider: 'razorpay',
    verify: (rawBody, headers) =>
      verifyRazorpaySignature(rawBody, singleHeader(headers, SIGNATURE_HEADER), secrets),
    interpret: interpretRazorpayEvent,
  };
}

export const razorpay = {
  name: 'razorpay',
  displayName: 'Razorpay',
  // Every event a payments webhook may be subscribed to; the paid ones start a payment's workflow,
  // `refund.processed`, the dispute events and a subscription's end start an access workflow, the
  // rest are acknowledged and ignored.
  eventTypes: [
    'payment.authorized',
    'payment.captured',
    'payment.failed',
    'payment.pending',
    'order.paid',
    'payment_link.paid',
    'payment_link.partially_paid',
    'payment_link.cancelled',
    'payment_link.expired',
    'subscription.authenticated',
    'subscription.activated',
    'subscription.charged',
    'subscription.pending',
    'subscription.halted',
    'subscription.paused',
    'subscription.resumed',
    'subscription.cancelled',
    'subscription.completed',
    'subscription.updated',
    'invoice.paid',
    'invoice.partially_paid',
    'invoice.expired',
    'refund.created',
    'refund.processed',
    'refund.failed',
    'refund.speed_changed',
    'payment.dispute.created',
    'payment.dispute.won',
    'payment.dispute.lost',
    'payment.dispute.closed',
    'payment.dispute.under_review',
    'payment.dispute.action_required',
  ],
  signatureHeaders: [SIGNATURE_HEADER],
  secretVariable: 'RAZORPAY_WEBHOOK_SECRETS',
  ids: { paymentIdPrefixes: [PAYMENT_ID_PREFIX], notPaymentIds, newPaymentId: newRazorpayPaymentId },
  createAdapter: (config) => razorpayAdapter(config.RAZORPAY_WEBHOOK_SECRETS),
  serialize: serializeAsRazorpay,
  sign: (rawBody, _body, opts) => razorpayDeliveryHeaders(rawBody, opts),
  signsTimestamp: false,
  deliveryTimeoutMs: 5_000,
  randomSecret: randomRazorpaySecret,
  fixtures: {
    eventKinds: razorpayEventKinds,
    defaultEventKind: 'payment.captured',
    paidEventPair: ['payment.captured', 'order.paid'],
    buildEvent(kind, fixture) {
      if (!isRazorpayEventKind(kind)) throw new Error(`no Razorpay event builder for ${kind}`);
      return razorpayEvent(kind, fixture);
    },
  },
} as const satisfies ProviderDefinition<'razorpay'>;
