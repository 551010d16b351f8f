import { z } from 'zod';

/**
 * The one shape every provider adapter produces. Student and course fields are deliberately loose
 * (plain optional strings): a paid event that is signed and identifiable must never be dropped for
 * bad enrollment data; the workflow checks it and sends the payment to manual review instead.
 */
export const paymentProviders = ['razorpay', 'stripe'] as const;
export type PaymentProvider = (typeof paymentProviders)[number];

export const paymentEventSchema = z.object({
  provider: z.enum(paymentProviders),
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
  livemode: z.boolean().optional(),
});

export type PaymentEvent = z.infer<typeof paymentEventSchema>;
