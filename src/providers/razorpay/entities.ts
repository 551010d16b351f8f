/**
 * Razorpay's API entities as its REST API and webhooks render them (payment, order, payment link,
 * subscription, invoice), and builders that fill in the fields Razorpay always sends. The sandbox
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
  status: 'created' | 'authenticated' | 'active' | 'completed';
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
