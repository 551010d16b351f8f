/**
 * What a verified Stripe event means for us: paid (`checkout.session.completed` when paid,
 * `checkout.session.async_payment_succeeded`, `payment_intent.succeeded`), ignored, or invalid.
 */
import { z } from 'zod';
import { paymentEventSchema } from '../../domain/payment-event';
import { type Interpretation, advisory, plainRecord, unixSecondsToIso } from '../adapter';
import { describeIssues } from '../../domain/zod-issues';

const envelopeSchema = z.object({
  id: z.string().min(1),
  object: z.literal('event'),
  type: z.string().min(1),
  created: z.number().int().nonnegative(),
  livemode: z.boolean().optional(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

// Metadata and customer details only carry student data: read loosely (see `advisory`).
const metadataSchema = z.unknown().optional().transform(plainRecord);
// `payment_intent` is an id, or an object when the merchant's endpoint expands it.
const expandableId = z
  .union([z.string(), z.object({ id: z.string() })])
  .nullish()
  .transform((v) => (typeof v === 'string' ? v : v?.id));

const checkoutSessionSchema = z.object({
  id: z.string(),
  payment_intent: expandableId,
  payment_status: z.string(),
  amount_total: z.number().nullish(),
  currency: z.string().nullish(),
  client_reference_id: z.unknown().optional(),
  metadata: metadataSchema,
  customer_details: z.unknown().optional().transform(plainRecord),
});

const paymentIntentSchema = z.object({
  id: z.string(),
  amount: z.number(),
  amount_received: z.number().nullish(),
  currency: z.string(),
  receipt_email: z.unknown().optional(),
  metadata: metadataSchema,
});

type Fields = Omit<z.input<typeof paymentEventSchema>, 'provider' | 'eventId' | 'eventType' | 'paidAt'>;

function fromCheckoutSession(object: unknown): Fields | string {
  const session = checkoutSessionSchema.safeParse(object);
  if (!session.success) return `checkout session malformed: ${describeIssues(session.error)}`;
  const s = session.data;
  const meta = s.metadata;
  const customer = s.customer_details;
  return {
    paymentId: s.payment_intent ?? '',
    amountMinor: s.amount_total ?? 0,
    currency: s.currency ?? '',
    student: {
      email: advisory.email(customer.email, meta.student_email),
      name: advisory.name(customer.name, meta.student_name),
      phone: advisory.phone(customer.phone, meta.student_phone),
    },
    courseId: advisory.courseId(meta.course_id, s.client_reference_id),
  };
}

function fromPaymentIntent(object: unknown): Fields | string {
  const intent = paymentIntentSchema.safeParse(object);
  if (!intent.success) return `payment intent malformed: ${describeIssues(intent.error)}`;
  const pi = intent.data;
  const meta = pi.metadata;
  return {
    paymentId: pi.id,
    amountMinor: pi.amount_received ?? pi.amount,
    currency: pi.currency,
    student: {
      email: advisory.email(meta.student_email, pi.receipt_email),
      name: advisory.name(meta.student_name),
      phone: advisory.phone(meta.student_phone),
    },
    courseId: advisory.courseId(meta.course_id),
  };
}

export function interpretStripeEvent(body: Record<string, unknown>): Interpretation {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { kind: 'invalid', reason: 'not a Stripe event envelope' };
  const { type: eventType, data } = envelope.data;

  let fields: Fields | string;
  switch (eventType) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      // For delayed methods a completed session is still `unpaid`; async_payment_succeeded follows.
      const status = data.object.payment_status;
      if (status !== 'paid')
        return { kind: 'ignored', eventType, reason: `payment_status is ${String(status)}` };
      fields = fromCheckoutSession(data.object);
      break;
    }
    case 'payment_intent.succeeded':
      fields = fromPaymentIntent(data.object);
      break;
    default:
      return { kind: 'ignored', eventType, reason: 'not a paid event' };
  }
  if (typeof fields === 'string') return { kind: 'invalid', eventType, reason: fields };
  if (!fields.paymentId) return { kind: 'invalid', eventType, reason: 'no payment intent id' };

  const event = paymentEventSchema.safeParse({
    ...fields,
    provider: 'stripe',
    eventId: advisory.eventId(envelope.data.id),
    eventType,
    paidAt: unixSecondsToIso(envelope.data.created),
    livemode: envelope.data.livemode,
  });
  if (!event.success) return { kind: 'invalid', eventType, reason: describeIssues(event.error) };
  return { kind: 'paid', event: event.data };
}
