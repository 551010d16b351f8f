import { z } from 'zod';
import type { PaymentProvider } from '../providers';

/**
 * The one shape every provider adapter produces. Student and course fields are deliberately loose
 * (plain optional strings): a paid event that is signed and identifiable must never be dropped for
 * bad enrollment data; the workflow checks it and sends the payment to manual review instead.
 */
export type { PaymentProvider };

/**
 * Which providers exist is the registry's to say (src/providers/index.ts); this room may not import
 * it at run time, so the schema checks the shape of a provider name and the type names the registry's.
 * Adapters set their own name; the activities check it against the registry.
 */
const providerName = z.custom<PaymentProvider>(
  (value) => typeof value === 'string' && /^[a-z][a-z0-9]{1,31}$/.test(value),
  'provider must be a provider name',
);

export const paymentEventSchema = z.object({
  provider: providerName,
  /** Razorpay `pay_...`; Stripe PaymentIntent `pi_...` (a checkout session maps to its intent). */
  paymentId: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_]+$/, 'payment id must be alphanumeric'),
  /** The provider's event id (Razorpay `X-Razorpay-Event-Id`, Stripe `evt_...`), for tracing only. */
  eventId: z.string().max(128).optional(),
  eventType: z.string().min(1).max(128),
  /** Integer amount in the currency's minor unit (paise, cents). */
  amountMinor: z.number().int().positive(),
  /** ISO 4217, upper case. */
  currency: z
    .string()
    .length(3)
    .transform((c) => c.toUpperCase()),
  student: z.object({
    email: z.string().max(320).optional(),
    name: z.string().max(256).optional(),
    phone: z.string().max(32).optional(),
  }),
  courseId: z.string().max(256).optional(),
  /** When the provider says the payment happened (ISO 8601). */
  paidAt: z.string().datetime(),
  /**
   * When the provider created the event, from the signed body (Razorpay `created_at`, Stripe `created`):
   * the receiver refuses to start anything for an event older than the redelivery horizon.
   */
  eventCreatedAt: z.string().datetime().optional(),
  livemode: z.boolean().optional(),
  /**
   * Ids of the merchant objects the event names (order, payment_link, subscription, checkout_session,
   * invoice, customer): pointers for the confirmation step, which checks every link between them and
   * the payment in the provider's own records before it believes any of them.
   */
  references: z.record(z.string(), z.string().max(255)).optional(),
});

export type PaymentEvent = z.infer<typeof paymentEventSchema>;
