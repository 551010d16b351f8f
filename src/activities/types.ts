/**
 * Inputs and results of the enrollment activities. The workflow imports this module as types only,
 * so it must stay free of runtime code and Node built-ins.
 */
import type { PaymentProvider } from '../domain/payment-event';
import type { AccessEvent } from '../domain/access-event';
import type { PurchaseKind, Resolution } from '../domain/purchase';
import type { AccessPolicy } from '../catalog/schema';

/** Which payment an activity works for: the business key behind every idempotency key and log line. */
export type PaymentRef = {
  provider: PaymentProvider;
  paymentId: string;
};

export type ConfirmPurchaseInput = {
  payment: PaymentRef;
  /** Ids the webhook named (order, payment link, session...): pointers, checked against the provider's records. */
  references?: Record<string, string>;
  /** A catalog product an operator named at review: granted without the catalog's matching and price rules. */
  operatorProductId?: string;
};

export type ConfirmPurchaseResult = {
  /** What the catalog makes of the provider's record: grant, review (with the reason) or nothing. */
  resolution: Resolution;
  /** What the provider says was paid (0 and '' when it does not know the payment). */
  amountMinor: number;
  currency: string;
  kind: PurchaseKind;
  /** The buyer as the provider recorded them: the truth over anything a webhook carried. */
  customer: { email?: string; name?: string; phone?: string };
  attempt: number;
};

export type EnrollStudentInput = {
  payment: PaymentRef;
  email: string;
  name: string;
  /** The LMS's course id. */
  courseId: string;
  /**
   * The catalog course this enrollment grants: part of the idempotency key, so each course of a bundle
   * has its own. Absent for payments started before the catalog, which keep their one key per payment.
   */
  grantKey?: string;
};

/** What caused an access change: its provider id keys the change, so a redelivery changes nothing twice. */
export type AccessCause = { kind: 'refund' | 'dispute' | 'subscription'; id: string };

export type ChangeAccessInput = {
  payment: PaymentRef;
  /** The catalog course of the grant (as enrollment sent it); absent for a payment from before the catalog. */
  grantKey?: string;
  /** `suspended` and `revoked` take access away; `active` restores a suspended enrollment. */
  status: 'active' | 'suspended' | 'revoked';
  cause: AccessCause;
  /** Kept by the LMS with the change, for whoever reads the enrollment there. */
  reason: string;
  /**
   * The student the payment enrolled: Moodle and Canvas find an enrollment by student and course.
   * Absent from changes scheduled before issue 14 (the generic LMS does not need it).
   */
  email?: string;
  /**
   * The course's enrollment was already there when the payment enrolled (its workflow recorded it
   * as already enrolled): Moodle and Canvas, which share one enrollment per student and course, leave
   * it to the payment that made it. The generic LMS finds only what this payment made anyway.
   */
  enrolledBefore?: boolean;
};

export type ChangeAccessResult = {
  /** False when the LMS has no enrollment for the grant: nothing was granted, so nothing to change. */
  found: boolean;
  enrollmentId?: string;
  status?: ChangeAccessInput['status'];
  attempt: number;
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
  /** Kept for payments started before the catalog: the text the template names the course by. */
  courseId: string;
  /** The course titles the welcome names (a bundle names every course). */
  courseTitle?: string;
  /** The catalog's WhatsApp template for the product; default WHATSAPP_TEMPLATE_NAME. */
  template?: string;
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
  /** Set by an access change: the contact's access state and why (a refund, a dispute...). */
  access?: { state: 'active' | 'suspended' | 'revoked'; reason: string };
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

/** What the provider's record says now about a refund, dispute or subscription. */
export type MoneyBackState =
  | 'full_refund'
  | 'partial_refund'
  /** Created but not processed (or failed): no money has gone back yet. */
  | 'refund_pending'
  | 'dispute_open'
  | 'dispute_won'
  | 'dispute_lost'
  | 'subscription_ended'
  | 'subscription_active'
  /** The provider does not know the id (forged, another account or mode). */
  | 'not_found';

export type ConfirmAccessChangeInput = { change: AccessEvent };

export type ConfirmAccessChangeResult = {
  state: MoneyBackState;
  /** The provider's own words, for the access timeline and reviews. */
  detail: string;
  /** The payment whose workflow granted what the change concerns (`pay_`, `pi_`, `in_`). */
  paymentId?: string;
  /** A subscription: when the period it paid for ends (ISO 8601). */
  paidUntil?: string;
  attempt: number;
};

/** What a payment's workflow granted, read once it has closed. */
export type ReadGrantResult =
  /** enrollflow never ran a workflow for the payment (its paid webhook never came). */
  | { seen: false; attempt: number }
  | {
      seen: true;
      /** The payment workflow's outcome (`completed`, `refunded`...), or its close status when it did not complete. */
      outcome: string;
      productId?: string;
      /** Catalog course ids granted under the payment (the LMS grant keys); empty for a payment from before the catalog. */
      courses: string[];
      /** Whether any enrollment was made. */
      enrolled: boolean;
      /**
       * The courses whose enrollment this payment made itself; the others of `courses` were already
       * there (another payment of the student enrolled them first), and its refund leaves them alone.
       * Absent for payments whose record does not say (every course is then treated as its own).
       */
      created?: string[];
      student: { email?: string; name?: string; phone?: string };
      amountMinor?: number;
      currency?: string;
      /** The product's access policy in today's catalog (its defaults when the product is gone from it). */
      policy: AccessPolicy;
      attempt: number;
    };

export type StopGrantingInput = { payment: PaymentRef; cause: AccessCause; reason: string };
export type StopGrantingResult = { told: boolean; attempt: number };
