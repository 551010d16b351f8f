/**
 * Webhook bodies shaped exactly as Razorpay sends them: field names, id formats, and quirks such as
 * `notes: []` for empty notes (docs/providers.md). For the `send` CLI, the sandbox and tests.
 */
import {
  type PaymentFixture,
  type ResolvedFixture,
  derivedAlphanumeric,
  derivedDigits,
  isOneOf,
  presentEntries,
  resolveFixtureWith,
} from '../fixture';
import {
  type RazorpayDisputeEntity,
  type RazorpayInvoiceEntity,
  type RazorpayNotes,
  type RazorpayOrderEntity,
  type RazorpayPaymentEntity,
  type RazorpayPaymentLinkEntity,
  type RazorpaySubscriptionEntity,
  closedDispute,
  derivedId,
  disputeIdFor,
  openDispute,
  subscriptionEntity,
} from './entities';
import { newRazorpayPaymentId } from './ids';

export type { RazorpayNotes, RazorpayOrderEntity, RazorpayPaymentEntity } from './entities';

/** The events the builder produces: both paid events, a failure and a refund. */
export const razorpayEventKinds = [
  'payment.captured',
  'order.paid',
  'payment.failed',
  'refund.processed',
] as const;
export type RazorpayEventKind = (typeof razorpayEventKinds)[number];
export const isRazorpayEventKind = isOneOf(razorpayEventKinds);

/** A merchant has one account id; a fixed realistic one keeps bodies comparable across runs. */
export const RAZORPAY_TEST_ACCOUNT_ID = 'acc_BFQ7uQEaa7j2z7';

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
  /** `pending` in `refund.created`, `processed` once the bank has it, `failed` if it never will. */
  status: 'pending' | 'processed' | 'failed';
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

export function razorpayEvent(
  kind: RazorpayEventKind,
  p: PaymentFixture | ResolvedFixture = {},
): RazorpayWebhookEvent {
  const f = resolveFixtureWith(newRazorpayPaymentId, p);
  const currency = f.currency.toUpperCase();
  const notes = razorpayNotes(f);
  const failed = kind === 'payment.failed';
  const refunded = kind === 'refund.processed';
  // Razorpay's standard fee is 2% plus 18% GST on the fee; `fee` includes the tax.
  const feeBase = Math.round(f.amountMinor * 0.02);
  const tax = Math.round(feeBase * 0.18);
  const rrn = derivedDigits(`rrn:${f.paymentId}`, 12);
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
    acquirer_data: {
      rrn: failed ? null : rrn,
      upi_transaction_id: failed ? null : derivedDigits(`upi:${rrn}`, 12),
    },
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
        acquirer_data: { rrn: derivedDigits(`refund-rrn:${f.paymentId}`, 12) },
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

/** The entities an event carries, by payload key; `contains` lists them in this order. */
export interface RazorpayEventEntities {
  refund?: RazorpayRefundEntity;
  payment_link?: RazorpayPaymentLinkEntity;
  subscription?: RazorpaySubscriptionEntity;
  order?: RazorpayOrderEntity;
  payment?: RazorpayPaymentEntity;
  invoice?: RazorpayInvoiceEntity;
  dispute?: RazorpayDisputeEntity;
}

export interface RazorpayWebhookBody {
  entity: 'event';
  account_id: string;
  event: string;
  contains: string[];
  payload: { [K in keyof RazorpayEventEntities]?: { entity: NonNullable<RazorpayEventEntities[K]> } };
  created_at: number;
}

/**
 * Any event around entities the caller already has (the sandbox's stored records): the webhook is a
 * snapshot of them at `createdAt`, so the caller passes copies as they were at that moment.
 */
export function razorpayWebhook(
  event: string,
  entities: RazorpayEventEntities,
  createdAt: number,
): RazorpayWebhookBody {
  const payload: Record<string, { entity: object }> = {};
  for (const [key, entity] of Object.entries(entities) as Array<[string, object | undefined]>) {
    if (entity !== undefined) payload[key] = { entity: structuredClone(entity) };
  }
  return {
    entity: 'event',
    account_id: RAZORPAY_TEST_ACCOUNT_ID,
    event,
    contains: Object.keys(payload),
    payload: payload,
    created_at: createdAt,
  };
}

/*
 * Builders for the events that take money or access back. They are not in `razorpayEventKinds`: their
 * bodies carry no payment (a subscription's end) or more than the fixture describes (a dispute), so the
 * registry's `buildEvent` and `send --no-sandbox` keep to the payment events.
 */

const HOUR = 3600;
const DAY = 24 * HOUR;

/** The fixture's payment as captured, to wrap in a later event about it. */
const capturedOf = (f: ResolvedFixture): RazorpayPaymentEntity =>
  razorpayEvent('payment.captured', f).payload.payment.entity;

export const razorpayDisputeEventKinds = [
  'payment.dispute.created',
  'payment.dispute.won',
  'payment.dispute.lost',
  'payment.dispute.closed',
] as const;
export type RazorpayDisputeEventKind = (typeof razorpayDisputeEventKinds)[number];

export interface RazorpayDisputeFixture {
  /** Default: the id the sandbox gives the payment's first dispute. */
  disputeId?: string;
  /** Default: the whole payment. */
  amountMinor?: number;
  /** The event's `created_at`; default an hour after the payment (created), a day after that (the rest). */
  at?: number;
}

/**
 * A chargeback on the fixture's payment: `created` opens it, `won` / `lost` end it so (lost: its amount
 * deducted), `closed` ends it without a verdict. Contains the payment, then the dispute.
 */
export function razorpayDisputeEvent(
  kind: RazorpayDisputeEventKind,
  p: PaymentFixture | ResolvedFixture = {},
  d: RazorpayDisputeFixture = {},
): RazorpayWebhookBody {
  const f = resolveFixtureWith(newRazorpayPaymentId, p);
  const opened = openDispute({
    id: d.disputeId ?? disputeIdFor(f.paymentId, 1),
    paymentId: f.paymentId,
    amount: d.amountMinor ?? f.amountMinor,
    currency: f.currency,
    createdAt: f.createdAt + HOUR,
  });
  const outcome = kind.slice('payment.dispute.'.length) as 'created' | 'won' | 'lost' | 'closed';
  const dispute = outcome === 'created' ? opened : closedDispute(opened, outcome);
  const at = d.at ?? (outcome === 'created' ? opened.created_at : opened.created_at + DAY);
  return razorpayWebhook(kind, { payment: { ...capturedOf(f), disputed: true }, dispute }, at);
}

export const razorpaySubscriptionEndKinds = [
  'subscription.cancelled',
  'subscription.halted',
  'subscription.completed',
] as const;
export type RazorpaySubscriptionEndKind = (typeof razorpaySubscriptionEndKinds)[number];

export interface RazorpaySubscriptionFixture {
  /** Default: the plan the sandbox would not know; name a catalog plan to resolve it. */
  planId?: string;
  /** Charges paid before the end (default 1; `completed` makes this every charge of the plan). */
  charges?: number;
  /** The event's `created_at`; default when the subscription ends (cancelled: an hour after paying). */
  at?: number;
}

/**
 * The end of a subscription whose first charge is the fixture's payment (ids derived from it as the
 * sandbox derives them): cancelled by the merchant mid-period, halted after failed renewals (not ended:
 * it may resume), or completed with its last charge. Contains the subscription only.
 */
export function razorpaySubscriptionEvent(
  kind: RazorpaySubscriptionEndKind,
  p: PaymentFixture | ResolvedFixture = {},
  s: RazorpaySubscriptionFixture = {},
): RazorpayWebhookBody {
  const f = resolveFixtureWith(newRazorpayPaymentId, p);
  const charges = s.charges ?? 1;
  const base = subscriptionEntity({
    id: derivedId('sub', f.paymentId),
    planId: s.planId ?? derivedId('plan', f.paymentId),
    customerId: derivedId('cust', f.paymentId),
    notes: razorpayNotes(f),
    startAt: f.createdAt,
    totalCount: kind === 'subscription.completed' ? charges : Math.max(12, charges),
    paidCount: charges,
  });
  let subscription: RazorpaySubscriptionEntity;
  let at: number;
  switch (kind) {
    case 'subscription.cancelled':
      at = s.at ?? f.createdAt + HOUR;
      subscription = { ...base, status: 'cancelled', ended_at: at };
      break;
    case 'subscription.halted':
      // Halted once the renewal due at the period's end has failed its retries.
      at = s.at ?? base.current_end + 3 * DAY;
      subscription = { ...base, status: 'halted' };
      break;
    case 'subscription.completed':
      at = s.at ?? base.current_end;
      subscription = base;
      break;
  }
  return razorpayWebhook(kind, { subscription }, at);
}

/**
 * `refund.failed`: the bank gave a refund back, so the payment is as it was before the refund
 * (nothing refunded). Contains the refund, then the payment.
 */
export function razorpayRefundFailedEvent(
  p: PaymentFixture | ResolvedFixture = {},
  at?: number,
): RazorpayWebhookBody {
  const f = resolveFixtureWith(newRazorpayPaymentId, p);
  const processed = razorpayEvent('refund.processed', f);
  const refund: RazorpayRefundEntity = { ...processed.payload.refund!.entity, status: 'failed' };
  return razorpayWebhook('refund.failed', { refund, payment: capturedOf(f) }, at ?? refund.created_at + DAY);
}
