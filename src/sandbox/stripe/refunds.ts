/**
 * A refund as Stripe records and announces it: a `re_` Refund on the payment's charge, the charge's
 * cumulative `amount_refunded` and `refunded` (true only once fully refunded), and the events Stripe
 * sends, `refund.created` then `charge.refunded` (whose object is the charge as it now stands).
 */
import type Stripe from 'stripe';
import { z } from 'zod';
import type { PurchaseDelivery } from '../../providers/purchase';
import * as build from './objects';
import { event } from './purchases';
import type { StripeStore } from './store';

/** The payment as enrollflow keys it: a PaymentIntent, or the invoice a subscription charge paid. */
export const stripePaymentIdSchema = z
  .string()
  .regex(/^(pi|in)_[A-Za-z0-9]{14,}$/, 'a Stripe PaymentIntent or Invoice id: pi_... or in_...');

export const stripeRefundSpecSchema = z.object({
  paymentId: stripePaymentIdSchema,
  /** Default: what is left to refund (a full refund). */
  amountMinor: z.number().int().positive().optional(),
});

export interface StripeRefundResult {
  refundId: string;
  paymentId: string;
  amountMinor: number;
  full: boolean;
  deliveries: PurchaseDelivery[];
}

/** Refunds the intent's charge in the store; a refusal carries Stripe's status and message. */
export function refundPayment(
  store: StripeStore,
  spec: z.output<typeof stripeRefundSpecSchema>,
  nowSeconds: number,
): { ok: true; result: StripeRefundResult } | { ok: false; status: number; message: string } {
  // A subscription charge is keyed by its invoice: the refund goes to the intent that paid it.
  const paid = store.chargeOf(spec.paymentId);
  if (!paid) return { ok: false, status: 404, message: `No such payment_intent: '${spec.paymentId}'` };
  const { intent, charge } = paid;
  const left = charge.amount - charge.amount_refunded;
  if (left === 0) {
    return { ok: false, status: 400, message: `Charge ${charge.id} has already been refunded.` };
  }
  const amount = spec.amountMinor ?? left;
  if (amount > left) {
    return {
      ok: false,
      status: 400,
      message: `Refund amount (${amount}) is greater than unrefunded amount on charge (${left})`,
    };
  }
  const refund: Stripe.Refund = {
    id: build.derivedId('re_', `${charge.id}:${store.refunds.size + 1}`),
    object: 'refund',
    amount,
    balance_transaction: build.derivedId('txn_', `refund:${charge.id}:${store.refunds.size + 1}`),
    charge: charge.id,
    created: nowSeconds,
    currency: charge.currency,
    customer: charge.customer,
    customer_account: null,
    metadata: {},
    payment_intent: intent.id,
    payment_method: charge.payment_method,
    reason: 'requested_by_customer',
    receipt_number: null,
    source_transfer_reversal: null,
    status: 'succeeded',
    transfer_reversal: null,
  };
  const updated: Stripe.Charge = {
    ...structuredClone(charge),
    amount_refunded: charge.amount_refunded + amount,
    refunded: charge.amount_refunded + amount === charge.amount,
  };
  store.refunds.set(refund.id, refund);
  store.charges.set(updated.id, updated);
  return {
    ok: true,
    result: {
      refundId: refund.id,
      paymentId: spec.paymentId,
      amountMinor: amount,
      full: updated.refunded,
      deliveries: [
        event('refund.created', refund, nowSeconds),
        event('charge.refunded', updated, nowSeconds),
      ],
    },
  };
}
