/**
 * Builders for webhook bodies shaped exactly as Razorpay and Stripe send them (field names, id
 * formats, quirks such as Razorpay's `notes: []`), for the `send` CLI, the sandbox and tests.
 * See docs in /work/shared/protocols.md. Pure apart from id randomness and the default clock.
 */
import { createHash, randomInt } from 'node:crypto';
import Stripe from 'stripe';
import type { PaymentProvider } from '../shared/payment-event';

export const razorpayEventKinds = [
  'payment.captured',
  'order.paid',
  'payment.failed',
  'refund.processed',
] as const;
export type RazorpayEventKind = (typeof razorpayEventKinds)[number];

export const stripeEventKinds = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'charge.refunded',
] as const;
export type StripeEventKind = (typeof stripeEventKinds)[number];

/** The event a provider sends first for a plain successful payment. */
export const defaultEventKind = {
  razorpay: 'payment.captured',
  stripe: 'checkout.session.completed',
} as const satisfies { razorpay: RazorpayEventKind; stripe: StripeEventKind };

/** Both "paid" events a provider may send for one payment (either first, often both). */
export const paidEventPair = {
  razorpay: ['payment.captured', 'order.paid'],
  stripe: ['checkout.session.completed', 'payment_intent.succeeded'],
} as const satisfies { razorpay: readonly RazorpayEventKind[]; stripe: readonly StripeEventKind[] };

export function isEventKind(provider: 'razorpay', kind: string): kind is RazorpayEventKind;
export function isEventKind(provider: 'stripe', kind: string): kind is StripeEventKind;
export function isEventKind(provider: PaymentProvider, kind: string): boolean;
export function isEventKind(provider: PaymentProvider, kind: string): boolean {
  const kinds: readonly string[] = provider === 'razorpay' ? razorpayEventKinds : stripeEventKinds;
  return kinds.includes(kind);
}

/**
 * What a test or a person wants to vary about a payment. `undefined` means "realistic default".
 * `null` on an enrollment field removes it: the key is left out of `notes`/`metadata` (maps), and
 * fixed-schema fields carry `null`, as the providers' own objects do (`client_reference_id: null`).
 */
export interface PaymentFixture {
  paymentId?: string;
  orderId?: string;
  amountMinor?: number;
  currency?: string;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  courseId?: string | null;
  paymentStatus?: 'paid' | 'unpaid';
  /** Unix seconds. */
  createdAt?: number;
}

/** A fixture with every default applied; resolve once to build several events of one payment. */
export type ResolvedFixture = Required<PaymentFixture>;

export const fixtureDefaults = {
  amountMinor: 49_900,
  currency: 'INR',
  email: 'asha.rao@example.com',
  name: 'Asha Rao',
  phone: '+919876543210',
  courseId: 'course_ts101',
  paymentStatus: 'paid',
} as const;

/** A merchant has one account id; a fixed realistic one keeps bodies comparable across runs. */
export const RAZORPAY_TEST_ACCOUNT_ID = 'acc_BFQ7uQEaa7j2z7';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/**
 * Ids that belong to the payment (its order, session, charge) are derived from the payment id, so
 * building two events for one payment yields the same related ids without threading them around.
 */
function derivedAlphanumeric(seed: string, length: number): string {
  let out = '';
  for (let round = 0; out.length < length; round++) {
    const digest = createHash('sha256').update(`${seed}#${round}`).digest();
    for (const byte of digest) {
      if (out.length === length) break;
      out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
    }
  }
  return out;
}

/** Razorpay `pay_` + 14 alphanumerics; Stripe PaymentIntent `pi_` + 24 alphanumerics. */
export function newPaymentId(provider: PaymentProvider): string {
  return provider === 'razorpay' ? `pay_${randomAlphanumeric(14)}` : `pi_${randomAlphanumeric(24)}`;
}

/** An event id like Razorpay's `X-Razorpay-Event-Id` (14 alphanumerics), stable for one body. */
export function razorpayEventIdFor(rawBody: string | Buffer): string {
  return derivedAlphanumeric(createHash('sha256').update(rawBody).digest('hex'), 14);
}

export function resolveFixture(provider: PaymentProvider, p: PaymentFixture = {}): ResolvedFixture {
  const paymentId = p.paymentId ?? newPaymentId(provider);
  const pick = <T>(value: T | null | undefined, fallback: T): T | null =>
    value === undefined ? fallback : value;
  return {
    paymentId,
    orderId: p.orderId ?? `order_${derivedAlphanumeric(`order:${paymentId}`, 14)}`,
    amountMinor: p.amountMinor ?? fixtureDefaults.amountMinor,
    currency: p.currency ?? fixtureDefaults.currency,
    email: pick(p.email, fixtureDefaults.email),
    name: pick(p.name, fixtureDefaults.name),
    phone: pick(p.phone, fixtureDefaults.phone),
    courseId: pick(p.courseId, fixtureDefaults.courseId),
    paymentStatus: p.paymentStatus ?? fixtureDefaults.paymentStatus,
    createdAt: p.createdAt ?? Math.floor(Date.now() / 1000),
  };
}

/** Keeps only the entries whose value is a string (maps leave absent keys out). */
function presentEntries(entries: Record<string, string | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) if (value !== null) out[key] = value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Razorpay

/** Razorpay sends `[]` (an empty PHP array) for empty notes and an object otherwise. */
export type RazorpayNotes = Record<string, string> | [];

export interface RazorpayPaymentEntity {
  id: string;
  entity: 'payment';
  amount: number;
  currency: string;
  base_amount: number;
  status: 'created' | 'authorized' | 'captured' | 'refunded' | 'failed';
  order_id: string;
  invoice_id: null;
  international: boolean;
  method: 'upi';
  amount_refunded: number;
  amount_transferred: number;
  refund_status: null | 'partial' | 'full';
  captured: boolean;
  description: string;
  card_id: null;
  bank: null;
  wallet: null;
  vpa: string;
  email: string | null;
  contact: string | null;
  notes: RazorpayNotes;
  fee: number | null;
  tax: number | null;
  error_code: string | null;
  error_description: string | null;
  error_source: string | null;
  error_step: string | null;
  error_reason: string | null;
  acquirer_data: { rrn: string | null; upi_transaction_id: string | null };
  upi: { payer_account_type: 'bank_account'; vpa: string };
  created_at: number;
}

export interface RazorpayOrderEntity {
  id: string;
  entity: 'order';
  amount: number;
  amount_paid: number;
  amount_due: number;
  currency: string;
  receipt: string;
  offer_id: null;
  status: 'paid';
  attempts: number;
  notes: RazorpayNotes;
  created_at: number;
}

export interface RazorpayRefundEntity {
  id: string;
  entity: 'refund';
  amount: number;
  currency: string;
  payment_id: string;
  notes: RazorpayNotes;
  receipt: null;
  acquirer_data: { rrn: string };
  created_at: number;
  batch_id: null;
  status: 'processed';
  speed_processed: 'normal';
  speed_requested: 'normal';
}

export interface RazorpayWebhookEvent {
  entity: 'event';
  account_id: string;
  event: RazorpayEventKind;
  contains: Array<'payment' | 'order' | 'refund'>;
  payload: {
    payment: { entity: RazorpayPaymentEntity };
    order?: { entity: RazorpayOrderEntity };
    refund?: { entity: RazorpayRefundEntity };
  };
  created_at: number;
}

export function razorpayNotes(f: Pick<ResolvedFixture, 'courseId' | 'name'>): RazorpayNotes {
  const notes = presentEntries({ course_id: f.courseId, student_name: f.name });
  return Object.keys(notes).length === 0 ? [] : notes;
}

function digits(seed: string, length: number): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return BigInt(`0x${hex}`).toString().slice(0, length).padStart(length, '0');
}

export function razorpayEvent(kind: RazorpayEventKind, p: PaymentFixture = {}): RazorpayWebhookEvent {
  const f = resolveFixture('razorpay', p);
  const currency = f.currency.toUpperCase();
  const notes = razorpayNotes(f);
  const failed = kind === 'payment.failed';
  const refunded = kind === 'refund.processed';
  // Razorpay's standard fee is 2% plus 18% GST on the fee; `fee` includes the tax.
  const feeBase = Math.round(f.amountMinor * 0.02);
  const tax = Math.round(feeBase * 0.18);
  const rrn = digits(`rrn:${f.paymentId}`, 12);
  const vpa = 'success@razorpay';

  const payment: RazorpayPaymentEntity = {
    id: f.paymentId,
    entity: 'payment',
    amount: f.amountMinor,
    currency,
    base_amount: f.amountMinor,
    status: failed ? 'failed' : refunded ? 'refunded' : 'captured',
    order_id: f.orderId,
    invoice_id: null,
    international: false,
    method: 'upi',
    amount_refunded: refunded ? f.amountMinor : 0,
    amount_transferred: 0,
    refund_status: refunded ? 'full' : null,
    captured: !failed,
    // A slash on purpose: Razorpay escapes it as `\/`, which breaks receivers that re-serialise.
    description: 'Course enrollment / lifetime access',
    card_id: null,
    bank: null,
    wallet: null,
    vpa,
    email: f.email,
    contact: f.phone,
    notes,
    fee: failed ? null : feeBase + tax,
    tax: failed ? null : tax,
    error_code: failed ? 'BAD_REQUEST_ERROR' : null,
    error_description: failed ? 'Payment was unsuccessful as you may have pressed the back button.' : null,
    error_source: failed ? 'customer' : null,
    error_step: failed ? 'payment_authentication' : null,
    error_reason: failed ? 'payment_cancelled' : null,
    acquirer_data: { rrn: failed ? null : rrn, upi_transaction_id: failed ? null : digits(`upi:${rrn}`, 12) },
    upi: { payer_account_type: 'bank_account', vpa },
    created_at: f.createdAt,
  };

  const event: RazorpayWebhookEvent = {
    entity: 'event',
    account_id: RAZORPAY_TEST_ACCOUNT_ID,
    event: kind,
    contains: ['payment'],
    payload: { payment: { entity: payment } },
    created_at: f.createdAt,
  };

  if (kind === 'order.paid') {
    event.contains = ['payment', 'order'];
    event.payload.order = {
      entity: {
        id: f.orderId,
        entity: 'order',
        amount: f.amountMinor,
        amount_paid: f.amountMinor,
        amount_due: 0,
        currency,
        receipt: `rcpt_${f.orderId.slice('order_'.length, 'order_'.length + 8)}`,
        offer_id: null,
        status: 'paid',
        attempts: 1,
        notes,
        created_at: f.createdAt - 30,
      },
    };
  }

  if (refunded) {
    const refundCreatedAt = f.createdAt + 3600;
    event.contains = ['refund', 'payment'];
    event.payload.refund = {
      entity: {
        id: `rfnd_${derivedAlphanumeric(`refund:${f.paymentId}`, 14)}`,
        entity: 'refund',
        amount: f.amountMinor,
        currency,
        payment_id: f.paymentId,
        notes: [],
        receipt: null,
        acquirer_data: { rrn: digits(`refund-rrn:${f.paymentId}`, 12) },
        created_at: refundCreatedAt,
        batch_id: null,
        status: 'processed',
        speed_processed: 'normal',
        speed_requested: 'normal',
      },
    };
    event.created_at = refundCreatedAt;
  }

  return event;
}

// ---------------------------------------------------------------------------------------------
// Stripe

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

export function stripeEvent(kind: StripeEventKind, p: PaymentFixture = {}): StripeWebhookEvent {
  const f = resolveFixture('stripe', p);
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
        metadata: presentEntries({
          course_id: f.courseId,
          student_email: f.email,
          student_name: f.name,
          student_phone: f.phone,
        }),
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
        metadata: presentEntries({
          course_id: f.courseId,
          student_email: f.email,
          student_name: f.name,
          student_phone: f.phone,
        }),
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
    api_version: Stripe.API_VERSION,
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
