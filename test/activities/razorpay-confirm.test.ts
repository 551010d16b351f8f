/**
 * The Razorpay confirmation client against the real sandbox over real HTTP: purchases are created
 * through the control route, then read back as a `ProviderRecord`.
 */
import { fetchRazorpayRecord } from '../../src/activities/providers/razorpay';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { captureLogs, downstreamFailureOf, noJitter } from './support/fixtures';

const keys = { RAZORPAY_KEY_ID: 'rzp_test_K3yId0001', RAZORPAY_KEY_SECRET: 'rzp-secret-0001' };
const credentials = {
  LMS_API_KEY: 'lms-test-key-0001',
  WHATSAPP_ACCESS_TOKEN: 'wa-test-token-0001',
  WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
  HUBSPOT_CLIENT_ID: 'hs-client-id-0001',
  HUBSPOT_CLIENT_SECRET: 'hs-client-secret-0001',
  HUBSPOT_REFRESH_TOKEN: 'hs-refresh-token-0001',
  STRIPE_API_KEY: 'sk_test_0001',
  ...keys,
};

let sandbox: RunningSandbox;
beforeAll(async () => {
  sandbox = await startSandbox({ credentials });
});
afterAll(async () => sandbox.close());
beforeEach(() => sandbox.state.reset());

const logs = captureLogs();
const deps = { fetch, logger: logs.logger, timeoutMs: 2_000, now: Date.now, random: noJitter };
const config = (overrides: Partial<typeof keys> = {}) => ({
  RAZORPAY_API_URL: `${sandbox.url}/razorpay`,
  ...keys,
  ...overrides,
});
const read = (paymentId: string, references?: Record<string, string>, cfg = config()) =>
  fetchRazorpayRecord(cfg, deps, paymentId, references);

async function purchase(spec: object): Promise<any> {
  const res = await fetch(`${sandbox.url}/_sandbox/razorpay/purchases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(spec),
  });
  if (res.status !== 201) throw new Error(`purchase refused: ${res.status} ${await res.text()}`);
  return res.json();
}

const base = {
  amountMinor: 49_900,
  currency: 'INR',
  customer: { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+919876543210' },
  merchant: { notes: { product_id: 'prod_ts101', student_name: 'Asha Rao' } },
};

const failureOf = downstreamFailureOf;

describe('fetchRazorpayRecord', () => {
  it('reads an order purchase: amount, customer, merchant and buyer notes as separate claims', async () => {
    const p = await purchase({ ...base, kind: 'order', buyer: { notes: { product_id: 'prod_free' } } });
    const record = await read(p.paymentId);
    expect(record).toMatchObject({
      provider: 'razorpay',
      paymentId: p.paymentId,
      found: true,
      paid: true,
      status: 'captured',
      amountMinor: 49_900,
      currency: 'INR',
      kind: 'order',
      references: { order: p.references.order },
      order: { amountMinor: 49_900, amountDueMinor: 0, partial: false, completedByThisPayment: true },
      customer: { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+919876543210' },
    });
    expect(record.claims).toEqual(
      expect.arrayContaining([
        { source: 'razorpay.order_notes', key: 'product_id', value: 'prod_ts101', quantity: 1 },
        // What the buyer's browser wrote is kept, under its own, untrusted, source.
        { source: 'razorpay.payment_notes', key: 'product_id', value: 'prod_free', quantity: 1 },
      ]),
    );
    expect(record.subscription).toBeUndefined();
  });

  it('reads a merchant order paid in one attempt with two calls: no order payments list, no link search', async () => {
    const p = await purchase({ ...base, kind: 'order' });
    const before = logs.lines().length;
    const record = await read(p.paymentId);
    expect(record.order?.completedByThisPayment).toBe(true);
    expect(record.kind).toBe('order');
    const operations = logs
      .lines()
      .slice(before)
      .map((l) => l.operation)
      .filter(Boolean);
    expect(operations).toEqual(['fetch_payment', 'fetch_order']);
  });

  it('reads what has been refunded: partly (still captured), then in full (refunded)', async () => {
    const p = await purchase({ ...base, kind: 'order' });
    const refund = (body: object) =>
      fetch(`${sandbox.url}/_sandbox/razorpay/refunds`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await refund({ paymentId: p.paymentId, amountMinor: 9_900 });
    expect(await read(p.paymentId)).toMatchObject({
      paid: true,
      status: 'captured',
      refund: { refundedMinor: 9_900, full: false },
    });
    await refund({ paymentId: p.paymentId });
    expect(await read(p.paymentId)).toMatchObject({
      paid: false,
      status: 'refunded',
      refund: { refundedMinor: 49_900, full: true },
    });
  });

  it('says only the last payment of a partial-payment order completes it', async () => {
    const p = await purchase({ ...base, kind: 'order', partialPayments: [20_000, 29_900] });
    const [first, last] = p.paymentIds;
    const early = await read(first);
    expect(early.amountMinor).toBe(20_000);
    expect(early.order).toEqual({
      amountMinor: 49_900,
      amountDueMinor: 0,
      partial: true,
      completedByThisPayment: false,
    });
    expect((await read(last)).order?.completedByThisPayment).toBe(true);
  });

  it('reads a payment link found from the payment alone, and with its webhook pointer', async () => {
    const p = await purchase({
      ...base,
      kind: 'payment-link',
      merchant: { notes: { product_id: 'prod_ml' } },
    });
    const pointers: Array<Record<string, string>> = [{}, { payment_link: p.references.payment_link }];
    for (const refs of pointers) {
      const record = await read(p.paymentId, refs);
      expect(record.kind).toBe('payment_link');
      expect(record.references).toMatchObject({
        payment_link: p.references.payment_link,
        order: p.references.order,
      });
      expect(record.claims).toEqual(
        expect.arrayContaining([
          { source: 'razorpay.payment_link', value: p.references.payment_link, quantity: 1 },
          { source: 'razorpay.payment_link_notes', key: 'product_id', value: 'prod_ml', quantity: 1 },
        ]),
      );
      expect(record.customer.name).toBe('Asha Rao');
    }
  });

  it('does not trust a payment-link pointer that is not this payment’s', async () => {
    const other = await purchase({
      ...base,
      kind: 'payment-link',
      merchant: { notes: { product_id: 'prod_premium' } },
    });
    const p = await purchase({ ...base, kind: 'order' });
    const record = await read(p.paymentId, { payment_link: other.references.payment_link });
    expect(record.kind).toBe('order');
    expect(record.references.payment_link).toBeUndefined();
    expect(record.claims.map((c) => c.source)).not.toEqual(expect.arrayContaining(['razorpay.payment_link']));
    expect(record.claims.some((c) => c.value === 'prod_premium')).toBe(false);
  });

  it('reads a subscription charge from its invoice; only the first charge is first', async () => {
    const p = await purchase({
      ...base,
      kind: 'subscription',
      merchant: { planId: 'plan_Monthly01', notes: { product_id: 'prod_club' } },
      charges: 2,
    });
    const [first, renewal] = p.paymentIds;
    const record = await read(first, { subscription: 'sub_Forged0000000' });
    expect(record).toMatchObject({
      kind: 'subscription',
      paid: true,
      subscription: { id: p.references.subscription, first: true },
      references: { subscription: p.references.subscription },
    });
    expect(record.references.invoice).toMatch(/^inv_/);
    expect(record.claims).toEqual(
      expect.arrayContaining([
        { source: 'razorpay.subscription_plan', value: 'plan_Monthly01', quantity: 1 },
        { source: 'razorpay.subscription_notes', key: 'product_id', value: 'prod_club', quantity: 1 },
      ]),
    );
    expect((await read(renewal)).subscription).toEqual({ id: p.references.subscription, first: false });
  });

  it('takes neither payment of a standard order paid twice as its payer: a person picks one', async () => {
    const p = await purchase({ ...base, kind: 'order', paidTwice: true });
    const [first, second] = p.paymentIds;
    expect((await read(first)).order).toMatchObject({ partial: false, completedByThisPayment: false });
    expect((await read(second)).order).toMatchObject({ partial: false, completedByThisPayment: false });
  });

  it('pages through a long subscription: its first charge is found past the first page of invoices', async () => {
    const p = await purchase({
      ...base,
      kind: 'subscription',
      merchant: { planId: 'plan_Monthly01', notes: { product_id: 'prod_club' } },
      charges: 101,
    });
    const first = p.paymentIds[0];
    expect((await read(first)).subscription?.first).toBe(true);
    expect((await read(p.paymentIds[100])).subscription?.first).toBe(false);
  });

  it('reports a payment Razorpay does not know as not found, not as an error', async () => {
    const record = await read('pay_Unknown0000001');
    expect(record).toMatchObject({ found: false, paid: false, amountMinor: 0, currency: '', claims: [] });
  });

  it('fails for good when Razorpay refuses the key', async () => {
    const p = await purchase({ ...base, kind: 'order' });
    const failure = await failureOf(read(p.paymentId, {}, config({ RAZORPAY_KEY_SECRET: 'wrong' })));
    expect(failure.type).toBe('ProviderRejected');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.status).toBe(401);
  });

  it('fails retryably on an injected 5xx, and never logs a body', async () => {
    const p = await purchase({ ...base, kind: 'order' });
    await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ razorpay: { failNext: 1 } }),
    });
    const failure = await failureOf(read(p.paymentId));
    expect(failure.type).toBe('DownstreamUnavailable');
    expect(failure.nonRetryable).toBe(false);
    expect(failure.status).toBe(503);
    expect(logs.text()).not.toContain('asha.rao@example.com');
  });

  it('rate limiting is retryable', async () => {
    const p = await purchase({ ...base, kind: 'order' });
    await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ razorpay: { rateLimitRate: 1 } }),
    });
    const failure = await failureOf(read(p.paymentId));
    expect(failure.type).toBe('RateLimited');
    expect(failure.nonRetryable).toBe(false);
  });
});
