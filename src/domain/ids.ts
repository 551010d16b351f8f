import type { PaymentProvider } from './payment-event';

/**
 * The workflow ID is the idempotency key of the whole pipeline: Temporal refuses a second workflow
 * with the same ID (see the reuse/conflict policies in src/webhook/start-enrollment.ts), so every
 * redelivery of one payment, whichever of the provider's paid events it is, lands on one workflow.
 */
export function enrollmentWorkflowId(provider: PaymentProvider, paymentId: string): string {
  return `payment-${provider}-${paymentId}`;
}

/** A stable key per payment and downstream, reused by every retry (never derived from the attempt). */
export function idempotencyKey(provider: PaymentProvider, paymentId: string, step: string): string {
  return `enrollflow-${provider}-${paymentId}-${step}`;
}

/**
 * The id that keys every downstream call an access change makes (LMS, CRM, WhatsApp). Here rather than
 * beside the access event's zod schema: workflow code imports it, and every module a workflow imports
 * is evaluated again for each workflow the worker creates, zod schemas included.
 */
export function accessCauseKey(event: { causeId: string; refundedMinor?: number }): string {
  return event.refundedMinor === undefined ? event.causeId : `${event.causeId}-${event.refundedMinor}`;
}
