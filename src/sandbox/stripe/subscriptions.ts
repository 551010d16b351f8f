/**
 * A subscription's end as Stripe records and announces it: canceled at once by the merchant (`DELETE
 * /v1/subscriptions/:id`), `ended_at` and `canceled_at` set, and `customer.subscription.deleted` whose
 * object is the subscription; its items still say which period was paid for (`current_period_end`).
 */
import type Stripe from 'stripe';
import type { PurchaseDelivery } from '../../providers/purchase';
import { event } from './purchases';
import type { StripeStore } from './store';

export interface StripeSubscriptionEndResult {
  subscriptionId: string;
  /** The invoice its first charge paid, which keyed its enrollment; null when none was paid. */
  paymentId: string | null;
  status: Stripe.Subscription.Status;
  /** Unix seconds. */
  endedAt: number;
  deliveries: PurchaseDelivery[];
}

export function cancelStripeSubscription(
  store: StripeStore,
  id: string,
  nowSeconds: number,
): { ok: true; result: StripeSubscriptionEndResult } | { ok: false; status: number; message: string } {
  const subscription = store.subscriptions.get(id);
  if (!subscription) return { ok: false, status: 404, message: `No such subscription: '${id}'` };
  if (subscription.status === 'canceled' || subscription.status === 'incomplete_expired') {
    return {
      ok: false,
      status: 400,
      message: 'A canceled subscription can only update its cancellation_details and metadata.',
    };
  }
  const canceled: Stripe.Subscription = {
    ...structuredClone(subscription),
    status: 'canceled',
    canceled_at: nowSeconds,
    ended_at: nowSeconds,
    cancel_at: null,
    cancel_at_period_end: false,
    cancellation_details: {
      comment: null,
      feedback: null,
      feedback_option: null,
      reason: 'cancellation_requested',
    },
  };
  store.subscriptions.set(id, canceled);
  return {
    ok: true,
    result: {
      subscriptionId: id,
      paymentId: store.firstPaidInvoiceOf(id) ?? null,
      status: canceled.status,
      endedAt: nowSeconds,
      deliveries: [event('customer.subscription.deleted', canceled, nowSeconds)],
    },
  };
}
