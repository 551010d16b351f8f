/**
 * Razorpay's record of money going back: a refund (`GET /v1/refunds/:id`, then the payment's
 * cumulative `amount_refunded`), a dispute (`GET /v1/disputes/:id`) or a subscription that ended
 * (`GET /v1/subscriptions/:id`, its first paid invoice naming the payment that granted it). The
 * webhook only said which id to read.
 */
import { z } from 'zod';
import type { AccessEvent } from '../../domain/access-event';
import { unixSecondsToIso } from '../../providers/adapter';
import type { ClassifyDeps, HttpDeps } from '../http';
import type { ConfirmAccessChangeResult } from '../types';
import { type RazorpayApiConfig, paidInvoices, paymentSchema, razorpayApi } from './razorpay';

type Change = Omit<ConfirmAccessChangeResult, 'attempt'>;

/** What enrollflow reads of a refund and of a dispute alike. */
const moneyBackSchema = z.object({
  id: z.string(),
  payment_id: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
});

const subscriptionSchema = z.object({
  id: z.string(),
  status: z.string(),
  current_end: z.number().nullish(),
  ended_at: z.number().nullish(),
});

/**
 * Razorpay's dispute statuses: `open`, `under_review` and `action_required` are undecided; `won` keeps
 * the money; `lost` gives it back (an accepted dispute ends `lost` too). `closed` ends a fraud dispute
 * without a chargeback: what it suspended comes back, and money the merchant refunded to close it
 * arrives as a refund of its own, which revokes.
 */
const DISPUTE_STATES: Record<string, Change['state']> = {
  open: 'dispute_open',
  under_review: 'dispute_open',
  action_required: 'dispute_open',
  won: 'dispute_won',
  lost: 'dispute_lost',
  closed: 'dispute_won',
};

/** A subscription that will charge no more: halted (its retries failed), cancelled, completed, expired. */
const ENDED = new Set(['halted', 'cancelled', 'completed', 'expired']);

export async function readRazorpayChange(
  config: RazorpayApiConfig,
  deps: HttpDeps & ClassifyDeps,
  change: AccessEvent,
): Promise<Change> {
  const api = razorpayApi(config, deps, change.paymentId ?? change.causeId);
  const id = encodeURIComponent(change.causeId);
  switch (change.kind) {
    case 'refund': {
      const refund = await api.read('fetch_refund', `/v1/refunds/${id}`, moneyBackSchema);
      if (!refund) return { state: 'not_found', detail: `Razorpay does not know refund ${change.causeId}` };
      if (refund.status !== 'processed') {
        return {
          state: 'refund_pending',
          detail: `refund ${refund.id} is ${refund.status}: no money has gone back`,
          paymentId: refund.payment_id,
        };
      }
      const payment = await api.read(
        'fetch_payment',
        `/v1/payments/${encodeURIComponent(refund.payment_id)}`,
        paymentSchema,
      );
      const refunded = payment?.amount_refunded ?? refund.amount;
      const full = payment !== undefined && (payment.refund_status === 'full' || refunded >= payment.amount);
      return {
        state: full ? 'full_refund' : 'partial_refund',
        detail: `refund ${refund.id}: ${refunded} of ${payment?.amount ?? '?'} ${refund.currency} refunded`,
        paymentId: refund.payment_id,
      };
    }
    case 'dispute': {
      const dispute = await api.read('fetch_dispute', `/v1/disputes/${id}`, moneyBackSchema);
      if (!dispute) return { state: 'not_found', detail: `Razorpay does not know dispute ${change.causeId}` };
      return {
        state: DISPUTE_STATES[dispute.status] ?? 'dispute_open',
        detail: `dispute ${dispute.id} is ${dispute.status}`,
        paymentId: dispute.payment_id,
      };
    }
    case 'subscription': {
      const sub = await api.read('fetch_subscription', `/v1/subscriptions/${id}`, subscriptionSchema);
      if (!sub)
        return { state: 'not_found', detail: `Razorpay does not know subscription ${change.causeId}` };
      const first = (await paidInvoices(api, sub.id))[0];
      return {
        state: ENDED.has(sub.status) ? 'subscription_ended' : 'subscription_active',
        detail: `subscription ${sub.id} is ${sub.status}`,
        paymentId: first?.payment_id ?? undefined,
        paidUntil: unixSecondsToIso(sub.current_end ?? sub.ended_at ?? Number.NaN),
      };
    }
  }
}
