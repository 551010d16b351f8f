import { metricMeter, patched, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { ConfirmPurchaseResult } from '../activities';
import { isValidEmail, normalisePhone } from '../domain/contact-rules';
import type { CourseGrant } from '../domain/purchase';
import {
  type EnrollmentOutcome,
  type EnrollmentStatus,
  type EnrollmentSummary,
  type EnrollmentWorkflowInput,
  type MoneyBack,
  moneyBackSignal,
} from './messages';
import { CONFIRM_WITH_PROVIDER_PATCH, MONEY_BACK_PATCH, RECHECK_PARTIAL_ORDER_PATCH } from './patches';
import { crm, lms, provider, whatsapp } from './retry-policies';
import { Reviews } from './review';
import { StepRunner } from './step-runner';
import { STEP_NAMES, perStep } from './steps';
import { contactProblems, displayName, enrollmentProblems } from './student-data';
import { Visibility } from './visibility';

export { VISIBLE_STEP_DELAY } from './visibility';

/**
 * One payment, start to finish: confirm it with the provider and resolve what it bought against the
 * catalog, check the student data, enroll every course bought in the LMS, send the WhatsApp welcome,
 * record the contact in the CRM. A step that fails for good waits in manual review for an operator's
 * `resolveReview` signal (retry / skip / abort) naming the review. The welcome is never sent to a
 * student who was not enrolled, and never twice: its message id is recorded once the step succeeds.
 */
/**
 * How a payment of a part-paid order looks again before it ends `partial_payment`: long enough for a
 * payment Razorpay is still capturing, and in all under the 10 minutes after which a running payment
 * counts as paid but not enrolled (`enrollflow_paid_not_enrolled`, its alert). A payment made later
 * completes the order in its own workflow.
 */
const ORDER_RECHECKS = 4;
const ORDER_RECHECK_INTERVAL = '2 minutes';

export async function enrollmentWorkflow({ payment }: EnrollmentWorkflowInput): Promise<EnrollmentSummary> {
  // Checked before the first command: payments started before provider confirmation replay as they ran.
  const confirmFirst = patched(CONFIRM_WITH_PROVIDER_PATCH);
  const { workflowId } = workflowInfo();
  const ref = { provider: payment.provider, paymentId: payment.paymentId };
  const status: EnrollmentStatus = {
    workflowId,
    provider: payment.provider,
    paymentId: payment.paymentId,
    state: confirmFirst ? 'confirming' : 'validating',
    steps: perStep(() => ({ status: 'pending', attempts: 0 })),
    reviews: [],
    ignoredSignals: [],
    student: {},
    courseId: undefined,
  };
  const visibility = new Visibility(status, confirmFirst);
  const reviews = new Reviews(status, payment, visibility, {
    requireReviewId: confirmFirst,
    boundedDetails: confirmFirst,
  });
  let enrolledOnce = false;
  const steps = new StepRunner(status, visibility, reviews, (step) => {
    if (step === 'enroll' && !enrolledOnce) {
      enrolledOnce = true;
      recordPaidToEnrolled(payment.provider, payment.paidAt);
    }
  });
  const finish = (
    ending: { abortedBy?: string; outcome?: EnrollmentOutcome; reason?: string } = {},
  ): EnrollmentSummary => {
    visibility.setState(ending.abortedBy ? 'aborted' : 'completed');
    const outcomes = perStep((step) => status.steps[step.name].status);
    return {
      outcome: ending.abortedBy
        ? 'aborted'
        : (ending.outcome ??
          (STEP_NAMES.some((s) => outcomes[s] === 'skipped' && s !== 'confirm')
            ? 'completed_with_skips'
            : 'completed')),
      workflowId,
      provider: payment.provider,
      paymentId: payment.paymentId,
      enrollmentId: steps.results.enroll?.enrollmentId,
      messageId: steps.results.welcome?.messageId,
      contactId: steps.results.crm?.contactId,
      steps: outcomes,
      reviews: status.reviews.length,
      abortedBy: ending.abortedBy,
      productId: status.purchase?.productId,
      courses: status.purchase?.courses,
      reason: ending.reason,
    };
  };
  const aborted = () => finish({ abortedBy: reviews.lastReviewer() });
  const student = () => reviews.student;

  if (!confirmFirst) {
    reviews.skip('confirm', 'payment started before provider confirmation');
    return legacyFlow();
  }

  // The money went back while this payment runs: nothing more is granted; the access change that
  // said so takes back what was granted before.
  let moneyBack: MoneyBack | undefined;
  setHandler(moneyBackSignal, (signalled) => {
    if (moneyBack !== undefined || !patched(MONEY_BACK_PATCH)) return;
    moneyBack = signalled;
    reviews.withdraw(`the money went back: ${signalled.reason}`);
  });
  const refunded = () => grantNothing(`the money went back: ${moneyBack!.reason}`, 'refunded');

  // 1. Ask the provider, not the webhook: what was paid, by whom, for which catalog product.
  let confirmed: ConfirmPurchaseResult | undefined;
  let orderRechecks = 0;
  for (;;) {
    let result: ConfirmPurchaseResult | undefined;
    const ran = await steps.run(
      'confirm',
      async () =>
        (result = await provider.confirmPurchase({
          payment: ref,
          references: reviews.references,
          operatorProductId: reviews.productOverride,
        })),
      (r) => ({
        verdict: r.resolution.kind,
        product: r.resolution.kind === 'grant' ? r.resolution.product.id : '',
      }),
    );
    if (ran === 'aborted') return aborted();
    if (moneyBack) return refunded();
    if (ran === 'skipped') return grantNothing('confirmation was skipped: nothing is granted');
    const resolution = result!.resolution;
    if (resolution.kind === 'grant') {
      confirmed = result;
      break;
    }
    if (resolution.kind === 'none') {
      if (resolution.moneyDue && orderRechecks < ORDER_RECHECKS && patched(RECHECK_PARTIAL_ORDER_PATCH)) {
        orderRechecks += 1;
        await sleep(ORDER_RECHECK_INTERVAL);
        continue;
      }
      reviews.adoptProviderCustomer(result!.customer);
      return grantNothing(resolution.reason, resolution.outcome);
    }
    status.steps.confirm.status = 'failed';
    status.steps.confirm.lastError = resolution.reason;
    const decided = await reviews.review('confirm', resolution.reason, 'purchase');
    if (decided === 'aborted') return aborted();
    if (moneyBack) return refunded();
    if (decided === 'skipped') return grantNothing('confirmation was skipped: nothing is granted');
  }
  const grant = confirmed!.resolution as Extract<ConfirmPurchaseResult['resolution'], { kind: 'grant' }>;
  reviews.adoptProviderCustomer(confirmed!.customer);
  status.purchase = {
    productId: grant.product.id,
    title: grant.product.title,
    courses: grant.courses.map((c) => c.courseId),
    amountMinor: confirmed!.amountMinor,
    currency: confirmed!.currency,
    overriddenBy: grant.overriddenBy ? status.reviews.at(-1)?.resolution?.reviewer : undefined,
  };
  status.courseId = grant.product.id;
  visibility.publish();

  // 2. Student data: the provider's record of the buyer, corrected by an operator's patch if needed.
  for (;;) {
    const problems = contactProblems(student());
    if (problems.length === 0) {
      status.steps.details.status = 'succeeded';
      break;
    }
    status.steps.details.status = 'failed';
    status.steps.details.lastError = problems.join('; ');
    const decided = await reviews.review('details', `cannot enroll: ${problems.join('; ')}`, 'data');
    if (decided === 'aborted') return aborted();
    if (moneyBack) return refunded();
    if (decided === 'retry') continue;
    break;
  }

  // 3. Enrollment: one LMS activity per course bought (the generic LMS gets one idempotency key each).
  const enrolled: CourseGrant[] = [];
  if (status.steps.details.status === 'succeeded') {
    for (const course of grant.courses) {
      if (moneyBack) break;
      const ran = await steps.run(
        'enroll',
        () =>
          lms.enrollStudent({
            payment: ref,
            email: student().email!,
            name: displayName(student()),
            courseId: course.lmsCourseId,
            grantKey: course.courseId,
          }),
        (r) => {
          const before = steps.results.enroll;
          return {
            enrollmentId: [before?.enrollmentId, String(r.enrollmentId)].filter(Boolean).join(','),
            alreadyEnrolled: (before?.alreadyEnrolled ?? true) && Boolean(r.alreadyEnrolled),
            created: [before?.created, r.alreadyEnrolled ? '' : course.courseId].filter(Boolean).join(','),
          };
        },
      );
      if (ran === 'aborted') return aborted();
      if (ran === 'succeeded') enrolled.push(course);
    }
    if (moneyBack) return refunded();
    if (enrolled.length < grant.courses.length) {
      const missed = grant.courses.filter((c) => !enrolled.includes(c)).map((c) => c.courseId);
      reviews.skip('enroll', `not enrolled in ${missed.join(', ')} (skipped at review)`);
    }
  } else {
    reviews.skip('enroll', 'student data was not usable');
  }

  // 4. One welcome naming every course the student was enrolled in.
  const phone = normalisePhone(student().phone);
  if (enrolled.length === 0) {
    reviews.skip('welcome', 'student was not enrolled');
  } else if (!phone) {
    reviews.skip('welcome', student().phone ? 'phone number is not E.164' : 'no phone number');
  } else {
    const templates = new Set(enrolled.map((c) => c.welcomeTemplate));
    const sent = await steps.run(
      'welcome',
      () =>
        whatsapp.sendWelcomeMessage({
          payment: ref,
          phone,
          name: displayName(student()),
          courseId: grant.product.id,
          courseTitle: enrolled.map((c) => c.title).join(', '),
          // A bundle whose courses name different templates gets the deployment's default.
          template: templates.size === 1 ? [...templates][0] : undefined,
        }),
      (r) => ({ messageId: String(r.messageId) }),
    );
    if (sent === 'aborted') return aborted();
  }
  if (moneyBack) return refunded();

  // 5. CRM contact: recorded even when enrollment was skipped, so sales can follow up.
  const recorded = await recordContact(grant.product.id, enrolled.length > 0, confirmed!);
  if (recorded === 'aborted') return aborted();
  return finish();

  /** The provider confirmed the payment and it grants nothing (or an operator skipped confirming it). */
  function grantNothing(reason: string, outcome?: EnrollmentOutcome): EnrollmentSummary {
    for (const step of STEP_NAMES) {
      if (step !== 'confirm' && status.steps[step].status === 'pending') reviews.skip(step, reason);
    }
    return finish({ outcome, reason });
  }

  async function recordContact(
    courseId: string | undefined,
    isEnrolled: boolean,
    paid: { amountMinor: number; currency: string },
  ) {
    if (!isValidEmail(student().email)) {
      reviews.skip('crm', 'no valid email to key the contact on');
      return 'skipped' as const;
    }
    return steps.run(
      'crm',
      () =>
        crm.upsertCrmContact({
          payment: ref,
          email: student().email!,
          name: student().name,
          phone: normalisePhone(student().phone),
          courseId,
          enrolled: isEnrolled,
          amountMinor: paid.amountMinor,
          currency: paid.currency,
        }),
      (r) => ({ contactId: String(r.contactId), created: Boolean(r.created) }),
    );
  }

  /**
   * Payments started before provider confirmation, kept exactly as they ran (their histories replay on
   * this code): the course came from the webhook. Retire with CONFIRM_WITH_PROVIDER_PATCH.
   */
  async function legacyFlow(): Promise<EnrollmentSummary> {
    let enrollable = true;
    for (;;) {
      const problems = enrollmentProblems(student());
      if (problems.length === 0) {
        status.steps.details.status = 'succeeded';
        break;
      }
      status.steps.details.status = 'failed';
      status.steps.details.lastError = problems.join('; ');
      const decided = await reviews.review('details', `cannot enroll: ${problems.join('; ')}`, 'data');
      if (decided === 'retry') continue;
      if (decided === 'aborted') return aborted();
      enrollable = false;
      break;
    }

    if (enrollable) {
      const ran = await steps.run(
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
      if (ran === 'aborted') return aborted();
    } else {
      reviews.skip('enroll', 'student data was not usable');
    }

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
      if (sent === 'aborted') return aborted();
    }

    const recorded = await recordContact(
      student().courseId,
      status.steps.enroll.status === 'succeeded',
      payment,
    );
    if (recorded === 'aborted') return aborted();
    return finish();
  }
}

/** Business metric: how long after the provider took the money the student had the course. */
function recordPaidToEnrolled(provider: string, paidAtIso: string): void {
  const paidAt = Date.parse(paidAtIso);
  if (Number.isNaN(paidAt)) return;
  metricMeter
    .createHistogram('enrollflow_paid_to_enrolled', 'int', 'ms', 'Time from payment to LMS enrollment')
    .record(Math.max(0, Date.now() - paidAt), { provider });
}
