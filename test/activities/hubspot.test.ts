import { setTimeout as sleep } from 'node:timers/promises';
import { createActivities } from '../../src/activities';
import type { UpsertContactInput } from '../../src/activities/types';
import { activityEnv, captureLogs, failureOf, noJitter, SECRETS, testConfig } from './support/fixtures';
import { hang, reply, sendJson, ScriptedServer, type Handler } from './support/scripted-server';

const TOKEN = '/oauth/v1/token';
const UPSERT = '/crm/v3/objects/contacts/batch/upsert';
const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);

const input: UpsertContactInput = {
  payment: { provider: 'razorpay', paymentId: 'pay_Q1w2E3r4T5y6U7' },
  email: 'asha.verma@example.com',
  name: 'Asha Rani Verma',
  phone: '+919876543210',
  courseId: 'course-101',
  enrolled: true,
  amountMinor: 499900,
  currency: 'INR',
};

const token = (accessToken: string, extra: Record<string, unknown> = {}): Handler =>
  reply(200, {
    access_token: accessToken,
    refresh_token: SECRETS.hubspotRefreshToken,
    expires_in: 1800,
    token_type: 'bearer',
    ...extra,
  });
const upserted = (id: string, isNew = true): Handler =>
  reply(200, { status: 'COMPLETE', results: [{ id, new: isNew, properties: {} }] });
const expiredAuth = reply(401, {
  status: 'error',
  message: 'The OAuth token used to make this call expired 2 minute(s) ago.',
  category: 'EXPIRED_AUTHENTICATION',
});

describe('upsertCrmContact (HubSpot)', () => {
  let server: ScriptedServer;
  let now: number;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  beforeEach(() => {
    now = T0;
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const activities = (overrides: Record<string, string> = {}) =>
    createActivities(testConfig(server.url, overrides), {
      logger: captureLogs().logger,
      now: () => now,
      random: noJitter,
    });
  const bearers = () => server.requestsTo(UPSERT).map((r) => r.headers.authorization);
  const refreshTokensSent = () =>
    server.requestsTo(TOKEN).map((r) => new URLSearchParams(r.body).get('refresh_token'));

  it('refreshes a token, upserts by email and reports created', async () => {
    server.route('POST', TOKEN, token('at-1')).route('POST', UPSERT, upserted('901', true));

    const result = await activityEnv().run(activities().upsertCrmContact, input);

    expect(result).toEqual({ contactId: '901', created: true, attempt: 1 });
    const [tokenReq] = server.requestsTo(TOKEN);
    expect(tokenReq!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(tokenReq!.body))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'hs-client-id',
      client_secret: SECRETS.hubspotClientSecret,
      refresh_token: SECRETS.hubspotRefreshToken,
    });
    const [upsertReq] = server.requestsTo(UPSERT);
    expect(upsertReq!.headers.authorization).toBe('Bearer at-1');
    expect(JSON.parse(upsertReq!.body)).toEqual({
      inputs: [
        {
          idProperty: 'email',
          id: 'asha.verma@example.com',
          properties: {
            email: 'asha.verma@example.com',
            firstname: 'Asha',
            lastname: 'Rani Verma',
            phone: '+919876543210',
            enrollflow_course_id: 'course-101',
            enrollflow_payment_ref: 'razorpay:pay_Q1w2E3r4T5y6U7',
            enrollflow_enrolled: 'true',
          },
        },
      ],
    });
  });

  it('leaves absent fields out instead of blanking them, and reports an update', async () => {
    server.route('POST', TOKEN, token('at-1')).route('POST', UPSERT, upserted('902', false));
    const { name: _n, phone: _p, courseId: _c, ...minimal } = input;

    const result = await activityEnv(4).run(activities().upsertCrmContact, { ...minimal, enrolled: false });

    expect(result).toEqual({ contactId: '902', created: false, attempt: 4 });
    expect(JSON.parse(server.requestsTo(UPSERT)[0]!.body).inputs[0].properties).toEqual({
      email: 'asha.verma@example.com',
      enrollflow_payment_ref: 'razorpay:pay_Q1w2E3r4T5y6U7',
      enrollflow_enrolled: 'false',
    });
  });

  it('reuses the cached token across activity executions', async () => {
    server.route('POST', TOKEN, token('at-1')).route('POST', UPSERT, upserted('901'));
    const acts = activities();

    await activityEnv().run(acts.upsertCrmContact, input);
    await activityEnv().run(acts.upsertCrmContact, input);
    await acts.upsertCrmContact(input);

    expect(server.requestsTo(TOKEN)).toHaveLength(1);
    expect(bearers()).toEqual(['Bearer at-1', 'Bearer at-1', 'Bearer at-1']);
  });

  it('refreshes ahead of expiry, at expires_in minus the margin', async () => {
    server.sequence('POST', TOKEN, token('at-1'), token('at-2')).route('POST', UPSERT, upserted('901'));
    const acts = activities();

    await acts.upsertCrmContact(input);
    now = T0 + (1800 - 120) * 1000 - 1;
    await acts.upsertCrmContact(input);
    now = T0 + (1800 - 120) * 1000;
    await acts.upsertCrmContact(input);

    expect(server.requestsTo(TOKEN)).toHaveLength(2);
    expect(bearers()).toEqual(['Bearer at-1', 'Bearer at-1', 'Bearer at-2']);
  });

  it('makes one token request for five concurrent upserts (single-flight)', async () => {
    server
      .route('POST', TOKEN, async (_req, res) => {
        await sleep(150);
        sendJson(res, 200, { access_token: 'at-1', expires_in: 1800 });
      })
      .route('POST', UPSERT, upserted('901'));
    const acts = activities();

    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((attempt) => activityEnv(attempt).run(acts.upsertCrmContact, input)),
    );

    expect(server.requestsTo(TOKEN)).toHaveLength(1);
    expect(bearers()).toEqual(Array(5).fill('Bearer at-1'));
    expect(results.map((r) => (r as { attempt: number }).attempt)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refreshes once and repeats the call once on 401 EXPIRED_AUTHENTICATION', async () => {
    server
      .sequence('POST', TOKEN, token('at-1'), token('at-2'))
      .sequence('POST', UPSERT, expiredAuth, upserted('901'));

    const result = await activityEnv().run(activities().upsertCrmContact, input);

    expect(result).toEqual({ contactId: '901', created: true, attempt: 1 });
    expect(server.requestsTo(TOKEN)).toHaveLength(2);
    expect(bearers()).toEqual(['Bearer at-1', 'Bearer at-2']);
  });

  it('fails without retry when the fresh token is refused too, and does not loop', async () => {
    server.sequence('POST', TOKEN, token('at-1'), token('at-2')).route('POST', UPSERT, expiredAuth);

    expect(await failureOf(activityEnv().run(activities().upsertCrmContact, input))).toEqual({
      type: 'HubSpotAuthFailed',
      nonRetryable: true,
      nextRetryDelay: undefined,
      details: [{ attempt: 1, status: 401, code: 'EXPIRED_AUTHENTICATION' }],
      message: 'HubSpot rejected a freshly refreshed token (HTTP 401, EXPIRED_AUTHENTICATION)',
    });
    expect(server.requestsTo(TOKEN)).toHaveLength(2);
    expect(bearers()).toEqual(['Bearer at-1', 'Bearer at-2']);
  });

  it('uses a rotated refresh token for the next refresh', async () => {
    server
      .sequence('POST', TOKEN, token('at-1', { refresh_token: 'hs-refresh-rotated-2' }), token('at-2'))
      .route('POST', UPSERT, upserted('901'));
    const acts = activities();

    await acts.upsertCrmContact(input);
    now = T0 + 1800 * 1000;
    await acts.upsertCrmContact(input);

    expect(refreshTokensSent()).toEqual([SECRETS.hubspotRefreshToken, 'hs-refresh-rotated-2']);
  });

  it('fails without retry on 400 BAD_REFRESH_TOKEN, and tries the token endpoint again next time', async () => {
    server
      .sequence(
        'POST',
        TOKEN,
        reply(400, { status: 'BAD_REFRESH_TOKEN', message: 'missing or unknown refresh token' }),
        token('at-1'),
      )
      .route('POST', UPSERT, upserted('901'));
    const acts = activities();

    expect(await failureOf(activityEnv().run(acts.upsertCrmContact, input))).toEqual({
      type: 'HubSpotAuthFailed',
      nonRetryable: true,
      nextRetryDelay: undefined,
      details: [{ attempt: 1, status: 400, code: 'BAD_REFRESH_TOKEN' }],
      message: 'HubSpot refused the refresh token (HTTP 400, BAD_REFRESH_TOKEN)',
    });
    expect(server.requestsTo(UPSERT)).toHaveLength(0);

    await expect(activityEnv(2).run(acts.upsertCrmContact, input)).resolves.toMatchObject({
      contactId: '901',
    });
    expect(server.requestsTo(TOKEN)).toHaveLength(2);
  });

  it('fails retryably when the token endpoint answers 5xx', async () => {
    server.route('POST', TOKEN, reply(503, { status: 'error', message: 'unavailable' }));

    expect(await failureOf(activityEnv().run(activities().upsertCrmContact, input))).toMatchObject({
      type: 'DownstreamUnavailable',
      nonRetryable: false,
      details: [{ attempt: 1, status: 503 }],
    });
  });

  it('waits the rate-limit interval on 429 RATE_LIMIT', async () => {
    server.route('POST', TOKEN, token('at-1')).route(
      'POST',
      UPSERT,
      reply(
        429,
        {
          status: 'error',
          message: 'You have reached your ten_secondly_rolling limit.',
          errorType: 'RATE_LIMIT',
          policyName: 'TEN_SECONDLY_ROLLING',
        },
        { 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000', 'X-HubSpot-RateLimit-Remaining': '0' },
      ),
    );

    expect(await failureOf(activityEnv().run(activities().upsertCrmContact, input))).toEqual({
      type: 'RateLimited',
      nonRetryable: false,
      nextRetryDelay: 10_000,
      details: [{ attempt: 1, status: 429, code: 'RATE_LIMIT' }],
      message: 'HubSpot rate limited (HTTP 429, RATE_LIMIT)',
    });
  });

  it('prefers Retry-After over the rate-limit interval', async () => {
    server
      .route('POST', TOKEN, token('at-1'))
      .route(
        'POST',
        UPSERT,
        reply(
          429,
          { errorType: 'RATE_LIMIT' },
          { 'Retry-After': '3', 'X-HubSpot-RateLimit-Interval-Milliseconds': '10000' },
        ),
      );

    expect((await failureOf(activityEnv().run(activities().upsertCrmContact, input))).nextRetryDelay).toBe(
      3_000,
    );
  });

  it('fails without retry on 400 VALIDATION_ERROR', async () => {
    server.route('POST', TOKEN, token('at-1')).route(
      'POST',
      UPSERT,
      reply(400, {
        status: 'error',
        message: 'Property values were not valid',
        category: 'VALIDATION_ERROR',
      }),
    );

    expect(await failureOf(activityEnv().run(activities().upsertCrmContact, input))).toMatchObject({
      type: 'CrmRejected',
      nonRetryable: true,
      details: [{ attempt: 1, status: 400, code: 'VALIDATION_ERROR' }],
    });
  });

  it('fails without retry when the batch reports a per-input error', async () => {
    server.route('POST', TOKEN, token('at-1')).route(
      'POST',
      UPSERT,
      reply(207, {
        status: 'COMPLETE',
        results: [],
        numErrors: 1,
        errors: [{ status: 'error', category: 'VALIDATION_ERROR' }],
      }),
    );

    expect(await failureOf(activityEnv().run(activities().upsertCrmContact, input))).toMatchObject({
      type: 'CrmRejected',
      nonRetryable: true,
      details: [{ attempt: 1, status: 207, code: 'VALIDATION_ERROR' }],
    });
  });

  it('fails retryably on a timeout: an upsert by email is idempotent', async () => {
    server.route('POST', TOKEN, token('at-1')).route('POST', UPSERT, hang);

    expect(
      await failureOf(activityEnv().run(activities({ HTTP_TIMEOUT_MS: '200' }).upsertCrmContact, input)),
    ).toMatchObject({
      type: 'DownstreamTimeout',
      nonRetryable: false,
      details: [{ attempt: 1, code: 'TIMEOUT' }],
    });
  });

  it('rejects a contact without a valid email before asking for a token', async () => {
    expect(
      await failureOf(activityEnv().run(activities().upsertCrmContact, { ...input, email: 'asha' })),
    ).toMatchObject({ type: 'InvalidActivityInput', nonRetryable: true, details: [{ attempt: 1 }] });
    expect(server.requests).toHaveLength(0);
  });
});
