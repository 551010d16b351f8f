/**
 * Webhook bodies shaped exactly as Stripe sends them (API objects of the pinned API version, test-mode
 * ids), for the `send` CLI, the sandbox and tests. docs/providers.md describes what we read of them.
 */
import type Stripe from 'stripe';
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

export type StripeWebhookEvent = StripeEventBody<
  StripeEventKind,
  StripeCheckoutSession | StripePaymentIntent | StripeCharge
>;

/** How a merchant's server puts the student on a PaymentIntent (and so on its charge). */
const studentMetadata = (f: ResolvedFixture) =>
  presentEntries({
    course_id: f.courseId,
    student_email: f.email,
    student_name: f.name,
    student_phone: f.phone,
  });

/** An id derived from a seed, as the sandbox derives the ids of one purchase's objects. */
export const derivedStripeId = (prefix: string, seed: string, length = 24): string =>
  `${prefix}${derivedAlphanumeric(`${prefix}${seed}`, length)}`;

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

  return stripeEnvelope(kind, object, f.createdAt, previousAttributes);
}

/** Any Stripe event around an object: what the builders below and the sandbox wrap theirs in. */
export interface StripeEventBody<K extends string = string, T = unknown> {
  id: string;
  object: 'event';
  api_version: string;
  created: number;
  data: { object: T; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: K;
}

export function stripeEnvelope<K extends string, T>(
  type: K,
  object: T,
  created: number,
  previousAttributes?: Record<string, unknown>,
): StripeEventBody<K, T> {
  return {
    id: `evt_${randomAlphanumeric(24)}`,
    object: 'event',
    api_version: stripeSdk().API_VERSION,
    created,
    data: previousAttributes ? { object, previous_attributes: previousAttributes } : { object },
    livemode: false,
    pending_webhooks: 1,
    // Events caused by a customer in Checkout or by Stripe itself (Billing, the card networks) carry
    // no API request.
    request: { id: null, idempotency_key: null },
    type,
  };
}

/*
 * Builders for the events that take money or access back. They are not in `stripeEventKinds`: their
 * objects are not the payment the fixture describes (a dispute, a subscription, a renewal's invoice),
 * so the registry's `buildEvent` and `send --no-sandbox` keep to the payment events.
 */

const HOUR = 3600;
const DAY = 24 * HOUR;

/** How long a merchant has to answer a dispute here (Stripe's deadlines vary by network and reason). */
const DISPUTE_RESPONSE_SECONDS = 7 * DAY;

/** The `n`th dispute of a charge (1-based): the sandbox and the fixtures name it alike. */
export const stripeDisputeIdFor = (chargeId: string, n: number): string =>
  derivedStripeId('dp_', `${chargeId}:${n}`);

export interface StripeDisputeInput {
  id: string;
  chargeId: string;
  paymentIntentId: string | null;
  amountMinor: number;
  currency: string;
  created: number;
}

/** A card chargeback as the network raises it: fraudulent, waiting for the merchant's evidence. */
export function stripeDispute(d: StripeDisputeInput): Stripe.Dispute {
  return {
    id: d.id,
    object: 'dispute',
    amount: d.amountMinor,
    balance_transactions: [],
    charge: d.chargeId,
    created: d.created,
    currency: d.currency.toLowerCase(),
    enhanced_eligibility_types: [],
    evidence: {
      access_activity_log: null,
      billing_address: null,
      cancellation_policy: null,
      cancellation_policy_disclosure: null,
      cancellation_rebuttal: null,
      customer_communication: null,
      customer_email_address: null,
      customer_name: null,
      customer_purchase_ip: null,
      customer_signature: null,
      duplicate_charge_documentation: null,
      duplicate_charge_explanation: null,
      duplicate_charge_id: null,
      enhanced_evidence: {},
      product_description: null,
      receipt: null,
      refund_policy: null,
      refund_policy_disclosure: null,
      refund_refusal_explanation: null,
      service_date: null,
      service_documentation: null,
      shipping_address: null,
      shipping_carrier: null,
      shipping_date: null,
      shipping_documentation: null,
      shipping_tracking_number: null,
      uncategorized_file: null,
      uncategorized_text: null,
    },
    evidence_details: {
      due_by: d.created + DISPUTE_RESPONSE_SECONDS,
      enhanced_eligibility: {},
      has_evidence: false,
      past_due: false,
      submission_count: 0,
      submission_method: 'not_submitted',
    },
    intended_submission_method: null,
    // Money taken in a fraud dispute cannot also be refunded.
    is_charge_refundable: false,
    livemode: false,
    metadata: {},
    network_reason_code: '10.4',
    payment_intent: d.paymentIntentId,
    payment_method_details: {
      card: { brand: 'visa', case_type: 'chargeback', network: 'visa', network_reason_code: '10.4' },
      type: 'card',
    },
    reason: 'fraudulent',
    status: 'needs_response',
  };
}

/** Ends a dispute: a won one had the merchant's evidence, a lost one took the money for good. */
export function closedStripeDispute(
  dispute: Stripe.Dispute,
  status: 'won' | 'lost' | 'warning_closed',
): Stripe.Dispute {
  const contested = status === 'won';
  return {
    ...structuredClone(dispute),
    status,
    evidence_details: {
      ...dispute.evidence_details,
      has_evidence: contested,
      submission_count: contested ? 1 : 0,
      submission_method: contested ? 'manual' : 'not_submitted',
    },
  };
}

export const stripeDisputeEventKinds = ['charge.dispute.created', 'charge.dispute.closed'] as const;
export type StripeDisputeEventKind = (typeof stripeDisputeEventKinds)[number];

export interface StripeDisputeFixture {
  /** Default: the id the sandbox gives the first dispute of the payment's charge. */
  disputeId?: string;
  /** How `charge.dispute.closed` ended it (default lost). */
  status?: 'won' | 'lost' | 'warning_closed';
  /** The event's `created`; default an hour after the payment (created), a day after that (closed). */
  at?: number;
}

/** A dispute of the fixture's payment's charge; the event's object is the dispute. */
export function stripeDisputeEvent(
  kind: StripeDisputeEventKind,
  p: PaymentFixture | ResolvedFixture = {},
  d: StripeDisputeFixture = {},
): StripeEventBody<StripeDisputeEventKind, Stripe.Dispute> {
  const f = resolveFixtureWith(newStripePaymentId, p);
  const { chargeId } = stripeRelatedIds(f.paymentId);
  const opened = stripeDispute({
    id: d.disputeId ?? stripeDisputeIdFor(chargeId, 1),
    chargeId,
    paymentIntentId: f.paymentId,
    amountMinor: f.amountMinor,
    currency: f.currency,
    created: f.createdAt + HOUR,
  });
  if (kind === 'charge.dispute.created') return stripeEnvelope(kind, opened, d.at ?? opened.created);
  return stripeEnvelope(kind, closedStripeDispute(opened, d.status ?? 'lost'), d.at ?? opened.created + DAY);
}

/** The ids of a subscription whose first charge is the fixture's payment, as the sandbox derives them. */
const subscriptionIdsOf = (paymentId: string) => ({
  subscriptionId: derivedStripeId('sub_', paymentId),
  customerId: derivedStripeId('cus_', paymentId, 14),
  priceId: derivedStripeId('price_', paymentId),
  productId: derivedStripeId('prod_', paymentId, 14),
});

const MONTH = 30 * DAY;

/** The parts of a Subscription the event readers use (the sandbox serves the whole object). */
export interface StripeSubscription {
  id: string;
  object: 'subscription';
  cancel_at: number | null;
  cancel_at_period_end: boolean;
  canceled_at: number | null;
  cancellation_details: { comment: null; feedback: null; reason: 'cancellation_requested' | null };
  created: number;
  currency: string;
  customer: string;
  ended_at: number | null;
  items: {
    object: 'list';
    data: Array<{
      id: string;
      object: 'subscription_item';
      current_period_start: number;
      current_period_end: number;
      price: { id: string; object: 'price'; product: string; unit_amount: number; currency: string };
      quantity: number;
      subscription: string;
    }>;
    has_more: false;
    url: string;
  };
  latest_invoice: string;
  livemode: false;
  metadata: Record<string, string>;
  start_date: number;
  status: 'active' | 'past_due' | 'canceled';
}

export interface StripeSubscriptionFixture {
  /** The event's `created`, when the subscription was canceled; default an hour after the payment. */
  at?: number;
}

/**
 * `customer.subscription.deleted`: a monthly subscription whose first charge is the fixture's payment,
 * canceled at once mid-period (its item's `current_period_end` says what was paid for).
 */
export function stripeSubscriptionDeletedEvent(
  p: PaymentFixture | ResolvedFixture = {},
  s: StripeSubscriptionFixture = {},
): StripeEventBody<'customer.subscription.deleted', StripeSubscription> {
  const f = resolveFixtureWith(newStripePaymentId, p);
  const ids = subscriptionIdsOf(f.paymentId);
  const at = s.at ?? f.createdAt + HOUR;
  const currency = f.currency.toLowerCase();
  const subscription: StripeSubscription = {
    id: ids.subscriptionId,
    object: 'subscription',
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: at,
    cancellation_details: { comment: null, feedback: null, reason: 'cancellation_requested' },
    created: f.createdAt,
    currency,
    customer: ids.customerId,
    ended_at: at,
    items: {
      object: 'list',
      data: [
        {
          id: derivedStripeId('si_', `${ids.subscriptionId}:0`, 14),
          object: 'subscription_item',
          current_period_start: f.createdAt,
          current_period_end: f.createdAt + MONTH,
          price: {
            id: ids.priceId,
            object: 'price',
            product: ids.productId,
            unit_amount: f.amountMinor,
            currency,
          },
          quantity: 1,
          subscription: ids.subscriptionId,
        },
      ],
      has_more: false,
      url: `/v1/subscription_items?subscription=${ids.subscriptionId}`,
    },
    latest_invoice: derivedStripeId('in_', f.paymentId),
    livemode: false,
    metadata: studentMetadata(f),
    start_date: f.createdAt,
    status: 'canceled',
  };
  return stripeEnvelope('customer.subscription.deleted', subscription, at);
}

/** The parts of an Invoice the event readers use (the sandbox serves the whole object). */
export interface StripeInvoice {
  id: string;
  object: 'invoice';
  amount_due: number;
  amount_paid: number;
  amount_remaining: number;
  attempt_count: number;
  attempted: boolean;
  billing_reason: 'subscription_cycle';
  collection_method: 'charge_automatically';
  created: number;
  currency: string;
  customer: string;
  customer_email: string | null;
  livemode: false;
  metadata: Record<string, string>;
  next_payment_attempt: number | null;
  parent: {
    quote_details: null;
    subscription_details: { metadata: Record<string, string>; subscription: string };
    type: 'subscription_details';
  };
  period_end: number;
  period_start: number;
  status: 'open';
}

export interface StripeInvoiceFixture {
  /** Which attempt failed (default the first); Smart Retries try again three days later. */
  attempt?: number;
  /** The event's `created`; default when the first renewal fell due, a month after the payment. */
  at?: number;
}

/**
 * `invoice.payment_failed`: the first renewal of the subscription the fixture's payment started could
 * not be charged; the invoice stays open while Stripe retries.
 */
export function stripeInvoicePaymentFailedEvent(
  p: PaymentFixture | ResolvedFixture = {},
  i: StripeInvoiceFixture = {},
): StripeEventBody<'invoice.payment_failed', StripeInvoice> {
  const f = resolveFixtureWith(newStripePaymentId, p);
  const ids = subscriptionIdsOf(f.paymentId);
  const periodStart = f.createdAt + MONTH;
  const at = i.at ?? periodStart;
  const invoice: StripeInvoice = {
    id: derivedStripeId('in_', `renewal:${f.paymentId}`),
    object: 'invoice',
    amount_due: f.amountMinor,
    amount_paid: 0,
    amount_remaining: f.amountMinor,
    attempt_count: i.attempt ?? 1,
    attempted: true,
    billing_reason: 'subscription_cycle',
    collection_method: 'charge_automatically',
    created: periodStart,
    currency: f.currency.toLowerCase(),
    customer: ids.customerId,
    customer_email: f.email,
    livemode: false,
    metadata: {},
    next_payment_attempt: at + 3 * DAY,
    parent: {
      quote_details: null,
      subscription_details: { metadata: studentMetadata(f), subscription: ids.subscriptionId },
      type: 'subscription_details',
    },
    period_end: periodStart + MONTH,
    period_start: periodStart,
    status: 'open',
  };
  return stripeEnvelope('invoice.payment_failed', invoice, at);
}
