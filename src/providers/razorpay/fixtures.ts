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
  type RazorpayInvoiceEntity,
  type RazorpayNotes,
  type RazorpayOrderEntity,
  type RazorpayPaymentEntity,
  type RazorpayPaymentLinkEntity,
  type RazorpaySubscriptionEntity,
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
  /** `pending` in `refund.created`, `processed` once the bank has it. */
  status: 'pending' | 'processed';
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
