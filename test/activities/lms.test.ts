import { createActivities } from '../../src/activities';
import type { EnrollStudentInput } from '../../src/activities/types';
import { activityEnv, captureLogs, failureOf, noJitter, SECRETS, testConfig } from './support/fixtures';
import { hang, reply, ScriptedServer, closedPortUrl } from './support/scripted-server';

const payment = { provider: 'razorpay', paymentId: 'pay_Q1w2E3r4T5y6U7' } as const;
const input: EnrollStudentInput = {
  payment,
  email: 'asha.verma@example.com',
  name: 'Asha Verma',
  courseId: 'course-101',
};
const PATH = '/api/enrollments';
const NOW = Date.UTC(2026, 10, 2, 10, 0, 0);

describe('enrollStudent (LMS)', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const activities = (overrides: Record<string, string> = {}, random = noJitter) =>
    createActivities(testConfig(server.url, overrides), {
      logger: captureLogs().logger,
      now: () => NOW,
      random,
    });

  it('enrolls on 201 and sends the documented request', async () => {
    server.route('POST', PATH, reply(201, { id: 'enr_1', status: 'active' }));

    const result = await activityEnv().run(activities().enrollStudent, input);

    expect(result).toEqual({ enrollmentId: 'enr_1', alreadyEnrolled: false, attempt: 1 });
    expect(server.requests).toHaveLength(1);
    const req = server.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(PATH);
    expect(req.headers['x-api-key']).toBe(SECRETS.lmsApiKey);
    expect(req.headers['idempotency-key']).toBe('enrollflow-razorpay-pay_Q1w2E3r4T5y6U7-lms');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toEqual({
      email: 'asha.verma@example.com',
      name: 'Asha Verma',
      course_id: 'course-101',
      external_ref: 'razorpay:pay_Q1w2E3r4T5y6U7',
    });
  });

  it('treats 409 already_enrolled as success and takes the id from the existing enrollment', async () => {
    server.route('POST', PATH, reply(409, { error: 'already_enrolled', enrollment: { id: 'enr_7' } }));

    const result = await activityEnv().run(activities().enrollStudent, input);

    expect(result).toEqual({ enrollmentId: 'enr_7', alreadyEnrolled: true, attempt: 1 });
  });

  it('refuses a 409 already_enrolled whose enrollment is suspended: the student has no access', async () => {
    server.route(
      'POST',
      PATH,
      reply(409, { error: 'already_enrolled', enrollment: { id: 'enr_7', status: 'suspended' } }),
    );

    await expect(activityEnv().run(activities().enrollStudent, input)).rejects.toMatchObject({
      type: 'LmsRejected',
      nonRetryable: true,
      message: expect.stringContaining('enr_7 is suspended'),
    });
  });

  it('falls back to the external_ref when a 409 already_enrolled does not name the enrollment', async () => {
    server.route('POST', PATH, reply(409, { error: 'already_enrolled' }));

    const result = await activityEnv().run(activities().enrollStudent, input);

    expect(result).toEqual({
      enrollmentId: 'razorpay:pay_Q1w2E3r4T5y6U7',
      alreadyEnrolled: true,
      attempt: 1,
    });
  });

  it('retries a 409 that is not already_enrolled (same key still in flight)', async () => {
    server.route('POST', PATH, reply(409, { error: 'request_in_progress' }));

    expect(await failureOf(activityEnv().run(activities().enrollStudent, input))).toMatchObject({
      type: 'DownstreamUnavailable',
      nonRetryable: false,
      details: [{ attempt: 1, status: 409, code: 'request_in_progress' }],
    });
  });

  it.each(['enrollment_rejected', 'invalid_request', 'idempotency_key_reused'])(
    'fails without retry on 422 %s',
    async (code) => {
      server.route('POST', PATH, reply(422, { error: code }));

      expect(await failureOf(activityEnv().run(activities().enrollStudent, input))).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 422, code }],
        message: `LMS rejected the request (HTTP 422, ${code})`,
      });
    },
  );

  it('fails retryably on 503 and leaves the delay to the retry policy', async () => {
    server.route('POST', PATH, reply(503, { error: 'maintenance' }));

    expect(await failureOf(activityEnv().run(activities().enrollStudent, input))).toEqual({
      type: 'DownstreamUnavailable',
      nonRetryable: false,
      nextRetryDelay: undefined,
      details: [{ attempt: 1, status: 503, code: 'maintenance' }],
      message: 'LMS unavailable (HTTP 503, maintenance)',
    });
  });

  it('turns 429 Retry-After delay-seconds into nextRetryDelay', async () => {
    server.route('POST', PATH, reply(429, { error: 'rate_limited' }, { 'Retry-After': '30' }));

    expect(await failureOf(activityEnv().run(activities().enrollStudent, input))).toMatchObject({
      type: 'RateLimited',
      nonRetryable: false,
      nextRetryDelay: 30_000,
      details: [{ attempt: 1, status: 429, code: 'rate_limited' }],
    });
  });

  it('adds jitter on top of the requested delay', async () => {
    server.route('POST', PATH, reply(429, {}, { 'Retry-After': '30' }));

    const failure = await failureOf(activityEnv().run(activities({}, () => 0.5).enrollStudent, input));

    expect(failure.nextRetryDelay).toBe(30_500);
  });

  it('turns 429 Retry-After HTTP-date into nextRetryDelay relative to now', async () => {
    const at = new Date(NOW + 120_000).toUTCString();
    server.route('POST', PATH, reply(429, {}, { 'Retry-After': at }));

    expect(await failureOf(activityEnv().run(activities().enrollStudent, input))).toMatchObject({
      type: 'RateLimited',
      nextRetryDelay: 120_000,
      details: [{ attempt: 1, status: 429 }],
    });
  });

  it('clamps a huge Retry-After to 15 minutes', async () => {
    server.route('POST', PATH, reply(429, {}, { 'Retry-After': '86400' }));

    const failure = await failureOf(activityEnv().run(activities().enrollStudent, input));

    expect(failure.nextRetryDelay).toBe(15 * 60 * 1000);
  });

  it('fails retryably on a timeout: the LMS is idempotent by key', async () => {
    server.route('POST', PATH, hang);

    const started = Date.now();
    const failure = await failureOf(
      activityEnv().run(activities({ HTTP_TIMEOUT_MS: '200' }).enrollStudent, input),
    );

    expect(failure).toMatchObject({
      type: 'DownstreamTimeout',
      nonRetryable: false,
      details: [{ attempt: 1, code: 'TIMEOUT' }],
    });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(server.requests).toHaveLength(1);
  });

  it('fails retryably when the LMS refuses connections', async () => {
    const acts = createActivities(testConfig(await closedPortUrl()), { logger: captureLogs().logger });

    expect(await failureOf(activityEnv().run(acts.enrollStudent, input))).toMatchObject({
      type: 'DownstreamUnavailable',
      nonRetryable: false,
      details: [{ attempt: 1, code: 'ECONNREFUSED' }],
    });
  });

  it('presents the same Idempotency-Key on attempt 1 and attempt 2 and reports the attempt', async () => {
    server.sequence('POST', PATH, reply(503, {}), reply(201, { id: 'enr_2' }));
    const acts = activities();

    const first = await failureOf(activityEnv(1).run(acts.enrollStudent, input));
    const second = await activityEnv(2).run(acts.enrollStudent, input);

    expect(first.details).toEqual([{ attempt: 1, status: 503 }]);
    expect(second).toEqual({ enrollmentId: 'enr_2', alreadyEnrolled: false, attempt: 2 });
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual([
      'enrollflow-razorpay-pay_Q1w2E3r4T5y6U7-lms',
      'enrollflow-razorpay-pay_Q1w2E3r4T5y6U7-lms',
    ]);
    expect(server.requests[0]!.body).toBe(server.requests[1]!.body);
  });

  it('asks for a retry when a 201 carries no enrollment id', async () => {
    server.route('POST', PATH, reply(201, { status: 'active' }));

    expect(await failureOf(activityEnv().run(activities().enrollStudent, input))).toMatchObject({
      type: 'DownstreamBadResponse',
      nonRetryable: false,
      details: [{ attempt: 1, status: 201 }],
    });
  });

  it('rejects bad input before calling the LMS', async () => {
    const failure = await failureOf(
      activityEnv().run(activities().enrollStudent, { ...input, email: 'not-an-email', courseId: '' }),
    );

    expect(failure).toMatchObject({
      type: 'InvalidActivityInput',
      nonRetryable: true,
      details: [{ attempt: 1, code: 'invalid_input' }],
    });
    expect(failure.message).toBe(
      'enrollStudent: invalid input (email: must be an email address; courseId: must not be empty)',
    );
    expect(server.requests).toHaveLength(0);
  });

  it('works outside an activity, reporting attempt 1', async () => {
    server.route('POST', PATH, reply(201, { id: 'enr_3' }));

    await expect(activities().enrollStudent(input)).resolves.toEqual({
      enrollmentId: 'enr_3',
      alreadyEnrolled: false,
      attempt: 1,
    });
  });
});
