/**
 * What a verified Stripe event means for us: paid (`checkout.session.completed` when paid,
 * `checkout.session.async_payment_succeeded`, `payment_intent.succeeded`, `invoice.paid`), access
 * (`charge.refunded`, `charge.dispute.*`, `customer.subscription.deleted`), ignored, or invalid. A
 * genuine signed event is never refused for its shape alone: Stripe would retry it for days, so
 * anything we cannot key is ignored with a reason rather than answered 4xx.
 */
import { z } from 'zod';
import { paymentEventSchema } from '../../domain/payment-event';
import {
  type Interpretation,
  accessAdvisory,
  accessInterpretation,
  advisory,
  plainRecord,
  text,
  unixSecondsToIso,
} from '../adapter';
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
// Related objects are ids, or objects when the merchant's endpoint expands them.
const expandableId = z
  .union([z.string(), z.object({ id: z.string() })])
  .nullish()
  .catch(undefined)
  .transform((v) => (typeof v === 'string' ? v : v?.id));

const checkoutSessionSchema = z.object({
  id: z.string(),
  mode: z.string().nullish(),
  payment_intent: expandableId,
  invoice: expandableId,
  subscription: expandableId,
  customer: expandableId,
  amount_total: z.number().nullish(),
  currency: z.string().nullish(),
  customer_email: z.unknown().optional(),
  metadata: metadataSchema,
  customer_details: z.unknown().optional().transform(plainRecord),
});

const paymentIntentSchema = z.object({
  id: z.string(),
  amount: z.number(),
  amount_received: z.number().nullish(),
  currency: z.string(),
  customer: expandableId,
  receipt_email: z.unknown().optional(),
  metadata: metadataSchema,
});

const invoiceSchema = z.object({
  id: z.string(),
  amount_paid: z.number(),
  currency: z.string(),
  customer: expandableId,
  customer_email: z.unknown().optional(),
  customer_name: z.unknown().optional(),
  customer_phone: z.unknown().optional(),
  metadata: metadataSchema,
  // Since the 2025 API versions the subscription lives under `parent`, not at the top level.
  parent: z
    .object({
      subscription_details: z
        .object({ subscription: expandableId, metadata: metadataSchema })
        .nullish()
        .catch(undefined),
    })
    .nullish()
    .catch(undefined),
});

/** A dispute's events: each is a phase of one dispute, keyed by its `dp_` id. */
const DISPUTE_EVENT_TYPES = [
  'charge.dispute.created',
  'charge.dispute.updated',
  'charge.dispute.closed',
  'charge.dispute.funds_withdrawn',
  'charge.dispute.funds_reinstated',
];
const DISPUTE_EVENTS = new Set(DISPUTE_EVENT_TYPES);

/**
 * Every event type that starts (or reaches) a workflow: the paid ones and the access ones. What
 * reconciliation lists from Stripe's events (src/activities/providers/stripe-listing.ts).
 */
export const STRIPE_WORKFLOW_EVENT_TYPES: readonly string[] = [
  'checkout.session.completed',
  'checkout.session.async_payment_succeeded',
  'payment_intent.succeeded',
  'invoice.paid',
  'charge.refunded',
  ...DISPUTE_EVENT_TYPES,
  'customer.subscription.deleted',
];

// The objects access events carry, read leniently: beyond the id, what they say only labels the event.
const chargeSchema = z.object({
  id: z.string(),
  // Cumulative over the charge's refunds: it tells one refund of the charge from the next.
  amount_refunded: z.number().int().nonnegative(),
  // True only once the whole charge is refunded.
  refunded: z.boolean().optional().catch(undefined),
  payment_intent: expandableId,
});
const disputeSchema = z.object({
  id: z.string(),
  status: z.unknown().optional(),
  payment_intent: expandableId,
});
const subscriptionSchema = z.object({ id: z.string(), status: z.unknown().optional() });

type AccessFields = Omit<
  Parameters<typeof accessInterpretation>[1],
  'eventId' | 'eventCreatedAt' | 'livemode'
>;

function fromCharge(object: unknown): AccessFields | string {
  const parsed = chargeSchema.safeParse(object);
  if (!parsed.success) return `charge malformed: ${describeIssues(parsed.error)}`;
  const charge = parsed.data;
  return {
    provider: 'stripe',
    kind: 'refund',
    // `charge.refunded` names no refund: the charge and how much of it is refunded so far key it.
    causeId: charge.id,
    refundedMinor: charge.amount_refunded,
    // Old charges made without a PaymentIntent have none.
    paymentId: accessAdvisory.paymentId(charge.payment_intent),
    status: charge.refunded === true ? 'full' : 'partial',
  };
}

function fromDispute(object: unknown): AccessFields | string {
  const parsed = disputeSchema.safeParse(object);
  if (!parsed.success) return `dispute malformed: ${describeIssues(parsed.error)}`;
  const dispute = parsed.data;
  return {
    provider: 'stripe',
    kind: 'dispute',
    causeId: dispute.id,
    paymentId: accessAdvisory.paymentId(dispute.payment_intent),
    status: accessAdvisory.status(dispute.status),
  };
}

function fromSubscription(object: unknown): AccessFields | string {
  const parsed = subscriptionSchema.safeParse(object);
  if (!parsed.success) return `subscription malformed: ${describeIssues(parsed.error)}`;
  return {
    provider: 'stripe',
    kind: 'subscription',
    causeId: parsed.data.id,
    status: accessAdvisory.status(parsed.data.status),
  };
}

/** The access event of a refund, dispute or ended subscription, else undefined (not one of those). */
function accessFieldsOf(eventType: string, object: unknown): AccessFields | string | undefined {
  if (eventType === 'charge.refunded') return fromCharge(object);
  if (DISPUTE_EVENTS.has(eventType)) return fromDispute(object);
  if (eventType === 'customer.subscription.deleted') return fromSubscription(object);
  return undefined;
}

type Fields = Omit<
  z.input<typeof paymentEventSchema>,
  'provider' | 'eventId' | 'eventType' | 'paidAt' | 'eventCreatedAt' | 'livemode'
>;

/** Ids the event names, kept only when present: pointers the confirmation step checks. */
function presentIds(ids: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(ids)) if (value && value.length <= 255) out[key] = value;
  return out;
}

/** The course label for the Web UI: only what the merchant's server wrote, never the buyer's URL. */
const courseLabel = (meta: Record<string, unknown>) => advisory.courseId(meta.product_id, meta.course_id);

function fromCheckoutSession(object: unknown): Fields | string {
  const session = checkoutSessionSchema.safeParse(object);
  if (!session.success) return `checkout session malformed: ${describeIssues(session.error)}`;
  const s = session.data;
  const meta = s.metadata;
  const customer = s.customer_details;
  return {
    // Subscription mode has no PaymentIntent: its first invoice pays it, and keys it.
    paymentId: s.payment_intent ?? s.invoice ?? '',
    amountMinor: s.amount_total ?? 0,
    currency: s.currency ?? '',
    student: {
      email: advisory.email(customer.email, s.customer_email, meta.student_email),
      name: advisory.name(customer.name, meta.student_name),
      phone: advisory.phone(customer.phone, meta.student_phone),
    },
    courseId: courseLabel(meta),
    references: presentIds({
      checkout_session: s.id,
      payment_intent: s.payment_intent,
      invoice: s.invoice,
      subscription: s.subscription,
      customer: s.customer,
    }),
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
    courseId: courseLabel(meta),
    references: presentIds({ payment_intent: pi.id, customer: pi.customer }),
  };
}

function fromInvoice(object: unknown): Fields | string {
  const parsed = invoiceSchema.safeParse(object);
  if (!parsed.success) return `invoice malformed: ${describeIssues(parsed.error)}`;
  const inv = parsed.data;
  const sub = inv.parent?.subscription_details;
  const meta = { ...(sub?.metadata ?? {}), ...inv.metadata };
  return {
    // Always the invoice: a subscription's checkout session and its first invoice share one workflow.
    paymentId: inv.id,
    amountMinor: inv.amount_paid,
    currency: inv.currency,
    student: {
      email: advisory.email(inv.customer_email, meta.student_email),
      name: advisory.name(inv.customer_name, meta.student_name),
      phone: advisory.phone(inv.customer_phone, meta.student_phone),
    },
    courseId: courseLabel(meta),
    references: presentIds({ invoice: inv.id, subscription: sub?.subscription, customer: inv.customer }),
  };
}

export function interpretStripeEvent(body: Record<string, unknown>): Interpretation {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { kind: 'invalid', reason: 'not a Stripe event envelope' };
  const { type: eventType, data } = envelope.data;

  const access = accessFieldsOf(eventType, data.object);
  if (typeof access === 'string') return { kind: 'ignored', eventType, reason: access };
  if (access !== undefined) {
    return accessInterpretation(eventType, {
      ...access,
      eventId: advisory.eventId(envelope.data.id),
      eventCreatedAt: unixSecondsToIso(envelope.data.created),
      livemode: envelope.data.livemode,
    });
  }

  let fields: Fields | string;
  switch (eventType) {
    case 'checkout.session.completed':
    case 'checkout.session.async_payment_succeeded': {
      // For delayed methods a completed session is still `unpaid`; async_payment_succeeded follows.
      const status = data.object.payment_status;
      if (status !== 'paid')
        return { kind: 'ignored', eventType, reason: `payment_status is ${String(status)}` };
      fields = fromCheckoutSession(data.object);
      if (typeof fields !== 'string' && !fields.paymentId) {
        // Setup mode, or a free order: nothing was charged that a workflow could be keyed by.
        return {
          kind: 'ignored',
          eventType,
          reason: `session in mode ${text(data.object.mode) ?? 'unknown'} has no payment intent or invoice`,
        };
      }
      break;
    }
    case 'payment_intent.succeeded':
      fields = fromPaymentIntent(data.object);
      break;
    case 'invoice.paid':
      fields = fromInvoice(data.object);
      break;
    case 'invoice.payment_failed':
      // A failed renewal ends nothing by itself: Stripe retries it, and if every retry fails the
      // subscription is deleted, which is what changes access.
      return { kind: 'ignored', eventType, reason: 'payment failed: recorded, access unchanged' };
    default:
      return { kind: 'ignored', eventType, reason: 'not a paid event' };
  }
  // Past a genuine envelope, a shape we cannot key (a zero-amount invoice, an object from another API
  // version) is logged as ignored: a 4xx would only make Stripe retry the same bytes for days.
  if (typeof fields === 'string') return { kind: 'ignored', eventType, reason: fields };
  if (!fields.paymentId) return { kind: 'ignored', eventType, reason: 'no payment id' };

  const createdAt = unixSecondsToIso(envelope.data.created);
  const event = paymentEventSchema.safeParse({
    ...fields,
    provider: 'stripe',
    eventId: advisory.eventId(envelope.data.id),
    eventType,
    paidAt: createdAt,
    eventCreatedAt: createdAt,
    livemode: envelope.data.livemode,
  });
  if (!event.success) return { kind: 'ignored', eventType, reason: describeIssues(event.error) };
  return { kind: 'paid', event: event.data };
}
