/**
 * Stripe's record of money going back, through the official SDK: a refunded charge (its cumulative
 * `amount_refunded`; `refunded` only once in full), a dispute, or a subscription that ended. Each is
 * traced to the payment enrollflow keys: the PaymentIntent, or the invoice it paid.
 */
import type Stripe from 'stripe';
import type { AccessEvent } from '../../domain/access-event';
import { unixSecondsToIso } from '../../providers/adapter';
import type { Logger } from '../../runtime/logger';
import type { ConfirmAccessChangeResult } from '../types';
import { type Read, type StripeConfig, clientFor, idOf, invoicePaidBy, paidInvoices, reader } from './stripe';

type Change = Omit<ConfirmAccessChangeResult, 'attempt'>;

/**
 * `warning_*` are inquiries that may become a chargeback; `warning_closed` ended without one, so the
 * money stayed, like a dispute won.
 */
const DISPUTE_STATES: Record<string, Change['state']> = {
  warning_needs_response: 'dispute_open',
  warning_under_review: 'dispute_open',
  needs_response: 'dispute_open',
  under_review: 'dispute_open',
  won: 'dispute_won',
  warning_closed: 'dispute_won',
  lost: 'dispute_lost',
};

/** A subscription that will charge no more. */
const ENDED = new Set(['canceled', 'incomplete_expired', 'unpaid']);

/** The payment enrollflow keys a PaymentIntent's grant by: the invoice it paid, else the intent. */
async function paymentKey(stripe: Stripe, read: Read, intentId: string | undefined) {
  if (!intentId) return undefined;
  return (await invoicePaidBy(stripe, read, intentId)) ?? intentId;
}

async function intentOfCharge(stripe: Stripe, read: Read, charge: string | Stripe.Charge | null) {
  if (!charge) return undefined;
  const ch =
    typeof charge === 'string' ? await read('charge', () => stripe.charges.retrieve(charge)) : charge;
  return idOf(ch?.payment_intent);
}

export async function readStripeChange(
  config: StripeConfig,
  change: AccessEvent,
  logger?: Logger,
): Promise<Change> {
  const stripe = clientFor(config);
  const read = reader(change.paymentId ?? change.causeId, logger);
  switch (change.kind) {
    case 'refund': {
      const charge = await read('charge', () => stripe.charges.retrieve(change.causeId));
      if (!charge) return { state: 'not_found', detail: `Stripe does not know charge ${change.causeId}` };
      const paymentId = await paymentKey(stripe, read, idOf(charge.payment_intent));
      const detail = `charge ${charge.id}: ${charge.amount_refunded} of ${charge.amount} ${charge.currency.toUpperCase()} refunded`;
      if (charge.refunded) return { state: 'full_refund', detail, paymentId };
      return { state: charge.amount_refunded > 0 ? 'partial_refund' : 'refund_pending', detail, paymentId };
    }
    case 'dispute': {
      const dispute = await read('dispute', () => stripe.disputes.retrieve(change.causeId));
      if (!dispute) return { state: 'not_found', detail: `Stripe does not know dispute ${change.causeId}` };
      const intent = idOf(dispute.payment_intent) ?? (await intentOfCharge(stripe, read, dispute.charge));
      return {
        state: DISPUTE_STATES[dispute.status] ?? 'dispute_open',
        detail: `dispute ${dispute.id} is ${dispute.status}`,
        paymentId: await paymentKey(stripe, read, intent),
      };
    }
    case 'subscription': {
      const sub = await read('subscription', () => stripe.subscriptions.retrieve(change.causeId));
      if (!sub) return { state: 'not_found', detail: `Stripe does not know subscription ${change.causeId}` };
      // Since the 2025 API versions the period lives on the subscription's items.
      const periodEnd =
        sub.items?.data?.[0]?.current_period_end ??
        (sub as unknown as { current_period_end?: number }).current_period_end;
      const first = (await paidInvoices(stripe, read, sub.id))[0];
      return {
        state: ENDED.has(sub.status) ? 'subscription_ended' : 'subscription_active',
        detail: `subscription ${sub.id} is ${sub.status}`,
        paymentId: first?.id,
        paidUntil: unixSecondsToIso(periodEnd ?? sub.ended_at ?? Number.NaN),
      };
    }
  }
}
