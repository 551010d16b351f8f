/**
 * Razorpay's API entities as its REST API and webhooks render them (payment, order, payment link,
 * subscription, invoice, dispute), and builders that fill in the fields Razorpay always sends. The sandbox
 * stores these and the webhook builders in fixtures.ts wrap them, so an API read and a webhook body
 * of one purchase agree field for field.
 */
import { derivedAlphanumeric, derivedDigits } from '../fixture';

/** Razorpay sends `[]` (an empty PHP array) for empty notes and an object otherwise. */
export type RazorpayNotes = Record<string, string> | [];

export const notesOrEmpty = (notes: Record<string, string> | undefined): RazorpayNotes =>
  notes && Object.keys(notes).length > 0 ? { ...notes } : [];

export interface RazorpayPaymentEntity {
  id: string;
  entity: 'payment';
  amount: number;
  currency: string;
  base_amount: number;
  status: 'created' | 'authorized' | 'captured' | 'refunded' | 'failed';
  order_id: string | null;
  invoice_id: string | null;
  international: boolean;
  method: string;
  amount_refunded: number;
  amount_transferred: number;
  refund_status: null | 'partial' | 'full';
  captured: boolean;
  description: string | null;
  card_id: null;
  bank: null;
  wallet: null;
  vpa: string;
  email: string | null;
  contact: string | null;
  customer_id?: string;
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
  /**
   * The sandbox sets it once a dispute is opened on the payment, so a test can read that back; a
   * client learns of disputes from `/disputes/:id` and the dispute webhooks.
   */
  disputed?: boolean;
}

export interface RazorpayOrderEntity {
  id: string;
  entity: 'order';
  amount: number;
  amount_paid: number;
  amount_due: number;
  currency: string;
  receipt: string | null;
  offer_id: null;
  /** Only on orders that take several payments. */
  partial_payment?: boolean;
  status: 'created' | 'attempted' | 'paid';
  attempts: number;
  notes: RazorpayNotes;
  created_at: number;
}

/** One row of a payment link's `payments` list. */
export interface RazorpayPaymentLinkPayment {
  amount: number;
  created_at: number;
  method: string;
  payment_id: string;
  plink_id: string;
  status: 'captured';
  updated_at: number;
}

export interface RazorpayPaymentLinkEntity {
  id: string;
  accept_partial: boolean;
  amount: number;
  amount_paid: number;
  cancelled_at: number;
  created_at: number;
  currency: string;
  customer: { name?: string; email?: string; contact?: string };
  description: string;
  expire_by: number;
  expired_at: number;
  first_min_partial_amount: number;
  notes: RazorpayNotes;
  notify: { email: boolean; sms: boolean };
  order_id: string;
  payments: RazorpayPaymentLinkPayment[] | null;
  reference_id: string;
  reminder_enable: boolean;
  reminders: [];
  short_url: string;
  status: 'created' | 'partially_paid' | 'paid';
  updated_at: number;
  upi_link: boolean;
  user_id: string;
}

export interface RazorpaySubscriptionEntity {
  id: string;
  entity: 'subscription';
  plan_id: string;
  customer_id: string;
  status:
    | 'created'
    | 'authenticated'
    | 'active'
    | 'pending'
    | 'halted'
    | 'paused'
    | 'cancelled'
    | 'completed'
    | 'expired';
  current_start: number;
  current_end: number;
  ended_at: number | null;
  quantity: number;
  notes: RazorpayNotes;
  charge_at: number;
  start_at: number;
  end_at: number;
  auth_attempts: number;
  total_count: number;
  paid_count: number;
  customer_notify: boolean;
  created_at: number;
  expire_by: number | null;
  short_url: string;
  has_scheduled_changes: boolean;
  change_scheduled_at: number | null;
  source: 'api';
  offer_id: null;
  remaining_count: number;
}

export interface RazorpayInvoiceEntity {
  id: string;
  entity: 'invoice';
  receipt: null;
  invoice_number: null;
  customer_id: string;
  customer_details: {
    id: string;
    name: string | null;
    email: string | null;
    contact: string | null;
    billing_address: null;
    shipping_address: null;
  };
  order_id: string;
  subscription_id: string;
  payment_id: string;
  status: 'paid';
  issued_at: number;
  paid_at: number;
  amount: number;
  amount_paid: number;
  amount_due: number;
  currency: string;
  description: null;
  notes: RazorpayNotes;
  short_url: string;
  billing_start: number;
  billing_end: number;
  type: 'invoice';
  created_at: number;
}

export interface PaymentEntityInput {
  id: string;
  amount: number;
  currency: string;
  orderId: string | null;
  invoiceId?: string | null;
  customerId?: string;
  email: string | null;
  contact: string | null;
  notes: RazorpayNotes;
  createdAt: number;
  description?: string;
}

/** A captured UPI payment, with the fee Razorpay charges (2% plus 18% GST on it). */
export function capturedPayment(p: PaymentEntityInput): RazorpayPaymentEntity {
  const feeBase = Math.round(p.amount * 0.02);
  const tax = Math.round(feeBase * 0.18);
  const rrn = derivedDigits(`rrn:${p.id}`, 12);
  const vpa = 'success@razorpay';
  return {
    id: p.id,
    entity: 'payment',
    amount: p.amount,
    currency: p.currency.toUpperCase(),
    base_amount: p.amount,
    status: 'captured',
    order_id: p.orderId,
    invoice_id: p.invoiceId ?? null,
    international: false,
    method: 'upi',
    amount_refunded: 0,
    amount_transferred: 0,
    refund_status: null,
    captured: true,
    description: p.description ?? 'Course enrollment / lifetime access',
    card_id: null,
    bank: null,
    wallet: null,
    vpa,
    email: p.email,
    contact: p.contact,
    ...(p.customerId !== undefined && { customer_id: p.customerId }),
    notes: p.notes,
    fee: feeBase + tax,
    tax,
    error_code: null,
    error_description: null,
    error_source: null,
    error_step: null,
    error_reason: null,
    acquirer_data: { rrn, upi_transaction_id: derivedDigits(`upi:${rrn}`, 12) },
    upi: { payer_account_type: 'bank_account', vpa },
    created_at: p.createdAt,
  };
}

/** The order id the fixture builders give a payment (src/providers/fixture.ts), so both agree. */
export const orderIdForPayment = (paymentId: string): string =>
  `order_${derivedAlphanumeric(`order:${paymentId}`, 14)}`;

/** Ids of the other objects of a purchase, derived from its first payment so a rerun names them alike. */
export const derivedId = (prefix: string, seed: string): string =>
  `${prefix}_${derivedAlphanumeric(`${prefix}:${seed}`, 14)}`;

/** Razorpay bills a monthly plan every 30 days here; subscriptions' periods are counted in these. */
export const BILLING_PERIOD_SECONDS = 30 * 24 * 3600;

export interface SubscriptionEntityInput {
  id: string;
  planId: string;
  customerId: string;
  notes: RazorpayNotes;
  /** When the first charge was made: the first period starts then. */
  startAt: number;
  totalCount: number;
  paidCount: number;
}

/**
 * A subscription after `paidCount` charges: the current period is the one the last charge paid for,
 * and it is completed (ended at that period's end) once every charge of the plan is paid.
 */
export function subscriptionEntity(s: SubscriptionEntityInput): RazorpaySubscriptionEntity {
  const currentStart = s.startAt + (s.paidCount - 1) * BILLING_PERIOD_SECONDS;
  const currentEnd = currentStart + BILLING_PERIOD_SECONDS;
  const completed = s.paidCount === s.totalCount;
  return {
    id: s.id,
    entity: 'subscription',
    plan_id: s.planId,
    customer_id: s.customerId,
    status: completed ? 'completed' : 'active',
    current_start: currentStart,
    current_end: currentEnd,
    ended_at: completed ? currentEnd : null,
    quantity: 1,
    notes: s.notes,
    charge_at: currentEnd,
    start_at: s.startAt,
    end_at: s.startAt + s.totalCount * BILLING_PERIOD_SECONDS,
    auth_attempts: 0,
    total_count: s.totalCount,
    paid_count: s.paidCount,
    customer_notify: true,
    created_at: s.startAt - 60,
    expire_by: null,
    short_url: `https://rzp.io/i/${derivedAlphanumeric(`short:${s.id}`, 8)}`,
    has_scheduled_changes: false,
    change_scheduled_at: null,
    source: 'api',
    offer_id: null,
    remaining_count: s.totalCount - s.paidCount,
  };
}

/** Document ids (`doc_...`) submitted as one kind of evidence; null for a kind not given. */
type Evidence = string[] | null;

export interface RazorpayDisputeEntity {
  id: string;
  entity: 'dispute';
  payment_id: string;
  amount: number;
  currency: string;
  /** Taken from the merchant's balance: 0 unless the dispute is lost. */
  amount_deducted: number;
  reason_code: string;
  reason_description: string;
  /** Unix seconds by which the merchant must answer. */
  respond_by: number;
  status: 'open' | 'under_review' | 'won' | 'lost' | 'closed';
  phase: 'fraud' | 'retrieval' | 'chargeback' | 'pre_arbitration' | 'arbitration';
  created_at: number;
  evidence: {
    amount: number;
    summary: string | null;
    shipping_proof: Evidence;
    billing_proof: Evidence;
    cancellation_proof: Evidence;
    customer_communication: Evidence;
    proof_of_service: Evidence;
    explanation_letter: Evidence;
    refund_confirmation: Evidence;
    access_activity_log: Evidence;
    refund_cancellation_policy: Evidence;
    term_and_conditions: Evidence;
    others: Array<{ type: string; document_ids: string[] }> | null;
    submitted_at: number | null;
  };
}

/** How long a merchant has to answer a chargeback here (Razorpay's own windows are a few days). */
export const DISPUTE_RESPONSE_SECONDS = 7 * 24 * 3600;

/** The `n`th dispute of a payment (1-based): the sandbox and the fixtures name it alike. */
export const disputeIdFor = (paymentId: string, n: number): string =>
  `disp_${derivedAlphanumeric(`dispute:${paymentId}:${n}`, 14)}`;

export interface DisputeEntityInput {
  id: string;
  paymentId: string;
  amount: number;
  currency: string;
  createdAt: number;
}

/** A chargeback as the issuing bank raises it: open, nothing deducted yet, no evidence submitted. */
export function openDispute(d: DisputeEntityInput): RazorpayDisputeEntity {
  return {
    id: d.id,
    entity: 'dispute',
    payment_id: d.paymentId,
    amount: d.amount,
    currency: d.currency.toUpperCase(),
    amount_deducted: 0,
    reason_code: 'chargeback',
    reason_description: 'The customer has disputed the payment with their bank.',
    respond_by: d.createdAt + DISPUTE_RESPONSE_SECONDS,
    status: 'open',
    phase: 'chargeback',
    created_at: d.createdAt,
    evidence: {
      amount: d.amount,
      summary: null,
      shipping_proof: null,
      billing_proof: null,
      cancellation_proof: null,
      customer_communication: null,
      proof_of_service: null,
      explanation_letter: null,
      refund_confirmation: null,
      access_activity_log: null,
      refund_cancellation_policy: null,
      term_and_conditions: null,
      others: null,
      submitted_at: null,
    },
  };
}

/**
 * Ends a dispute: a lost one takes its whole amount from the merchant's balance; `closed` ends one
 * without a verdict (the merchant refunded, or the bank withdrew it).
 */
export function closedDispute(
  dispute: RazorpayDisputeEntity,
  outcome: 'won' | 'lost' | 'closed',
): RazorpayDisputeEntity {
  return {
    ...structuredClone(dispute),
    status: outcome,
    amount_deducted: outcome === 'lost' ? dispute.amount : 0,
  };
}
