/** Stripe: everything the rest of enrollflow knows about it, read through the registry. */
import type { ProviderDefinition } from '../definition';
import { type ProviderAdapter, requireSecrets, singleHeader } from '../adapter';
import { interpretStripeEvent } from './events';
import { isStripeEventKind, stripeEvent, stripeEventKinds } from './fixtures';
import { INVOICE_ID_PREFIX, PAYMENT_ID_PREFIX, newStripePaymentId, notPaymentIds } from './ids';
import { stripeSdk } from './sdk';
import { serializeAsStripe } from './serialize';
import {
  SIGNATURE_HEADER,
  randomStripeSecret,
  stripeDeliveryHeaders,
  verifyStripeSignature,
} from './signature';

export { interpretStripeEvent, STRIPE_WORKFLOW_EVENT_TYPES } from './events';
export { verifyStripeSignature, stripeSignatureHeader } from './signature';

export function stripeAdapter(secrets: string[], toleranceSeconds: number): ProviderAdapter {
  requireSecrets('STRIPE_WEBHOOK_SECRETS', secrets);
  // Loaded now, at start-up, rather than by the first delivery.
  stripeSdk();
  return {
    provider: 'stripe',
    verify: (rawBody, headers, nowMs) =>
      verifyStripeSignature(
        rawBody,
        singleHeader(headers, SIGNATURE_HEADER),
        secrets,
        toleranceSeconds,
        nowMs,
      ),
    interpret: (body) => interpretStripeEvent(body),
  };
}

export const stripe = {
  name: 'stripe',
  displayName: 'Stripe',
  // Every event a payments endpoint may subscribe to that we have seen; the paid ones start a payment's
  // workflow, `charge.refunded`, the dispute events and `customer.subscription.deleted` an access
  // workflow; the rest are acknowledged and ignored.
  eventTypes: [
    'checkout.session.completed',
    'checkout.session.async_payment_succeeded',
    'checkout.session.async_payment_failed',
    'checkout.session.expired',
    'payment_intent.succeeded',
    'payment_intent.payment_failed',
    'payment_intent.canceled',
    'charge.succeeded',
    'charge.refunded',
    'charge.dispute.created',
    'charge.dispute.updated',
    'charge.dispute.closed',
    'charge.dispute.funds_withdrawn',
    'charge.dispute.funds_reinstated',
    'invoice.paid',
    'invoice.payment_succeeded',
    'invoice.payment_failed',
    'invoice.finalized',
    'customer.subscription.created',
    'customer.subscription.updated',
    'customer.subscription.deleted',
  ],
  signatureHeaders: [SIGNATURE_HEADER],
  secretVariable: 'STRIPE_WEBHOOK_SECRETS',
  ids: {
    paymentIdPrefixes: [PAYMENT_ID_PREFIX, INVOICE_ID_PREFIX],
    notPaymentIds,
    newPaymentId: newStripePaymentId,
  },
  createAdapter: (config) => stripeAdapter(config.STRIPE_WEBHOOK_SECRETS, config.STRIPE_TOLERANCE_SECONDS),
  serialize: serializeAsStripe,
  sign: stripeDeliveryHeaders,
  signsTimestamp: true,
  randomSecret: randomStripeSecret,
  fixtures: {
    eventKinds: stripeEventKinds,
    defaultEventKind: 'checkout.session.completed',
    paidEventPair: ['checkout.session.completed', 'payment_intent.succeeded'],
    buildEvent(kind, fixture) {
      if (!isStripeEventKind(kind)) throw new Error(`no Stripe event builder for ${kind}`);
      return stripeEvent(kind, fixture);
    },
  },
} as const satisfies ProviderDefinition<'stripe'>;
