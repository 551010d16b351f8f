import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import {
  expectsRejection,
  isExpectedOutcome,
  planDeliveries,
  sendDeliveries,
  STALE_SECONDS,
  type SendOptions,
} from '../../src/tools/deliver';
import { startRecordingServer, type RecordedRequest, type RecordingServer } from './recording-server';

const RAZORPAY_SECRET = 'rzp_webhook_secret_9f8e7d';
const STRIPE_SECRET = 'whsec_test_4eC39HqLyjWDarjtT1zdp7dc';

function hasValidSignature(req: RecordedRequest): boolean {
  if (req.path === '/webhooks/razorpay') {
    const expected = createHmac('sha256', RAZORPAY_SECRET).update(req.body).digest('hex');
    return req.headers['x-razorpay-signature'] === expected;
  }
  try {
    Stripe.webhooks.constructEvent(req.body, String(req.headers['stripe-signature']), STRIPE_SECRET);
    return true;
  } catch {
    return false;
  }
}

/** What a correct receiver does: verify the raw bytes with the provider's scheme, 401 otherwise. */
function verifyingReceiver(req: RecordedRequest): { status: number; body: string } {
  return hasValidSignature(req)
    ? { status: 200, body: '{"status":"accepted"}' }
    : { status: 401, body: '{"error":"bad signature"}' };
}

const parsed = (req: RecordedRequest): any => JSON.parse(req.body);

describe('sendDeliveries', () => {
  let server: RecordingServer;
  afterEach(async () => server.close());

  it('posts one signed payment.captured to /webhooks/razorpay by default', async () => {
    server = await startRecordingServer(verifyingReceiver);
    const results = await sendDeliveries({
      provider: 'razorpay',
      url: `${server.url}/`,
      secret: RAZORPAY_SECRET,
      fixture: { paymentId: 'pay_Kx7Qm2Lp9Zr4Tb', courseId: 'course_ts101' },
    });

    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req!.method).toBe('POST');
    expect(req!.path).toBe('/webhooks/razorpay');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(parsed(req!).event).toBe('payment.captured');
    expect(parsed(req!).payload.payment.entity.notes).toEqual({
      course_id: 'course_ts101',
      student_name: 'Asha Rao',
    });
    expect(results).toEqual([
      {
        index: 1,
        url: `${server.url}/webhooks/razorpay`,
        eventType: 'payment.captured',
        eventId: req!.headers['x-razorpay-event-id'],
        paymentId: 'pay_Kx7Qm2Lp9Zr4Tb',
        status: 200,
        body: '{"status":"accepted"}',
        durationMs: expect.any(Number),
      },
    ]);
  });

  it('delivers the same signed body n times, concurrently', async () => {
    // Holds every response until all three requests have arrived: sequential sending would time out.
    let release!: () => void;
    const allArrived = new Promise<void>((resolve) => (release = resolve));
    server = await startRecordingServer(async (_req, all) => {
      if (all.length === 3) release();
      await allArrived;
      return { status: 202, body: '{"status":"duplicate"}' };
    });

    const results = await sendDeliveries({
      provider: 'razorpay',
      url: server.url,
      secret: RAZORPAY_SECRET,
      duplicates: 3,
      timeoutMs: 3_000,
    });

    expect(results.map((r) => [r.index, r.status, r.eventType])).toEqual([
      [1, 202, 'payment.captured'],
      [2, 202, 'payment.captured'],
      [3, 202, 'payment.captured'],
    ]);
    const [first, ...rest] = server.requests;
    for (const req of rest) {
      expect(req.body).toBe(first!.body);
      expect(req.headers['x-razorpay-event-id']).toBe(first!.headers['x-razorpay-event-id']);
      expect(req.headers['x-razorpay-signature']).toBe(first!.headers['x-razorpay-signature']);
    }
    expect(new Set(results.map((r) => r.eventId))).toEqual(new Set([first!.headers['x-razorpay-event-id']]));
  });

  it('mixes payment.captured and order.paid of one Razorpay payment, each signed on its own', async () => {
    server = await startRecordingServer(verifyingReceiver);
    const results = await sendDeliveries({
      provider: 'razorpay',
      url: server.url,
      secret: RAZORPAY_SECRET,
      duplicates: 4,
      mix: true,
      fixture: { paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' },
    });

    expect(results.map((r) => r.eventType)).toEqual([
      'payment.captured',
      'order.paid',
      'payment.captured',
      'order.paid',
    ]);
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(server.requests.map((r) => String(parsed(r).payload.payment.entity.id))).toEqual(
      Array(4).fill('pay_Kx7Qm2Lp9Zr4Tb'),
    );

    const byType = (type: string) => server.requests.filter((r) => parsed(r).event === type);
    const captured = byType('payment.captured');
    const orderPaid = byType('order.paid');
    expect(captured).toHaveLength(2);
    expect(orderPaid).toHaveLength(2);
    expect(captured[1]!.body).toBe(captured[0]!.body);
    expect(orderPaid[1]!.body).toBe(orderPaid[0]!.body);
    expect(captured[0]!.headers['x-razorpay-event-id']).not.toBe(
      orderPaid[0]!.headers['x-razorpay-event-id'],
    );
    expect(captured[0]!.headers['x-razorpay-signature']).not.toBe(
      orderPaid[0]!.headers['x-razorpay-signature'],
    );
    expect(parsed(orderPaid[0]!).payload.order.entity.id).toBe(
      parsed(captured[0]!).payload.payment.entity.order_id,
    );
  });

  it('mixes checkout.session.completed and payment_intent.succeeded for one PaymentIntent', async () => {
    server = await startRecordingServer(verifyingReceiver);
    const results = await sendDeliveries({
      provider: 'stripe',
      url: server.url,
      secret: STRIPE_SECRET,
      mix: true,
      fixture: { paymentId: 'pi_3QabcDEF456ghiJKL789mnoP' },
    });

    expect(results.map((r) => [r.eventType, r.status, r.paymentId])).toEqual([
      ['checkout.session.completed', 200, 'pi_3QabcDEF456ghiJKL789mnoP'],
      ['payment_intent.succeeded', 200, 'pi_3QabcDEF456ghiJKL789mnoP'],
    ]);
    const events = server.requests.map((r) =>
      Stripe.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), STRIPE_SECRET),
    );
    const byType = Object.fromEntries(events.map((e) => [e.type, e]));
    const session = byType['checkout.session.completed']!.data.object as Stripe.Checkout.Session;
    const intent = byType['payment_intent.succeeded']!.data.object as Stripe.PaymentIntent;
    expect(session.payment_intent).toBe('pi_3QabcDEF456ghiJKL789mnoP');
    expect(intent.id).toBe('pi_3QabcDEF456ghiJKL789mnoP');
    expect(events[0]!.id).not.toBe(events[1]!.id);
    expect(results.map((r) => r.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    expect(server.requests.map((r) => r.path)).toEqual(['/webhooks/stripe', '/webhooks/stripe']);
  });

  it.each([
    ['razorpay', 'tamper', RAZORPAY_SECRET],
    ['razorpay', 'wrongSecret', RAZORPAY_SECRET],
    ['stripe', 'tamper', STRIPE_SECRET],
    ['stripe', 'wrongSecret', STRIPE_SECRET],
    ['stripe', 'stale', STRIPE_SECRET],
  ] as const)('%s deliveries with %s are refused by a verifying receiver', async (provider, flag, secret) => {
    server = await startRecordingServer(verifyingReceiver);
    const opts: SendOptions = {
      provider,
      url: server.url,
      secret,
      duplicates: 2,
      tamper: flag === 'tamper',
      wrongSecret: flag === 'wrongSecret',
      stale: flag === 'stale',
    };
    const results = await sendDeliveries(opts);
    expect(results.map((r) => r.status)).toEqual([401, 401]);
    expect(expectsRejection(opts)).toBe(true);
    expect(results.every((r) => isExpectedOutcome(r, true))).toBe(true);
  });

  it('reports a delivery nobody answered with status 0 and the cause', async () => {
    server = await startRecordingServer();
    const url = server.url;
    await server.close();
    server = await startRecordingServer(); // for afterEach
    const [result] = await sendDeliveries({ provider: 'stripe', url, secret: STRIPE_SECRET });
    expect(result!.status).toBe(0);
    expect(result!.body).toBe('');
    expect(result!.error).toMatch(/^fetch failed: .*ECONNREFUSED/);
    expect(isExpectedOutcome(result!, false)).toBe(false);
  });

  it('gives up on a receiver slower than the timeout', async () => {
    server = await startRecordingServer(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return { status: 200, body: '{}' };
    });
    const [result] = await sendDeliveries({
      provider: 'razorpay',
      url: server.url,
      secret: RAZORPAY_SECRET,
      timeoutMs: 100,
    });
    expect(result!.status).toBe(0);
    expect(result!.error).toBe('no response within 100 ms');
  });
});

describe('planDeliveries', () => {
  const now = () => 1_790_000_000_000;

  it('signs a stale Stripe delivery 10 minutes in the past', () => {
    const plan = planDeliveries({
      provider: 'stripe',
      url: 'http://x',
      secret: STRIPE_SECRET,
      stale: true,
      now,
    });
    expect(STALE_SECONDS).toBe(600);
    expect(plan.deliveries[0]!.signed.headers['stripe-signature']!.startsWith('t=1789999400,v1=')).toBe(true);
  });

  it('signs with a secret other than the real one for wrongSecret', () => {
    const plan = planDeliveries({
      provider: 'razorpay',
      url: 'http://x',
      secret: RAZORPAY_SECRET,
      wrongSecret: true,
    });
    const { body, headers } = plan.deliveries[0]!.signed;
    expect(headers['x-razorpay-signature']).not.toBe(
      createHmac('sha256', RAZORPAY_SECRET).update(body).digest('hex'),
    );
  });

  it('omits the course for events lacking enrollment data', () => {
    const plan = planDeliveries({
      provider: 'razorpay',
      url: 'http://x',
      secret: RAZORPAY_SECRET,
      fixture: { courseId: null, name: null },
    });
    expect(JSON.parse(plan.deliveries[0]!.signed.body).payload.payment.entity.notes).toEqual([]);
  });

  it('reuses the very same signed delivery for duplicates', () => {
    const plan = planDeliveries({
      provider: 'stripe',
      url: 'http://x/',
      secret: STRIPE_SECRET,
      duplicates: 3,
      now,
    });
    expect(plan.url).toBe('http://x/webhooks/stripe');
    expect(plan.deliveries).toHaveLength(3);
    expect(plan.deliveries[1]).toBe(plan.deliveries[0]);
    expect(plan.deliveries[2]).toBe(plan.deliveries[0]);
    expect(plan.fixture.createdAt).toBe(1_790_000_000);
  });

  it.each([
    [
      { provider: 'razorpay', event: 'checkout.session.completed' },
      /^Unknown razorpay event "checkout.session.completed"; expected one of: payment.captured, order.paid/,
    ],
    [
      { provider: 'stripe', mix: true, event: 'payment_intent.succeeded' },
      'mix sends checkout.session.completed and payment_intent.succeeded; do not combine it with an event type',
    ],
    [
      { provider: 'razorpay', stale: true },
      'stale applies to Stripe only: Razorpay signatures carry no timestamp',
    ],
    [{ provider: 'stripe', duplicates: 0 }, 'duplicates must be a positive integer, got 0'],
  ] as const)('refuses %j', (opts, message) => {
    expect(() => planDeliveries({ url: 'http://x', secret: 'whsec_abcdefgh', ...opts })).toThrow(message);
  });
});
