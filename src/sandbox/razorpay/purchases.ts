/**
 * A purchase as Razorpay records it: the merchant object (order, payment link, subscription) with the
 * merchant's notes, the captured payment(s) carrying what checkout.js added, and the webhooks Razorpay
 * sends for it, in its order. Pure: the caller stores the records and answers with the result.
 */
import { z } from 'zod';
import type { PurchaseResult } from '../../providers/purchase';
import { derivedAlphanumeric } from '../../providers/fixture';
import {
  type RazorpayInvoiceEntity,
  type RazorpayOrderEntity,
  type RazorpayPaymentEntity,
  type RazorpayPaymentLinkEntity,
  type RazorpaySubscriptionEntity,
  BILLING_PERIOD_SECONDS,
  capturedPayment,
  derivedId,
  notesOrEmpty,
  orderIdForPayment,
  subscriptionEntity,
} from '../../providers/razorpay/entities';
import { razorpayWebhook } from '../../providers/razorpay/fixtures';
import { newRazorpayPaymentId } from '../../providers/razorpay/ids';
import type { RazorpayRecords } from './store';

// Razorpay's own limits on notes: at most 15 keys, values up to 256 characters.
const notesSchema = z
  .record(z.string().min(1).max(256), z.string().max(256))
  .refine((notes) => Object.keys(notes).length <= 15, 'at most 15 notes');

const optionalText = z.string().min(1).max(320).nullable().optional();

/** The Razorpay subset of `PurchaseSpec`; Stripe-only fields are accepted and ignored. */
export const razorpayPurchaseSpecSchema = z
  .object({
    kind: z.enum(['order', 'payment-link', 'subscription']),
    paymentId: z
      .string()
      .regex(/^pay_[A-Za-z0-9]{14}$/, 'a Razorpay payment id: pay_ and 14 alphanumerics')
      .optional(),
    amountMinor: z.number().int().positive(),
    currency: z.string().regex(/^[A-Za-z]{3}$/, 'an ISO 4217 code'),
    customer: z.object({ email: optionalText, name: optionalText, phone: optionalText }),
    merchant: z.object({
      notes: notesSchema.optional(),
      planId: z
        .string()
        .regex(/^plan_[A-Za-z0-9]{1,40}$/, 'a Razorpay plan id')
        .optional(),
    }),
    buyer: z.object({ notes: notesSchema.optional() }).optional(),
    partialPayments: z.array(z.number().int().positive()).min(1).max(20).optional(),
    /** An order paid in full twice: a second tab, or a late authorisation Razorpay auto-captured. */
    paidTwice: z.boolean().optional(),
    charges: z.number().int().min(1).max(120).optional(),
    createdAt: z.number().int().positive().optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.partialPayments) {
      if (spec.kind !== 'order')
        ctx.addIssue({
          code: 'custom',
          path: ['partialPayments'],
          message: 'only an order takes partial payments',
        });
      else if (spec.partialPayments.reduce((a, b) => a + b, 0) !== spec.amountMinor)
        ctx.addIssue({ code: 'custom', path: ['partialPayments'], message: 'must add up to amountMinor' });
    }
    if (spec.paidTwice && (spec.kind !== 'order' || spec.partialPayments))
      ctx.addIssue({ code: 'custom', path: ['paidTwice'], message: 'only a standard order is paid twice' });
    if (spec.kind === 'subscription' && !spec.merchant.planId)
      ctx.addIssue({ code: 'custom', path: ['merchant', 'planId'], message: 'a subscription needs a plan' });
    if (spec.charges !== undefined && spec.kind !== 'subscription')
      ctx.addIssue({ code: 'custom', path: ['charges'], message: 'only a subscription has charges' });
  });

export type RazorpayPurchaseSpec = z.infer<typeof razorpayPurchaseSpecSchema>;

export interface BuiltPurchase {
  records: Partial<RazorpayRecords>;
  result: PurchaseResult;
}

/** Subscriptions here run a year of monthly charges unless more were paid. */
const DEFAULT_TOTAL_COUNT = 12;

interface Buyer {
  email: string | null;
  name: string | null;
  contact: string | null;
}

export function buildRazorpayPurchase(spec: RazorpayPurchaseSpec, nowSeconds: number): BuiltPurchase {
  const firstPaymentId = spec.paymentId ?? newRazorpayPaymentId();
  const t0 = spec.createdAt ?? nowSeconds;
  const buyer: Buyer = {
    email: spec.customer.email ?? null,
    name: spec.customer.name ?? null,
    contact: spec.customer.phone ?? null,
  };
  const paymentIdAt = (i: number) => (i === 0 ? firstPaymentId : derivedId('pay', `${firstPaymentId}:${i}`));
  const build = { order: buildOrder, 'payment-link': buildPaymentLink, subscription: buildSubscription }[
    spec.kind
  ];
  return build(spec, { firstPaymentId, t0, buyer, paymentIdAt });
}

interface Context {
  firstPaymentId: string;
  t0: number;
  buyer: Buyer;
  paymentIdAt(i: number): string;
}

function buildOrder(spec: RazorpayPurchaseSpec, c: Context): BuiltPurchase {
  const amounts =
    spec.partialPayments ?? (spec.paidTwice ? [spec.amountMinor, spec.amountMinor] : [spec.amountMinor]);
  const orderId = orderIdForPayment(c.firstPaymentId);
  // checkout.js copies the notes passed to it onto the payment, in the buyer's browser.
  const buyerNotes = notesOrEmpty(spec.buyer?.notes);
  const payments = amounts.map((amount, i) =>
    capturedPayment({
      id: c.paymentIdAt(i),
      amount,
      currency: spec.currency,
      orderId,
      email: c.buyer.email,
      contact: c.buyer.contact,
      notes: buyerNotes,
      createdAt: c.t0 + i * 3600,
    }),
  );
  const order = paidOrder(orderId, spec, notesOrEmpty(spec.merchant.notes), c.t0, payments.length);
  if (spec.partialPayments) order.partial_payment = true;
  // order.paid comes once, for the payment that paid the order (the first, when it is paid twice).
  const last = payments[spec.paidTwice ? 0 : payments.length - 1] as RazorpayPaymentEntity;
  const deliveries = payments.map((payment) => captured(payment));
  deliveries.push({
    eventType: 'order.paid',
    body: razorpayWebhook('order.paid', { payment: last, order }, last.created_at),
  });
  return {
    records: { payments, orders: [order] },
    result: {
      paymentId: c.firstPaymentId,
      paymentIds: payments.map((p) => p.id),
      references: { order: orderId },
      deliveries,
    },
  };
}

function buildPaymentLink(spec: RazorpayPurchaseSpec, c: Context): BuiltPurchase {
  const plinkId = derivedId('plink', c.firstPaymentId);
  const orderId = orderIdForPayment(c.firstPaymentId);
  const payment = capturedPayment({
    id: c.firstPaymentId,
    amount: spec.amountMinor,
    currency: spec.currency,
    orderId,
    email: c.buyer.email,
    contact: c.buyer.contact,
    notes: notesOrEmpty(spec.buyer?.notes),
    createdAt: c.t0,
    description: `#${plinkId.slice('plink_'.length)}`,
  });
  // The link keeps the merchant's notes; the order Razorpay makes for it carries none of its own.
  const order = paidOrder(orderId, spec, [], c.t0, 1);
  const customer: RazorpayPaymentLinkEntity['customer'] = {
    ...(c.buyer.name !== null && { name: c.buyer.name }),
    ...(c.buyer.email !== null && { email: c.buyer.email }),
    ...(c.buyer.contact !== null && { contact: c.buyer.contact }),
  };
  const link: RazorpayPaymentLinkEntity = {
    id: plinkId,
    accept_partial: false,
    amount: spec.amountMinor,
    amount_paid: spec.amountMinor,
    cancelled_at: 0,
    created_at: c.t0 - 600,
    currency: spec.currency.toUpperCase(),
    customer,
    description: 'Course enrollment',
    expire_by: 0,
    expired_at: 0,
    first_min_partial_amount: 0,
    notes: notesOrEmpty(spec.merchant.notes),
    notify: { email: true, sms: true },
    order_id: orderId,
    payments: [
      {
        amount: spec.amountMinor,
        created_at: c.t0,
        method: payment.method,
        payment_id: payment.id,
        plink_id: plinkId,
        status: 'captured',
        updated_at: c.t0,
      },
    ],
    reference_id: `ref_${derivedAlphanumeric(`ref:${plinkId}`, 8)}`,
    reminder_enable: false,
    reminders: [],
    short_url: `https://rzp.io/i/${derivedAlphanumeric(`short:${plinkId}`, 8)}`,
    status: 'paid',
    updated_at: c.t0,
    upi_link: false,
    user_id: '',
  };
  // payment_link.paid names the order without its `order_` prefix (docs/providers.md).
  const bareOrder = { ...order, id: orderId.slice('order_'.length) };
  return {
    records: { payments: [payment], orders: [order], paymentLinks: [link] },
    result: {
      paymentId: payment.id,
      paymentIds: [payment.id],
      references: { payment_link: plinkId, order: orderId },
      deliveries: [
        captured(payment),
        { eventType: 'order.paid', body: razorpayWebhook('order.paid', { payment, order }, c.t0) },
        {
          eventType: 'payment_link.paid',
          body: razorpayWebhook('payment_link.paid', { payment_link: link, order: bareOrder, payment }, c.t0),
        },
      ],
    },
  };
}

function buildSubscription(spec: RazorpayPurchaseSpec, c: Context): BuiltPurchase {
  const charges = spec.charges ?? 1;
  const subscriptionId = derivedId('sub', c.firstPaymentId);
  const customerId = derivedId('cust', c.firstPaymentId);
  const totalCount = Math.max(DEFAULT_TOTAL_COUNT, charges);
  const chargeAt = (i: number) => c.t0 + i * BILLING_PERIOD_SECONDS;

  const snapshot = (paid: number): RazorpaySubscriptionEntity =>
    subscriptionEntity({
      id: subscriptionId,
      planId: spec.merchant.planId ?? '',
      customerId,
      notes: notesOrEmpty(spec.merchant.notes),
      startAt: c.t0,
      totalCount,
      paidCount: paid,
    });

  const payments: RazorpayPaymentEntity[] = [];
  const orders: RazorpayOrderEntity[] = [];
  const invoices: RazorpayInvoiceEntity[] = [];
  const deliveries: PurchaseResult['deliveries'] = [];
  for (let i = 0; i < charges; i++) {
    const paymentId = c.paymentIdAt(i);
    const at = chargeAt(i);
    const orderId = orderIdForPayment(paymentId);
    const invoiceId = derivedId('inv', paymentId);
    const payment = capturedPayment({
      id: paymentId,
      amount: spec.amountMinor,
      currency: spec.currency,
      orderId,
      invoiceId,
      customerId,
      email: c.buyer.email,
      contact: c.buyer.contact,
      // Only the first charge goes through checkout; renewals are charged by Razorpay itself.
      notes: i === 0 ? notesOrEmpty(spec.buyer?.notes) : [],
      createdAt: at,
    });
    payments.push(payment);
    orders.push(paidOrder(orderId, spec, [], at, 1));
    invoices.push({
      id: invoiceId,
      entity: 'invoice',
      receipt: null,
      invoice_number: null,
      customer_id: customerId,
      customer_details: {
        id: customerId,
        name: c.buyer.name,
        email: c.buyer.email,
        contact: c.buyer.contact,
        billing_address: null,
        shipping_address: null,
      },
      order_id: orderId,
      subscription_id: subscriptionId,
      payment_id: paymentId,
      status: 'paid',
      issued_at: at,
      paid_at: at,
      amount: spec.amountMinor,
      amount_paid: spec.amountMinor,
      amount_due: 0,
      currency: spec.currency.toUpperCase(),
      description: null,
      notes: [],
      short_url: `https://rzp.io/i/${derivedAlphanumeric(`short:${invoiceId}`, 8)}`,
      billing_start: at,
      billing_end: at + BILLING_PERIOD_SECONDS,
      type: 'invoice',
      created_at: at,
    });
    const subscription = snapshot(i + 1);
    deliveries.push(captured(payment));
    if (i === 0) {
      deliveries.push({
        eventType: 'subscription.activated',
        body: razorpayWebhook('subscription.activated', { subscription }, at),
      });
    }
    deliveries.push({
      eventType: 'subscription.charged',
      body: razorpayWebhook('subscription.charged', { subscription, payment }, at),
    });
  }
  return {
    records: { payments, orders, invoices, subscriptions: [snapshot(charges)] },
    result: {
      paymentId: c.firstPaymentId,
      paymentIds: payments.map((p) => p.id),
      references: { subscription: subscriptionId, customer: customerId },
      deliveries,
    },
  };
}

function paidOrder(
  id: string,
  spec: RazorpayPurchaseSpec,
  notes: RazorpayOrderEntity['notes'],
  paymentAt: number,
  attempts: number,
): RazorpayOrderEntity {
  return {
    id,
    entity: 'order',
    amount: spec.amountMinor,
    amount_paid: spec.amountMinor,
    amount_due: 0,
    currency: spec.currency.toUpperCase(),
    receipt: `rcpt_${id.slice('order_'.length, 'order_'.length + 8)}`,
    offer_id: null,
    status: 'paid',
    attempts,
    notes,
    created_at: paymentAt - 30,
  };
}

const captured = (payment: RazorpayPaymentEntity) => ({
  eventType: 'payment.captured',
  body: razorpayWebhook('payment.captured', { payment }, payment.created_at),
});

/** Every id a purchase would create, to refuse one that reuses an id already in the account. */
export function idsOf(records: Partial<RazorpayRecords>): string[] {
  return Object.values(records).flatMap((list: Array<{ id: string }> | undefined) =>
    (list ?? []).map((r) => r.id),
  );
}
