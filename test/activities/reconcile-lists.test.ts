/**
 * Reconciliation's list clients against the real sandbox over real HTTP: Razorpay's payments and
 * refunds in a window, paged by `skip`, each wrapped as the webhook that announces it; Stripe's events
 * through the official SDK; and what a refused key or a throttled list becomes.
 */
import { listRazorpayPage } from '../../src/activities/providers/razorpay-listing';
import { listStripeEventsPage } from '../../src/activities/providers/stripe-listing';
import { interpretRazorpayEvent } from '../../src/providers/razorpay';
import { interpretStripeEvent } from '../../src/providers/stripe';
import { captureLogs, downstreamFailureOf, noJitter } from './support/fixtures';
import { credentials, useSandbox } from '../sandbox/harness';

const sandbox = useSandbox();
beforeEach(async () => setFaults({}));

const logs = captureLogs();
const deps = { fetch, logger: logs.logger, timeoutMs: 2_000, now: Date.now, random: noJitter };
const razorpay = (secret = credentials.RAZORPAY_KEY_SECRET) => ({
  RAZORPAY_API_URL: `${sandbox.url}/razorpay`,
  RAZORPAY_KEY_ID: credentials.RAZORPAY_KEY_ID,
  RAZORPAY_KEY_SECRET: secret,
});
const stripe = () => ({
  STRIPE_API_URL: sandbox.url,
  STRIPE_API_KEY: credentials.STRIPE_API_KEY,
  HTTP_TIMEOUT_MS: 2_000,
});

async function post(path: string, body: object): Promise<any> {
  const res = await fetch(`${sandbox.url}/_sandbox/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path} refused: ${res.status} ${await res.text()}`);
  return res.json();
}
async function setFaults(faults: object) {
  const res = await fetch(`${sandbox.url}/_sandbox/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!res.ok) throw new Error(`faults refused: ${res.status} ${await res.text()}`);
}

const purchase = (provider: 'razorpay' | 'stripe', i: number, createdAt?: number) =>
  post(`${provider}/purchases`, {
    kind: provider === 'razorpay' ? 'order' : 'checkout',
    amountMinor: 49_900,
    currency: 'INR',
    customer: { email: `list-${i}@example.com`, name: 'Asha Rao', phone: '+919876543210' },
    merchant: { notes: { product_id: 'course-ml-101' } },
    ...(createdAt !== undefined && { createdAt }),
  });

const now = () => Math.floor(Date.now() / 1000);

describe('listRazorpayPage', () => {
  it('pages payments in a window by skip, oldest first within a page, as payment.captured events', async () => {
    const start = now() - 3600;
    const made: string[] = [];
    // Distinct creation times, so the order Razorpay lists them in (newest first) is certain.
    for (let i = 0; i < 101; i += 1) made.push((await purchase('razorpay', i, start + i)).paymentId);
    await purchase('razorpay', 999, start - 10); // Before the window.
    const window = { from: start, to: now() };

    const first = await listRazorpayPage(razorpay(), deps, 'payments', window, undefined);
    expect([first.listed, first.next]).toEqual([100, '100']);
    const second = await listRazorpayPage(razorpay(), deps, 'payments', window, first.next);
    expect([second.listed, second.next]).toEqual([1, undefined]);

    const ids = [...first.bodies, ...second.bodies].map((b) => {
      const meaning = interpretRazorpayEvent(b, {});
      if (meaning.kind !== 'paid') throw new Error(`not paid: ${JSON.stringify(meaning)}`);
      expect(meaning.event.references?.order).toMatch(/^order_/);
      return meaning.event.paymentId;
    });
    expect(new Set(ids)).toEqual(new Set(made));
    // Page one holds the newest hundred, each page read oldest first.
    expect(second.bodies.map((b) => interpretId(b))).toEqual([made[0]]);
    expect(first.bodies.map((b) => interpretId(b))).toEqual(made.slice(1));
  });

  it('lists only processed refunds, as refund.processed events of their payment', async () => {
    const { paymentId } = await purchase('razorpay', 1);
    const refund = await post('razorpay/refunds', { paymentId });
    const page = await listRazorpayPage(
      razorpay(),
      deps,
      'refunds',
      { from: now() - 60, to: now() },
      undefined,
    );
    expect(page.listed).toBe(1);
    const meaning = interpretRazorpayEvent(page.bodies[0]!, {});
    expect(meaning).toMatchObject({
      kind: 'access',
      event: { kind: 'refund', causeId: refund.refundId, paymentId, eventType: 'refund.processed' },
    });
  });

  it("turns a throttled list into RateLimited with Razorpay's delay, and a refused key into ProviderRejected", async () => {
    await setFaults({ razorpay: { rateLimitRate: 1, retryAfter: { seconds: 7 } } });
    const throttled = await downstreamFailureOf(
      listRazorpayPage(razorpay(), deps, 'payments', { from: 0, to: now() }, undefined),
    );
    expect([throttled.type, throttled.retryDelayMs]).toEqual(['RateLimited', 7_000]);
    await setFaults({});
    const refused = await downstreamFailureOf(
      listRazorpayPage(razorpay('not-the-secret'), deps, 'payments', { from: 0, to: now() }, undefined),
    );
    expect([refused.type, refused.nonRetryable]).toEqual(['ProviderRejected', true]);
  });

  it('fails, never reads as an empty window, when the list is not found (a wrong RAZORPAY_API_URL)', async () => {
    await purchase('razorpay', 1);
    const elsewhere = { ...razorpay(), RAZORPAY_API_URL: `${sandbox.url}/not-razorpay` };
    const failure = await downstreamFailureOf(
      listRazorpayPage(elsewhere, deps, 'payments', { from: 0, to: now() }, undefined),
    );
    expect([failure.type, failure.nonRetryable]).toEqual(['ProviderRejected', true]);
  });
});

describe('listStripeEventsPage', () => {
  it("lists a checkout's paid events, each read by the receiver's adapter as the same payment", async () => {
    const { paymentId } = await purchase('stripe', 1);
    const page = await listStripeEventsPage(
      stripe(),
      logs.logger,
      { from: now() - 60, to: now() },
      undefined,
    );
    expect(page.listed).toBe(2);
    expect(page.next).toBeUndefined();
    const meanings = page.bodies.map((b) => interpretStripeEvent(b));
    expect(meanings.map((m) => m.kind)).toEqual(['paid', 'paid']);
    expect(meanings.map((m) => (m.kind === 'paid' ? m.event.paymentId : ''))).toEqual([paymentId, paymentId]);
  });

  it('follows starting_after across pages', async () => {
    for (let i = 0; i < 51; i += 1) await purchase('stripe', i);
    const window = { from: now() - 600, to: now() };
    const first = await listStripeEventsPage(stripe(), logs.logger, window, undefined);
    expect([first.listed, first.next]).toEqual([100, expect.stringMatching(/^evt_/)]);
    const second = await listStripeEventsPage(stripe(), logs.logger, window, first.next);
    expect([second.listed, second.next]).toEqual([2, undefined]);
    const ids = [...first.bodies, ...second.bodies].map((b) => b.id);
    expect(new Set(ids).size).toBe(102);
  });
});

function interpretId(body: Record<string, unknown>): string {
  const meaning = interpretRazorpayEvent(body, {});
  return meaning.kind === 'paid' ? meaning.event.paymentId : '';
}
