/**
 * A subscription's end as Razorpay records and announces it: the merchant cancels it, now or at the end
 * of the period already paid for, and Razorpay sends `subscription.cancelled` with the subscription
 * (its `current_start` / `current_end` say what was paid for). Pure: the caller stores what it returns.
 */
import { z } from 'zod';
import type { RazorpaySubscriptionEntity } from '../../providers/razorpay/entities';
import { razorpayWebhook } from '../../providers/razorpay/fixtures';
import type { PurchaseDelivery } from '../../providers/purchase';

export const razorpayCancelSpecSchema = z.object({
  /**
   * Razorpay's `cancel_at_cycle_end`: the subscription runs to the end of the period paid for and is
   * cancelled then. The sandbox plays that moment at once: it ends at `current_end`, announced then.
   */
  atCycleEnd: z.boolean().optional(),
});
export type RazorpayCancelSpec = z.infer<typeof razorpayCancelSpecSchema>;

export interface SubscriptionEndResult {
  subscriptionId: string;
  /** The subscription's first payment, which keyed its enrollment; null when none was made. */
  paymentId: string | null;
  status: RazorpaySubscriptionEntity['status'];
  /** Unix seconds. */
  endedAt: number;
  deliveries: PurchaseDelivery[];
}

export type BuiltCancellation =
  | { ok: true; subscription: RazorpaySubscriptionEntity; result: SubscriptionEndResult }
  | { ok: false; status: number; description: string };

/** Razorpay cancels a subscription that has not ended yet; an ended one is refused. */
const ENDED: ReadonlyArray<RazorpaySubscriptionEntity['status']> = ['cancelled', 'completed', 'expired'];

export function cancelRazorpaySubscription(
  subscription: RazorpaySubscriptionEntity | undefined,
  firstPaymentId: string | undefined,
  spec: RazorpayCancelSpec,
  nowSeconds: number,
): BuiltCancellation {
  if (!subscription) return { ok: false, status: 400, description: 'The id provided does not exist' };
  if (ENDED.includes(subscription.status)) {
    return {
      ok: false,
      status: 400,
      description: `Subscription is not cancellable in ${subscription.status} status.`,
    };
  }
  const endedAt = spec.atCycleEnd ? subscription.current_end : nowSeconds;
  const cancelled: RazorpaySubscriptionEntity = {
    ...structuredClone(subscription),
    status: 'cancelled',
    ended_at: endedAt,
  };
  return {
    ok: true,
    subscription: cancelled,
    result: {
      subscriptionId: cancelled.id,
      paymentId: firstPaymentId ?? null,
      status: cancelled.status,
      endedAt,
      deliveries: [
        {
          eventType: 'subscription.cancelled',
          body: razorpayWebhook('subscription.cancelled', { subscription: cancelled }, endedAt),
        },
      ],
    },
  };
}
