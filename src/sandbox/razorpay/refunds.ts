/**
 * A refund as Razorpay records and announces it: a `rfnd_` entity on the payment, the payment's
 * cumulative `amount_refunded` and `refund_status` (partial | full; a fully refunded payment's status
 * becomes `refunded`, a partly refunded one stays `captured`), and the webhooks Razorpay sends,
 * `refund.created` then `refund.processed`, each carrying the refund and the payment. Pure: the caller
 * stores what it returns.
 */
import { z } from 'zod';
import { derivedAlphanumeric, derivedDigits } from '../../providers/fixture';
import type { RazorpayPaymentEntity } from '../../providers/razorpay/entities';
import { razorpayWebhook, type RazorpayRefundEntity } from '../../providers/razorpay/fixtures';
import type { PurchaseDelivery } from '../../providers/purchase';

export const razorpayPaymentIdSchema = z
  .string()
  .regex(/^pay_[A-Za-z0-9]{14}$/, 'a Razorpay payment id: pay_ and 14 alphanumerics');

export const razorpayRefundSpecSchema = z.object({
  paymentId: razorpayPaymentIdSchema,
  /** Default: what is left to refund (a full refund). */
  amountMinor: z.number().int().positive().optional(),
});
export type RazorpayRefundSpec = z.infer<typeof razorpayRefundSpecSchema>;

export interface RefundResult {
  refundId: string;
  /** The payment the refund is for: what a workflow is keyed by. */
  paymentId: string;
  amountMinor: number;
  /** Whether the payment is now refunded in full. */
  full: boolean;
  deliveries: PurchaseDelivery[];
}

export type BuiltRefund =
  | { ok: true; refund: RazorpayRefundEntity; payment: RazorpayPaymentEntity; result: RefundResult }
  | { ok: false; status: number; description: string };

export function buildRazorpayRefund(
  payment: RazorpayPaymentEntity | undefined,
  refundsSoFar: number,
  spec: RazorpayRefundSpec,
  nowSeconds: number,
): BuiltRefund {
  if (!payment) return { ok: false, status: 400, description: 'The id provided does not exist' };
  if (payment.status !== 'captured') {
    return {
      ok: false,
      status: 400,
      description: `The payment has been ${payment.status}; only captured payments can be refunded`,
    };
  }
  const left = payment.amount - payment.amount_refunded;
  const amount = spec.amountMinor ?? left;
  if (amount > left) {
    return {
      ok: false,
      status: 400,
      description: 'The refund amount provided is greater than amount captured',
    };
  }
  const refundedNow = payment.amount_refunded + amount;
  const full = refundedNow === payment.amount;
  const updated: RazorpayPaymentEntity = {
    ...structuredClone(payment),
    amount_refunded: refundedNow,
    refund_status: full ? 'full' : 'partial',
    status: full ? 'refunded' : 'captured',
  };
  const seed = `refund:${payment.id}:${refundsSoFar + 1}`;
  const refund: RazorpayRefundEntity = {
    id: `rfnd_${derivedAlphanumeric(seed, 14)}`,
    entity: 'refund',
    amount,
    currency: payment.currency,
    payment_id: payment.id,
    notes: [],
    receipt: null,
    acquirer_data: { rrn: derivedDigits(`rrn:${seed}`, 12) },
    created_at: nowSeconds,
    batch_id: null,
    status: 'processed',
    speed_processed: 'normal',
    speed_requested: 'normal',
  };
  // refund.created announces the refund as Razorpay starts it, before the bank has processed it.
  const created = { ...refund, status: 'pending' as const };
  const deliveries: PurchaseDelivery[] = [
    {
      eventType: 'refund.created',
      body: razorpayWebhook('refund.created', { refund: created, payment: updated }, nowSeconds),
    },
    {
      eventType: 'refund.processed',
      body: razorpayWebhook('refund.processed', { refund, payment: updated }, nowSeconds),
    },
  ];
  return {
    ok: true,
    refund,
    payment: updated,
    result: { refundId: refund.id, paymentId: payment.id, amountMinor: amount, full, deliveries },
  };
}
