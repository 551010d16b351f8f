/**
 * A chargeback as Razorpay records and announces it: a `disp_` dispute on a captured payment, opened
 * (`payment.dispute.created`) and later won or lost (`payment.dispute.won` | `payment.dispute.lost`; a
 * lost one deducts its amount from the merchant). Each webhook carries the payment, then the dispute.
 * Pure: the caller stores what it returns.
 */
import { z } from 'zod';
import {
  type RazorpayDisputeEntity,
  type RazorpayPaymentEntity,
  closedDispute,
  disputeIdFor,
  openDispute,
} from '../../providers/razorpay/entities';
import { razorpayWebhook } from '../../providers/razorpay/fixtures';
import type { PurchaseDelivery } from '../../providers/purchase';
import { razorpayPaymentIdSchema } from './refunds';

export const razorpayDisputeSpecSchema = z.object({
  paymentId: razorpayPaymentIdSchema,
  /** Default: what has not been refunded. */
  amountMinor: z.number().int().positive().optional(),
});
export type RazorpayDisputeSpec = z.infer<typeof razorpayDisputeSpecSchema>;

export const disputeCloseSpecSchema = z.object({ outcome: z.enum(['won', 'lost']) });
export type DisputeCloseSpec = z.infer<typeof disputeCloseSpecSchema>;

export interface DisputeResult {
  disputeId: string;
  /** The disputed payment: what a workflow is keyed by. */
  paymentId: string;
  amountMinor: number;
  status: RazorpayDisputeEntity['status'];
  deliveries: PurchaseDelivery[];
}

export type BuiltDispute =
  | { ok: true; dispute: RazorpayDisputeEntity; payment: RazorpayPaymentEntity; result: DisputeResult }
  | { ok: false; status: number; description: string };

const refused = (description: string): BuiltDispute => ({ ok: false, status: 400, description });

const stillOpen = (d: RazorpayDisputeEntity) => d.status === 'open' || d.status === 'under_review';

/** What a dispute webhook says: the payment as it stands and the dispute, at `at`. */
function answer(
  event: string,
  dispute: RazorpayDisputeEntity,
  payment: RazorpayPaymentEntity,
  at: number,
): BuiltDispute {
  return {
    ok: true,
    dispute,
    payment,
    result: {
      disputeId: dispute.id,
      paymentId: payment.id,
      amountMinor: dispute.amount,
      status: dispute.status,
      deliveries: [{ eventType: event, body: razorpayWebhook(event, { payment, dispute }, at) }],
    },
  };
}

export function openRazorpayDispute(
  payment: RazorpayPaymentEntity | undefined,
  disputesSoFar: RazorpayDisputeEntity[],
  spec: RazorpayDisputeSpec,
  nowSeconds: number,
): BuiltDispute {
  if (!payment) return refused('The id provided does not exist');
  // A bank disputes money it paid out: a fully refunded payment has none left to take back.
  if (payment.status !== 'captured') {
    return refused(`The payment has been ${payment.status}; only captured payments can be disputed`);
  }
  if (disputesSoFar.some(stillOpen)) return refused('The payment already has a dispute in progress');
  const left = payment.amount - payment.amount_refunded;
  const amount = spec.amountMinor ?? left;
  if (amount > left) return refused('The dispute amount is greater than the amount captured');
  const dispute = openDispute({
    id: disputeIdFor(payment.id, disputesSoFar.length + 1),
    paymentId: payment.id,
    amount,
    currency: payment.currency,
    createdAt: nowSeconds,
  });
  const updated: RazorpayPaymentEntity = { ...structuredClone(payment), disputed: true };
  return answer('payment.dispute.created', dispute, updated, nowSeconds);
}

export function closeRazorpayDispute(
  dispute: RazorpayDisputeEntity | undefined,
  payment: RazorpayPaymentEntity | undefined,
  spec: DisputeCloseSpec,
  nowSeconds: number,
): BuiltDispute {
  if (!dispute || !payment) return refused('The id provided does not exist');
  if (!stillOpen(dispute)) {
    return refused(`The dispute cannot be closed as it is already in ${dispute.status} state`);
  }
  return answer(`payment.dispute.${spec.outcome}`, closedDispute(dispute, spec.outcome), payment, nowSeconds);
}
