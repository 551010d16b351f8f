/**
 * Inputs and results of the enrollment activities. The workflow imports this module as types only,
 * so it must stay free of runtime code and Node built-ins.
 */
import type { PaymentProvider } from '../domain/payment-event';

/** Which payment an activity works for: the business key behind every idempotency key and log line. */
export type PaymentRef = {
  provider: PaymentProvider;
  paymentId: string;
};

export type EnrollStudentInput = {
  payment: PaymentRef;
  email: string;
  name: string;
  courseId: string;
};

export type EnrollStudentResult = {
  /** The LMS enrollment id; when a 409 does not name the enrollment, the `external_ref` we sent. */
  enrollmentId: string;
  /** True when the LMS answered 409 already_enrolled (an earlier attempt or run already enrolled). */
  alreadyEnrolled: boolean;
  /** Temporal attempt number of the execution that succeeded (1 outside an activity). */
  attempt: number;
};

export type SendWelcomeInput = {
  payment: PaymentRef;
  /** E.164, e.g. `+919876543210`. */
  phone: string;
  name: string;
  courseId: string;
};

export type SendWelcomeResult = {
  /** `wamid...`: accepted by Meta, not yet delivered (delivery status arrives by webhook). */
  messageId: string;
  waId?: string;
  attempt: number;
};

export type UpsertContactInput = {
  payment: PaymentRef;
  email: string;
  name?: string;
  /** E.164 when present. */
  phone?: string;
  courseId?: string;
  enrolled: boolean;
  amountMinor: number;
  currency: string;
};

export type UpsertContactResult = {
  contactId: string;
  /** HubSpot's `new`: true when this upsert created the contact. */
  created: boolean;
  attempt: number;
};

/** `details[0]` of every ApplicationFailure the activities throw. */
export type ActivityFailureDetails = {
  attempt: number;
  /** HTTP status of the downstream answer, when there was one. */
  status?: number;
  /** The downstream's own error code (LMS `error`, WhatsApp `error.code`, HubSpot `category`), or a transport code. */
  code?: string;
};
