import { createHmac } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import Stripe from 'stripe';
import { createLogger } from '../../src/runtime/logger';
import { type AccessEvent, accessWorkflowId } from '../../src/domain/access-event';
import type { PaymentEvent } from '../../src/domain/payment-event';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';
import { stripeEvent } from '../../src/providers/stripe/fixtures';
import { createWebhookApp, MAX_BODY_BYTES } from '../../src/webhook/app';
import { razorpayAdapter } from '../../src/providers/razorpay';
import { stripeAdapter } from '../../src/providers/stripe';
import { type EnrollmentStarter, TemporalUnavailableError } from '../../src/webhook/start-enrollment';

/**
 * The receiver's HTTP contract, over real HTTP, with the Temporal starter replaced by a recorder
 * (the end-to-end suite covers the real start). What matters here: which status each delivery gets,
 * and that nothing is started unless the delivery is authentic and paid.
 */
const RZP_SECRET = 'rzp_unit_test_secret';
const STRIPE_SECRET = 'whsec_unit_test_secret';

let server: Server;
let base: string;
const started: Array<PaymentEvent | AccessEvent> = [];
let starterMode: 'ok' | 'duplicate' | 'down' = 'ok';

const record = (event: PaymentEvent | AccessEvent, workflowId: string) => {
  if (starterMode === 'down') throw new TemporalUnavailableError('deadline exceeded');
  started.push(event);
  return { status: starterMode === 'duplicate' ? ('duplicate' as const) : ('started' as const), workflowId };
};

const starter: EnrollmentStarter = {
  start: async (event) => record(event, `payment-${event.provider}-${event.paymentId}`),
  startAccess: async (event) => record(event, accessWorkflowId(event)),
  ready: async () => starterMode !== 'down',
};

beforeAll(async () => {
  const app = createWebhookApp({
    adapters: { razorpay: razorpayAdapter([RZP_SECRET]), stripe: stripeAdapter([STRIPE_SECRET], 300) },
    starter,
    logger: createLogger('test', 'silent'),
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  started.length = 0;
  starterMode = 'ok';
});

const post = (provider: string, body: string | Buffer, headers: Record<string, string>) =>
  fetch(`${base}/webhooks/${provider}`, { method: 'POST', body, headers });

function razorpay(body: string, headers: Record<string, string> = {}) {
  const signature = createHmac('sha256', RZP_SECRET).update(body).digest('hex');
  return post('razorpay', body, {
    'content-type': 'application/json',
    'x-razorpay-signature': signature,
    ...headers,
  });
}

function stripe(body: string, headers: Record<string, string> = {}) {
  const signature = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_SECRET });
  return post('stripe', body, {
    'content-type': 'application/json; charset=utf-8',
    'stripe-signature': signature,
    ...headers,
  });
}

describe('webhook receiver', () => {
  it('starts the workflow for a signed Razorpay payment.captured and answers 200', async () => {
    const body = JSON.stringify(razorpayEvent('payment.captured', { paymentId: 'pay_29QQoUBi66xm2f' }));
    const res = await razorpay(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'started',
      workflowId: 'payment-razorpay-pay_29QQoUBi66xm2f',
    });
    expect(started.map((e) => e.paymentId)).toEqual(['pay_29QQoUBi66xm2f']);
  });

  it('answers a redelivery 200 with a body that says it was a duplicate', async () => {
    starterMode = 'duplicate';
    const res = await stripe(
      JSON.stringify(stripeEvent('payment_intent.succeeded', { paymentId: 'pi_3Qdup' })),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'duplicate', workflowId: 'payment-stripe-pi_3Qdup' });
  });

  it('answers 401 to a bad signature, says nothing about why, and starts nothing', async () => {
    const body = JSON.stringify(razorpayEvent('payment.captured'));
    const res = await post('razorpay', body, {
      'content-type': 'application/json',
      'x-razorpay-signature': 'f'.repeat(64),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'invalid_signature' });
    const missing = await post('stripe', body, { 'content-type': 'application/json' });
    expect(missing.status).toBe(401);
    expect(started).toHaveLength(0);
  });

  it('answers 200 "ignored" to a signed event that does not mean paid, so the provider stops', async () => {
    const res = await razorpay(JSON.stringify(razorpayEvent('payment.failed')));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ignored', eventType: 'payment.failed' });
    expect(started).toHaveLength(0);
  });

  it('starts the access workflow for a signed Razorpay refund.processed, keyed by the refund', async () => {
    const refund = razorpayEvent('refund.processed', { paymentId: 'pay_29QQoUBi66xm2g' });
    const res = await razorpay(JSON.stringify(refund));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'started',
      workflowId: `refund-razorpay-${refund.payload.refund!.entity.id}`,
    });
    expect(started).toMatchObject([{ kind: 'refund', paymentId: 'pay_29QQoUBi66xm2g' }]);
  });

  it('answers a later Stripe dispute event 200 duplicate with the dispute workflow', async () => {
    starterMode = 'duplicate';
    const body = JSON.stringify({
      id: 'evt_1DisputeClosed0000000001',
      object: 'event',
      api_version: '2026-10-28.endive',
      created: Math.floor(Date.now() / 1000),
      data: {
        object: {
          id: 'dp_1HttpDispute000001',
          object: 'dispute',
          amount: 4_900,
          charge: 'ch_3HttpCharge0000001',
          currency: 'usd',
          livemode: false,
          payment_intent: 'pi_3HttpIntent0000001',
          reason: 'fraudulent',
          status: 'lost',
        },
      },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type: 'charge.dispute.closed',
    });
    const res = await stripe(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      status: 'duplicate',
      workflowId: 'dispute-stripe-dp_1HttpDispute000001',
    });
  });

  it('answers 503 to a refund when Temporal cannot durably start its workflow, so the provider retries', async () => {
    starterMode = 'down';
    const res = await stripe(JSON.stringify(stripeEvent('charge.refunded')));
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: 'temporarily_unavailable' });
  });

  it.each([
    ['malformed JSON', '{"entity":"event",', 'malformed_json'],
    ['a JSON array', '[1,2,3]', 'not_an_event_object'],
    ['JSON null', 'null', 'not_an_event_object'],
    [
      'an event with no payment id',
      JSON.stringify({ entity: 'event', event: 'payment.captured', payload: {} }),
      'invalid_event',
    ],
  ])('answers 400 to a signed body that is %s', async (_case, body, error) => {
    const res = await razorpay(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error });
    expect(started).toHaveLength(0);
  });

  it('answers 413 to a body over 1 MiB without starting anything', async () => {
    const body = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    const res = await post('razorpay', body, {
      'content-type': 'application/json',
      'x-razorpay-signature': 'a'.repeat(64),
    });
    expect(res.status).toBe(413);
  });

  it('answers 415 to a non-JSON content type and to a compressed body', async () => {
    const body = JSON.stringify(razorpayEvent('payment.captured'));
    expect((await razorpay(body, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await razorpay(body, { 'content-encoding': 'gzip' })).status).toBe(415);
    expect(started).toHaveLength(0);
  });

  it('answers 503 when Temporal cannot durably start the workflow, so the provider retries', async () => {
    starterMode = 'down';
    const res = await razorpay(JSON.stringify(razorpayEvent('order.paid')));
    expect(res.status).toBe(503);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('answers 404 for a provider it does not know', async () => {
    expect((await post('paypal', '{}', { 'content-type': 'application/json' })).status).toBe(404);
    expect((await post('__proto__', '{}', { 'content-type': 'application/json' })).status).toBe(404);
  });
});
