import { createHmac } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import Stripe from 'stripe';
import { createWebhookMetrics, type WebhookMetrics } from '../../src/observability/webhook-metrics';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';
import { stripeEvent } from '../../src/providers/stripe/fixtures';
import { accessWorkflowId } from '../../src/domain/access-event';
import { createWebhookApp } from '../../src/webhook/app';
import { razorpayAdapter } from '../../src/providers/razorpay';
import { stripeAdapter } from '../../src/providers/stripe';
import { type EnrollmentStarter, TemporalUnavailableError } from '../../src/webhook/start-enrollment';
import { parseExposition } from './alert-rules';
import { captureLines, type CapturedLines } from './log-capture';

/**
 * The receiver's metrics and logs over real HTTP, with Temporal replaced by a recording starter that
 * behaves like the real one: first start of a payment "started", later ones "duplicate".
 */
const RZP_SECRET = 'rzp_metrics_test_SECRET';
const STRIPE_SECRET = 'whsec_metrics_test_SECRET';

let server: Server;
let base: string;
let metrics: WebhookMetrics;
let logs: CapturedLines;
let temporalDown = false;
const workflows = new Set<string>();

beforeAll(async () => {
  logs = captureLines('webhook');
  const starter: EnrollmentStarter = {
    async start(event) {
      await new Promise((r) => setTimeout(r, 5));
      if (temporalDown) throw new TemporalUnavailableError('deadline exceeded');
      const workflowId = `payment-${event.provider}-${event.paymentId}`;
      if (workflows.has(workflowId)) {
        // What the real starter logs when it forwards details to the existing workflow.
        logs.logger.debug({ workflowId }, 'details not forwarded to existing workflow');
        return { status: 'duplicate', workflowId };
      }
      workflows.add(workflowId);
      return { status: 'started', workflowId };
    },
    async startAccess(event) {
      if (temporalDown) throw new TemporalUnavailableError('deadline exceeded');
      const workflowId = accessWorkflowId(event);
      const status = workflows.has(workflowId) ? 'duplicate' : 'started';
      workflows.add(workflowId);
      return { status, workflowId };
    },
    ready: async () => true,
  };
  metrics = createWebhookMetrics();
  const app = createWebhookApp({
    adapters: { razorpay: razorpayAdapter([RZP_SECRET]), stripe: stripeAdapter([STRIPE_SECRET], 300) },
    // As the receiver wires it (src/webhook/main.ts).
    starter: metrics.timeStarts(starter),
    logger: logs.logger,
    metrics,
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

const razorpay = (body: string, secret = RZP_SECRET, headers: Record<string, string> = {}) =>
  fetch(`${base}/webhooks/razorpay`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-razorpay-signature': createHmac('sha256', secret).update(body).digest('hex'),
      ...headers,
    },
  });

const stripe = (body: string) =>
  fetch(`${base}/webhooks/stripe`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: body, secret: STRIPE_SECRET }),
    },
  });

async function scrape() {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

const deliveries = (m: Awaited<ReturnType<typeof scrape>>, labels: Record<string, string>) =>
  m.value('enrollflow_webhook_deliveries_total', labels) ?? 0;

describe('receiver metrics at GET /metrics', () => {
  it('counts signed, duplicate, forged, ignored, access and failed deliveries with bounded labels', async () => {
    const before = await scrape();
    const paid = JSON.stringify(razorpayEvent('payment.captured', { paymentId: 'pay_MetricsTest0001' }));

    expect((await razorpay(paid)).status).toBe(200);
    expect((await razorpay(paid)).status).toBe(200); // redelivery
    expect((await razorpay(paid, 'rzp_wrong_secret_000')).status).toBe(401);
    expect((await razorpay(`${paid} `)).status).toBe(200); // same payment, re-signed: duplicate again
    const refund = JSON.stringify(razorpayEvent('refund.processed', { paymentId: 'pay_MetricsTest0001' }));
    expect((await razorpay(refund)).status).toBe(200);
    const failed = JSON.stringify(razorpayEvent('payment.failed', { paymentId: 'pay_MetricsTest0005' }));
    expect((await razorpay(failed)).status).toBe(200);
    expect(
      (
        await stripe(
          JSON.stringify(stripeEvent('payment_intent.succeeded', { paymentId: 'pi_MetricsTest0001' })),
        )
      ).status,
    ).toBe(200);
    temporalDown = true;
    const other = JSON.stringify(razorpayEvent('payment.captured', { paymentId: 'pay_MetricsTest0002' }));
    expect((await razorpay(other)).status).toBe(503);
    temporalDown = false;
    expect((await fetch(`${base}/webhooks/paypal`, { method: 'POST' })).status).toBe(404);

    const after = await scrape();
    const delta = (labels: Record<string, string>) => deliveries(after, labels) - deliveries(before, labels);
    expect(delta({ provider: 'razorpay', event_type: 'payment.captured', outcome: 'started' })).toBe(1);
    expect(delta({ provider: 'razorpay', event_type: 'payment.captured', outcome: 'duplicate' })).toBe(2);
    expect(delta({ provider: 'razorpay', event_type: 'none', outcome: 'unauthorized' })).toBe(1);
    expect(delta({ provider: 'razorpay', event_type: 'refund.processed', outcome: 'started' })).toBe(1);
    expect(delta({ provider: 'razorpay', event_type: 'payment.failed', outcome: 'ignored' })).toBe(1);
    expect(delta({ provider: 'stripe', event_type: 'payment_intent.succeeded', outcome: 'started' })).toBe(1);
    expect(delta({ provider: 'razorpay', event_type: 'payment.captured', outcome: 'unavailable' })).toBe(1);
    expect(delta({ provider: 'other', event_type: 'none', outcome: 'invalid' })).toBe(1);

    const counter = (name: string, provider: string) =>
      (after.value(name, { provider }) ?? 0) - (before.value(name, { provider }) ?? 0);
    expect(counter('enrollflow_webhook_signature_failures_total', 'razorpay')).toBe(1);
    expect(counter('enrollflow_webhook_signature_failures_total', 'stripe')).toBe(0);
    expect(counter('enrollflow_webhook_duplicates_total', 'razorpay')).toBe(2);

    // Start latency: every start the receiver attempted, duplicates and the failed one included, the
    // refund's access change among them.
    const starts = (outcome: string) =>
      after.value('enrollflow_workflow_start_seconds_count', { provider: 'razorpay', outcome }) ?? 0;
    expect([starts('started'), starts('duplicate'), starts('unavailable')]).toEqual([2, 2, 1]);
    expect(
      after.value('enrollflow_workflow_start_seconds_bucket', {
        provider: 'razorpay',
        outcome: 'started',
        le: '2.5',
      }),
    ).toBe(2);
    // Plus Node's own process metrics.
    expect(after.names.has('process_resident_memory_bytes')).toBe(true);
  });

  it('logs an access delivery with its event, its payment and the workflow it started', async () => {
    const refund = razorpayEvent('refund.processed', { paymentId: 'pay_MetricsTest0004' });
    const mark = logs.lines().length;
    const res = await razorpay(JSON.stringify(refund), RZP_SECRET, {
      'x-razorpay-event-id': 'EvMetrics00001',
    });
    expect(res.status).toBe(200);
    const workflowId = `refund-razorpay-${refund.payload.refund!.entity.id}`;
    expect(logs.lines().slice(mark)).toEqual([
      expect.objectContaining({
        msg: 'webhook delivery',
        status: 200,
        outcome: 'started',
        eventType: 'refund.processed',
        eventId: 'EvMetrics00001',
        paymentId: 'pay_MetricsTest0004',
        workflowId,
      }),
    ]);
  });

  it('logs the request id on every line of a request, and neither secrets nor signatures', async () => {
    const body = JSON.stringify(
      razorpayEvent('payment.captured', {
        paymentId: 'pay_MetricsTest0003',
        email: 'asha.verma@example.com',
      }),
    );
    await razorpay(body);
    const signature = createHmac('sha256', RZP_SECRET).update(body).digest('hex');
    const mark = logs.lines().length;
    const res = await razorpay(body, RZP_SECRET, { 'x-request-id': 'req-observability-1' });
    expect(res.headers.get('x-request-id')).toBe('req-observability-1');

    const lines = logs.lines().slice(mark);
    expect(lines.map((l) => l.msg)).toEqual([
      'details not forwarded to existing workflow',
      'webhook delivery',
    ]);
    for (const line of lines) expect(line.requestId).toBe('req-observability-1');
    expect(lines[1]).toMatchObject({ status: 200, outcome: 'duplicate', email: 'a***@example.com' });

    // Generated when the provider sends none, and different per request.
    const first = logs.lines().length;
    await razorpay(body);
    await razorpay(body);
    const ids = logs
      .lines()
      .slice(first)
      .filter((l) => l.msg === 'webhook delivery')
      .map((l) => l.requestId as string);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);

    const text = logs.text();
    for (const secret of [RZP_SECRET, STRIPE_SECRET, signature, 'asha.verma@example.com']) {
      expect(text).not.toContain(secret);
    }
  });
});
