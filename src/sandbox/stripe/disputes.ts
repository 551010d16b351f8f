/**
 * A chargeback as Stripe records and announces it: a `dp_` Dispute on the payment's charge (which
 * becomes `disputed`), `charge.dispute.created`, and once the network decides, `charge.dispute.closed`
 * with the dispute won or lost. Each event's object is the dispute as it then stands.
 */
import type Stripe from 'stripe';
import { z } from 'zod';
import type { PurchaseDelivery } from '../../providers/purchase';
import { closedStripeDispute, stripeDispute, stripeDisputeIdFor } from '../../providers/stripe/fixtures';
import { event } from './purchases';
import { stripePaymentIdSchema } from './refunds';
import type { StripeStore } from './store';

export const stripeDisputeSpecSchema = z.object({
  paymentId: stripePaymentIdSchema,
  /** Default: what has not been refunded. */
  amountMinor: z.number().int().positive().optional(),
});

export const stripeDisputeCloseSpecSchema = z.object({ outcome: z.enum(['won', 'lost']) });

export interface StripeDisputeResult {
  disputeId: string;
  /** The disputed payment as enrollflow keys it: its PaymentIntent, or the invoice it paid. */
  paymentId: string;
  amountMinor: number;
  status: Stripe.Dispute.Status;
  deliveries: PurchaseDelivery[];
}

type Outcome = { ok: true; result: StripeDisputeResult } | { ok: false; status: number; message: string };

const refused = (status: number, message: string): Outcome => ({ ok: false, status, message });

/** Still waiting for the merchant or the network; the other statuses are final. */
const OPEN: ReadonlySet<string> = new Set([
  'needs_response',
  'under_review',
  'warning_needs_response',
  'warning_under_review',
]);

function answer(type: string, dispute: Stripe.Dispute, paymentId: string, nowSeconds: number): Outcome {
  return {
    ok: true,
    result: {
      disputeId: dispute.id,
      paymentId,
      amountMinor: dispute.amount,
      status: dispute.status,
      deliveries: [event(type, dispute, nowSeconds)],
    },
  };
}

/** Opens a dispute on the payment's charge in the store; a refusal carries Stripe's status and message. */
export function openStripeDispute(
  store: StripeStore,
  spec: z.output<typeof stripeDisputeSpecSchema>,
  nowSeconds: number,
): Outcome {
  const paid = store.chargeOf(spec.paymentId);
  if (!paid) return refused(404, `No such payment_intent: '${spec.paymentId}'`);
  const { intent, charge } = paid;
  const left = charge.amount - charge.amount_refunded;
  // A bank disputes money it paid out: a refunded charge has none left to take back.
  if (left === 0) return refused(400, `Charge ${charge.id} has been refunded; it cannot be disputed.`);
  const ofCharge = [...store.disputes.values()].filter((d) => d.charge === charge.id);
  if (ofCharge.some((d) => OPEN.has(d.status))) {
    return refused(400, `Charge ${charge.id} has already been disputed.`);
  }
  const amount = spec.amountMinor ?? left;
  if (amount > left) {
    return refused(400, `Dispute amount (${amount}) is greater than unrefunded amount on charge (${left})`);
  }
  const dispute = stripeDispute({
    id: stripeDisputeIdFor(charge.id, ofCharge.length + 1),
    chargeId: charge.id,
    paymentIntentId: intent.id,
    amountMinor: amount,
    currency: charge.currency,
    created: nowSeconds,
  });
  store.disputes.set(dispute.id, dispute);
  store.charges.set(charge.id, { ...structuredClone(charge), disputed: true });
  return answer('charge.dispute.created', dispute, store.paymentKeyOf(intent.id), nowSeconds);
}

/** Closes an open dispute as the network decided it. */
export function closeStripeDispute(
  store: StripeStore,
  id: string,
  spec: z.output<typeof stripeDisputeCloseSpecSchema>,
  nowSeconds: number,
): Outcome {
  const dispute = store.disputes.get(id);
  if (!dispute) return refused(404, `No such dispute: '${id}'`);
  if (!OPEN.has(dispute.status)) {
    return refused(400, `This dispute is already closed (${dispute.status}); it cannot be closed again.`);
  }
  const closed = closedStripeDispute(dispute, spec.outcome);
  store.disputes.set(id, closed);
  // Opened by the sandbox, so its intent is always named.
  const intentId = typeof closed.payment_intent === 'string' ? closed.payment_intent : '';
  return answer('charge.dispute.closed', closed, store.paymentKeyOf(intentId), nowSeconds);
}
