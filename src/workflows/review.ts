/**
 * Manual review: a step that failed for good waits, without a timeout, for an operator's
 * `resolveReview` signal (retry / skip / abort). Money was taken, so only a person closes it, except a
 * review over missing student data or an unconfirmed purchase, which a later delivery of the same
 * payment (`paymentDetails`) can resolve by itself. Also answers the status query, since reviews are
 * what an operator queries for.
 */
import { condition, log, setHandler } from '@temporalio/workflow';
import { contentKey } from '../domain/content-key';
import type { PaymentEvent } from '../domain/payment-event';
import {
  type EnrollmentStatus,
  type ResolveReviewInput,
  type ReviewKind,
  type ReviewRecord,
  type StepName,
  paymentDetailsSignal,
  resolveReviewSignal,
  reviewActions,
  statusQuery,
} from './messages';
import {
  type StudentData,
  applyPatch,
  contactProblems,
  enrollmentProblems,
  mergeStudentData,
  studentDataOf,
} from './student-data';
import type { Visibility } from './visibility';

type Decision = ResolveReviewInput | 'auto';
/** What the workflow does next: run the step again, go on without it (marked skipped), or stop. */
export type ReviewOutcome = 'retry' | 'skipped' | 'aborted';

/**
 * How many distinct `paymentDetails` a payment takes. Each signal is a history event; the receiver
 * forwards only content the workflow has not seen, and only while it waits, so this bound is the last
 * line against a flood of differently-shaped signed bodies.
 */
export const MAX_DETAILS_SIGNALS = 8;
/** Ignored signals kept for the status query: the newest, so a flood cannot grow the query result. */
const MAX_IGNORED_KEPT = 20;

/**
 * Whether a decision's `reviewId` names the open review: its exact id, or `<step>-*`, which a batch
 * signal (one input for many workflows, so no per-payment id) uses to mean "the open review at that
 * step". The wildcard never matches an outcome-unknown review: retrying one may send a second message,
 * which needs a decision per payment.
 */
export function namesReview(
  named: string,
  open: Pick<ReviewRecord, 'id' | 'kind'> & { step: string },
): boolean {
  if (named === open.id) return true;
  return named === `${open.step}-*` && open.kind !== 'outcome_unknown' && open.id !== undefined;
}

/** Reviews that a later delivery of the payment may resolve by itself. */
const RESOLVED_BY_DETAILS: ReadonlySet<StepName> = new Set(['details', 'confirm']);

const now = () => new Date().toISOString();

/** The content of a delivery that matters to a waiting payment (not its event id: replays share content). */
export const detailsKey = (event: PaymentEvent): string =>
  contentKey([
    event.eventType,
    event.student.email,
    event.student.name,
    event.student.phone,
    event.courseId,
    JSON.stringify(event.references ?? {}),
  ]);

export interface ReviewRules {
  /**
   * Payments started since review ids exist: a decision must name the open review. Earlier payments
   * accept a decision without an id, as they were recorded doing.
   */
  requireReviewId: boolean;
  /** Payments started since provider confirmation: `paymentDetails` is deduplicated, bounded and can resume a confirmation review. */
  boundedDetails: boolean;
}

export class Reviews {
  private data: StudentData;
  private decision: Decision | undefined;
  private override: string | undefined;
  /** Why nothing more may be granted (the money went back): every review, open or to come, is skipped. */
  private withdrawn: string | undefined;

  constructor(
    private readonly status: EnrollmentStatus,
    private readonly payment: PaymentEvent,
    private readonly visibility: Visibility,
    private readonly rules: ReviewRules = { requireReviewId: false, boundedDetails: false },
  ) {
    this.data = studentDataOf(payment);
    this.syncStudent();
    setHandler(statusQuery, () => status);
    setHandler(resolveReviewSignal, (input) => this.onResolve(input));
    setHandler(paymentDetailsSignal, (event) => this.onPaymentDetails(event));
  }

  /** The student data as corrected so far, by redeliveries and operators' patches. */
  get student(): StudentData {
    return this.data;
  }

  /** The catalog product an operator named at the last decision, if any. */
  get productOverride(): string | undefined {
    return this.override;
  }

  /**
   * Pointers to the merchant's objects (order, payment link, session...) named by every delivery so
   * far, the first's kept on a clash: a later event can name what the first did not (a
   * `payment_link.paid` after a bare `payment.captured`). Only pointers: the provider's records are
   * what the confirmation believes.
   */
  get references(): Record<string, string> | undefined {
    const all = { ...this.laterReferences, ...this.payment.references };
    return Object.keys(all).length > 0 ? all : undefined;
  }

  private laterReferences: Record<string, string> = {};

  /** The provider's record of the buyer fills what the webhook lacked and replaces what it got wrong. */
  adoptProviderCustomer(customer: { email?: string; name?: string; phone?: string }): void {
    const provided = Object.fromEntries(
      Object.entries(customer).filter(([, v]) => typeof v === 'string' && v),
    );
    this.data = { ...this.data, ...provided, ...this.patched };
    this.syncStudent();
  }

  /** Opens a review and waits for its decision. */
  async review(step: StepName, reason: string, kind: ReviewKind = 'failure'): Promise<ReviewOutcome> {
    const { status } = this;
    const ordinal = status.reviews.filter((r) => r.step === step).length + 1;
    const id = kind === 'outcome_unknown' ? `${step}-unknown-${ordinal}` : `${step}-${ordinal}`;
    const record: ReviewRecord = { id, kind, step, reason, openedAt: now() };
    status.reviews.push(record);
    status.openReview = record;
    this.decision = this.withdrawnDecision();
    this.visibility.setState('needs_review');
    log.warn('payment needs review', { step, reason, reviewId: id });
    await condition(() => this.decision !== undefined);
    const made = this.decision!;
    record.resolution =
      made === 'auto'
        ? { action: 'auto', reviewer: 'enrollflow', note: this.autoNote(), resolvedAt: now() }
        : { action: made.action, reviewer: made.reviewer, note: made.note, resolvedAt: now() };
    status.openReview = undefined;
    this.decision = undefined;
    log.info('review resolved', {
      step,
      reviewId: id,
      action: record.resolution.action,
      reviewer: record.resolution.reviewer,
    });
    if (made === 'auto' || made.action === 'retry') return 'retry';
    if (made.action === 'abort') return 'aborted';
    this.skip(step, `skipped by ${made.reviewer}`);
    return 'skipped';
  }

  /**
   * The money went back (a full refund, a lost dispute): a person no longer needs to decide anything,
   * since nothing more will be granted. The open review, and any opened later, is skipped.
   */
  withdraw(reason: string): void {
    this.withdrawn = reason;
    if (this.status.openReview && this.decision === undefined) this.decision = this.withdrawnDecision();
  }

  private withdrawnDecision(): Decision | undefined {
    if (this.withdrawn === undefined) return undefined;
    return { action: 'skip', reviewer: 'enrollflow', note: this.withdrawn };
  }

  private autoNote(): string {
    return this.rules.boundedDetails ? 'a later delivery of the payment arrived' : 'student data arrived';
  }

  skip(step: StepName, because: string): void {
    this.status.steps[step].status = 'skipped';
    this.status.steps[step].skippedBecause = because;
    this.visibility.publish();
  }

  /** Who decided the last review: the one who aborted, when the workflow ends that way. */
  lastReviewer(): string {
    return this.status.reviews.at(-1)?.resolution?.reviewer ?? 'unknown';
  }

  /** An operator's corrections, which win over the provider's record too. */
  private patched: StudentData = {};

  private syncStudent(): void {
    this.status.student = { email: this.data.email, name: this.data.name, phone: this.data.phone };
    this.status.courseId = this.data.courseId;
  }

  private ignore(what: string): void {
    const ignored = this.status.ignoredSignals;
    ignored.push(what);
    if (this.rules.boundedDetails && ignored.length > MAX_IGNORED_KEPT)
      ignored.splice(0, ignored.length - MAX_IGNORED_KEPT);
  }

  private onResolve(input: ResolveReviewInput): void {
    const { status } = this;
    const open = status.openReview;
    if (!open || this.decision !== undefined) {
      this.ignore(`resolveReview(${String(input?.action)}) while no review was open`);
      return;
    }
    // Signals cannot answer back, so a malformed one is recorded where the status query shows it.
    if (!input || !reviewActions.includes(input.action) || !input.reviewer?.trim()) {
      this.ignore(`resolveReview rejected: needs action retry|skip|abort and a reviewer`);
      return;
    }
    const named = typeof input.reviewId === 'string' ? input.reviewId : undefined;
    if (named !== undefined ? !namesReview(named, open) : this.rules.requireReviewId) {
      this.ignore(
        `resolveReview(${input.action}) for review ${named ?? '(none named)'} while review ${open.id ?? '?'} is open`,
      );
      return;
    }
    if (input.patch) {
      const { productId, ...studentPatch } = input.patch;
      this.patched = applyPatch(this.patched, studentPatch);
      if (typeof productId === 'string' && productId.trim()) this.override = productId.trim();
    }
    this.data = applyPatch(this.data, input.patch);
    this.syncStudent();
    this.decision = input;
  }

  private onPaymentDetails(event: PaymentEvent): void {
    const { status, payment } = this;
    if (event?.provider !== payment.provider || event.paymentId !== payment.paymentId) {
      this.ignore('paymentDetails for another payment');
      return;
    }
    if (this.rules.boundedDetails) {
      const seen = (status.detailsSeen ??= []);
      const key = detailsKey(event);
      if (seen.includes(key) || seen.length >= MAX_DETAILS_SIGNALS) return;
      seen.push(key);
    }
    this.data = mergeStudentData(this.data, studentDataOf(event));
    this.syncStudent();
    this.laterReferences = { ...(event.references ?? {}), ...this.laterReferences };
    const open = status.openReview;
    if (!open || this.decision !== undefined) return;
    const resolves = this.rules.boundedDetails
      ? RESOLVED_BY_DETAILS.has(open.step) &&
        (open.step === 'confirm' || contactProblems(this.data).length === 0)
      : open.step === 'details' && enrollmentProblems(this.data).length === 0;
    if (resolves) {
      this.decision = 'auto';
      open.reason += ` (resolved by ${event.eventType} ${event.eventId ?? ''})`.trimEnd();
    }
  }
}
