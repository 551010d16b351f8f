import { metricMeter, proxyActivities, type RetryPolicy, workflowInfo } from '@temporalio/workflow';
import type { EnrollmentActivities } from '../activities';
import { isValidEmail, normalisePhone } from '../domain/contact-rules';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/failures';
import type { EnrollmentStatus, EnrollmentSummary, EnrollmentWorkflowInput } from './messages';
import { Reviews } from './review';
import { StepRunner } from './step-runner';
import { STEP_NAMES, perStep } from './steps';
import { displayName, enrollmentProblems } from './student-data';
import { Visibility } from './visibility';

export { VISIBLE_STEP_DELAY } from './visibility';

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

/**
 * One payment, start to finish: check the student data, enroll in the LMS, send the WhatsApp welcome,
 * record the contact in the CRM. A step that fails for good waits in manual review for an operator's
 * `resolveReview` signal (retry / skip / abort). The welcome is never sent to a student who was not
 * enrolled, and never twice: its message id is recorded once the step succeeds.
 */
export async function enrollmentWorkflow({ payment }: EnrollmentWorkflowInput): Promise<EnrollmentSummary> {
  const { workflowId } = workflowInfo();
  const ref = { provider: payment.provider, paymentId: payment.paymentId };
  const status: EnrollmentStatus = {
    workflowId,
    provider: payment.provider,
    paymentId: payment.paymentId,
    state: 'validating',
    steps: perStep(() => ({ status: 'pending', attempts: 0 })),
    reviews: [],
    ignoredSignals: [],
    student: {},
    courseId: undefined,
  };
  const visibility = new Visibility(status);
  const reviews = new Reviews(status, payment, visibility);
  const steps = new StepRunner(status, visibility, reviews, (step) => {
    if (step === 'enroll') recordPaidToEnrolled(payment.provider, payment.paidAt);
  });
  const finish = (abortedBy?: string): EnrollmentSummary => {
    visibility.setState(abortedBy ? 'aborted' : 'completed');
    const outcomes = perStep((step) => status.steps[step.name].status);
    return {
      outcome: abortedBy
        ? 'aborted'
        : STEP_NAMES.some((s) => outcomes[s] === 'skipped')
          ? 'completed_with_skips'
          : 'completed',
      workflowId,
      provider: payment.provider,
      paymentId: payment.paymentId,
      enrollmentId: steps.results.enroll?.enrollmentId,
      messageId: steps.results.welcome?.messageId,
      contactId: steps.results.crm?.contactId,
      steps: outcomes,
      reviews: status.reviews.length,
      abortedBy,
    };
  };
  const student = () => reviews.student;

  // 1. Student data. Bad data is not a reason to drop a paid event: it waits for a correction, either
  //    from a later delivery of the same payment (paymentDetails) or from an operator's patch.
  let enrollable = true;
  for (;;) {
    const problems = enrollmentProblems(student());
    if (problems.length === 0) {
      status.steps.details.status = 'succeeded';
      break;
    }
    status.steps.details.status = 'failed';
    status.steps.details.lastError = problems.join('; ');
    const decided = await reviews.review('details', `cannot enroll: ${problems.join('; ')}`);
    if (decided === 'retry') continue;
    if (decided === 'aborted') return finish(reviews.lastReviewer());
    enrollable = false;
    break;
  }

  // 2. Enrollment.
  if (enrollable) {
    const enrolled = await steps.run(
      'enroll',
      () =>
        lms.enrollStudent({
          payment: ref,
          email: student().email!,
          name: displayName(student()),
          courseId: student().courseId!,
        }),
      (r) => ({ enrollmentId: String(r.enrollmentId), alreadyEnrolled: Boolean(r.alreadyEnrolled) }),
    );
    if (enrolled === 'aborted') return finish(reviews.lastReviewer());
  } else {
    reviews.skip('enroll', 'student data was not usable');
  }

  // 3. Welcome message: only for an enrolled student with a phone number WhatsApp can reach.
  const phone = normalisePhone(student().phone);
  if (status.steps.enroll.status !== 'succeeded') {
    reviews.skip('welcome', 'student was not enrolled');
  } else if (!phone) {
    reviews.skip('welcome', student().phone ? 'phone number is not E.164' : 'no phone number');
  } else {
    const sent = await steps.run(
      'welcome',
      () =>
        whatsapp.sendWelcomeMessage({
          payment: ref,
          phone,
          name: displayName(student()),
          courseId: student().courseId!,
        }),
      (r) => ({ messageId: String(r.messageId) }),
    );
    if (sent === 'aborted') return finish(reviews.lastReviewer());
  }

  // 4. CRM contact: recorded even when enrollment was skipped, so sales can follow up.
  if (!isValidEmail(student().email)) {
    reviews.skip('crm', 'no valid email to key the contact on');
  } else {
    const recorded = await steps.run(
      'crm',
      () =>
        crm.upsertCrmContact({
          payment: ref,
          email: student().email!,
          name: student().name,
          phone,
          courseId: student().courseId,
          enrolled: status.steps.enroll.status === 'succeeded',
          amountMinor: payment.amountMinor,
          currency: payment.currency,
        }),
      (r) => ({ contactId: String(r.contactId), created: Boolean(r.created) }),
    );
    if (recorded === 'aborted') return finish(reviews.lastReviewer());
  }

  return finish();
}

/** Business metric: how long after the provider took the money the student had the course. */
function recordPaidToEnrolled(provider: string, paidAtIso: string): void {
  const paidAt = Date.parse(paidAtIso);
  if (Number.isNaN(paidAt)) return;
  metricMeter
    .createHistogram('enrollflow_paid_to_enrolled', 'int', 'ms', 'Time from payment to LMS enrollment')
    .record(Math.max(0, Date.now() - paidAt), { provider });
}
