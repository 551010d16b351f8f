/**
 * What a verified Razorpay event means for us. Paid: `payment.captured`, `order.paid`,
 * `payment_link.paid` and `subscription.charged` with the payment captured; every one keys the
 * workflow by the payment's id. Access: `refund.processed`, `payment.dispute.*` and the end of a
 * subscription, each keyed by the refund, dispute or subscription. Everything else Razorpay signs is
 * ignored, never refused: a 4xx makes Razorpay retry for a day and then disable the webhook. Invalid
 * is kept for a paid event that names no payment or no money. The event is only a trigger: the
 * workflows read Razorpay's API.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { paymentEventSchema } from '../../domain/payment-event';
import {
  type Interpretation,
  accessAdvisory,
  accessInterpretation,
  advisory,
  plainRecord,
  singleHeader,
  text,
  unixSecondsToIso,
} from '../adapter';
import { describeIssues } from '../../domain/zod-issues';
import { EVENT_ID_HEADER } from './signature';

const PAID_EVENTS = new Set(['payment.captured', 'order.paid', 'payment_link.paid', 'subscription.charged']);

/** A dispute's events, with the status each implies when the dispute entity does not say. */
const DISPUTE_EVENTS: ReadonlyMap<string, string> = new Map([
  ['payment.dispute.created', 'open'],
  ['payment.dispute.action_required', 'open'],
  ['payment.dispute.under_review', 'under_review'],
  ['payment.dispute.won', 'won'],
  ['payment.dispute.lost', 'lost'],
  ['payment.dispute.closed', 'closed'],
]);
/** A subscription that stops charging: halted after failed charges, cancelled, or at its last charge. */
const SUBSCRIPTION_END_EVENTS = new Set([
  'subscription.halted',
  'subscription.cancelled',
  'subscription.completed',
]);
/** Refund events that change nothing: the money has not gone back (yet). */
const REFUNDS_IGNORED: ReadonlyMap<string, string> = new Map([
  ['refund.created', 'refund not processed yet'],
  // Razorpay retries nothing here: the refund stays failed until the merchant refunds again, which
  // sends a new refund.processed. Logged and counted as ignored.
  ['refund.failed', 'refund failed: access unchanged'],
]);

// Razorpay sends `notes: []` when there are none, and an object otherwise. Notes, email and contact
// only carry labels and student data, so they are read loosely (see `advisory`); only the fields that
// identify the payment and its money are strict.
const notesSchema = z.unknown().optional().transform(plainRecord);

const paymentEntitySchema = z.object({
  id: z.string().min(1),
  amount: z.number(),
  currency: z.string(),
  status: z.string(),
  // Early subscription samples carry `captured: "1"`.
  captured: z.unknown().optional(),
  order_id: z.unknown().optional(),
  invoice_id: z.unknown().optional(),
  email: z.unknown().optional(),
  contact: z.unknown().optional(),
  notes: notesSchema,
  created_at: z.number().int().nonnegative().optional(),
});

/** The merchant objects beside the payment: read leniently, dropped when malformed. */
const merchantEntitySchema = z.object({
  id: z.string().min(1),
  currency: z.string().optional(),
  notes: notesSchema,
  customer: z.unknown().optional(),
});

const envelopeSchema = z.object({
  entity: z.literal('event'),
  event: z.string().min(1),
  account_id: z.string().optional(),
  created_at: z.number().optional(),
  payload: z.record(z.string(), z.unknown()),
});

type MerchantEntity = z.infer<typeof merchantEntitySchema>;

function entityOf(payload: Record<string, unknown>, key: string): MerchantEntity | undefined {
  const parsed = merchantEntitySchema.safeParse((payload[key] as { entity?: unknown } | undefined)?.entity);
  return parsed.success ? parsed.data : undefined;
}

const ID = /^[A-Za-z0-9_]{1,64}$/;
const idText = (v: unknown): string | undefined => {
  const value = text(v);
  return value !== undefined && ID.test(value) ? value : undefined;
};

/** payment_link.paid names its order without the `order_` prefix. */
const orderIdOf = (v: unknown): string | undefined => {
  const id = idText(v);
  if (id === undefined) return undefined;
  return id.startsWith('order_') ? id : `order_${id}`;
};

const isCaptured = (status: string, captured: unknown) =>
  status === 'captured' &&
  (captured === undefined || captured === true || captured === '1' || captured === 1);

export function interpretRazorpayEvent(
  body: Record<string, unknown>,
  headers: IncomingHttpHeaders,
): Interpretation {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { kind: 'invalid', reason: 'not a Razorpay event envelope' };
  const eventType = envelope.data.event;
  const ignoredRefund = REFUNDS_IGNORED.get(eventType);
  if (ignoredRefund !== undefined) return { kind: 'ignored', eventType, reason: ignoredRefund };
  if (
    eventType === 'refund.processed' ||
    DISPUTE_EVENTS.has(eventType) ||
    SUBSCRIPTION_END_EVENTS.has(eventType)
  ) {
    return interpretAccess(eventType, envelope.data, headers);
  }
  if (!PAID_EVENTS.has(eventType)) return { kind: 'ignored', eventType, reason: 'not a paid event' };

  const payload = envelope.data.payload;
  const paid = paymentEntitySchema.safeParse((payload.payment as { entity?: unknown } | undefined)?.entity);
  if (!paid.success) return { kind: 'invalid', eventType, reason: 'payment entity missing or malformed' };
  const payment = paid.data;
  if (!isCaptured(payment.status, payment.captured)) {
    return { kind: 'ignored', eventType, reason: `payment status is ${payment.status}, not captured` };
  }

  // An order in another currency cannot be this payment's: its notes and id are not believed.
  const sameCurrency = (e: MerchantEntity | undefined) =>
    e && (e.currency === undefined || e.currency.toUpperCase() === payment.currency.toUpperCase())
      ? e
      : undefined;
  const order = sameCurrency(entityOf(payload, 'order'));
  const link = sameCurrency(entityOf(payload, 'payment_link'));
  const subscription = entityOf(payload, 'subscription');

  // Merchant notes are written by the merchant's server; payment notes by checkout.js in the buyer's
  // browser, so the course label never comes from them.
  const merchantNotes = [order, link, subscription].map((e) => e?.notes ?? {});
  const notes = Object.assign({}, ...merchantNotes, payment.notes) as Record<string, unknown>;
  const customer = plainRecord(link?.customer);

  const references: Record<string, string> = {};
  const orderId = orderIdOf(payment.order_id) ?? orderIdOf(order?.id);
  if (orderId) references.order = orderId;
  const linkId = idText(link?.id);
  if (linkId) references.payment_link = linkId;
  const subscriptionId = idText(subscription?.id);
  if (subscriptionId) references.subscription = subscriptionId;
  const invoiceId = idText(payment.invoice_id);
  if (invoiceId) references.invoice = invoiceId;

  const paidAt = payment.created_at ?? envelope.data.created_at;
  const event = paymentEventSchema.safeParse({
    provider: 'razorpay',
    paymentId: payment.id,
    eventId: advisory.eventId(singleHeader(headers, EVENT_ID_HEADER)),
    eventType,
    amountMinor: payment.amount,
    currency: payment.currency,
    student: {
      email: advisory.email(payment.email, notes.student_email, notes.email, customer.email),
      name: advisory.name(notes.student_name, notes.name, customer.name),
      phone: advisory.phone(payment.contact, notes.student_phone, customer.contact),
    },
    courseId: advisory.courseId(
      ...merchantNotes.map((n) => n.product_id),
      ...merchantNotes.map((n) => n.course_id),
    ),
    paidAt: paidAt === undefined ? undefined : unixSecondsToIso(paidAt),
    eventCreatedAt: unixSecondsToIso(envelope.data.created_at ?? payment.created_at ?? Number.NaN),
    ...(Object.keys(references).length > 0 && { references }),
  });
  if (!event.success) return { kind: 'invalid', eventType, reason: describeIssues(event.error) };
  return { kind: 'paid', event: event.data };
}

/** The entity an access event is about: read leniently, only its id must be there. */
const causeEntitySchema = z.looseObject({
  id: z.unknown(),
  payment_id: z.unknown().optional(),
  status: z.unknown().optional(),
  created_at: z.number().optional().catch(undefined),
});

function interpretAccess(
  eventType: string,
  envelope: z.infer<typeof envelopeSchema>,
  headers: IncomingHttpHeaders,
): Interpretation {
  const kind = eventType.startsWith('refund.')
    ? 'refund'
    : DISPUTE_EVENTS.has(eventType)
      ? 'dispute'
      : 'subscription';
  // The payload key is the entity's name: `refund`, `dispute`, `subscription`.
  const parsed = causeEntitySchema.safeParse(plainRecord(envelope.payload[kind]).entity);
  const causeId = parsed.success ? text(parsed.data.id) : undefined;
  if (!parsed.success || causeId === undefined) {
    return { kind: 'ignored', eventType, reason: `${kind} entity missing or without an id` };
  }
  const cause = parsed.data;
  const payment = plainRecord(plainRecord(envelope.payload.payment).entity);
  const status =
    kind === 'refund'
      ? 'processed'
      : kind === 'dispute'
        ? (accessAdvisory.status(cause.status) ?? DISPUTE_EVENTS.get(eventType))
        : accessAdvisory.status(cause.status);
  return accessInterpretation(eventType, {
    provider: 'razorpay',
    kind,
    causeId,
    // A subscription's end names no payment of its own; a refund and a dispute name theirs.
    paymentId: kind === 'subscription' ? undefined : accessAdvisory.paymentId(cause.payment_id, payment.id),
    status,
    eventId: advisory.eventId(singleHeader(headers, EVENT_ID_HEADER)),
    eventCreatedAt: unixSecondsToIso(envelope.created_at ?? cause.created_at ?? Number.NaN),
  });
}
