import { Context } from '@temporalio/activity';
import { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { type AccessEvent, accessWorkflowId } from '../../src/domain/access-event';
import type { PaymentEvent } from '../../src/domain/payment-event';
import {
  type AccessStatus,
  type AccessSummary,
  accessEventSignal,
  accessStatusQuery,
} from '../../src/workflows/access-messages';
import {
  type EnrollmentStatus,
  type EnrollmentSummary,
  resolveReviewSignal,
  statusQuery,
} from '../../src/workflows/messages';
import { eventually } from '../helpers/eventually';
import { paymentEvent } from '../helpers/payments';
import {
  permanentLmsFailure,
  type Script,
  scriptedActivities,
  useWorkflowEnvironment,
} from './scripted-activities';

/**
 * Access follows the money back, in every order the events can come: after the payment's workflow
 * closed, while it still runs (in review, retrying the LMS), before it ever started; disputes opened
 * then won or lost; partial refunds by policy; subscriptions ending at the end of the paid period.
 * The payment's workflow runs beside the access change on Temporal's time-skipping server, and the
 * access change reads and signals it for real; only the downstreams are scripted.
 */

const workflows = useWorkflowEnvironment('access-test');
const withWorker = workflows.withWorker;

/**
 * The activities' own client: the test environment's client locks time skipping again after each
 * `result()` it waits for, which would stop time while an activity reads a payment's result.
 */
function scripted(script: Script = {}) {
  return scriptedActivities({ ...script, temporal: new Client({ connection: workflows.env.connection }) });
}

const startPayment = (payment: PaymentEvent) =>
  workflows.env.client.workflow.start('enrollmentWorkflow', {
    taskQueue: workflows.taskQueue,
    workflowId: `payment-${payment.provider}-${payment.paymentId}`,
    args: [{ payment }],
  });

const startAccess = (change: AccessEvent) =>
  workflows.env.client.workflow.start('accessWorkflow', {
    taskQueue: workflows.taskQueue,
    workflowId: accessWorkflowId(change),
    args: [{ change }],
  });

let counter = 0;
function accessEvent(payment: PaymentEvent, overrides: Partial<AccessEvent> = {}): AccessEvent {
  counter += 1;
  return {
    provider: payment.provider,
    kind: 'refund',
    causeId: `rfnd_${String(counter).padStart(14, '0')}`,
    paymentId: payment.paymentId,
    eventType: 'refund.processed',
    eventId: `evt_access_${counter}`,
    eventCreatedAt: '2026-11-21T10:00:00.000Z',
    ...overrides,
  };
}

const paymentState = (handle: Awaited<ReturnType<typeof startPayment>>) =>
  handle.query<EnrollmentStatus>(statusQuery);
const accessState = (handle: Awaited<ReturnType<typeof startAccess>>) =>
  handle.query<AccessStatus>(accessStatusQuery);

/** The sample catalog's bundle: two courses for one price. */
const bundleGrant = {
  kind: 'grant' as const,
  product: { id: 'bundle-data-career', title: 'Data career' },
  courses: [
    { courseId: 'course-ml-101', title: 'ML', lmsCourseId: 'LMS-ml' },
    { courseId: 'course-ds-301', title: 'DS', lmsCourseId: 'LMS-ds' },
  ],
  expectedMinor: 1_799_900,
};

describe('accessWorkflow', () => {
  it('revokes every course a completed payment granted, once, keyed by the refund, and updates the CRM', async () => {
    const { activities, calls } = scripted();
    const payment = paymentEvent();
    const refund = accessEvent(payment);
    const summary = await withWorker(activities, async () => {
      expect((await (await startPayment(payment)).result()).outcome).toBe('completed');
      return (await startAccess(refund)).result() as Promise<AccessSummary>;
    });
    expect(summary).toMatchObject({ outcome: 'revoked', access: 'revoked', paymentId: payment.paymentId });
    expect(calls.changeAccess).toEqual([
      {
        payment: { provider: 'razorpay', paymentId: payment.paymentId },
        grantKey: 'course-ml-101',
        status: 'revoked',
        cause: { kind: 'refund', id: refund.causeId },
        reason: expect.stringContaining('refunded'),
        // The student the payment enrolled: Moodle and Canvas find the enrollment by it.
        email: 'asha.verma@example.com',
      },
    ]);
    expect(calls.crm.at(-1)).toMatchObject({
      email: 'asha.verma@example.com',
      enrolled: false,
      access: { state: 'revoked', reason: expect.stringContaining(refund.causeId) },
    });
    expect(summary.timeline).toEqual([
      expect.objectContaining({
        access: 'revoked',
        courses: ['course-ml-101'],
        cause: `refund.processed ${refund.causeId}`,
      }),
    ]);
  });

  it('revokes every course of a bundle', async () => {
    const { activities, calls } = scripted({ confirm: () => ({ resolution: bundleGrant }) });
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      return (await startAccess(accessEvent(payment))).result() as Promise<AccessSummary>;
    });
    expect(summary.outcome).toBe('revoked');
    expect(calls.changeAccess.map((c) => c.grantKey)).toEqual(['course-ml-101', 'course-ds-301']);
  });

  it('leaves a course of a bundle that another payment of the student enrolled first to that payment', async () => {
    const { activities, calls } = scripted({
      confirm: () => ({ resolution: bundleGrant }),
      alreadyEnrolled: ['course-ml-101'],
    });
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      return (await startAccess(accessEvent(payment))).result() as Promise<AccessSummary>;
    });
    expect(calls.changeAccess.map((c) => [c.grantKey, c.enrolledBefore])).toEqual([
      ['course-ml-101', true],
      ['course-ds-301', undefined],
    ]);
    expect(summary).toMatchObject({ outcome: 'revoked', access: 'revoked' });
    expect(summary.timeline.at(-1)).toMatchObject({ access: 'revoked', courses: ['course-ds-301'] });
  });

  it('says so when every course of the payment was enrolled by another payment first', async () => {
    const { activities } = scripted({ alreadyEnrolled: ['course-ml-101'] });
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      return (await startAccess(accessEvent(payment))).result() as Promise<AccessSummary>;
    });
    expect(summary).toMatchObject({
      outcome: 'unchanged',
      reason: expect.stringContaining('course-ml-101 enrolled by another payment of the student first'),
    });
  });

  it('a refund while the payment waits in review: the review is withdrawn and nothing is granted', async () => {
    const { activities, calls } = scripted({ enroll: permanentLmsFailure, lmsHoldsEnrollment: false });
    const payment = paymentEvent();
    await withWorker(activities, async () => {
      const paying = await startPayment(payment);
      await eventually(async () => ((await paymentState(paying)).openReview ? true : undefined));
      const summary = (await (await startAccess(accessEvent(payment))).result()) as AccessSummary;
      const paid = (await paying.result()) as EnrollmentSummary;
      expect(paid).toMatchObject({ outcome: 'refunded', reason: expect.stringContaining('money went back') });
      const review = (await paymentState(paying)).reviews[0]!;
      expect(review.resolution).toMatchObject({ action: 'skip', reviewer: 'enrollflow' });
      // The enrollment failed for good, but may have reached the LMS: it is asked, and holds none.
      expect(summary).toMatchObject({
        outcome: 'unchanged',
        reason: expect.stringContaining('the LMS holds no enrollment of this payment'),
      });
    });
    expect(calls.welcome).toEqual([]);
    expect(calls.changeAccess.map((c) => c.status)).toEqual(['revoked']);
  });

  it('a refund while the LMS is being retried: the payment enrolls, sends no welcome, and the course is revoked right after', async () => {
    let release = false;
    const { activities, calls } = scripted({
      enroll: () => {
        if (!release)
          throw ApplicationFailure.retryable('LMS is down', 'DownstreamUnavailable', { attempt: 1 });
      },
    });
    const payment = paymentEvent();
    await withWorker(activities, async () => {
      const paying = await startPayment(payment);
      await eventually(async () => (calls.enroll.length > 0 ? true : undefined));
      await eventually(async () => ((await paymentState(paying)).state === 'enrolling' ? true : undefined));
      const access = await startAccess(accessEvent(payment));
      await eventually(async () =>
        (await accessState(access)).steps.grant.status === 'running' ? true : undefined,
      );
      release = true;
      expect(((await paying.result()) as EnrollmentSummary).outcome).toBe('refunded');
      expect(((await access.result()) as AccessSummary).outcome).toBe('revoked');
    });
    expect(calls.enroll.length).toBeGreaterThan(0);
    expect(calls.welcome).toEqual([]);
    expect(calls.changeAccess.map((c) => c.status)).toEqual(['revoked']);
  });

  it('a refund for a payment enrollflow never saw grants nothing and says so; the late paid webhook finds it refunded', async () => {
    const { activities, calls } = scripted({
      confirm: () => ({
        resolution: { kind: 'none', outcome: 'refunded', reason: 'refunded in full before it was granted' },
      }),
    });
    const payment = paymentEvent();
    await withWorker(activities, async () => {
      const summary = (await (await startAccess(accessEvent(payment))).result()) as AccessSummary;
      expect(summary).toMatchObject({ outcome: 'unchanged', reason: expect.stringContaining('never saw') });
      const late = (await (await startPayment(payment)).result()) as EnrollmentSummary;
      expect(late.outcome).toBe('refunded');
    });
    expect(calls.enroll).toEqual([]);
    expect(calls.changeAccess).toEqual([]);
  });

  it('a dispute suspends, waits for its decision, and restores when won', async () => {
    let disputeState: 'dispute_open' | 'dispute_won' = 'dispute_open';
    const { activities, calls } = scripted({
      confirmChange: () => ({ state: disputeState, detail: `dispute is ${disputeState}` }),
    });
    const payment = paymentEvent();
    const opened = accessEvent(payment, {
      kind: 'dispute',
      causeId: 'disp_00000000000001',
      eventType: 'payment.dispute.created',
    });
    await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      const dispute = await startAccess(opened);
      await eventually(async () => ((await accessState(dispute)).state === 'suspended' ? true : undefined));
      disputeState = 'dispute_won';
      await dispute.signal(accessEventSignal, { ...opened, eventType: 'payment.dispute.won' });
      const summary = (await dispute.result()) as AccessSummary;
      expect(summary).toMatchObject({ outcome: 'restored', access: 'active' });
      expect(summary.timeline.map((t) => t.access)).toEqual(['suspended', 'active']);
    });
    expect(calls.changeAccess.map((c) => c.status)).toEqual(['suspended', 'active']);
  });

  it('a dispute decided while its suspension is being applied is read again at once', async () => {
    let disputeState: 'dispute_open' | 'dispute_won' = 'dispute_open';
    const payment = paymentEvent();
    const opened = accessEvent(payment, {
      kind: 'dispute',
      causeId: 'disp_00000000000003',
      eventType: 'payment.dispute.created',
    });
    const client = new Client({ connection: workflows.env.connection });
    const { activities, calls } = scripted({
      confirmChange: () => ({ state: disputeState, detail: `dispute is ${disputeState}` }),
      // The decision's webhook lands while the LMS suspends: after the provider was read as open.
      changeAccess: () => {
        if (disputeState === 'dispute_open') {
          disputeState = 'dispute_won';
          void client.workflow
            .getHandle(accessWorkflowId(opened))
            .signal(accessEventSignal, { ...opened, eventType: 'payment.dispute.won' });
        }
      },
    });
    await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      const dispute = await startAccess(opened);
      const summary = (await dispute.result()) as AccessSummary;
      expect(summary.outcome).toBe('restored');
      // Not found by the weekly look (no timer fired): the signal that came during the suspension counted.
      const { events } = await dispute.fetchHistory();
      expect(events?.filter((e) => e.timerFiredEventAttributes)).toEqual([]);
    });
    expect(calls.changeAccess.map((c) => c.status)).toEqual(['suspended', 'active']);
  });

  it('a dispute lost revokes; without news it asks the provider again after a week', async () => {
    let disputeState: 'dispute_open' | 'dispute_lost' = 'dispute_open';
    const { activities, calls } = scripted({
      confirmChange: () => ({ state: disputeState, detail: `dispute is ${disputeState}` }),
    });
    const payment = paymentEvent();
    const opened = accessEvent(payment, {
      kind: 'dispute',
      causeId: 'disp_00000000000002',
      eventType: 'payment.dispute.created',
    });
    await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      const dispute = await startAccess(opened);
      await eventually(async () => ((await accessState(dispute)).state === 'suspended' ? true : undefined));
      // No webhook for the decision: the weekly look finds it (time skips to it).
      disputeState = 'dispute_lost';
      const summary = (await dispute.result()) as AccessSummary;
      expect(summary).toMatchObject({ outcome: 'revoked', access: 'revoked' });
    });
    expect(calls.changeAccess.map((c) => c.status)).toEqual(['suspended', 'revoked']);
    expect(calls.confirmChange.length).toBeGreaterThanOrEqual(2);
  });

  it('a partial refund waits for a person by default: retry revokes, skip keeps', async () => {
    const { activities, calls } = scripted({
      confirmChange: () => ({ state: 'partial_refund', detail: 'refund: 100000 of 499900 INR refunded' }),
    });
    const kept = paymentEvent();
    const revoked = paymentEvent();
    await withWorker(activities, async () => {
      for (const [payment, action] of [
        [kept, 'skip'],
        [revoked, 'retry'],
      ] as const) {
        await (await startPayment(payment)).result();
        const access = await startAccess(accessEvent(payment));
        const open = await eventually(async () => (await accessState(access)).openReview);
        expect(open).toMatchObject({
          id: 'decide-1',
          step: 'decide',
          reason: expect.stringContaining('retry revokes'),
        });
        await access.signal(resolveReviewSignal, {
          reviewId: 'decide-1',
          action,
          reviewer: 'ops@example.com',
        });
        const summary = (await access.result()) as AccessSummary;
        expect(summary.outcome).toBe(action === 'retry' ? 'revoked' : 'unchanged');
      }
    });
    expect(calls.changeAccess.map((c) => c.payment.paymentId)).toEqual([revoked.paymentId]);
  });

  it('an ended subscription keeps access to the end of the period paid for, then revokes', async () => {
    // 20 days after the workflow first asks, by the test server's clock (time skipping moves it on).
    let paidUntil: string | undefined;
    const { activities, calls } = scripted({
      confirmChange: () => {
        paidUntil ??= new Date(
          Context.current().info.currentAttemptScheduledTimestampMs + 20 * 86_400_000,
        ).toISOString();
        return { state: 'subscription_ended', detail: 'subscription sub_1 is cancelled', paidUntil };
      },
    });
    const payment = paymentEvent();
    await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      const access = await startAccess(
        accessEvent(payment, {
          kind: 'subscription',
          causeId: 'sub_00000000000001',
          eventType: 'subscription.cancelled',
        }),
      );
      const summary = (await access.result()) as AccessSummary;
      expect(summary.outcome).toBe('revoked');
    });
    expect(calls.changeAccess).toHaveLength(1);
    expect(calls.confirmChange).toHaveLength(2);
  });

  it('an LMS that refuses the revocation for good waits in review; retry runs it again', async () => {
    let refuse = true;
    const { activities, calls } = scripted({
      changeAccess: () => {
        if (refuse) permanentLmsFailure();
      },
    });
    const payment = paymentEvent();
    await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      const access = await startAccess(accessEvent(payment));
      const open = await eventually(async () => (await accessState(access)).openReview);
      expect(open).toMatchObject({ id: 'lms-1', step: 'lms', kind: 'failure' });
      refuse = false;
      // A batch decision names the step; a wrong id is recorded and ignored.
      await access.signal(resolveReviewSignal, { reviewId: 'crm-1', action: 'retry', reviewer: 'ops' });
      await access.signal(resolveReviewSignal, { reviewId: 'lms-*', action: 'retry', reviewer: 'ops' });
      const summary = (await access.result()) as AccessSummary;
      expect(summary.outcome).toBe('revoked');
      expect((await accessState(access)).ignoredSignals).toHaveLength(1);
    });
    expect(calls.changeAccess).toHaveLength(2);
  });

  it('a dispute of a payment whose course the LMS holds under another payment suspends nothing', async () => {
    const { activities, calls } = scripted({
      lmsHoldsEnrollment: false,
      confirmChange: () => ({ state: 'dispute_lost', detail: 'dispute disp_x is lost' }),
    });
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      const dispute = await startAccess(
        accessEvent(payment, { kind: 'dispute', causeId: 'disp_00000000000009' }),
      );
      return (await dispute.result()) as AccessSummary;
    });
    expect(summary.outcome).toBe('unchanged');
    expect(summary.access).toBeUndefined();
    expect(summary.timeline).toEqual([
      expect.objectContaining({
        access: 'unchanged',
        reason: expect.stringContaining('no enrollment of this payment'),
      }),
    ]);
    expect(calls.changeAccess).toHaveLength(1);
    expect(calls.crm).toHaveLength(1);
  });

  it('a refund the provider does not know changes nothing', async () => {
    const { activities, calls } = scripted({
      confirmChange: () => ({
        state: 'not_found',
        detail: 'Razorpay does not know refund rfnd_x',
        paymentId: undefined,
      }),
    });
    const payment = paymentEvent();
    const summary = await withWorker(activities, async () => {
      await (await startPayment(payment)).result();
      return (await startAccess(accessEvent(payment))).result() as Promise<AccessSummary>;
    });
    expect(summary).toMatchObject({ outcome: 'unchanged', reason: 'Razorpay does not know refund rfnd_x' });
    expect(calls.changeAccess).toEqual([]);
  });
});
