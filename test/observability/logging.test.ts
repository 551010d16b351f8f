import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { httpRequest } from '../../src/activities/http';
import { loadWebhookConfig, loadWorkerConfig } from '../../src/config';
import { withLogContext } from '../../src/runtime/logger';
import { captureLines } from './log-capture';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';

/** Structured logs: correlation ids on every line, and redaction in the one logger. */
describe('log correlation', () => {
  it('puts the context (the request id) on every line written inside it, across awaits', async () => {
    const { logger, lines } = captureLines('webhook');
    const deep = async () => {
      await new Promise((r) => setTimeout(r, 5));
      logger.debug({ workflowId: 'payment-razorpay-pay_1' }, 'details not forwarded');
    };
    await Promise.all([
      withLogContext({ requestId: 'req-1' }, async () => {
        logger.info('first');
        await deep();
      }),
      withLogContext({ requestId: 'req-2' }, async () => logger.info({ requestId: 'explicit' }, 'second')),
    ]);
    logger.info('outside');
    expect(lines().map((l) => [l.msg, l.requestId])).toEqual([
      ['first', 'req-1'],
      ['second', 'explicit'],
      ['details not forwarded', 'req-1'],
      ['outside', undefined],
    ]);
  });

  describe('activity log lines', () => {
    let server: Server;
    let url: string;
    beforeAll(async () => {
      server = createServer((_req, res) =>
        res.writeHead(201, { 'content-type': 'application/json' }).end('{}'),
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it('carry the workflow id, activity id, activity type and attempt', async () => {
      const { logger, lines } = captureLines('worker');
      const env = new MockActivityEnvironment(
        {
          activityId: '7',
          activityType: 'enrollStudent',
          attempt: 3,
          workflowExecution: { workflowId: 'payment-razorpay-pay_Q1w2E3r4T5y6U7', runId: 'r1' },
        },
        { logger: new DefaultLogger('ERROR') },
      );
      await env.run(() =>
        httpRequest(
          { fetch, logger, timeoutMs: 2000 },
          {
            downstream: 'lms',
            operation: 'create_enrollment',
            method: 'POST',
            url: `${url}/api/enrollments?key=SECRET-IN-QUERY`,
            headers: { 'x-api-key': 'lms-key-SECRET' },
            json: { email: 'asha.verma@example.com' },
            payment: { provider: 'razorpay', paymentId: 'pay_Q1w2E3r4T5y6U7' },
          },
        ),
      );
      expect(lines()).toEqual([
        expect.objectContaining({
          msg: 'lms create_enrollment',
          workflowId: 'payment-razorpay-pay_Q1w2E3r4T5y6U7',
          activityId: '7',
          activityType: 'enrollStudent',
          attempt: 3,
          status: 201,
          url: `${url}/api/enrollments`,
        }),
      ]);
    });
  });
});

describe('redaction', () => {
  const secrets = {
    RAZORPAY_WEBHOOK_SECRETS: 'rzp_SECRET_0001',
    STRIPE_WEBHOOK_SECRETS: 'whsec_SECRET_0002',
    LMS_API_KEY: 'lms_SECRET_0003',
    WHATSAPP_ACCESS_TOKEN: 'wa_SECRET_0004',
    HUBSPOT_CLIENT_SECRET: 'hs_SECRET_0005',
    HUBSPOT_REFRESH_TOKEN: 'refresh_SECRET_0006',
    RAZORPAY_KEY_SECRET: 'rzp_key_SECRET_0008',
    STRIPE_API_KEY: 'sk_test_SECRET_0009',
    TEMPORAL_API_KEY: 'temporal_api_key_SECRET_0007',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=otlp_SECRET_0017',
  };
  // A payload key is base64, so it cannot carry the SECRET_ marker: it is looked for as it is.
  const payloadKeys = newPayloadKeyEnv('log-test');
  const env = {
    LMS_BASE_URL: 'http://127.0.0.1:9/lms',
    WHATSAPP_PHONE_NUMBER_ID: '1',
    HUBSPOT_CLIENT_ID: 'c',
    RAZORPAY_KEY_ID: 'rzp_test_key',
    CATALOG_PATH: 'catalog/sample.yaml',
    ...payloadKeys,
    ...secrets,
  };

  it('never writes credentials, even when a whole config or request headers are logged by mistake', () => {
    const { logger, text, lines } = captureLines('worker');
    logger.info({ config: loadWorkerConfig(env) }, 'worker config');
    logger.info(loadWebhookConfig(env), 'receiver config at top level');
    logger.info(
      {
        headers: {
          'x-razorpay-signature': 'sig_SECRET_0008',
          'stripe-signature': 't=1,v1=SECRET_0009',
          authorization: 'Bearer SECRET_0010',
          cookie: 'session=SECRET_0011',
        },
        request: { headers: { authorization: 'Bearer SECRET_0012', 'x-api-key': 'SECRET_0013' } },
        hubspot: { access_token: 'SECRET_0014', refresh_token: 'SECRET_0015', client_secret: 'SECRET_0016' },
      },
      'a careless line',
    );
    expect(lines()).toHaveLength(3);
    expect(text()).not.toMatch(/SECRET_\d{4}/);
    expect(text()).not.toContain(payloadKeys.PAYLOAD_KEYS.split(':')[1]);
    expect(text()).toContain('[redacted]');
    // What is not secret stays readable.
    expect(lines()[0]!.config).toMatchObject({
      LMS_BASE_URL: 'http://127.0.0.1:9/lms',
      HUBSPOT_CLIENT_ID: 'c',
    });
  });
});

describe('student data in log lines', () => {
  const email = 'asha.verma@example.com';
  const phone = '+919876543210';
  const pii = [email, 'asha.verma', '9876543210', 'Asha', 'Verma'];

  it('is masked wherever it turns up: a review reason, an error and its cause, the message, a nested body', () => {
    const { logger, text, lines } = captureLines('worker');
    // What a workflow's `log.warn` becomes through the worker's runtime logger (src/worker.ts).
    logger.child({ component: 'temporal' }).warn(
      {
        sdkComponent: 'workflow',
        workflowId: 'payment-razorpay-pay_Q1w2E3r4T5y6U7',
        step: 'crm',
        reason: `CrmRejected: HubSpot refused the contact (${email}, ${phone})`,
        reviewId: 'crm-1',
      },
      'payment needs review',
    );
    const sdkError = Object.assign(
      new Error(`Invalid email: ${email}`, { cause: new Error(`to ${phone}`) }),
      {
        raw: { body: { message: `Contact ${email} already exists`, to: phone.slice(1) } },
      },
    );
    logger.error({ err: sdkError, workflowId: 'payment-razorpay-pay_Q1w2E3r4T5y6U7' }, 'activity failed');
    logger.info({ email, phone, firstname: 'Asha', lastname: 'Verma' }, `welcome sent to ${phone}`);

    expect(lines()).toHaveLength(3);
    for (const value of pii) expect(text()).not.toContain(value);
    expect(lines()[0]).toMatchObject({
      reason: 'CrmRejected: HubSpot refused the contact (a***@example.com, +91******3210)',
      reviewId: 'crm-1',
    });
    expect(lines()[1]!.err).toMatchObject({
      message: expect.stringContaining('Invalid email: a***@example.com'),
    });
    expect(lines()[2]).toMatchObject({
      msg: 'welcome sent to +91******3210',
      email: 'a***@example.com',
      phone: '+91******3210',
      firstname: '[redacted]',
      lastname: '[redacted]',
    });
    // The objects logged are not changed: the masking works on copies.
    expect(sdkError.message).toBe(`Invalid email: ${email}`);
  });

  it('leaves lines without contacts as they were', () => {
    const { logger, lines } = captureLines('webhook');
    const fields = {
      requestId: '8c4f3a1e-1234-4b2c-9d3e-123456789012',
      paymentId: 'pay_Q1w2E3r4T5y6U7',
      email: 'a***@example.com',
      eventCreatedAt: '2026-11-20T10:00:00.000Z',
      ms: 12.5,
    };
    logger.info(fields, 'webhook delivery');
    expect(lines()[0]).toMatchObject({ ...fields, msg: 'webhook delivery' });
  });
});
