import type { IncomingHttpHeaders } from 'node:http';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
} from '@temporalio/client';
import fc from 'fast-check';
import { type AccessEvent, accessWorkflowId } from '../../src/domain/access-event';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { createLogger } from '../../src/runtime/logger';
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
import {
  DEFAULT_DELIVERY_POLICY as DEFAULT_POLICY,
  deliver,
  judgeDelivery,
  startAccessChange,
  startPaid,
} from '../../src/webhook/delivery';
import { httpAnswer, type Outcome } from '../../src/webhook/outcome';
import { accessStartOptions, createAccessStarter } from '../../src/webhook/start-access';
import { type EnrollmentStarter, TemporalUnavailableError } from '../../src/webhook/start-enrollment';
import { ACCESS_WORKFLOW_TYPE, accessEventSignal } from '../../src/workflows/access-messages';
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
  const outcome = (workflowId: string) => {
    if (mode === 'down') throw new TemporalUnavailableError('deadline exceeded');
    if (mode === 'bug') throw new TypeError('a bug');
    return { status: mode, workflowId };
  };
  return {
    ready: async () => true,
    start: async (event) => outcome(`payment-${event.provider}-${event.paymentId}`),
    startAccess: async (event) => outcome(accessWorkflowId(event)),
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
    const failed = stripeEvent('payment_intent.payment_failed', { createdAt: NOW_S - 60 });
    const verdict = judge('stripe', serializeAsProvider('stripe', failed));
    expect(verdict).toEqual({
      kind: 'ignored',
      eventType: 'payment_intent.payment_failed',
      log: { eventType: 'payment_intent.payment_failed', reason: expect.any(String) },
    });
    expect(httpAnswer(verdict as Outcome)).toEqual({
      status: 200,
      body: { status: 'ignored', eventType: 'payment_intent.payment_failed' },
    });
  });

  it('hands a signed paid event on as the payment to start', () => {
    expect(judge('razorpay', captured)).toMatchObject({
      kind: 'paid',
      event: { provider: 'razorpay', paymentId: 'pay_Delivery000001', eventType: 'payment.captured' },
    });
  });

  it('hands a signed refund on as the access change to start', () => {
    const refund = razorpayEvent('refund.processed', {
      paymentId: 'pay_Delivery000002',
      createdAt: NOW_S - 60,
    });
    expect(judge('razorpay', serializeAsProvider('razorpay', refund))).toEqual({
      kind: 'access',
      event: expect.objectContaining({
        provider: 'razorpay',
        kind: 'refund',
        causeId: refund.payload.refund!.entity.id,
        paymentId: 'pay_Delivery000002',
      }),
    });
  });

  it('holds access events to the redelivery horizon on their creation time, as it holds payments', () => {
    const horizon = { redeliveryHorizonMs: 24 * 3_600_000, livemode: false };
    const refundAt = (createdAt: number) => {
      const e = stripeEvent('charge.refunded', { paymentId: 'pi_DeliveryRefund0000000001', createdAt });
      return judgeDelivery(
        adapters.stripe,
        ...signed('stripe', serializeAsProvider('stripe', e)),
        NOW_MS,
        horizon,
      );
    };
    expect(refundAt(NOW_S - 23 * 3_600).kind).toBe('access');
    const stale = refundAt(NOW_S - 25 * 3_600);
    expect(stale).toEqual({
      kind: 'stale',
      eventType: 'charge.refunded',
      log: {
        eventType: 'charge.refunded',
        eventId: expect.stringMatching(/^evt_/),
        paymentId: 'pi_DeliveryRefund0000000001',
        reason: `event created ${new Date((NOW_S - 25 * 3_600) * 1000).toISOString()}, past the redelivery horizon`,
      },
    });
    expect(httpAnswer(stale as Outcome)).toEqual({
      status: 200,
      body: { status: 'stale', eventType: 'charge.refunded' },
    });

    // Razorpay signs no timestamp: a captured refund body replayed in 40 days starts nothing.
    const replay = razorpayEvent('refund.processed', { createdAt: NOW_S - 40 * 86_400 });
    expect(judge('razorpay', serializeAsProvider('razorpay', replay)).kind).toBe('stale');
  });

  it('ignores an access event of the other mode, as it ignores a payment', () => {
    const live = {
      ...stripeEvent('charge.refunded', { paymentId: 'pi_DeliveryRefund0000000002', createdAt: NOW_S - 60 }),
      livemode: true,
    };
    const [raw, headers] = signed('stripe', serializeAsProvider('stripe', live));
    const verdict = judgeDelivery(adapters.stripe, raw, headers, NOW_MS);
    expect(verdict).toMatchObject({
      kind: 'ignored',
      eventType: 'charge.refunded',
      log: { reason: 'livemode true event, deployment is livemode false' },
    });
    expect(
      judgeDelivery(adapters.stripe, raw, headers, NOW_MS, { ...DEFAULT_POLICY, livemode: true }).kind,
    ).toBe('access');
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

describe('startAccessChange', () => {
  const dispute: AccessEvent = {
    provider: 'razorpay',
    kind: 'dispute',
    causeId: 'disp_Delivery00000001',
    paymentId: 'pay_Delivery000003',
    status: 'open',
    eventId: 'Ev0000000000D1',
    eventType: 'payment.dispute.created',
    eventCreatedAt: new Date(NOW_MS - 60_000).toISOString(),
  };
  const workflowId = 'dispute-razorpay-disp_Delivery00000001';
  const log = {
    eventType: 'payment.dispute.created',
    eventId: 'Ev0000000000D1',
    paymentId: 'pay_Delivery000003',
    workflowId,
  };

  it.each(['started', 'duplicate'] as const)('answers %s with the workflow id', async (mode) => {
    const outcome = await startAccessChange(fakeStarter(mode), dispute);
    expect(outcome).toEqual({ kind: mode, workflowId, log });
    expect(httpAnswer(outcome)).toEqual({ status: 200, body: { status: mode, workflowId } });
  });

  it('logs no payment for an event that names none', async () => {
    const ended: AccessEvent = {
      provider: 'stripe',
      kind: 'subscription',
      causeId: 'sub_1Delivery0001',
      eventType: 'customer.subscription.deleted',
      eventCreatedAt: dispute.eventCreatedAt,
    };
    const outcome = await startAccessChange(fakeStarter('started'), ended);
    expect(outcome.log).toEqual({
      eventType: 'customer.subscription.deleted',
      workflowId: 'subscription-stripe-sub_1Delivery0001',
    });
    expect(outcome.log).not.toHaveProperty('paymentId');
  });

  it('answers unavailable when Temporal did not accept it in time, naming the workflow', async () => {
    const outcome = await startAccessChange(fakeStarter('down'), dispute);
    expect(outcome).toEqual({ kind: 'unavailable', log: { ...log, err: 'deadline exceeded' } });
    expect(httpAnswer(outcome).status).toBe(503);
  });

  it('lets any other failure escape (the app answers 500)', async () => {
    await expect(startAccessChange(fakeStarter('bug'), dispute)).rejects.toThrow(TypeError);
  });

  it('starts a signed refund delivered end to end', async () => {
    const refund = stripeEvent('charge.refunded', {
      paymentId: 'pi_DeliveryRefund0000000003',
      amountMinor: 4_900,
      createdAt: NOW_S - 60,
    });
    const outcome = await deliver(
      adapters.stripe,
      fakeStarter('started'),
      ...signed('stripe', serializeAsProvider('stripe', refund)),
      NOW_MS,
    );
    expect(outcome).toMatchObject({
      kind: 'started',
      workflowId: `refund-stripe-${(refund.data.object as { id: string }).id}-4900`,
      log: { eventType: 'charge.refunded', paymentId: 'pi_DeliveryRefund0000000003' },
    });
  });
});

/**
 * Temporal's client as the access starter uses it: the deadline each call runs under, and starts and
 * signals scripted per workflow id.
 */
function fakeClient(script: { start?: () => unknown; signal?: () => unknown } = {}) {
  const calls: Array<{ call: string; workflowId: string; deadline: number; args: unknown[] }> = [];
  let deadline = 0;
  const client = {
    connection: {
      withDeadline: async <T>(ms: number, fn: () => Promise<T>) => {
        deadline = ms;
        return fn();
      },
    },
    workflow: {
      async start(type: string, options: { workflowId: string }) {
        calls.push({ call: 'start', workflowId: options.workflowId, deadline, args: [type, options] });
        await script.start?.();
        return { workflowId: options.workflowId };
      },
      getHandle: (workflowId: string) => ({
        async signal(...args: unknown[]) {
          calls.push({ call: 'signal', workflowId, deadline, args });
          await script.signal?.();
        },
      }),
    },
  };
  return { client: client as unknown as Client, calls };
}

describe('the access starter (a fake Temporal client)', () => {
  const base = {
    provider: 'razorpay' as const,
    causeId: 'disp_Starter0000001',
    paymentId: 'pay_Starter0000001',
    eventId: 'Ev0000000000S1',
    eventCreatedAt: new Date(NOW_MS - 60_000).toISOString(),
  };
  const created: AccessEvent = {
    ...base,
    kind: 'dispute',
    eventType: 'payment.dispute.created',
    status: 'open',
  };
  const won: AccessEvent = {
    ...created,
    eventType: 'payment.dispute.won',
    status: 'won',
    eventCreatedAt: new Date(NOW_MS).toISOString(),
  };
  const alreadyStarted = () => {
    throw new WorkflowExecutionAlreadyStartedError('already started', 'x', ACCESS_WORKFLOW_TYPE);
  };
  const starterOn = (client: Client) =>
    createAccessStarter({
      client,
      taskQueue: 'enrollments-unit',
      startTimeoutMs: 2_500,
      logger: createLogger('test', 'silent'),
    });

  it('starts the access workflow with the payment ID policies, a summary without PII, and search attributes', async () => {
    const { client, calls } = fakeClient();
    const before = Date.now();
    await expect(starterOn(client)(created)).resolves.toEqual({
      status: 'started',
      workflowId: 'dispute-razorpay-disp_Starter0000001',
    });
    expect(calls).toHaveLength(1);
    const [type, options] = calls[0]!.args as [string, ReturnType<typeof accessStartOptions>];
    expect(type).toBe(ACCESS_WORKFLOW_TYPE);
    expect(options).toMatchObject({
      taskQueue: 'enrollments-unit',
      workflowId: 'dispute-razorpay-disp_Starter0000001',
      args: [{ change: created }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      staticSummary: 'Dispute disp_Starter0000001 of pay_Starter0000001 · razorpay · open',
    });
    expect(options.typedSearchAttributes.map(({ key, value }) => [key.name, value])).toEqual([
      ['PaymentId', 'pay_Starter0000001'],
      ['PaymentProvider', 'razorpay'],
      ['EnrollmentState', 'changing_access'],
      ['PaymentSource', 'webhook'],
    ]);
    // Within the same deadline as a payment's start.
    expect(calls[0]!.deadline).toBeGreaterThanOrEqual(before + 2_500);
    expect(calls[0]!.deadline).toBeLessThanOrEqual(Date.now() + 2_500);
  });

  it('sets no PaymentId when the event names no payment', () => {
    const ended: AccessEvent = {
      ...base,
      paymentId: undefined,
      kind: 'subscription',
      causeId: 'sub_Starter0000001',
      eventType: 'subscription.cancelled',
      status: 'cancelled',
    };
    const options = accessStartOptions(ended, 'q');
    expect(options.typedSearchAttributes.map(({ key }) => key.name)).toEqual([
      'PaymentProvider',
      'EnrollmentState',
      'PaymentSource',
    ]);
    expect(options.staticSummary).toBe('Subscription ended sub_Starter0000001 · razorpay · cancelled');
  });

  it('signals a later event of a dispute to its running workflow, within the same deadline, and answers duplicate', async () => {
    const { client, calls } = fakeClient({ start: alreadyStarted });
    await expect(starterOn(client)(won)).resolves.toEqual({
      status: 'duplicate',
      workflowId: 'dispute-razorpay-disp_Starter0000001',
    });
    expect(calls.map((c) => c.call)).toEqual(['start', 'signal']);
    expect(calls[1]).toMatchObject({
      workflowId: 'dispute-razorpay-disp_Starter0000001',
      args: [accessEventSignal, won],
    });
    expect(calls[1]!.deadline).toBe(calls[0]!.deadline);
  });

  it('does not signal a redelivery of the event that started the workflow: it is the input', async () => {
    let running = false;
    const { client, calls } = fakeClient({
      start: () => {
        if (running) alreadyStarted();
        running = true;
      },
    });
    const start = starterOn(client);
    await expect(start(created)).resolves.toMatchObject({ status: 'started' });
    await expect(start(created)).resolves.toMatchObject({ status: 'duplicate' });
    await expect(start(won)).resolves.toMatchObject({ status: 'duplicate' });
    expect(calls.map((c) => c.call)).toEqual(['start', 'start', 'start', 'signal']);
  });

  it('signals a replayed body once: the workflow has it, and its history must not grow per replay', async () => {
    const { client, calls } = fakeClient({ start: alreadyStarted });
    const start = starterOn(client);
    for (let i = 0; i < 5; i++) await start(won);
    await start(created);
    expect(calls.filter((c) => c.call === 'signal').map((c) => (c.args[1] as AccessEvent).eventType)).toEqual(
      ['payment.dispute.won', 'payment.dispute.created'],
    );
  });

  it('answers duplicate when the dispute workflow has closed (the signal finds no running workflow)', async () => {
    const { client } = fakeClient({
      start: alreadyStarted,
      signal: () => {
        throw new WorkflowNotFoundError('workflow execution already completed', 'x', undefined);
      },
    });
    await expect(starterOn(client)(won)).resolves.toMatchObject({ status: 'duplicate' });
  });

  it('answers unavailable when the signal fails otherwise, so the provider redelivers the event', async () => {
    const { client } = fakeClient({
      start: alreadyStarted,
      signal: () => {
        throw new Error('14 UNAVAILABLE: connection refused');
      },
    });
    await expect(starterOn(client)(won)).rejects.toThrow(TemporalUnavailableError);
  });

  it.each([
    ['refund', 'refund.processed', 'rfnd_Starter000001'],
    ['subscription', 'subscription.halted', 'sub_Starter0000002'],
  ] as const)('answers a redelivered %s duplicate without signalling', async (kind, eventType, causeId) => {
    const { client, calls } = fakeClient({ start: alreadyStarted });
    const event: AccessEvent = { ...base, kind, eventType, causeId };
    await expect(starterOn(client)(event)).resolves.toEqual({
      status: 'duplicate',
      workflowId: `${kind}-razorpay-${causeId}`,
    });
    expect(calls.map((c) => c.call)).toEqual(['start']);
  });

  it('answers unavailable when the start fails for any other reason', async () => {
    const { client } = fakeClient({
      start: () => {
        throw new Error('4 DEADLINE_EXCEEDED');
      },
    });
    await expect(starterOn(client)(created)).rejects.toThrow(TemporalUnavailableError);
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

  it('judges any bytes under any signature as unauthorized, invalid, ignored, paid or access, without throwing', () => {
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
          if (verdict.kind !== 'paid' && verdict.kind !== 'access') {
            expect([200, 400, 401]).toContain(httpAnswer(verdict).status);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  const accessDelivery = fc.constantFrom<PaymentProvider>('razorpay', 'stripe').chain((provider) =>
    fc.record({
      provider: fc.constant(provider),
      paymentId:
        provider === 'razorpay'
          ? alphanumeric(14).map((s) => `pay_${s}`)
          : alphanumeric(24).map((s) => `pi_${s}`),
      amountMinor: fc.integer({ min: 1, max: 10_000_000 }),
      // Hours since the event was created: some past the 360 h horizon.
      ageHours: fc.integer({ min: 0, max: 24 * 30 }),
      livemode: fc.boolean(),
      mode: fc.constantFrom('started' as const, 'duplicate' as const, 'down' as const),
    }),
  );

  it('answers a signed refund 200 or 503, never 4xx, and starts it only when fresh and of this mode', async () => {
    await fc.assert(
      fc.asyncProperty(accessDelivery, async (d) => {
        const createdAt = NOW_S - d.ageHours * 3_600;
        const body =
          d.provider === 'razorpay'
            ? razorpayEvent('refund.processed', { ...d, createdAt: createdAt - 3_600 })
            : { ...stripeEvent('charge.refunded', { ...d, createdAt }), livemode: d.livemode };
        const [raw, headers] = signed(d.provider, serializeAsProvider(d.provider, body));
        const starter = fakeStarter(d.mode);
        const calls: AccessEvent[] = [];
        const outcome = await deliver(
          adapters[d.provider],
          {
            ...starter,
            startAccess: (event) => {
              calls.push(event);
              return starter.startAccess(event);
            },
          },
          raw,
          headers,
          NOW_MS,
        );
        const stale = d.ageHours > 360;
        const otherMode = d.provider === 'stripe' && d.livemode;
        const expected = stale ? 'stale' : otherMode ? 'ignored' : d.mode === 'down' ? 'unavailable' : d.mode;
        expect(outcome.kind).toBe(expected);
        expect(calls).toHaveLength(stale || otherMode ? 0 : 1);
        if (calls.length) expect(calls[0]).toMatchObject({ kind: 'refund', paymentId: d.paymentId });
        expect([200, 503]).toContain(httpAnswer(outcome).status);
      }),
      { numRuns: 200 },
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
