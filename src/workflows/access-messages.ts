/**
 * Everything a client needs to talk to an access workflow (the money going back: a refund, a dispute,
 * an ended subscription). Free of Node built-ins and I/O, like ./messages.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { MoneyBackState } from '../activities/types';
import type { AccessEvent } from '../domain/access-event';
import type * as workflows from './index';
import type { EnrollmentState, ReviewAction, ReviewKind, StepState } from './messages';

export const ACCESS_WORKFLOW_TYPE = 'accessWorkflow' satisfies keyof typeof workflows;

export interface AccessWorkflowInput {
  change: AccessEvent;
}

/** What a payment's courses are left with in the LMS. */
export type AccessState = 'active' | 'suspended' | 'revoked';

export const ACCESS_STEPS = ['confirm', 'grant', 'decide', 'lms', 'crm', 'notify'] as const;
export type AccessStep = (typeof ACCESS_STEPS)[number];

export interface AccessReviewRecord {
  /** `<step>-<n>`: `lms-1`, `decide-1` (a partial refund waiting for a person); `notify-unknown-<n>` when a message may have gone. */
  id: string;
  kind: ReviewKind;
  step: AccessStep;
  reason: string;
  openedAt: string;
  resolution?: { action: ReviewAction; reviewer: string; note?: string; resolvedAt: string };
}

/** One change of access, with what caused it: `ops show` lists them as the payment's access timeline. */
export interface AccessTimelineEntry {
  at: string;
  access: AccessState | 'unchanged';
  /** The event and the provider's id that caused it (`charge.dispute.created dp_...`). */
  cause: string;
  reason: string;
  /** Courses whose enrollment changed in the LMS. */
  courses: string[];
}

export interface AccessStatus {
  workflowId: string;
  provider: AccessEvent['provider'];
  kind: AccessEvent['kind'];
  causeId: string;
  /** The payment the change concerns, once the provider has said which. */
  paymentId?: string;
  state: EnrollmentState;
  /** The provider's word, as last read. */
  confirmed?: { state: MoneyBackState; detail: string; paidUntil?: string };
  /** What this change left the payment's courses with; absent while nothing was changed. */
  access?: AccessState;
  timeline: AccessTimelineEntry[];
  steps: Record<AccessStep, StepState>;
  openReview?: AccessReviewRecord;
  reviews: AccessReviewRecord[];
  ignoredSignals: string[];
  /** The provider events this change has taken (bounded): the first, then later phases and redeliveries. */
  events: string[];
}

export type AccessOutcome = AccessState | 'restored' | 'unchanged' | 'aborted';

export interface AccessSummary {
  outcome: AccessOutcome;
  workflowId: string;
  provider: AccessEvent['provider'];
  kind: AccessEvent['kind'];
  causeId: string;
  paymentId?: string;
  access?: AccessState;
  reason: string;
  timeline: AccessTimelineEntry[];
}

/**
 * A later event of the same dispute (won, lost, closed), or a redelivery: the running workflow reads
 * the provider again. The receiver signals it when the start finds the workflow running.
 */
export const accessEventSignal = defineSignal<[AccessEvent]>('accessEvent');
export const accessStatusQuery = defineQuery<AccessStatus>('accessStatus');
