/**
 * Manual review: a step that failed for good waits, without a timeout, for an operator's
 * `resolveReview` signal (retry / skip / abort). Money was taken, so only a person closes it, except a
 * review over missing student data, which a later delivery of the same payment (`paymentDetails`) can
 * resolve by itself. Also answers the status query, since reviews are what an operator queries for.
 */
import { condition, log, setHandler } from '@temporalio/workflow';
import type { PaymentEvent } from '../domain/payment-event';
import {
  type EnrollmentStatus,
  type ResolveReviewInput,
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
  enrollmentProblems,
  mergeStudentData,
  studentDataOf,
} from './student-data';
import type { Visibility } from './visibility';

type Decision = ResolveReviewInput | 'auto';
/** What the workflow does next: run the step again, go on without it (marked skipped), or stop. */
export type ReviewOutcome = 'retry' | 'skipped' | 'aborted';

const now = () => new Date().toISOString();

export class Reviews {
  private data: StudentData;
  private decision: Decision | undefined;

  constructor(
    private readonly status: EnrollmentStatus,
    private readonly payment: PaymentEvent,
    private readonly visibility: Visibility,
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

  /** Opens a review and waits for its decision. */
  async review(step: StepName, reason: string): Promise<ReviewOutcome> {
    const { status } = this;
    const record: ReviewRecord = { step, reason, openedAt: now() };
    status.reviews.push(record);
    status.openReview = record;
    this.decision = undefined;
    this.visibility.setState('needs_review');
    log.warn('payment needs review', { step, reason });
    await condition(() => this.decision !== undefined);
    const made = this.decision!;
    record.resolution =
      made === 'auto'
        ? { action: 'auto', reviewer: 'enrollflow', note: 'student data arrived', resolvedAt: now() }
        : { action: made.action, reviewer: made.reviewer, note: made.note, resolvedAt: now() };
    status.openReview = undefined;
    this.decision = undefined;
    log.info('review resolved', {
      step,
      action: record.resolution.action,
      reviewer: record.resolution.reviewer,
    });
    if (made === 'auto' || made.action === 'retry') return 'retry';
    if (made.action === 'abort') return 'aborted';
    this.skip(step, `skipped by ${made.reviewer}`);
    return 'skipped';
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

  private syncStudent(): void {
    this.status.student = { email: this.data.email, name: this.data.name, phone: this.data.phone };
    this.status.courseId = this.data.courseId;
  }

  private onResolve(input: ResolveReviewInput): void {
    const { status } = this;
    if (!status.openReview || this.decision !== undefined) {
      status.ignoredSignals.push(`resolveReview(${String(input?.action)}) while no review was open`);
      return;
    }
    // Signals cannot answer back, so a malformed one is recorded where the status query shows it.
    if (!input || !reviewActions.includes(input.action) || !input.reviewer?.trim()) {
      status.ignoredSignals.push(`resolveReview rejected: needs action retry|skip|abort and a reviewer`);
      return;
    }
    this.data = applyPatch(this.data, input.patch);
    this.syncStudent();
    this.decision = input;
  }

  private onPaymentDetails(event: PaymentEvent): void {
    const { status, payment } = this;
    if (event?.provider !== payment.provider || event.paymentId !== payment.paymentId) {
      status.ignoredSignals.push('paymentDetails for another payment');
      return;
    }
    this.data = mergeStudentData(this.data, studentDataOf(event));
    this.syncStudent();
    if (
      status.openReview?.step === 'details' &&
      this.decision === undefined &&
      enrollmentProblems(this.data).length === 0
    ) {
      this.decision = 'auto';
      status.openReview.reason += ` (resolved by ${event.eventType} ${event.eventId ?? ''})`.trimEnd();
    }
  }
}
