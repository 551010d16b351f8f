import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import type { PaymentEvent } from '../../src/domain/payment-event';
import {
  type EnrollmentStatus,
  type ResolveReviewInput,
  paymentDetailsSignal,
  resolveReviewSignal,
  statusQuery,
} from '../../src/workflows/messages';
import { VISIBLE_STEP_DELAY } from '../../src/workflows/enrollment';
import { MAX_DETAILS_SIGNALS } from '../../src/workflows/review';
import { eventually } from '../helpers/eventually';
import { paymentEvent } from '../helpers/payments';
import { permanentLmsFailure, scriptedActivities, useWorkflowEnvironment } from './scripted-activities';

/**
 * The workflow's decisions, on Temporal's time-skipping test server: retries and backoff run in
 * virtual time. Activities are scripted stand-ins here; test/e2e runs the real ones over HTTP.
 */

const workflows = useWorkflowEnvironment('workflow-test');
const withWorker = workflows.withWorker;

const start = (payment: PaymentEvent) =>
  workflows.env.client.workflow.start('enrollmentWorkflow', {
    taskQueue: workflows.taskQueue,
    workflowId: `payment-${payment.provider}-${payment.paymentId}`,
    args: [{ payment }],
  });

const stateOf = async (handle: Awaited<ReturnType<typeof start>>): Promise<EnrollmentStatus> =>
  handle.query(statusQuery);

const inReview = (handle: Awaited<ReturnType<typeof start>>) =>
  eventually(async () => {
    const status = await stateOf(handle);
    return status.state === 'needs_review' ? status : undefined;
  });

/** Resolves the open review, naming it as every decision must. */
async function decide(
  handle: Awaited<ReturnType<typeof start>>,
  input: Omit<ResolveReviewInput, 'reviewId'>,
) {
  const { openReview } = await inReview(handle);
  await handle.signal(resolveReviewSignal, { ...input, reviewId: openReview!.id });
}

describe('enrollmentWorkflow', () => {
  it('enrolls, welcomes and records the student once each, and reports every step', async () => {
    const { activities, calls } = scriptedActivities();
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      const handle = await start(payment);
      const result = await handle.result();
      expect((await stateOf(handle)).steps).toEqual({
        confirm: { status: 'succeeded', attempts: 1, result: { verdict: 'grant', product: 'course-ml-101' } },
        details: { status: 'succeeded', attempts: 0 },
        enroll: {
          status: 'succeeded',
          attempts: 1,
          // The course whose enrollment this payment made: what its refund may take back.
          result: { enrollmentId: 'enr_1', alreadyEnrolled: false, created: 'course-ml-101' },
        },
        welcome: { status: 'succeeded', attempts: 1, result: { messageId: 'wamid.1' } },
        crm: { status: 'succeeded', attempts: 1, result: { contactId: '101', created: true } },
      });
      return result;
    });
    expect(summary).toMatchObject({
      outcome: 'completed',
      enrollmentId: 'enr_1',
      messageId: 'wamid.1',
      contactId: '101',
      reviews: 0,
    });
    expect(calls.confirm).toEqual([{ payment: { provider: 'razorpay', paymentId: payment.paymentId } }]);
    expect(calls.enroll).toEqual([
      {
        payment: { provider: 'razorpay', paymentId: payment.paymentId },
        email: 'asha.verma@example.com',
        name: 'Asha Verma',
        courseId: 'LMS-course-ml-101',
        grantKey: 'course-ml-101',
      },
    ]);
    expect(calls.welcome).toEqual([
      {
        payment: { provider: 'razorpay', paymentId: payment.paymentId },
        phone: '+919876543210',
        name: 'Asha Verma',
        courseId: 'course-ml-101',
        courseTitle: 'Course course-ml-101',
      },
    ]);
    expect(calls.crm).toHaveLength(1);
    expect(calls.crm[0]).toMatchObject({
      email: 'asha.verma@example.com',
      courseId: 'course-ml-101',
      enrolled: true,
      amountMinor: 499900,
      currency: 'INR',
    });
  });

  it('rides out retryable downstream failures through the retry policy and counts the attempts', async () => {
    const { activities, calls } = scriptedActivities({
      enroll: (attempt) => {
        if (attempt < 3)
          throw ApplicationFailure.retryable('LMS answered 503', 'DownstreamUnavailable', { attempt });
      },
      crm: (attempt) => {
        if (attempt < 2)
          throw ApplicationFailure.create({ message: '429', type: 'RateLimited', nextRetryDelay: '30s' });
      },
    });
    const summary = await withWorker(activities, async () => {
      const handle = await start(paymentEvent());
      const result = await handle.result();
      const status = await stateOf(handle);
      expect(status.steps.enroll.attempts).toBe(3);
      expect(status.steps.crm.attempts).toBe(2);
      return result;
    });
    expect(summary.outcome).toBe('completed');
    expect(calls.enroll).toHaveLength(3);
    expect(calls.welcome).toHaveLength(1);
    expect(calls.crm).toHaveLength(2);
  });

  it('puts a permanent LMS failure into review, sends no welcome, and retries on the signal', async () => {
    let lmsFixed = false;
    const { activities, calls } = scriptedActivities({
      enroll: () => (lmsFixed ? undefined : permanentLmsFailure()),
    });
    const summary = await withWorker(activities, async () => {
      const handle = await start(paymentEvent());
      const review = await inReview(handle);
      expect(review.openReview).toMatchObject({
        step: 'enroll',
        reason: 'LmsRejected: course is closed for enrollment',
      });
      expect(review.steps.enroll).toMatchObject({
        status: 'failed',
        attempts: 1,
        lastError: 'LmsRejected: course is closed for enrollment',
      });
      expect(calls.welcome).toHaveLength(0);
      expect(calls.crm).toHaveLength(0);

      lmsFixed = true;
      await decide(handle, {
        action: 'retry',
        reviewer: 'priya@ops',
        note: 'course reopened',
      });
      const result = await handle.result();
      const status = await stateOf(handle);
      expect(status.reviews).toEqual([
        expect.objectContaining({
          step: 'enroll',
          resolution: expect.objectContaining({
            action: 'retry',
            reviewer: 'priya@ops',
            note: 'course reopened',
          }),
        }),
      ]);
      expect(status.steps.enroll).toMatchObject({ status: 'succeeded', attempts: 2 });
      return result;
    });
    expect(summary).toMatchObject({ outcome: 'completed', reviews: 1 });
    expect(calls.enroll).toHaveLength(2);
    expect(calls.welcome).toHaveLength(1);
  });

  it('on skip of a failed enrollment, never sends the welcome but still records the contact', async () => {
    const { activities, calls } = scriptedActivities({ enroll: permanentLmsFailure });
    const summary = await withWorker(activities, async () => {
      const handle = await start(paymentEvent());
      await inReview(handle);
      await decide(handle, {
        action: 'skip',
        reviewer: 'priya@ops',
        note: 'enrolled by hand',
      });
      return handle.result();
    });
    expect(summary.outcome).toBe('completed_with_skips');
    expect(summary.steps).toEqual({
      confirm: 'succeeded',
      details: 'succeeded',
      enroll: 'skipped',
      welcome: 'skipped',
      crm: 'succeeded',
    });
    expect(calls.welcome).toHaveLength(0);
    expect(calls.crm[0]).toMatchObject({ enrolled: false });
  });

  it('on abort, ends with outcome aborted and calls nothing further', async () => {
    const { activities, calls } = scriptedActivities({ enroll: permanentLmsFailure });
    const summary = await withWorker(activities, async () => {
      const handle = await start(paymentEvent());
      await inReview(handle);
      await decide(handle, { action: 'abort', reviewer: 'lead@ops', note: 'refunded' });
      return handle.result();
    });
    expect(summary).toMatchObject({ outcome: 'aborted', abortedBy: 'lead@ops' });
    expect(summary.steps).toEqual({
      confirm: 'succeeded',
      details: 'succeeded',
      enroll: 'failed',
      welcome: 'pending',
      crm: 'pending',
    });
    expect(calls.welcome).toHaveLength(0);
    expect(calls.crm).toHaveLength(0);
  });

  it('waits in review when the catalog cannot tell what was bought, and retries when a later delivery comes', async () => {
    let rounds = 0;
    const { activities, calls } = scriptedActivities({
      confirm: () =>
        ++rounds === 1
          ? { resolution: { kind: 'review', reason: 'no catalog product for this purchase' } }
          : {},
    });
    const bare = paymentEvent({ courseId: undefined, eventType: 'payment_intent.succeeded' });
    const summary = await withWorker(activities, async () => {
      const handle = await start(bare);
      const review = await inReview(handle);
      expect(review.openReview).toMatchObject({
        id: 'confirm-1',
        kind: 'purchase',
        step: 'confirm',
        reason: 'no catalog product for this purchase',
      });
      expect(calls.enroll).toHaveLength(0);
      await handle.signal(paymentDetailsSignal, { ...bare, eventType: 'checkout.session.completed' });
      return handle.result();
    });
    expect(summary.outcome).toBe('completed');
    expect(calls.confirm).toHaveLength(2);
    expect(calls.enroll[0]).toMatchObject({ grantKey: 'course-ml-101' });
  });

  it('takes the buyer from the provider, and an operator correction of a bad email with the retry', async () => {
    const { activities, calls } = scriptedActivities({
      confirm: () => ({ customer: { email: 'asha at example', name: 'Asha' } }),
    });
    const summary = await withWorker(activities, async () => {
      const handle = await start(paymentEvent({ student: {} }));
      const review = await inReview(handle);
      expect(review.openReview).toMatchObject({
        id: 'details-1',
        reason: 'cannot enroll: student email is not valid',
      });
      await decide(handle, {
        action: 'retry',
        reviewer: 'priya@ops',
        patch: { email: 'asha@example.com' },
      });
      return handle.result();
    });
    // No phone: the welcome is skipped with a reason, not attempted.
    expect(summary.steps).toEqual({
      confirm: 'succeeded',
      details: 'succeeded',
      enroll: 'succeeded',
      welcome: 'skipped',
      crm: 'succeeded',
    });
    expect(calls.enroll[0]).toMatchObject({ email: 'asha@example.com', name: 'Asha' });
    expect(calls.welcome).toHaveLength(0);
  });

  it('ends as Canceled when cancelled during a step, without opening a review or calling further', async () => {
    const { activities, calls } = scriptedActivities({
      enroll: (attempt) => {
        throw ApplicationFailure.retryable('LMS answered 503', 'DownstreamUnavailable', { attempt });
      },
    });
    await withWorker(activities, async () => {
      const handle = await start(paymentEvent());
      await eventually(async () =>
        ((await handle.describe()).raw.pendingActivities?.[0]?.attempt ?? 0) >= 2 ? true : undefined,
      );
      await handle.cancel();
      const failure = await handle.result().catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
      expect((await handle.describe()).status.name).toBe('CANCELLED');
      const status = await stateOf(handle);
      expect(status.reviews).toEqual([]);
      expect(status.state).toBe('enrolling');
      expect(calls.welcome).toHaveLength(0);
      expect(calls.crm).toHaveLength(0);
    });
  });

  it('records, and otherwise ignores, a resolve signal when nothing is in review or the signal is malformed', async () => {
    const { activities } = scriptedActivities({ enroll: permanentLmsFailure });
    await withWorker(activities, async () => {
      const handle = await start(paymentEvent());
      await inReview(handle);
      await handle.signal(resolveReviewSignal, { action: 'delete' as never, reviewer: 'x' });
      await handle.signal(resolveReviewSignal, { action: 'abort', reviewer: '  ' });
      const status = await eventually(async () => {
        const s = await stateOf(handle);
        return s.ignoredSignals.length === 2 ? s : undefined;
      });
      expect(status.state).toBe('needs_review');
      await decide(handle, { action: 'abort', reviewer: 'lead@ops' });
      await handle.result();
    });
  });
  describe('visibility (EnrollmentState)', () => {
    /** The EnrollmentState values the workflow upserted, in history order. */
    async function upsertedStates(handle: Awaited<ReturnType<typeof start>>): Promise<unknown[]> {
      const history = await handle.fetchHistory();
      return (history.events ?? []).flatMap((event) => {
        const field =
          event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields
            ?.EnrollmentState;
        return field ? [defaultPayloadConverter.fromPayload(field)] : [];
      });
    }

    it('shows a payment done in moments as completed, without a write per step', async () => {
      const { activities } = scriptedActivities();
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        await handle.result();
        // No EnrollmentState upsert per step, one at the end; the patch marker brings one of its own
        // (TemporalChangeVersion): two visibility writes where there were four.
        expect(await upsertedStates(handle)).toEqual(['completed']);
        const upserts = (await handle.fetchHistory()).events!.filter(
          (e) => e.upsertWorkflowSearchAttributesEventAttributes,
        );
        expect(
          upserts.map((e) =>
            Object.keys(e.upsertWorkflowSearchAttributesEventAttributes!.searchAttributes!.indexedFields!),
          ),
        ).toEqual([['TemporalChangeVersion'], ['EnrollmentState']]);
        const { searchAttributes } = await handle.describe();
        expect(searchAttributes.EnrollmentState).toEqual(['completed']);
      });
    });

    it(`shows a step that lasts longer than ${VISIBLE_STEP_DELAY}, then the final state`, async () => {
      // The LMS fails attempts 1-3: with the policy's 1 s, 2 s, 4 s backoff it is down for ~7 s.
      const { activities } = scriptedActivities({
        enroll: (attempt) => {
          if (attempt < 4)
            throw ApplicationFailure.retryable('LMS answered 503', 'DownstreamUnavailable', { attempt });
        },
      });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        await handle.result();
        expect(await upsertedStates(handle)).toEqual(['enrolling', 'completed']);
      });
    });

    it('shows entering and leaving a review at once', async () => {
      let lmsFixed = false;
      const { activities } = scriptedActivities({
        enroll: () => (lmsFixed ? undefined : permanentLmsFailure()),
      });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        await inReview(handle);
        expect(await upsertedStates(handle)).toEqual(['needs_review']);
        lmsFixed = true;
        await decide(handle, { action: 'retry', reviewer: 'ops@example.com' });
        await handle.result();
        // "enrolling" right after the decision, not 5 s later: a decided payment leaves review filters.
        expect(await upsertedStates(handle)).toEqual(['needs_review', 'enrolling', 'completed']);
      });
    });

    it('shows an abort at once', async () => {
      const { activities } = scriptedActivities({ enroll: permanentLmsFailure });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        await inReview(handle);
        await decide(handle, { action: 'abort', reviewer: 'ops@example.com' });
        await handle.result();
        expect(await upsertedStates(handle)).toEqual(['needs_review', 'aborted']);
      });
    });
  });

  describe('what the provider confirmed and the catalog grants', () => {
    const bundle = {
      kind: 'grant' as const,
      product: { id: 'bundle-data-career', title: 'Data Career bundle' },
      courses: [
        { courseId: 'course-ml-101', title: 'Machine Learning 101', lmsCourseId: 'ML-101' },
        { courseId: 'course-ds-301', title: 'Data Science 301', lmsCourseId: 'DS-301' },
      ],
      expectedMinor: 1_799_900,
    };

    it('enrolls every course of a bundle with its own key, and sends one welcome naming them', async () => {
      const { activities, calls } = scriptedActivities({ confirm: () => ({ resolution: bundle }) });
      const summary = await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        const result = await handle.result();
        expect((await stateOf(handle)).purchase).toMatchObject({
          productId: 'bundle-data-career',
          courses: ['course-ml-101', 'course-ds-301'],
        });
        return result;
      });
      expect(summary).toMatchObject({
        outcome: 'completed',
        productId: 'bundle-data-career',
        courses: ['course-ml-101', 'course-ds-301'],
      });
      expect(calls.enroll).toEqual([
        expect.objectContaining({ courseId: 'ML-101', grantKey: 'course-ml-101' }),
        expect.objectContaining({ courseId: 'DS-301', grantKey: 'course-ds-301' }),
      ]);
      expect(calls.welcome).toEqual([
        expect.objectContaining({ courseTitle: 'Machine Learning 101, Data Science 301' }),
      ]);
    });

    it('grants nothing for a renewal charge, and asks nobody', async () => {
      const { activities, calls } = scriptedActivities({
        confirm: () => ({
          resolution: { kind: 'none', outcome: 'renewal', reason: 'renewal charge of subscription sub_1' },
        }),
      });
      const summary = await withWorker(activities, async () => (await start(paymentEvent())).result());
      expect(summary).toMatchObject({
        outcome: 'renewal',
        reason: 'renewal charge of subscription sub_1',
        reviews: 0,
      });
      expect(summary.steps).toEqual({
        confirm: 'succeeded',
        details: 'skipped',
        enroll: 'skipped',
        welcome: 'skipped',
        crm: 'skipped',
      });
      expect(calls.enroll).toHaveLength(0);
      expect(calls.welcome).toHaveLength(0);
    });

    it('enrolls the product an operator names at a confirmation review, and nothing before', async () => {
      const { activities, calls } = scriptedActivities({
        confirm: (input) =>
          input.operatorProductId
            ? { resolution: { ...bundle, expectedMinor: 0, overriddenBy: 'operator' as const } }
            : {
                resolution: {
                  kind: 'review',
                  reason: 'paid INR 1.00 but the catalog price is INR 17,999.00',
                },
              },
      });
      const summary = await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        const review = await inReview(handle);
        expect(review.openReview?.reason).toContain('INR 17,999.00');
        expect(calls.enroll).toHaveLength(0);
        await decide(handle, {
          action: 'retry',
          reviewer: 'lead@ops',
          note: 'price changed mid-sale',
          patch: { productId: 'bundle-data-career' },
        });
        const result = await handle.result();
        expect((await stateOf(handle)).purchase?.overriddenBy).toBe('lead@ops');
        return result;
      });
      expect(summary.outcome).toBe('completed');
      expect(calls.confirm.map((c) => c.operatorProductId)).toEqual([undefined, 'bundle-data-career']);
      expect(calls.enroll).toHaveLength(2);
    });

    it('aborting a confirmation review grants nothing', async () => {
      const { activities, calls } = scriptedActivities({
        confirm: () => ({ resolution: { kind: 'review', reason: 'Razorpay does not know payment pay_x' } }),
      });
      const summary = await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        await decide(handle, { action: 'abort', reviewer: 'lead@ops', note: 'forged' });
        return handle.result();
      });
      expect(summary).toMatchObject({ outcome: 'aborted', abortedBy: 'lead@ops' });
      expect(calls.enroll).toHaveLength(0);
      expect(calls.crm).toHaveLength(0);
    });
  });

  describe('a decision names its review', () => {
    it('ignores a decision for no review, another review or an earlier one, and records each', async () => {
      let lmsFixed = false;
      const { activities, calls } = scriptedActivities({
        enroll: () => (lmsFixed ? undefined : permanentLmsFailure()),
      });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        const first = await inReview(handle);
        expect(first.openReview).toMatchObject({ id: 'enroll-1', kind: 'failure' });
        await handle.signal(resolveReviewSignal, { action: 'retry', reviewer: 'ops' });
        await handle.signal(resolveReviewSignal, { action: 'retry', reviewer: 'ops', reviewId: 'welcome-1' });
        const status = await eventually(async () => {
          const s = await stateOf(handle);
          return s.ignoredSignals.length === 2 ? s : undefined;
        });
        expect(status.ignoredSignals).toEqual([
          'resolveReview(retry) for review (none named) while review enroll-1 is open',
          'resolveReview(retry) for review welcome-1 while review enroll-1 is open',
        ]);
        expect(status.state).toBe('needs_review');
        expect(calls.enroll).toHaveLength(1);

        // Retried without fixing the LMS: a second review opens, and the first one's id no longer decides.
        await handle.signal(resolveReviewSignal, { action: 'retry', reviewer: 'ops', reviewId: 'enroll-1' });
        const second = await eventually(async () => {
          const s = await stateOf(handle);
          return s.openReview?.id === 'enroll-2' ? s : undefined;
        });
        await handle.signal(resolveReviewSignal, { action: 'abort', reviewer: 'ops', reviewId: 'enroll-1' });
        await eventually(async () =>
          (await stateOf(handle)).ignoredSignals.length === 3 ? true : undefined,
        );
        expect(second.state).toBe('needs_review');
        lmsFixed = true;
        await handle.signal(resolveReviewSignal, { action: 'retry', reviewer: 'ops', reviewId: 'enroll-2' });
        expect((await handle.result()).outcome).toBe('completed');
      });
    });

    it('marks a WhatsApp outcome-unknown review so batch tools can tell it apart', async () => {
      const { activities } = scriptedActivities({
        welcome: () => {
          throw ApplicationFailure.nonRetryable('timeout after send', 'WhatsAppOutcomeUnknown', {
            attempt: 1,
          });
        },
      });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        const review = await inReview(handle);
        expect(review.openReview).toMatchObject({
          id: 'welcome-unknown-1',
          kind: 'outcome_unknown',
          step: 'welcome',
        });
        // A batch signal's step wildcard cannot decide it: retrying may send a second message.
        await handle.signal(resolveReviewSignal, {
          action: 'retry',
          reviewer: 'batch',
          reviewId: 'welcome-*',
        });
        const refused = await eventually(async () => {
          const s = await stateOf(handle);
          return s.ignoredSignals.length === 1 ? s : undefined;
        });
        expect(refused.ignoredSignals).toEqual([
          'resolveReview(retry) for review welcome-* while review welcome-unknown-1 is open',
        ]);
        expect(refused.state).toBe('needs_review');
        await decide(handle, { action: 'skip', reviewer: 'ops', note: 'delivered, per Meta' });
        expect((await handle.result()).outcome).toBe('completed_with_skips');
      });
    });

    it('takes a step wildcard from a batch signal for the review open at that step only', async () => {
      let lmsFixed = false;
      const { activities, calls } = scriptedActivities({
        enroll: () => (lmsFixed ? undefined : permanentLmsFailure()),
      });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        await inReview(handle);
        await handle.signal(resolveReviewSignal, { action: 'retry', reviewer: 'batch', reviewId: 'crm-*' });
        await eventually(async () =>
          (await stateOf(handle)).ignoredSignals.length === 1 ? true : undefined,
        );
        expect(calls.enroll).toHaveLength(1);
        lmsFixed = true;
        await handle.signal(resolveReviewSignal, {
          action: 'retry',
          reviewer: 'batch',
          reviewId: 'enroll-*',
        });
        expect(await handle.result()).toMatchObject({ outcome: 'completed', reviews: 1 });
        expect((await stateOf(handle)).reviews[0]!.resolution).toMatchObject({
          action: 'retry',
          reviewer: 'batch',
        });
      });
    });
  });

  describe('a payment of a part-paid order', () => {
    const due = {
      resolution: {
        kind: 'none' as const,
        outcome: 'partial_payment' as const,
        reason: 'order order_T1 is partly paid: ₹2,999.00 of ₹4,999.00 due',
        moneyDue: true as const,
      },
    };

    it('looks again while money is due, and grants once an earlier payment captured later completes it', async () => {
      let asked = 0;
      const { activities, calls } = scriptedActivities({
        confirm: () => ((asked += 1) <= 2 ? due : undefined),
      });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        expect(await handle.result()).toMatchObject({ outcome: 'completed' });
        expect(calls.confirm).toHaveLength(3);
        expect(calls.enroll).toHaveLength(1);
      });
    });

    it('ends partial_payment, granting nothing, when the order stays part-paid', async () => {
      const { activities, calls } = scriptedActivities({ confirm: () => due });
      await withWorker(activities, async () => {
        const handle = await start(paymentEvent());
        expect(await handle.result()).toMatchObject({
          outcome: 'partial_payment',
          reason: due.resolution.reason,
        });
        expect(calls.confirm).toHaveLength(5);
        expect(calls.enroll).toHaveLength(0);
      });
    });
  });

  describe('a later delivery names what the first did not', () => {
    it('passes the payment link a later payment_link.paid names to the next confirmation', async () => {
      const { activities, calls } = scriptedActivities({
        confirm: (input) =>
          input.references?.payment_link === 'plink_Later0001'
            ? undefined
            : { resolution: { kind: 'review', reason: 'no catalog product for this purchase: order notes' } },
      });
      await withWorker(activities, async () => {
        const payment = paymentEvent({ references: { order: 'order_First0001' } });
        const handle = await start(payment);
        await inReview(handle);
        await handle.signal(paymentDetailsSignal, {
          ...payment,
          eventType: 'payment_link.paid',
          references: { order: 'order_Other0001', payment_link: 'plink_Later0001' },
        });
        expect(await handle.result()).toMatchObject({ outcome: 'completed' });
        // The first delivery's pointer wins a clash; the later one adds what it lacked.
        expect(calls.confirm.at(-1)!.references).toEqual({
          order: 'order_First0001',
          payment_link: 'plink_Later0001',
        });
      });
    });
  });

  describe('redeliveries cannot grow a payment', () => {
    it('takes each distinct content once and at most MAX_DETAILS_SIGNALS of them', async () => {
      const { activities } = scriptedActivities({
        confirm: () => ({ resolution: { kind: 'review', reason: 'Razorpay does not know payment' } }),
      });
      await withWorker(activities, async () => {
        const payment = paymentEvent();
        const handle = await start(payment);
        await inReview(handle);
        // The first one resumes the review (a confirmation retried once more); the replays change nothing.
        for (let i = 0; i < 5; i++) await handle.signal(paymentDetailsSignal, payment);
        for (let i = 0; i < MAX_DETAILS_SIGNALS + 5; i++) {
          await handle.signal(paymentDetailsSignal, { ...payment, student: { name: `Name ${i}` } });
        }
        const status = await eventually(async () => {
          const s = await stateOf(handle);
          return s.detailsSeen?.length === MAX_DETAILS_SIGNALS && s.state === 'needs_review' ? s : undefined;
        });
        expect(new Set(status.detailsSeen).size).toBe(MAX_DETAILS_SIGNALS);
        await decide(handle, { action: 'abort', reviewer: 'ops', note: 'done' });
        await handle.result();
      });
    });
  });
});
