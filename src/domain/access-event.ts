import { z } from 'zod';
import { paymentEventSchema } from './payment-event';
import { accessCauseKey } from './ids';

/**
 * The money going back, as a signed webhook announces it: a refund, a dispute (chargeback) or the end
 * of a subscription. Like a paid event it is only a trigger: the access workflow reads the provider's
 * record before it changes anything, so nothing here is believed beyond keying the workflow.
 */
export const accessEventKinds = ['refund', 'dispute', 'subscription'] as const;
export type AccessEventKind = (typeof accessEventKinds)[number];

const providerId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_]+$/, 'must be a provider id');

export const accessEventSchema = z.object({
  provider: paymentEventSchema.shape.provider,
  kind: z.enum(accessEventKinds),
  /**
   * What changed, by the provider's id: Razorpay `rfnd_`, `disp_`, `sub_`; Stripe `dp_`, `sub_`, and
   * for `charge.refunded` the charge (`ch_`), since that event names no refund.
   */
  causeId: providerId,
  /**
   * Stripe `charge.refunded`: the charge's cumulative `amount_refunded`, which tells one refund of a
   * charge from the next (and keys its workflow with the charge id).
   */
  refundedMinor: z.number().int().nonnegative().optional(),
  /** The payment the event names, when it names one (Razorpay `pay_`, Stripe `pi_`). */
  paymentId: providerId.optional(),
  /** What the event says happened (`processed`, `lost`, `cancelled`...): advisory, the provider is asked. */
  status: z.string().max(64).optional(),
  eventId: z.string().max(128).optional(),
  eventType: z.string().min(1).max(128),
  /** When the provider created the event: past the redelivery horizon it starts nothing. */
  eventCreatedAt: z.string().datetime(),
  livemode: z.boolean().optional(),
});

export type AccessEvent = z.infer<typeof accessEventSchema>;

/**
 * One workflow per refund, per dispute and per ended subscription, keyed by the provider's id: like a
 * payment, a redelivery is a duplicate. A dispute's later events (won, lost, closed) are signalled to
 * its running workflow, which serialises them.
 */
export function accessWorkflowId(
  event: Pick<AccessEvent, 'provider' | 'kind' | 'causeId' | 'refundedMinor'>,
): string {
  return `${event.kind}-${event.provider}-${accessCauseKey(event)}`;
}

export { accessCauseKey };
