/**
 * Everything a client needs to talk to an enrollment workflow: signal, query and search attribute
 * definitions plus the shapes they carry. Imported by the workflow itself, the webhook receiver, the
 * tests and the ops tooling, so it must stay free of Node built-ins and I/O.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { PaymentEvent } from '../domain/payment-event';
import type * as workflows from './index';
import type { StepName } from './steps';

/** The task queue the receiver starts payments on and the worker polls, unless TEMPORAL_TASK_QUEUE says otherwise. */
export const TASK_QUEUE_DEFAULT = 'enrollments';

/**
 * The workflow type, for clients that start or list payments by name (the receiver, visibility
 * queries, the ops CLI, the business metrics). Checked against the worker's exports at compile time.
 */
export const ENROLLMENT_WORKFLOW_TYPE = 'enrollmentWorkflow' satisfies keyof typeof workflows;

export const paymentIdSearchAttribute = defineSearchAttributeKey('PaymentId', SearchAttributeType.KEYWORD);
export const paymentProviderSearchAttribute = defineSearchAttributeKey(
  'PaymentProvider',
  SearchAttributeType.KEYWORD,
);
export const enrollmentStateSearchAttribute = defineSearchAttributeKey(
  'EnrollmentState',
  SearchAttributeType.KEYWORD,
);
/**
 * Who started the workflow: a provider's webhook, the scheduled reconciliation that found a payment no
 * webhook had started (src/workflows/reconcile.ts), or an operator's backfill (`ops reconcile --yes`).
 * Set at start, never changed. Workflows started before it existed have none: they came by webhook.
 */
export const paymentSourceSearchAttribute = defineSearchAttributeKey(
  'PaymentSource',
  SearchAttributeType.KEYWORD,
);
export const paymentSources = ['webhook', 'reconciliation', 'operator'] as const;
export type PaymentSource = (typeof paymentSources)[number];

/** Registered on the dev server at start (`temporal server start-dev --search-attribute`). */
export const searchAttributeRegistrations = {
  PaymentId: 'Keyword',
  PaymentProvider: 'Keyword',
  EnrollmentState: 'Keyword',
  PaymentSource: 'Keyword',
} as const;

/** The states of a payment's own workflow. */
export const paymentStates = [
  'confirming',
  'validating',
  'enrolling',
  'messaging',
  'crm',
  'needs_review',
  'completed',
  'aborted',
] as const;
/**
 * The states of an access change (refund, dispute, ended subscription: src/workflows/access.ts) while
 * it works, and what it left the payment's courses with; it shares `needs_review` and `aborted`.
 */
export const accessStates = ['changing_access', 'suspended', 'revoked', 'restored', 'unchanged'] as const;
export const enrollmentStates = [...paymentStates, ...accessStates] as const;
export type EnrollmentState = (typeof enrollmentStates)[number];

export type { StepName };
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface StepState {
  status: StepStatus;
  /** Activity attempts across every round (a review's "retry" starts a new round). */
  attempts: number;
  lastError?: string;
  /** What the downstream gave back (enrollment id, WhatsApp message id, CRM contact id). */
  result?: Record<string, string | boolean>;
  /** Why the step was skipped, when it was. */
  skippedBecause?: string;
}

export const reviewActions = ['retry', 'skip', 'abort'] as const;
export type ReviewAction = (typeof reviewActions)[number];

/** Corrections an operator may supply when resolving a review over bad or missing student data. */
export interface StudentDataPatch {
  email?: string;
  name?: string;
  phone?: string;
  courseId?: string;
  /**
   * A catalog product id: at the provider-confirmation review, enroll this product anyway (the
   * catalog's matching and price rules are not applied; the provider must still say paid).
   */
  productId?: string;
}

export interface ResolveReviewInput {
  /**
   * The review this decision is for (`ops show` / `ops reviews` / the Web UI's current details show
   * it). A decision for another review, or none, is recorded and ignored, so a `retry` meant for one
   * review cannot land on the next. `<step>-*` (e.g. `enroll-*`) names whichever review is open at
   * that step, for batch signals; it never names an outcome-unknown review. Payments started before
   * review ids existed accept a decision without one.
   */
  reviewId?: string;
  action: ReviewAction;
  reviewer: string;
  note?: string;
  patch?: StudentDataPatch;
}

/**
 * What kind of review it is. `outcome_unknown`: a WhatsApp send may have reached Meta; a `retry` may
 * send a second message, so batch tools never retry it.
 */
export type ReviewKind = 'failure' | 'outcome_unknown' | 'data' | 'purchase';

export interface ReviewRecord {
  /** `<step>-<n>` (`enroll-1`), `<step>-unknown-<n>` for an outcome-unknown review; absent on payments started before ids. */
  id?: string;
  kind?: ReviewKind;
  step: StepName;
  reason: string;
  openedAt: string;
  resolution?: { action: ReviewAction | 'auto'; reviewer: string; note?: string; resolvedAt: string };
}

export interface EnrollmentStatus {
  workflowId: string;
  provider: PaymentEvent['provider'];
  paymentId: string;
  state: EnrollmentState;
  steps: Record<StepName, StepState>;
  openReview?: ReviewRecord;
  reviews: ReviewRecord[];
  /** Signals that arrived but could not be applied (e.g. a resolve while nothing was in review). */
  ignoredSignals: string[];
  student: { email?: string; name?: string; phone?: string };
  courseId?: string;
  /** What the provider confirmed was bought (payments started before confirmation have none). */
  purchase?: {
    productId: string;
    title: string;
    courses: string[];
    amountMinor: number;
    currency: string;
    /** Set when an operator named the product at review. */
    overriddenBy?: string;
  };
  /**
   * Content keys of the `paymentDetails` signals the workflow took (bounded): the receiver forwards a
   * redelivery only while the workflow waits for it and only with content not seen yet, so replaying
   * one body cannot grow the history.
   */
  detailsSeen?: string[];
}

/**
 * `renewal`, `partial_payment`, `handled_elsewhere`, `refunded`: the provider confirmed the payment, and
 * by the catalog's rules it grants nothing of its own (a subscription's later charge, part of an order
 * still due, a PaymentIntent whose invoice's workflow grants, a payment refunded in full before it was
 * granted: its paid webhook came late, or never).
 */
export type EnrollmentOutcome =
  | 'completed'
  | 'completed_with_skips'
  | 'aborted'
  | 'renewal'
  | 'partial_payment'
  | 'handled_elsewhere'
  | 'refunded';

export interface EnrollmentSummary {
  outcome: EnrollmentOutcome;
  workflowId: string;
  provider: PaymentEvent['provider'];
  paymentId: string;
  enrollmentId?: string;
  messageId?: string;
  contactId?: string;
  steps: Record<StepName, StepStatus>;
  reviews: number;
  abortedBy?: string;
  /** The catalog product granted, and its courses. */
  productId?: string;
  courses?: string[];
  /** Why nothing was granted, for the no-grant outcomes. */
  reason?: string;
}

export interface EnrollmentWorkflowInput {
  payment: PaymentEvent;
}

export const resolveReviewSignal = defineSignal<[ResolveReviewInput]>('resolveReview');
/**
 * Sent by the receiver when a redelivery of an already-started payment carries student data (e.g.
 * Stripe's `checkout.session.completed` after a bare `payment_intent.succeeded`): a workflow waiting
 * in review for that data picks it up and resumes by itself.
 */
export const paymentDetailsSignal = defineSignal<[PaymentEvent]>('paymentDetails');
export const statusQuery = defineQuery<EnrollmentStatus>('status');

/** Money that went back on a payment whose workflow still runs: a refund in full, or a dispute lost. */
export interface MoneyBack {
  cause: { kind: 'refund' | 'dispute' | 'subscription'; id: string };
  reason: string;
}
/**
 * Sent by an access change (src/workflows/access.ts) to a payment still running: it grants nothing
 * more (a review waiting for a person is withdrawn), ends `refunded`, and the access change takes
 * back whatever was granted before the signal came.
 */
export const moneyBackSignal = defineSignal<[MoneyBack]>('moneyBack');
