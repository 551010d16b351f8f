import {
  ActivityFailure,
  ApplicationFailure,
  type RetryPolicy,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { EnrollmentActivities } from '../activities';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/activity-errors';
import {
  type EnrollmentState,
  type EnrollmentStatus,
  type EnrollmentSummary,
  type EnrollmentWorkflowInput,
  type ResolveReviewInput,
  type ReviewRecord,
  type StepName,
  type StepState,
  enrollmentStateSearchAttribute,
  paymentDetailsSignal,
  resolveReviewSignal,
  reviewActions,
  statusQuery,
} from './messages';
import { renderCurrentDetails } from './details';
import {
  type StudentData,
  applyPatch,
  displayName,
  enrollmentProblems,
  isValidEmail,
  mergeStudentData,
  normalisePhone,
  studentDataOf,
} from './student-data';

// One proxy per downstream: each has its own failure profile, so its own declarative retry policy.
// startToCloseTimeout sits above the HTTP client's own timeout (HTTP_TIMEOUT_MS, at most 12 s) so the
// activity classifies a slow downstream itself; the Temporal timeout only catches a lost worker.
// Each step is bounded by time, not attempts: retried for up to an hour with the interval capped at a
// minute (so a recovered downstream is used again within a minute), then a person looks (review).
const downstream = (retry: Pick<RetryPolicy, 'initialInterval' | 'maximumInterval'>) =>
  proxyActivities<EnrollmentActivities>({
    startToCloseTimeout: '15s',
    scheduleToCloseTimeout: '1h',
    retry: { ...retry, backoffCoefficient: 2, nonRetryableErrorTypes: [...NON_RETRYABLE_ERROR_TYPES] },
  });

/** The LMS is idempotent by key (201 or 409), so retrying it is always safe. */
const lms = downstream({ initialInterval: '1s', maximumInterval: '1m' });

/**
 * WhatsApp is NOT idempotent. The activity only raises a retryable failure when Meta certainly did not
 * accept the message (an error code, a refused connection); an unknown outcome is non-retryable. A
 * slower start and longer ceiling respect Meta's rate limits (131056 asks for its own delay).
 */
const whatsapp = downstream({ initialInterval: '2s', maximumInterval: '2m' });

/** HubSpot upsert-by-email is idempotent; its rate limits come with their own Retry-After. */
const crm = downstream({ initialInterval: '1s', maximumInterval: '1m' });

type Decision = ResolveReviewInput | 'auto';
type StepOutcome = 'succeeded' | 'skipped' | 'aborted';

const STATE_OF_STEP: Record<StepName, EnrollmentState> = {
  details: 'validating',
  enroll: 'enrolling',
  welcome: 'messaging',
  crm: 'crm',
};

const newStep = (): StepState => ({ status: 'pending', attempts: 0 });

/**
 * How far visibility (the `EnrollmentState` search attribute that list queries, the Web UI's filters,
 * batch jobs and the business metrics read) may lag behind a payment's steps. Every upsert costs the
 * server a visibility write; one per step cost a quarter of the paid-to-enrolled throughput
 * (docs/benchmarks.md), for states that last a few milliseconds. Operators look for payments stuck for
 * minutes, so once visibility has lagged this long it is brought up to date (showing the step current
 * then); entering or leaving review, completion and abort are shown at once. The status query and the
 * Web UI's current details are always exact.
 */
export const VISIBLE_STEP_DELAY = '5s';

/** The change that made steps show late (see `VISIBLE_STEP_DELAY`), for `patched()`. */
export const SHOW_STEPS_LATE_PATCH = 'show-steps-late';

/**
 * The change that ends a cancelled workflow as Canceled: before it, the cancelled step's activity
 * failure opened a review (EnrollmentState `needs_review` and a "payment needs review" log on a
 * workflow that was in fact being cancelled).
 */
export const CANCEL_ENDS_PAYMENT_PATCH = 'cancel-ends-payment';

/** States visibility shows the moment the workflow enters them: a person or an alert acts on them. */
const SHOWN_AT_ONCE: ReadonlySet<EnrollmentState> = new Set(['needs_review', 'completed', 'aborted']);

/**
 * One payment, start to finish: check the student data, enroll in the LMS, send the WhatsApp welcome,
 * record the contact in the CRM. A step that fails for good waits in manual review for an operator's
 * `resolveReview` signal (retry / skip / abort). The welcome is never sent to a student who was not
 * enrolled, and never twice: its message id is recorded once the step succeeds.
 */
export async function enrollmentWorkflow({ payment }: EnrollmentWorkflowInput): Promise<EnrollmentSummary> {
  const { workflowId } = workflowInfo();
  const ref = { provider: payment.provider, paymentId: payment.paymentId };
  let data: StudentData = studentDataOf(payment);
  let decision: Decision | undefined;

  const status: EnrollmentStatus = {
    workflowId,
    provider: payment.provider,
    paymentId: payment.paymentId,
    state: 'validating',
    steps: { details: newStep(), enroll: newStep(), welcome: newStep(), crm: newStep() },
    reviews: [],
    ignoredSignals: [],
    student: {},
    courseId: undefined,
  };
  const syncStudent = () => {
    status.student = { email: data.email, name: data.name, phone: data.phone };
    status.courseId = data.courseId;
  };
  syncStudent();

  // The Web UI's "current details": rewritten at every change an operator would care about.
  const publish = () => setCurrentDetails(renderCurrentDetails(status));
  // What visibility shows now: set by the receiver at start (or by an earlier run, after a reset).
  let visibleState = workflowInfo().typedSearchAttributes.get(enrollmentStateSearchAttribute);
  const show = (state: EnrollmentState) => {
    if (visibleState === state) return;
    visibleState = state;
    upsertSearchAttributes([{ key: enrollmentStateSearchAttribute, value: state }]);
  };
  // Workflows started before steps were shown late replay as they ran: every step shown at once
  // (test/workflow/replay.test.ts replays histories recorded from that version).
  const showStepsLate = patched(SHOW_STEPS_LATE_PATCH);
  const setState = (state: EnrollmentState) => {
    if (!showStepsLate) {
      // The earlier version's rule, kept exactly: an upsert whenever the state changes.
      if (status.state !== state)
        upsertSearchAttributes([{ key: enrollmentStateSearchAttribute, value: state }]);
    } else if (SHOWN_AT_ONCE.has(state) || visibleState === 'needs_review') {
      // Leaving review is shown at once too, so a decided payment drops out of review filters and
      // batch signals straight away.
      show(state);
    }
    status.state = state;
    publish();
  };
  publish();
  if (showStepsLate) void showLastingSteps();

  /** Brings visibility up to date once it has lagged behind the state for VISIBLE_STEP_DELAY. */
  async function showLastingSteps(): Promise<void> {
    try {
      for (;;) {
        await condition(() => status.state !== visibleState);
        await sleep(VISIBLE_STEP_DELAY);
        show(status.state);
      }
    } catch (err) {
      // The workflow was cancelled: this timer goes with it; what visibility shows is left as it is.
      if (!isCancellation(err)) throw err;
    }
  }

  setHandler(statusQuery, () => status);

  setHandler(resolveReviewSignal, (input) => {
    const review = status.openReview;
    if (!review || decision !== undefined) {
      status.ignoredSignals.push(`resolveReview(${String(input?.action)}) while no review was open`);
      return;
    }
    // Signals cannot answer back, so a malformed one is recorded where the status query shows it.
    if (!input || !reviewActions.includes(input.action) || !input.reviewer?.trim()) {
      status.ignoredSignals.push(`resolveReview rejected: needs action retry|skip|abort and a reviewer`);
      return;
    }
    data = applyPatch(data, input.patch);
    syncStudent();
    decision = input;
  });

  setHandler(paymentDetailsSignal, (event) => {
    if (event?.provider !== payment.provider || event.paymentId !== payment.paymentId) {
      status.ignoredSignals.push('paymentDetails for another payment');
      return;
    }
    data = mergeStudentData(data, studentDataOf(event));
    syncStudent();
    if (
      status.openReview?.step === 'details' &&
      decision === undefined &&
      enrollmentProblems(data).length === 0
    ) {
      decision = 'auto';
      status.openReview.reason += ` (resolved by ${event.eventType} ${event.eventId ?? ''})`.trimEnd();
    }
  });

  /** Opens a review and waits, without a timeout: money was taken, only a person closes this. */
  async function review(step: StepName, reason: string): Promise<Decision> {
    const record: ReviewRecord = { step, reason, openedAt: new Date().toISOString() };
    status.reviews.push(record);
    status.openReview = record;
    decision = undefined;
    setState('needs_review');
    log.warn('payment needs review', { step, reason });
    await condition(() => decision !== undefined);
    const made = decision!;
    record.resolution =
      made === 'auto'
        ? { action: 'auto', reviewer: 'enrollflow', note: 'student data arrived', resolvedAt: now() }
        : { action: made.action, reviewer: made.reviewer, note: made.note, resolvedAt: now() };
    status.openReview = undefined;
    decision = undefined;
    log.info('review resolved', {
      step,
      action: record.resolution.action,
      reviewer: record.resolution.reviewer,
    });
    return made;
  }

  function skip(step: StepName, because: string) {
    status.steps[step].status = 'skipped';
    status.steps[step].skippedBecause = because;
    publish();
  }

  /** Business metric: how long after the provider took the money the student had the course. */
  function recordPaidToEnrolled() {
    const paidAt = Date.parse(payment.paidAt);
    if (Number.isNaN(paidAt)) return;
    metricMeter
      .createHistogram('enrollflow_paid_to_enrolled', 'int', 'ms', 'Time from payment to LMS enrollment')
      .record(Math.max(0, Date.now() - paidAt), { provider: payment.provider });
  }

  /** Runs one downstream step; on a failure that Temporal has stopped retrying, asks a person. */
  async function runStep(
    step: StepName,
    call: () => Promise<{ attempt: number } & Record<string, unknown>>,
    keep: (result: Record<string, unknown>) => Record<string, string | boolean>,
  ): Promise<StepOutcome> {
    const state = status.steps[step];
    for (;;) {
      setState(STATE_OF_STEP[step]);
      state.status = 'running';
      try {
        const result = await call();
        state.attempts += result.attempt;
        state.status = 'succeeded';
        state.result = keep(result);
        if (step === 'enroll') recordPaidToEnrolled();
        publish();
        return 'succeeded';
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // Our code never cancels an activity itself: a cancelled one means the workflow is being
        // cancelled (`temporal workflow cancel`), and that is no reason to ask a person.
        if (isCancellation(err) && patched(CANCEL_ENDS_PAYMENT_PATCH)) throw err;
        const failure = describeFailure(err);
        state.attempts += failure.attempts;
        state.status = 'failed';
        state.lastError = failure.message;
        const made = await review(step, failure.message);
        if (made === 'auto' || made.action === 'retry') continue;
        if (made.action === 'skip') {
          skip(step, `skipped by ${made.reviewer}`);
          return 'skipped';
        }
        return 'aborted';
      }
    }
  }

  const finish = (abortedBy?: string): EnrollmentSummary => {
    setState(abortedBy ? 'aborted' : 'completed');
    const steps = Object.fromEntries(
      Object.entries(status.steps).map(([name, s]) => [name, s.status]),
    ) as EnrollmentSummary['steps'];
    const anySkipped = Object.values(steps).includes('skipped');
    return {
      outcome: abortedBy ? 'aborted' : anySkipped ? 'completed_with_skips' : 'completed',
      workflowId,
      provider: payment.provider,
      paymentId: payment.paymentId,
      enrollmentId: status.steps.enroll.result?.enrollmentId as string | undefined,
      messageId: status.steps.welcome.result?.messageId as string | undefined,
      contactId: status.steps.crm.result?.contactId as string | undefined,
      steps,
      reviews: status.reviews.length,
      abortedBy,
    };
  };
  const lastReviewer = () => status.reviews.at(-1)?.resolution?.reviewer ?? 'unknown';

  // 1. Student data. Bad data is not a reason to drop a paid event: it waits for a correction, either
  //    from a later delivery of the same payment (paymentDetails) or from an operator's patch.
  let enrollable = true;
  for (;;) {
    const problems = enrollmentProblems(data);
    if (problems.length === 0) {
      status.steps.details.status = 'succeeded';
      break;
    }
    status.steps.details.status = 'failed';
    status.steps.details.lastError = problems.join('; ');
    const made = await review('details', `cannot enroll: ${problems.join('; ')}`);
    if (made === 'auto' || made.action === 'retry') continue;
    if (made.action === 'abort') return finish(lastReviewer());
    skip('details', `skipped by ${made.reviewer}`);
    enrollable = false;
    break;
  }

  // 2. Enrollment.
  if (enrollable) {
    const enrolled = await runStep(
      'enroll',
      () =>
        lms.enrollStudent({
          payment: ref,
          email: data.email!,
          name: displayName(data),
          courseId: data.courseId!,
        }),
      (r) => ({ enrollmentId: String(r.enrollmentId), alreadyEnrolled: Boolean(r.alreadyEnrolled) }),
    );
    if (enrolled === 'aborted') return finish(lastReviewer());
  } else {
    skip('enroll', 'student data was not usable');
  }

  // 3. Welcome message: only for an enrolled student with a phone number WhatsApp can reach.
  const phone = normalisePhone(data.phone);
  if (status.steps.enroll.status !== 'succeeded') {
    skip('welcome', 'student was not enrolled');
  } else if (!phone) {
    skip('welcome', data.phone ? 'phone number is not E.164' : 'no phone number');
  } else {
    const sent = await runStep(
      'welcome',
      () =>
        whatsapp.sendWelcomeMessage({
          payment: ref,
          phone,
          name: displayName(data),
          courseId: data.courseId!,
        }),
      (r) => ({ messageId: String(r.messageId) }),
    );
    if (sent === 'aborted') return finish(lastReviewer());
  }

  // 4. CRM contact: recorded even when enrollment was skipped, so sales can follow up.
  if (!isValidEmail(data.email)) {
    skip('crm', 'no valid email to key the contact on');
  } else {
    const recorded = await runStep(
      'crm',
      () =>
        crm.upsertCrmContact({
          payment: ref,
          email: data.email!,
          name: data.name,
          phone,
          courseId: data.courseId,
          enrolled: status.steps.enroll.status === 'succeeded',
          amountMinor: payment.amountMinor,
          currency: payment.currency,
        }),
      (r) => ({ contactId: String(r.contactId), created: Boolean(r.created) }),
    );
    if (recorded === 'aborted') return finish(lastReviewer());
  }

  return finish();
}

const now = () => new Date().toISOString();

/** Turns an activity failure into words for the status query and the review reason. */
function describeFailure(err: ActivityFailure): { message: string; attempts: number } {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as { attempt?: number } | undefined;
    return { message: `${cause.type ?? 'Error'}: ${cause.message}`, attempts: detail?.attempt ?? 1 };
  }
  if (cause instanceof TimeoutFailure)
    return { message: `activity timed out (${cause.timeoutType})`, attempts: 1 };
  return { message: cause?.message ?? err.message, attempts: 1 };
}
