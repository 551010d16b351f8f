import type { IncomingHttpHeaders } from 'node:http';
import fc from 'fast-check';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { deliveryOutcomes } from '../../src/observability/webhook-metrics';
import type { ProviderAdapter } from '../../src/providers/adapter';
import { razorpayAdapter } from '../../src/providers/razorpay';
import { stripeAdapter } from '../../src/providers/stripe';
import { providers } from '../../src/providers';
import { serializeAsProvider } from '../../src/tools/sign';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';
import { stripeEvent } from '../../src/providers/stripe/fixtures';
import { signRazorpay } from '../../src/providers/razorpay/signature';
import { stripeSignatureHeader } from '../../src/providers/stripe/signature';
import { deliver, judgeDelivery, startPaid } from '../../src/webhook/delivery';
import { httpAnswer, type Outcome } from '../../src/webhook/outcome';
import { type EnrollmentStarter, TemporalUnavailableError } from '../../src/webhook/start-enrollment';
import { paymentEvent } from '../helpers/payments';

/**
 * The delivery pipeline without HTTP: bytes and headers in, a verdict (and then an Outcome) out. The
 * HTTP suites cover the same contract over sockets; here every branch is reached directly.
 */
const NOW_MS = Date.UTC(2026, 10, 20, 10, 0, 0);
const NOW_S = Math.floor(NOW_MS / 1000);
const SECRET = { razorpay: 'rzp_delivery_secret', stripe: 'whsec_delivery_secret' };
const adapters: Record<PaymentProvider, ProviderAdapter> = {
  razorpay: razorpayAdapter([SECRET.razorpay]),
  stripe: stripeAdapter([SECRET.stripe], 300),
};

/** Bytes signed as the provider signs them, with the headers it sends. */
function signed(provider: PaymentProvider, raw: string | Buffer): [Buffer, IncomingHttpHeaders] {
  const bytes = Buffer.from(raw);
  const headers: IncomingHttpHeaders =
    provider === 'razorpay'
      ? { 'x-razorpay-signature': signRazorpay(bytes, SECRET.razorpay) }
      : { 'stripe-signature': stripeSignatureHeader(bytes.toString('utf8'), SECRET.stripe, NOW_S) };
  return [bytes, headers];
}

const judge = (provider: PaymentProvider, raw: string | Buffer) =>
  judgeDelivery(adapters[provider], ...signed(provider, raw), NOW_MS);

function fakeStarter(mode: 'started' | 'duplicate' | 'down' | 'bug'): EnrollmentStarter {
  return {
    ready: async () => true,
    async start(event) {
      if (mode === 'down') throw new TemporalUnavailableError('deadline exceeded');
      if (mode === 'bug') throw new TypeError('a bug');
      return { status: mode, workflowId: `payment-${event.provider}-${event.paymentId}` };
    },
  };
}

describe('judgeDelivery', () => {
  const captured = serializeAsProvider(
    'razorpay',
    razorpayEvent('payment.captured', { paymentId: 'pay_Delivery000001', createdAt: NOW_S - 60 }),
  );

  it('refuses bytes no active secret signed, saying why only in the log', () => {
    const [raw] = signed('razorpay', captured);
    const verdict = judgeDelivery(adapters.razorpay, raw, { 'x-razorpay-signature': '0'.repeat(64) }, NOW_MS);
    expect(verdict).toEqual({ kind: 'unauthorized', log: { signatureError: expect.any(String) } });
    expect(httpAnswer(verdict as Outcome)).toEqual({ status: 401, body: { error: 'invalid_signature' } });
  });

  it.each([
    ['truncated JSON', 'malformed_json', '{"event":'],
    [
      'a byte that is not UTF-8',
      'malformed_json',
      Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
    ],
    ['an array', 'not_an_event_object', '[{"event":"payment.captured"}]'],
    ['a string', 'not_an_event_object', '"payment.captured"'],
    ['null', 'not_an_event_object', 'null'],
  ])('answers a signed body that is %s as %s', (_what, error, raw) => {
    const verdict = judge('razorpay', raw);
    expect(verdict).toEqual({ kind: 'invalid', error });
    expect(httpAnswer(verdict as Outcome)).toEqual({ status: 400, body: { error } });
  });

  it('answers a signed event whose payment cannot be identified as invalid_event, with the reason', () => {
    const verdict = judge('razorpay', '{"event":"payment.captured","payload":{}}');
    expect(verdict).toMatchObject({ kind: 'invalid', error: 'invalid_event', reason: expect.any(String) });
    expect(httpAnswer(verdict as Outcome)).toEqual({
      status: 400,
      body: { error: 'invalid_event', reason: (verdict as { reason: string }).reason },
    });
  });

  it('ignores a signed event we never act on, with its type in the answer and the log', () => {
    const refund = stripeEvent('charge.refunded', { createdAt: NOW_S - 60 });
    const verdict = judge('stripe', serializeAsProvider('stripe', refund));
    expect(verdict).toEqual({
      kind: 'ignored',
      eventType: 'charge.refunded',
      log: { eventType: 'charge.refunded', reason: expect.any(String) },
    });
    expect(httpAnswer(verdict as Outcome)).toEqual({
      status: 200,
      body: { status: 'ignored', eventType: 'charge.refunded' },
    });
  });

  it('hands a signed paid event on as the payment to start', () => {
    expect(judge('razorpay', captured)).toMatchObject({
      kind: 'paid',
      event: { provider: 'razorpay', paymentId: 'pay_Delivery000001', eventType: 'payment.captured' },
    });
  });

  it('lets an adapter bug escape instead of calling it a verdict', () => {
    const broken: ProviderAdapter = {
      provider: 'razorpay',
      verify() {
        throw new TypeError('adapter bug');
      },
      interpret: () => ({ kind: 'invalid', reason: 'unused' }),
    };
    expect(() => judgeDelivery(broken, Buffer.from('{}'), {}, NOW_MS)).toThrow(TypeError);
  });
});

describe('startPaid', () => {
  const event = paymentEvent({
    provider: 'stripe',
    paymentId: 'pi_Delivery00000000000000001',
    eventType: 'checkout.session.completed',
  });
  const paymentLog = {
    eventType: event.eventType,
    eventId: event.eventId,
    paymentId: event.paymentId,
    email: 'a***@example.com',
  };
  const workflowId = 'payment-stripe-pi_Delivery00000000000000001';

  it.each(['started', 'duplicate'] as const)(
    'answers %s with the workflow id, the email masked',
    async (mode) => {
      const outcome = await startPaid(fakeStarter(mode), event);
      expect(outcome).toEqual({ kind: mode, workflowId, log: { ...paymentLog, workflowId } });
      expect(httpAnswer(outcome)).toEqual({ status: 200, body: { status: mode, workflowId } });
    },
  );

  it('answers unavailable when Temporal did not accept the start in time', async () => {
    const outcome = await startPaid(fakeStarter('down'), event);
    expect(outcome).toEqual({ kind: 'unavailable', log: { ...paymentLog, err: 'deadline exceeded' } });
    expect(httpAnswer(outcome)).toEqual({ status: 503, body: { error: 'temporarily_unavailable' } });
  });

  it('lets any other failure escape (the app answers 500)', async () => {
    await expect(startPaid(fakeStarter('bug'), event)).rejects.toThrow(TypeError);
  });
});

// ------------------------------------------------------------------------------------------------
// Properties

const alphanumeric = (length: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9]{${length}}$`));
/** Student and course data as it may arrive: realistic, absent, empty, oversized or odd. */
const advisoryText = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.string({ minLength: 300, maxLength: 500 }),
  fc.emailAddress(),
);

const paidDelivery = fc.constantFrom<PaymentProvider>('razorpay', 'stripe').chain((provider) =>
  fc.record({
    provider: fc.constant(provider),
    kind: fc.constantFrom(...providers[provider].fixtures.paidEventPair),
    paymentId:
      provider === 'razorpay'
        ? alphanumeric(14).map((s) => `pay_${s}`)
        : alphanumeric(24).map((s) => `pi_${s}`),
    email: advisoryText,
    name: advisoryText,
    phone: advisoryText,
    courseId: advisoryText,
    eventIdHeader: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
    mode: fc.constantFrom('started' as const, 'duplicate' as const, 'down' as const),
  }),
);

describe('the delivery pipeline, on generated input', () => {
  it('never answers a signed paid event with an identifiable payment id 4xx for its shape', async () => {
    await fc.assert(
      fc.asyncProperty(paidDelivery, async (d) => {
        const fixture = { ...d, createdAt: NOW_S - 60 };
        const body = providers[d.provider].fixtures.buildEvent(d.kind, fixture);
        const [raw, headers] = signed(d.provider, serializeAsProvider(d.provider, body));
        if (d.eventIdHeader !== undefined) headers['x-razorpay-event-id'] = d.eventIdHeader;

        expect(judgeDelivery(adapters[d.provider], raw, headers, NOW_MS)).toMatchObject({
          kind: 'paid',
          event: { paymentId: d.paymentId },
        });
        const outcome = await deliver(adapters[d.provider], fakeStarter(d.mode), raw, headers, NOW_MS);
        expect(outcome.kind).toBe(d.mode === 'down' ? 'unavailable' : d.mode);
        expect([200, 503]).toContain(httpAnswer(outcome).status);
      }),
      { numRuns: 200 },
    );
  });

  it('judges any bytes under any signature as unauthorized, invalid, ignored or paid, without throwing', () => {
    const anyBytes = fc.oneof(
      fc.uint8Array({ maxLength: 128 }).map((b) => Buffer.from(b)),
      fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<PaymentProvider>('razorpay', 'stripe'),
        anyBytes,
        fc.boolean(),
        (provider, raw, honest) => {
          const [bytes, headers] = honest ? signed(provider, raw) : [raw, {}];
          const verdict = judgeDelivery(adapters[provider], bytes, headers, NOW_MS);
          if (!honest) expect(verdict.kind).toBe('unauthorized');
          if (verdict.kind !== 'paid') expect([200, 400, 401]).toContain(httpAnswer(verdict).status);
        },
      ),
      { numRuns: 300 },
    );
  });

  /** Every Outcome the receiver can reach, with generated contents. */
  const anyOutcome: fc.Arbitrary<Outcome> = fc.oneof(
    fc.record({ kind: fc.constantFrom('started' as const, 'duplicate' as const), workflowId: fc.string() }),
    fc.record({ kind: fc.constant('ignored' as const), eventType: fc.string() }),
    fc.record({ kind: fc.constant('stale' as const), eventType: fc.string() }),
    fc.record({
      kind: fc.constant('invalid' as const),
      error: fc.constant('invalid_event' as const),
      reason: fc.string(),
    }),
    fc.record({
      kind: fc.constant('invalid' as const),
      error: fc.constantFrom(
        'malformed_json' as const,
        'not_an_event_object' as const,
        'unknown_provider' as const,
        'not_found' as const,
        'method_not_allowed' as const,
        'aborted' as const,
      ),
    }),
    fc.record({
      kind: fc.constant('invalid' as const),
      error: fc.constant('bad_request' as const),
      // Express passes on a 400 for a malformed path; no other client error reaches the handler.
      status: fc.constant(400),
    }),
    fc.record({
      kind: fc.constant('unsupported' as const),
      error: fc.constantFrom('unsupported_media_type' as const, 'unsupported_content_encoding' as const),
    }),
    fc.constantFrom<Outcome>(
      { kind: 'unauthorized' },
      { kind: 'too_large' },
      { kind: 'unavailable' },
      { kind: 'error' },
    ),
  );

  /** The receiver's contract (README): which label an HTTP answer counts as. */
  function labelOfAnswer(status: number, body: Record<string, unknown>): string {
    if (status === 200) return String(body.status);
    if (status === 401) return 'unauthorized';
    if (status === 413) return 'too_large';
    if (status === 415) return 'unsupported';
    if (status === 503) return 'unavailable';
    if (status >= 400 && status < 500) return 'invalid';
    return 'error';
  }

  it('gives every Outcome the HTTP answer its kind stands for, and reaches every label', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(anyOutcome, (outcome) => {
        const { status, body } = httpAnswer(outcome);
        expect(labelOfAnswer(status, body)).toBe(outcome.kind);
        expect(deliveryOutcomes).toContain(outcome.kind);
        seen.add(outcome.kind);
      }),
      { numRuns: 500 },
    );
    expect([...seen].sort()).toEqual([...deliveryOutcomes].sort());
  });
});
