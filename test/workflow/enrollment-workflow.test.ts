import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, Runtime, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { EnrollmentActivities } from '../../src/activities';
import type { PaymentEvent } from '../../src/domain/payment-event';
import {
  type EnrollmentStatus,
  paymentDetailsSignal,
  resolveReviewSignal,
  statusQuery,
} from '../../src/workflows/messages';
import { VISIBLE_STEP_DELAY } from '../../src/workflows/enrollment';
import { eventually } from '../helpers/eventually';
import { paymentEvent } from '../helpers/payments';
import { permanentLmsFailure, scriptedActivities, timeSkippingEnvironment } from './scripted-activities';

/**
 * The workflow's decisions, on Temporal's time-skipping test server: retries and backoff run in
 * virtual time. Activities are scripted stand-ins here; test/e2e runs the real ones over HTTP.
 */

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let taskQueue = 'workflow-test';
beforeEach(() => {
  // A queue per test: a worker left over from a failed test cannot steal the next test's tasks.
  taskQueue = `workflow-test-${expect.getState().currentTestName?.replace(/\W+/g, '-')}`;
});

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  env = await timeSkippingEnvironment();
  bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: new DefaultLogger('WARN'),
  });
}, 120_000);

afterAll(async () => {
  await env?.teardown();
});

async function withWorker<T>(activities: EnrollmentActivities, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: bundle,
    activities,
  });
  return worker.runUntil(fn);
}

const start = (payment: PaymentEvent) =>
  env.client.workflow.start('enrollmentWorkflow', {
    taskQueue,
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

describe('enrollmentWorkflow', () => {
  it('enrolls, welcomes and records the student once each, and reports every step', async () => {
    const { activities, calls } = scriptedActivities();
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      const handle = await start(payment);
      const result = await handle.result();
      expect((await stateOf(handle)).steps).toEqual({
        details: { status: 'succeeded', attempts: 0 },
        enroll: {
          status: 'succeeded',
          attempts: 1,
          result: { enrollmentId: 'enr_1', alreadyEnrolled: false },
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
    expect(calls.enroll).toEqual([
      {
        payment: { provider: 'razorpay', paymentId: payment.paymentId },
        email: 'asha.verma@example.com',
        name: 'Asha Verma',
        courseId: 'course-ml-101',
      },
    ]);
    expect(calls.welcome).toEqual([
      {
        payment: { provider: 'razorpay', paymentId: payment.paymentId },
        phone: '+919876543210',
        name: 'Asha Verma',
        courseId: 'course-ml-101',
      },
    ]);
    expect(calls.crm).toHaveLength(1);
    expect(calls.crm[0]).toMatchObject({
      email: 'asha.verma@example.com',
      enrolled: true,
      amountMinor: 49900,
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
      await handle.signal(resolveReviewSignal, {
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
      await handle.signal(resolveReviewSignal, {
        action: 'skip',
        reviewer: 'priya@ops',
        note: 'enrolled by hand',
      });
      return handle.result();
    });
    expect(summary.outcome).toBe('completed_with_skips');
    expect(summary.steps).toEqual({
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
      await handle.signal(resolveReviewSignal, { action: 'abort', reviewer: 'lead@ops', note: 'refunded' });
      return handle.result();
    });
    expect(summary).toMatchObject({ outcome: 'aborted', abortedBy: 'lead@ops' });
    expect(summary.steps).toEqual({
      details: 'succeeded',
      enroll: 'failed',
      welcome: 'pending',
      crm: 'pending',
    });
    expect(calls.welcome).toHaveLength(0);
    expect(calls.crm).toHaveLength(0);
  });

  it('sends a payment without a course id to review, and resumes when a later delivery brings it', async () => {
    const { activities, calls } = scriptedActivities();
    const bare = paymentEvent({ courseId: undefined, eventType: 'payment_intent.succeeded' });
    const summary = await withWorker(activities, async () => {
      const handle = await start(bare);
      const review = await inReview(handle);
      expect(review.openReview).toMatchObject({ step: 'details', reason: 'cannot enroll: no course id' });
      expect(calls.enroll).toHaveLength(0);
      await handle.signal(paymentDetailsSignal, {
        ...bare,
        eventType: 'checkout.session.completed',
        courseId: 'course-ml-101',
      });
      return handle.result();
    });
    expect(summary.outcome).toBe('completed');
    expect(calls.enroll[0]).toMatchObject({ courseId: 'course-ml-101' });
  });

  it('takes an operator correction of a bad email with the retry', async () => {
    const { activities, calls } = scriptedActivities();
    const summary = await withWorker(activities, async () => {
      const handle = await start(paymentEvent({ student: { email: 'asha at example', name: 'Asha' } }));
      const review = await inReview(handle);
      expect(review.openReview?.reason).toBe('cannot enroll: student email is not valid');
      await handle.signal(resolveReviewSignal, {
        action: 'retry',
        reviewer: 'priya@ops',
        patch: { email: 'asha@example.com' },
      });
      return handle.result();
    });
    // No phone: the welcome is skipped with a reason, not attempted.
    expect(summary.steps).toEqual({
      details: 'succeeded',
      enroll: 'succeeded',
      welcome: 'skipped',
      crm: 'succeeded',
    });
    expect(calls.enroll[0]).toMatchObject({ email: 'asha@example.com' });
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
      await handle.signal(resolveReviewSignal, { action: 'abort', reviewer: 'lead@ops' });
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
        await handle.signal(resolveReviewSignal, { action: 'retry', reviewer: 'ops@example.com' });
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
        await handle.signal(resolveReviewSignal, { action: 'abort', reviewer: 'ops@example.com' });
        await handle.result();
        expect(await upsertedStates(handle)).toEqual(['needs_review', 'aborted']);
      });
    });
  });
});
