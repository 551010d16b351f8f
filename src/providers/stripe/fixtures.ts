/**
 * Webhook bodies shaped exactly as Stripe sends them (API objects of the pinned API version, test-mode
 * ids), for the `send` CLI, the sandbox and tests. docs/providers.md describes what we read of them.
 */
import {
  type PaymentFixture,
  type ResolvedFixture,
  derivedAlphanumeric,
  isOneOf,
  presentEntries,
  randomAlphanumeric,
  resolveFixtureWith,
} from '../fixture';
import { newStripePaymentId } from './ids';
import { stripeSdk } from './sdk';

/** The events the builder produces: the three paid events, a failure and a refund. */
export const stripeEventKinds = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
] as const;
export type StripeEventKind = (typeof stripeEventKinds)[number];
export const isStripeEventKind = isOneOf(stripeEventKinds);

export interface StripeCheckoutSession {
  id: string;
  object: 'checkout.session';
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string;
  client_reference_id: string | null;
  created: number;
  currency: string;
  customer: null;
  customer_creation: 'if_required';
  customer_details: {
    address: null;
    email: string | null;
    name: string | null;
    phone: string | null;
    tax_exempt: 'none';
    tax_ids: [];
  };
  customer_email: string | null;
  expires_at: number;
  livemode: false;
  metadata: Record<string, string>;
  mode: 'payment';
  payment_intent: string;
  payment_method_types: string[];
  payment_status: 'paid' | 'unpaid';
  status: 'complete';
  success_url: string;
  url: null;
}

export interface StripePaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  capture_method: 'automatic_async';
  client_secret: string;
  confirmation_method: 'automatic';
  created: number;
  currency: string;
  customer: null;
  description: string;
  last_payment_error: null | { code: string; decline_code: string; message: string; type: 'card_error' };
  latest_charge: string;
  livemode: false;
  metadata: Record<string, string>;
  payment_method: string;
  payment_method_types: string[];
  receipt_email: string | null;
  status: 'succeeded' | 'requires_payment_method';
}

export interface StripeCharge {
  id: string;
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  billing_details: { address: null; email: string | null; name: string | null; phone: string | null };
  captured: true;
  created: number;
  currency: string;
  livemode: false;
  metadata: Record<string, string>;
  paid: true;
  payment_intent: string;
  payment_method: string;
  receipt_email: string | null;
  refunded: true;
  status: 'succeeded';
}

export interface StripeWebhookEvent {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: {
    object: StripeCheckoutSession | StripePaymentIntent | StripeCharge;
    previous_attributes?: Record<string, unknown>;
  };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: StripeEventKind;
}

/** How a merchant's server puts the student on a PaymentIntent (and so on its charge). */
const studentMetadata = (f: ResolvedFixture) =>
  presentEntries({
    course_id: f.courseId,
    student_email: f.email,
    student_name: f.name,
    student_phone: f.phone,
  });

/** The related Stripe ids of one payment, derived from its PaymentIntent id. */
export function stripeRelatedIds(paymentIntentId: string): {
  checkoutSessionId: string;
  chargeId: string;
  paymentMethodId: string;
} {
  return {
    checkoutSessionId: `cs_test_a1${derivedAlphanumeric(`cs:${paymentIntentId}`, 58)}`,
    chargeId: `ch_${derivedAlphanumeric(`ch:${paymentIntentId}`, 24)}`,
    paymentMethodId: `pm_${derivedAlphanumeric(`pm:${paymentIntentId}`, 24)}`,
  };
}

export function stripeEvent(
  kind: StripeEventKind,
  p: PaymentFixture | ResolvedFixture = {},
): StripeWebhookEvent {
  const f = resolveFixtureWith(newStripePaymentId, p);
  const currency = f.currency.toLowerCase();
  const ids = stripeRelatedIds(f.paymentId);
  let object: StripeWebhookEvent['data']['object'];
  let previousAttributes: Record<string, unknown> | undefined;

  switch (kind) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      object = {
        id: ids.checkoutSessionId,
        object: 'checkout.session',
        amount_subtotal: f.amountMinor,
        amount_total: f.amountMinor,
        cancel_url: 'https://courses.example.com/checkout/cancelled',
        client_reference_id: f.courseId,
        created: f.createdAt - 120,
        currency,
        customer: null,
        customer_creation: 'if_required',
        customer_details: {
          address: null,
          email: f.email,
          name: f.name,
          phone: f.phone,
          tax_exempt: 'none',
          tax_ids: [],
        },
        customer_email: f.email,
        expires_at: f.createdAt - 120 + 86_400,
        livemode: false,
        metadata: presentEntries({ course_id: f.courseId, student_name: f.name }),
        mode: 'payment',
        payment_intent: f.paymentId,
        payment_method_types: kind === 'checkout.session.completed' ? ['card'] : ['customer_balance'],
        // The async event exists precisely to say a delayed payment has now been paid.
        payment_status: kind === 'checkout.session.completed' ? f.paymentStatus : 'paid',
        status: 'complete',
        success_url: 'https://courses.example.com/checkout/success?session_id={CHECKOUT_SESSION_ID}',
        url: null,
      };
      break;
    }
    case 'payment_intent.succeeded':
    case 'payment_intent.payment_failed': {
      const failed = kind === 'payment_intent.payment_failed';
      object = {
        id: f.paymentId,
        object: 'payment_intent',
        amount: f.amountMinor,
        amount_capturable: 0,
        amount_received: failed ? 0 : f.amountMinor,
        capture_method: 'automatic_async',
        client_secret: `${f.paymentId}_secret_${derivedAlphanumeric(`secret:${f.paymentId}`, 25)}`,
        confirmation_method: 'automatic',
        created: f.createdAt - 60,
        currency,
        customer: null,
        description: 'Course enrollment',
        last_payment_error: failed
          ? {
              code: 'card_declined',
              decline_code: 'generic_decline',
              message: 'Your card was declined.',
              type: 'card_error',
            }
          : null,
        latest_charge: ids.chargeId,
        livemode: false,
        metadata: studentMetadata(f),
        payment_method: ids.paymentMethodId,
        payment_method_types: ['card'],
        receipt_email: f.email,
        status: failed ? 'requires_payment_method' : 'succeeded',
      };
      break;
    }
    case 'charge.refunded': {
      object = {
        id: ids.chargeId,
        object: 'charge',
        amount: f.amountMinor,
        amount_captured: f.amountMinor,
        amount_refunded: f.amountMinor,
        billing_details: { address: null, email: f.email, name: f.name, phone: f.phone },
        captured: true,
        created: f.createdAt - 60,
        currency,
        livemode: false,
        metadata: studentMetadata(f),
        paid: true,
        payment_intent: f.paymentId,
        payment_method: ids.paymentMethodId,
        receipt_email: f.email,
        refunded: true,
        status: 'succeeded',
      };
      previousAttributes = { amount_refunded: 0, refunded: false };
      break;
    }
  }

  const event: StripeWebhookEvent = {
    id: `evt_${randomAlphanumeric(24)}`,
    object: 'event',
    api_version: stripeSdk().API_VERSION,
    created: f.createdAt,
    data: previousAttributes ? { object, previous_attributes: previousAttributes } : { object },
    livemode: false,
    pending_webhooks: 1,
    // Events caused by a customer action in Checkout carry no API request.
    request: { id: null, idempotency_key: null },
    type: kind,
  };
  return event;
}
