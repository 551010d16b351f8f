/**
 * What a verified Razorpay event means for us: paid (`payment.captured`, `order.paid`, with the
 * payment captured), ignored, or invalid. Razorpay signs the body only, so the event id header is
 * advisory.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { paymentEventSchema } from '../../domain/payment-event';
import { type Interpretation, advisory, plainRecord, singleHeader, unixSecondsToIso } from '../adapter';
import { describeIssues } from '../../domain/zod-issues';
import { EVENT_ID_HEADER } from './signature';

const PAID_EVENTS = new Set(['payment.captured', 'order.paid']);

// Razorpay sends `notes: []` when a payment or order has no notes, and an object otherwise. Notes,
// email and contact only carry student data, so they are read loosely (see `advisory`); the fields
// that identify the payment and its money are strict.
const notesSchema = z.unknown().optional().transform(plainRecord);

const paymentEntitySchema = z.object({
  id: z.string().min(1),
  amount: z.number(),
  currency: z.string(),
  status: z.string(),
  email: z.unknown().optional(),
  contact: z.unknown().optional(),
  notes: notesSchema,
  created_at: z.number().int().nonnegative(),
});

const orderEntitySchema = z.object({
  id: z.string().min(1),
  currency: z.string(),
  notes: notesSchema,
});

const envelopeSchema = z.object({
  entity: z.literal('event'),
  event: z.string().min(1),
  account_id: z.string().optional(),
  created_at: z.number().optional(),
  payload: z.record(z.string(), z.unknown()),
});

const paidPayloadSchema = z.object({
  payment: z.object({ entity: paymentEntitySchema }),
  order: z.object({ entity: orderEntitySchema }).optional(),
});

export function interpretRazorpayEvent(
  body: Record<string, unknown>,
  headers: IncomingHttpHeaders,
): Interpretation {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) return { kind: 'invalid', reason: 'not a Razorpay event envelope' };
  const eventType = envelope.data.event;
  if (!PAID_EVENTS.has(eventType)) return { kind: 'ignored', eventType, reason: 'not a paid event' };

  const paid = paidPayloadSchema.safeParse(envelope.data.payload);
  if (!paid.success) return { kind: 'invalid', eventType, reason: 'payment entity missing or malformed' };
  const payment = paid.data.payment.entity;
  const order = paid.data.order?.entity;
  if (payment.status !== 'captured') {
    return { kind: 'ignored', eventType, reason: `payment status is ${payment.status}, not captured` };
  }
  if (order && order.currency.toUpperCase() !== payment.currency.toUpperCase()) {
    return { kind: 'invalid', eventType, reason: 'order and payment currencies differ' };
  }
  // Merchants put business data on the order, the payment or both; the payment's own notes win.
  const notes = { ...(order?.notes ?? {}), ...payment.notes };

  const event = paymentEventSchema.safeParse({
    provider: 'razorpay',
    paymentId: payment.id,
    eventId: advisory.eventId(singleHeader(headers, EVENT_ID_HEADER)),
    eventType,
    amountMinor: payment.amount,
    currency: payment.currency,
    student: {
      email: advisory.email(payment.email, notes.student_email, notes.email),
      name: advisory.name(notes.student_name, notes.name),
      phone: advisory.phone(payment.contact, notes.student_phone),
    },
    courseId: advisory.courseId(notes.course_id),
    paidAt: unixSecondsToIso(payment.created_at),
  });
  if (!event.success) return { kind: 'invalid', eventType, reason: describeIssues(event.error) };
  return { kind: 'paid', event: event.data };
}
