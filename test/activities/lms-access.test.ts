/**
 * Taking access back in the generic LMS, against the real sandbox over real HTTP: enrollments are
 * made through the enrollment client itself, then suspended, restored or revoked.
 */
import { changeAccessOnce, enrollStudentOnce } from '../../src/activities/lms';
import { createGenericLms } from '../../src/activities/lms/generic';
import type { ChangeAccessInput } from '../../src/activities/types';
import { credentials, useSandbox } from '../sandbox/harness';
import { captureLogs, downstreamFailureOf, noJitter } from './support/fixtures';

const sandbox = useSandbox();

const logs = captureLogs();
const deps = { fetch, logger: logs.logger, timeoutMs: 2_000, now: Date.now, random: noJitter };
const config = (key = credentials.LMS_API_KEY) => ({ LMS_BASE_URL: `${sandbox.url}/lms`, LMS_API_KEY: key });
const payment = { provider: 'razorpay' as const, paymentId: 'pay_Acc3ssTest0001' };
const refund = { kind: 'refund' as const, id: 'rfnd_Q1x2Y3z4A5b6C7' };

const enroll = (grantKey = 'course-ml-101', courseId = 'ML-101') =>
  enrollStudentOnce(createGenericLms(config(), deps), {
    payment,
    email: 'asha.rao@example.com',
    name: 'Asha Rao',
    courseId,
    grantKey,
  });
const change = (input: Partial<ChangeAccessInput> = {}, cfg = config()) =>
  changeAccessOnce(createGenericLms(cfg, deps), () => undefined, {
    payment,
    grantKey: 'course-ml-101',
    status: 'revoked',
    cause: refund,
    reason: 'full refund',
    ...input,
  });
const enrollments = () => sandbox.state.snapshot().enrollments;

const failureOf = downstreamFailureOf;

describe('changeAccessOnce', () => {
  it('revokes the enrollment of one course of the payment, under a key derived from the refund', async () => {
    const { enrollmentId } = await enroll();
    const other = await enroll('course-ds-301', 'DS-301');
    expect(await change()).toEqual({ found: true, enrollmentId, status: 'revoked', attempt: 1 });
    const [ml, ds] = enrollments();
    expect(ml).toMatchObject({ id: enrollmentId, status: 'revoked' });
    expect(ml!.access_changes).toEqual([
      expect.objectContaining({
        from: 'active',
        to: 'revoked',
        reason: 'full refund',
        external_ref: 'razorpay:refund:rfnd_Q1x2Y3z4A5b6C7',
        idempotencyKey: 'enrollflow-razorpay-rfnd_Q1x2Y3z4A5b6C7-lms-revoked-course-ml-101',
      }),
    ]);
    expect(ds).toMatchObject({ id: other.enrollmentId, status: 'active' });
  });

  it('changes nothing twice: a retry or a redelivery of the same refund revokes once', async () => {
    await enroll();
    await change();
    await change();
    await change({ cause: { kind: 'refund', id: 'rfnd_SecondRefund01' }, reason: 'another refund' });
    expect(enrollments()[0]!.access_changes).toHaveLength(1);
  });

  it('suspends for a dispute and restores when it is won', async () => {
    await enroll();
    const dispute = { kind: 'dispute' as const, id: 'disp_Q9w8E7r6T5y4U3' };
    expect(await change({ status: 'suspended', cause: dispute, reason: 'dispute opened' })).toMatchObject({
      status: 'suspended',
    });
    expect(await change({ status: 'active', cause: dispute, reason: 'dispute won' })).toMatchObject({
      status: 'active',
    });
    expect(enrollments()[0]!.access_changes.map((c) => c.to)).toEqual(['suspended', 'active']);
  });

  it('says found: false when nothing was granted under the payment and course', async () => {
    expect(await change()).toEqual({ found: false, attempt: 1 });
    expect(enrollments()).toEqual([]);
  });

  it('fails for good, naming it, when asked to restore a revoked enrollment', async () => {
    await enroll();
    await change();
    const failure = await failureOf(
      change({ status: 'active', cause: { kind: 'dispute', id: 'disp_Late0001' }, reason: 'dispute won' }),
    );
    expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true, status: 409 });
    expect(failure.message).toMatch(/already revoked/);
  });

  it('fails for good on a wrong API key, retryably on an injected 5xx', async () => {
    await enroll();
    const denied = await failureOf(change({}, config('wrong-key')));
    expect(denied).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true, status: 401 });
    await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lms: { failNext: 1 } }),
    });
    const down = await failureOf(change());
    expect(down).toMatchObject({ type: 'DownstreamUnavailable', nonRetryable: false });
    expect(enrollments()[0]!.status).toBe('active');
    expect((await change()).status).toBe('revoked');
  });

  it('refuses an input without a cause id before calling anything', async () => {
    const before = sandbox.state.snapshot().requests.length;
    await expect(change({ cause: { kind: 'refund', id: '' } })).rejects.toMatchObject({
      type: 'InvalidActivityInput',
    });
    expect(sandbox.state.snapshot().requests.length).toBe(before);
  });
});
