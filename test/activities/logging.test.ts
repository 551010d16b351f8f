import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities } from '../../src/activities';
import { DownstreamFailure, toActivityError, toApplicationFailure } from '../../src/activities/errors';
import { captureLogs, failureOf, SECRETS, testConfig } from './support/fixtures';
import { hang, reply, ScriptedServer } from './support/scripted-server';

const payment = { provider: 'razorpay', paymentId: 'pay_Q1w2E3r4T5y6U7' } as const;
const student = { email: 'asha.verma@example.com', name: 'Asha Verma', phone: '+919876543210' };
const ACCESS_TOKEN = 'hs-access-SECRET-0005';

describe('downstream call logging', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const env = (attempt: number, activityType: string) =>
    new MockActivityEnvironment(
      {
        attempt,
        activityType,
        workflowExecution: { workflowId: 'payment-razorpay-pay_Q1w2E3r4T5y6U7', runId: 'r1' },
      },
      { logger: new DefaultLogger('ERROR') },
    );

  it('writes one line per call with the call facts and no credentials or student data', async () => {
    server
      .route('POST', '/api/enrollments', reply(201, { id: 'enr_1', email: student.email }))
      .route(
        'POST',
        '/v21.0/1234567890/messages',
        reply(400, { error: { code: 131026, message: `cannot deliver to ${student.phone}` } }),
      )
      .route(
        'POST',
        '/oauth/v1/token',
        reply(200, {
          access_token: ACCESS_TOKEN,
          refresh_token: 'hs-refresh-rotated-SECRET',
          expires_in: 1800,
        }),
      )
      .route(
        'POST',
        '/crm/v3/objects/contacts/batch/upsert',
        reply(200, { results: [{ id: '901', new: true, properties: { email: student.email } }] }),
      );
    const logs = captureLogs();
    const acts = createActivities(testConfig(server.url), { logger: logs.logger, random: () => 0 });

    await env(2, 'enrollStudent').run(acts.enrollStudent, { payment, ...student, courseId: 'course-101' });
    await failureOf(
      env(1, 'sendWelcomeMessage').run(acts.sendWelcomeMessage, {
        payment,
        ...student,
        courseId: 'course-101',
      }),
    );
    await env(1, 'upsertCrmContact').run(acts.upsertCrmContact, {
      payment,
      ...student,
      enrolled: true,
      amountMinor: 499900,
      currency: 'INR',
    });

    const lines = logs.lines();
    expect(lines.map((l) => l.msg)).toEqual([
      'lms create_enrollment',
      'whatsapp send_template',
      'hubspot oauth_token',
      'hubspot contacts_batch_upsert',
    ]);
    for (const line of lines) expect(typeof line.durationMs).toBe('number');
    const common = {
      provider: 'razorpay',
      paymentId: 'pay_Q1w2E3r4T5y6U7',
      workflowId: 'payment-razorpay-pay_Q1w2E3r4T5y6U7',
      method: 'POST',
    };
    expect(lines[0]).toMatchObject({
      ...common,
      level: 30,
      downstream: 'lms',
      url: `${server.url}/api/enrollments`,
      status: 201,
      attempt: 2,
      activityType: 'enrollStudent',
      outcome: 'ok',
    });
    expect(lines[1]).toMatchObject({
      ...common,
      level: 40,
      downstream: 'whatsapp',
      url: `${server.url}/v21.0/1234567890/messages`,
      status: 400,
      attempt: 1,
      outcome: 'non_retryable',
      errorCode: '131026',
    });
    expect(lines[2]).toMatchObject({
      ...common,
      downstream: 'hubspot',
      url: `${server.url}/oauth/v1/token`,
      status: 200,
      outcome: 'ok',
    });
    expect(lines[3]).toMatchObject({ ...common, downstream: 'hubspot', status: 200, outcome: 'ok' });

    const text = logs.text();
    for (const secret of [...Object.values(SECRETS), ACCESS_TOKEN, 'hs-refresh-rotated-SECRET']) {
      expect(text).not.toContain(secret);
    }
    for (const pii of [student.email, 'asha.verma', '9876543210', 'Asha', 'Verma']) {
      expect(text).not.toContain(pii);
    }
    expect(Object.keys(lines[0]!)).not.toEqual(expect.arrayContaining(['headers']));
  });

  it('logs a timeout as one line with the outcome and no status', async () => {
    server.route('POST', '/api/enrollments', hang);
    const logs = captureLogs();
    const acts = createActivities(testConfig(server.url, { HTTP_TIMEOUT_MS: '150' }), {
      logger: logs.logger,
    });

    await failureOf(acts.enrollStudent({ payment, ...student, courseId: 'course-101' }));

    const lines = logs.lines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, outcome: 'timeout', transportCode: 'TIMEOUT', attempt: 1 });
    expect(lines[0]).not.toHaveProperty('status');
  });

  it('masks the email or phone a refusal echoes, in the failure message and in the log line', async () => {
    server
      .route('POST', '/api/enrollments', reply(400, { error: `user ${student.email} is suspended` }))
      .route(
        'POST',
        '/v21.0/1234567890/messages',
        reply(400, { error: { code: 131026, message: `cannot deliver to ${student.phone}` } }),
      );
    const logs = captureLogs();
    const acts = createActivities(testConfig(server.url), { logger: logs.logger, random: () => 0 });

    const enroll = await failureOf(
      env(1, 'enrollStudent').run(acts.enrollStudent, { payment, ...student, courseId: 'course-101' }),
    );
    expect(enroll).toMatchObject({
      type: 'LmsRejected',
      message: 'LMS rejected the request (HTTP 400, user a***@example.com is suspended)',
      details: [{ attempt: 1, status: 400, code: 'user a***@example.com is suspended' }],
    });
    await failureOf(
      env(1, 'sendWelcomeMessage').run(acts.sendWelcomeMessage, {
        payment,
        ...student,
        courseId: 'course-101',
      }),
    );
    expect(logs.lines()[0]).toMatchObject({ errorCode: 'user a***@example.com is suspended' });
    for (const pii of [student.email, 'asha.verma', '9876543210', 'Asha', 'Verma']) {
      expect(logs.text()).not.toContain(pii);
      expect(enroll.message).not.toContain(pii);
    }
  });
});

describe('failures crossing the activity boundary', () => {
  it('mask contacts in the message and in the cause a downstream SDK raised', () => {
    const sdkError = new Error('Invalid email: asha.verma@example.com (customer +919876543210)');
    const failure = toApplicationFailure(
      new DownstreamFailure('ProviderRejected', `Stripe customer: ${sdkError.message}`, { cause: sdkError }),
      2,
    );
    expect(failure.message).toBe('Stripe customer: Invalid email: a***@example.com (customer +91******3210)');
    expect(failure.cause?.message).toBe('Invalid email: a***@example.com (customer +91******3210)');
    expect(failure.cause?.stack).not.toContain('asha.verma');
    // The SDK's own error is not changed.
    expect(sdkError.message).toContain('asha.verma@example.com');
  });

  it('mask contacts in an unforeseen error', () => {
    const failure = toActivityError(new TypeError(`bad row for ${student.email}`), 1) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure.message).toBe('Unexpected activity error: bad row for a***@example.com');
    expect(failure.type).toBe('TypeError');
    expect(failure.cause?.message).toBe('bad row for a***@example.com');
  });
});
