import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import type { SendWelcomeInput } from '../../src/activities/types';
import { activityEnv, captureLogs, failureOf, noJitter, SECRETS, testConfig } from './support/fixtures';
import { closedPortUrl, dropConnection, hang, reply, ScriptedServer } from './support/scripted-server';

const input: SendWelcomeInput = {
  payment: { provider: 'stripe', paymentId: 'pi_3PqRsTuVwXyZ' },
  phone: '+919876543210',
  name: '  Asha   Verma ',
  courseId: 'course-101',
};
const PATH = '/v21.0/1234567890/messages';
/** What attempt n, definitely refused by Meta, leaves behind for attempt n + 1. */
const refusedAt = (attempt: number) => ({ whatsappNotSentAttempt: attempt });
const metaError = (code: number) => ({
  error: { message: 'scripted', type: 'OAuthException', code, fbtrace_id: 'AbC123' },
});

describe('sendWelcomeMessage (WhatsApp Cloud API)', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const activities = (overrides: Record<string, string> = {}) =>
    createActivities(testConfig(server.url, overrides), { logger: captureLogs().logger, random: noJitter });

  it('sends the welcome template and returns the message id', async () => {
    server.route(
      'POST',
      PATH,
      reply(200, {
        messaging_product: 'whatsapp',
        contacts: [{ input: '919876543210', wa_id: '919876543210' }],
        messages: [{ id: 'wamid.HBgM123', message_status: 'accepted' }],
      }),
    );

    // Attempt 3 after two definite refusals (see 'at most once across attempts' below).
    const result = await activityEnv(3, refusedAt(2)).run(activities().sendWelcomeMessage, input);

    expect(result).toEqual({ messageId: 'wamid.HBgM123', waId: '919876543210', attempt: 3 });
    const req = server.requests[0]!;
    expect(req.url).toBe(PATH);
    expect(req.headers.authorization).toBe(`Bearer ${SECRETS.whatsappToken}`);
    expect(JSON.parse(req.body)).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '919876543210',
      type: 'template',
      template: {
        name: 'course_welcome',
        language: { code: 'en_US' },
        components: [
          {
            type: 'body',
            parameters: [
              { type: 'text', text: 'Asha' },
              { type: 'text', text: 'course-101' },
            ],
          },
        ],
      },
    });
  });

  // Statuses are deliberately mixed up: classification follows error.code, not the HTTP status.
  it.each([
    // code, HTTP status, Retry-After, expected type, nonRetryable, nextRetryDelay
    [130429, 400, undefined, 'RateLimited', false, undefined],
    [130429, 429, '7', 'RateLimited', false, 7_000],
    [131056, 400, undefined, 'RateLimited', false, 60_000],
    [131056, 400, '10', 'RateLimited', false, 10_000],
    [131000, 500, undefined, 'DownstreamUnavailable', false, undefined],
    [1, 400, undefined, 'DownstreamUnavailable', false, undefined],
    [2, 503, undefined, 'DownstreamUnavailable', false, undefined],
    [4, 400, undefined, 'RateLimited', false, 300_000],
    [80007, 400, undefined, 'RateLimited', false, 300_000],
    [80007, 400, '120', 'RateLimited', false, 120_000],
    [131026, 400, undefined, 'WhatsAppRejected', true, undefined],
    [131026, 500, undefined, 'WhatsAppRejected', true, undefined],
    [131047, 400, undefined, 'WhatsAppRejected', true, undefined],
    [190, 401, undefined, 'WhatsAppRejected', true, undefined],
    [100, 400, undefined, 'WhatsAppRejected', true, undefined],
    [132000, 400, undefined, 'WhatsAppRejected', true, undefined],
    [132001, 404, undefined, 'WhatsAppRejected', true, undefined],
    [999999, 400, undefined, 'WhatsAppRejected', true, undefined],
    [999999, 502, undefined, 'DownstreamUnavailable', false, undefined],
  ] as const)(
    'classifies error.code %i (HTTP %i, Retry-After %s) as %s',
    async (code, status, retryAfter, type, nonRetryable, nextRetryDelay) => {
      server.route(
        'POST',
        PATH,
        reply(status, metaError(code), retryAfter ? { 'Retry-After': retryAfter } : {}),
      );

      expect(await failureOf(activityEnv().run(activities().sendWelcomeMessage, input))).toMatchObject({
        type,
        nonRetryable,
        nextRetryDelay,
        details: [{ attempt: 1, status, code: String(code) }],
      });
      expect(server.requests).toHaveLength(1);
    },
  );

  it.each([
    [502, 'DownstreamUnavailable', false],
    [429, 'RateLimited', false],
    [403, 'WhatsAppRejected', true],
  ] as const)(
    'falls back to the HTTP status %i without a Meta error envelope',
    async (status, type, nonRetryable) => {
      server.route('POST', PATH, reply(status, { message: 'from a proxy' }));

      expect(await failureOf(activityEnv().run(activities().sendWelcomeMessage, input))).toMatchObject({
        type,
        nonRetryable,
        details: [{ attempt: 1, status }],
      });
    },
  );

  it('does not retry when the request was sent but no answer came back in time', async () => {
    server.route('POST', PATH, hang);

    const failure = await failureOf(
      activityEnv().run(activities({ HTTP_TIMEOUT_MS: '200' }).sendWelcomeMessage, input),
    );

    expect(failure).toMatchObject({
      type: 'WhatsAppOutcomeUnknown',
      nonRetryable: true,
      nextRetryDelay: undefined,
      details: [{ attempt: 1, code: 'TIMEOUT' }],
    });
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry when the connection drops after the request was sent', async () => {
    server.route('POST', PATH, dropConnection);

    expect(await failureOf(activityEnv().run(activities().sendWelcomeMessage, input))).toMatchObject({
      type: 'WhatsAppOutcomeUnknown',
      nonRetryable: true,
      details: [{ attempt: 1, code: 'UND_ERR_SOCKET' }],
    });
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a 200 without a message id (the message may be out)', async () => {
    server.route('POST', PATH, reply(200, { messaging_product: 'whatsapp', messages: [] }));

    expect(await failureOf(activityEnv().run(activities().sendWelcomeMessage, input))).toMatchObject({
      type: 'WhatsAppOutcomeUnknown',
      nonRetryable: true,
      details: [{ attempt: 1, status: 200, code: 'missing_message_id' }],
    });
  });

  it('retries when the connection is refused: the request never left', async () => {
    const acts = createActivities(testConfig(await closedPortUrl()), { logger: captureLogs().logger });

    expect(await failureOf(activityEnv(2, refusedAt(1)).run(acts.sendWelcomeMessage, input))).toMatchObject({
      type: 'DownstreamUnavailable',
      nonRetryable: false,
      details: [{ attempt: 2, code: 'ECONNREFUSED' }],
    });
  });

  it.each(['9876543210', '+0919876543210', '+91 98765 43210', '+91987654321098765'])(
    'rejects phone %p as not E.164 without calling Meta',
    async (phone) => {
      expect(
        await failureOf(activityEnv().run(activities().sendWelcomeMessage, { ...input, phone })),
      ).toMatchObject({
        type: 'InvalidActivityInput',
        nonRetryable: true,
        message:
          'sendWelcomeMessage: invalid input (phone: must be E.164: +, the country code and number, 7 to 15 digits)',
      });
      expect(server.requests).toHaveLength(0);
    },
  );

  describe('at most once across attempts', () => {
    const envAfter = (attempt: number, heartbeatDetails: unknown) =>
      new MockActivityEnvironment({ attempt, heartbeatDetails }, { logger: new DefaultLogger('ERROR') });
    const ok = reply(200, { messaging_product: 'whatsapp', messages: [{ id: 'wamid.OK' }] });

    it.each([
      ['left no record (its worker was killed mid-call)', undefined],
      ['left something other than a refusal', { whatsappSend: 'sending' }],
      // Attempt 1 was refused, attempt 2 died mid-call: attempt 1's record must not let attempt 3 send.
      ['is not the one whose refusal is on record', refusedAt(1)],
    ])('does not send again when the previous attempt %s', async (_case, details) => {
      server.route('POST', PATH, ok);
      const failure = await failureOf(envAfter(3, details).run(activities().sendWelcomeMessage, input));
      expect(failure).toMatchObject({ type: 'WhatsAppOutcomeUnknown', nonRetryable: true });
      expect(failure.details).toEqual([{ attempt: 3, code: 'interrupted_attempt' }]);
      expect(server.requests).toHaveLength(0);
    });

    it('sends when the previous attempt was definitely refused', async () => {
      server.route('POST', PATH, ok);
      const env = envAfter(2, refusedAt(1));
      await expect(env.run(activities().sendWelcomeMessage, input)).resolves.toMatchObject({
        messageId: 'wamid.OK',
      });
      expect(server.requests).toHaveLength(1);
    });

    it('records which attempt was refused, so exactly the next attempt may send', async () => {
      server.route('POST', PATH, reply(429, metaError(130429)));
      const env = activityEnv(1);
      const beats: unknown[] = [];
      env.on('heartbeat', (d: unknown) => beats.push(d));
      await failureOf(env.run(activities().sendWelcomeMessage, input));
      expect(beats).toEqual([{ whatsappNotSentAttempt: 1 }]);
    });
  });
});
