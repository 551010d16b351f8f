/**
 * fetchStripeRecord against the sandbox's Stripe over real HTTP, through the official SDK: what it
 * reads for each kind of purchase, and how it classifies the API's refusals and outages.
 */
import { fetchStripeRecord } from '../../src/activities/providers/stripe';
import { DownstreamFailure } from '../../src/activities/errors';
import type { PurchaseResult, PurchaseSpec } from '../../src/providers/purchase';
import { credentials, jsonPost, useSandbox } from '../sandbox/harness';
import { captureLogs } from './support/fixtures';

const sandbox = useSandbox();

const config = (key = credentials.STRIPE_API_KEY) => ({
  STRIPE_API_URL: sandbox.url,
  STRIPE_API_KEY: key,
  HTTP_TIMEOUT_MS: 2_000,
});

const customer = { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+919876543210' };
const course = { priceId: 'price_TS101inr', productId: 'prod_TS101', quantity: 1, unitAmountMinor: 49_900 };

async function purchase(spec: Partial<PurchaseSpec>): Promise<PurchaseResult> {
  const res = await jsonPost(`${sandbox.url}/_sandbox/stripe/purchases`, {
    kind: 'checkout',
    amountMinor: 49_900,
    currency: 'INR',
    customer,
    merchant: { notes: { product_id: 'ts-101' }, lineItems: [course] },
    ...spec,
  });
  expect(res.status).toBe(201);
  return res.body as PurchaseResult;
}

async function failure(promise: Promise<unknown>): Promise<DownstreamFailure> {
  const err = await promise.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(DownstreamFailure);
  return err as DownstreamFailure;
}

describe('fetchStripeRecord: checkout', () => {
  it('reads a paid checkout with one line item, its metadata and the customer', async () => {
    const r = await purchase({});
    const record = await fetchStripeRecord(config(), r.paymentId);
    expect(record).toEqual({
      provider: 'stripe',
      paymentId: r.paymentId,
      found: true,
      paid: true,
      status: 'succeeded',
      amountMinor: 49_900,
      currency: 'INR',
      livemode: false,
      kind: 'checkout',
      references: { checkout_session: r.references.checkout_session, customer: r.references.customer },
      claims: expect.arrayContaining([
        { source: 'stripe.line_item_price', value: 'price_TS101inr', quantity: 1, item: 0 },
        { source: 'stripe.line_item_product', value: 'prod_TS101', quantity: 1, item: 0 },
        { source: 'stripe.metadata', key: 'product_id', value: 'ts-101', quantity: 1 },
      ]),
      customer,
    });
    expect(record.handledElsewhere).toBeUndefined();
  });

  it('reads what has been refunded from the charge of the intent, partly and then in full', async () => {
    const r = await purchase({});
    const refund = (body: object) => jsonPost(`${sandbox.url}/_sandbox/stripe/refunds`, body);
    expect((await fetchStripeRecord(config(), r.paymentId)).refund).toBeUndefined();
    await refund({ paymentId: r.paymentId, amountMinor: 10_000 });
    expect((await fetchStripeRecord(config(), r.paymentId)).refund).toEqual({
      refundedMinor: 10_000,
      full: false,
    });
    await refund({ paymentId: r.paymentId });
    const record = await fetchStripeRecord(config(), r.paymentId);
    // Stripe keeps the intent succeeded: the charge is what says the money went back.
    expect(record).toMatchObject({
      paid: true,
      status: 'succeeded',
      refund: { refundedMinor: 49_900, full: true },
    });
  });

  it('keeps a bundle line item together by its index and quantity', async () => {
    const bundle = {
      priceId: 'price_Bundle',
      productId: 'prod_Bundle',
      quantity: 2,
      unitAmountMinor: 10_000,
    };
    const r = await purchase({ amountMinor: 69_900, merchant: { lineItems: [course, bundle] } });
    const record = await fetchStripeRecord(config(), r.paymentId);
    expect(record.claims.filter((c) => c.item === 1)).toEqual([
      { source: 'stripe.line_item_price', value: 'price_Bundle', quantity: 2, item: 1 },
      { source: 'stripe.line_item_product', value: 'prod_Bundle', quantity: 2, item: 1 },
    ]);
  });

  it('passes client_reference_id on as a buyer-set claim, never as the course', async () => {
    const r = await purchase({ merchant: {}, buyer: { clientReferenceId: 'course-from-url' } });
    const record = await fetchStripeRecord(config(), r.paymentId);
    expect(record.claims).toEqual([
      { source: 'stripe.client_reference_id', value: 'course-from-url', quantity: 1 },
    ]);
  });
});

describe('fetchStripeRecord: subscriptions and invoices', () => {
  it('after a free trial, reads the first charge that took money as the first charge', async () => {
    const r = await purchase({ kind: 'subscription', trialDays: 7, charges: 2 });
    const [firstCharge, renewal] = r.paymentIds;
    const first = await fetchStripeRecord(config(), firstCharge!);
    expect(first).toMatchObject({
      paid: true,
      amountMinor: 49_900,
      kind: 'subscription',
      subscription: { id: r.references.subscription, first: true },
      // The Checkout Session that started the trial is the purchase's: its metadata counts.
      references: { checkout_session: r.references.checkout_session },
    });
    expect(first.claims).toEqual(
      expect.arrayContaining([
        { source: 'stripe.metadata', key: 'product_id', value: 'ts-101', quantity: 1 },
      ]),
    );
    expect((await fetchStripeRecord(config(), renewal!)).subscription).toEqual({
      id: r.references.subscription,
      first: false,
    });
  });

  it('reads a refund of an invoice-keyed charge through the intent that paid the invoice', async () => {
    const r = await purchase({ kind: 'subscription' });
    expect((await fetchStripeRecord(config(), r.paymentId)).refund).toBeUndefined();
    const refunded = await jsonPost(`${sandbox.url}/_sandbox/stripe/refunds`, { paymentId: r.paymentId });
    expect(refunded.status).toBe(201);
    expect(await fetchStripeRecord(config(), r.paymentId)).toMatchObject({
      paymentId: r.paymentId,
      paid: true,
      refund: { full: true },
    });
  });

  it('reads the first invoice of a subscription as its first charge, with the session metadata', async () => {
    const r = await purchase({ kind: 'subscription', charges: 2 });
    const record = await fetchStripeRecord(config(), r.paymentIds[0]!, {
      checkout_session: r.references.checkout_session!,
    });
    expect(record).toMatchObject({
      paymentId: r.paymentIds[0],
      found: true,
      paid: true,
      status: 'paid',
      kind: 'subscription',
      amountMinor: 49_900,
      currency: 'INR',
      subscription: { id: r.references.subscription, first: true },
      references: {
        subscription: r.references.subscription,
        checkout_session: r.references.checkout_session,
      },
      customer,
    });
    expect(record.claims).toEqual(
      expect.arrayContaining([
        { source: 'stripe.line_item_price', value: 'price_TS101inr', quantity: 1, item: 0 },
        { source: 'stripe.metadata', key: 'product_id', value: 'ts-101', quantity: 1 },
      ]),
    );
  });

  it('reads a renewal as a later charge of the same subscription', async () => {
    const r = await purchase({ kind: 'subscription', charges: 2 });
    const record = await fetchStripeRecord(config(), r.paymentIds[1]!);
    expect(record.subscription).toEqual({ id: r.references.subscription, first: false });
    expect(record.references.checkout_session).toBeUndefined();
  });

  it('ignores a session pointer that does not belong to the invoice', async () => {
    const other = await purchase({ kind: 'subscription' });
    const r = await purchase({ kind: 'subscription', merchant: { lineItems: [course] } });
    const record = await fetchStripeRecord(config(), r.paymentId, {
      checkout_session: other.references.checkout_session!,
    });
    expect(record.references.checkout_session).toBeUndefined();
    expect(record.claims.some((c) => c.source === 'stripe.metadata')).toBe(false);
  });

  it('sends a PaymentIntent that pays an invoice to the invoice workflow', async () => {
    const r = await purchase({ kind: 'invoice' });
    const record = await fetchStripeRecord(config(), r.references.payment_intent!);
    expect(record).toMatchObject({
      found: true,
      kind: 'payment_intent',
      handledElsewhere: { key: r.paymentId },
    });
    const invoice = await fetchStripeRecord(config(), r.paymentId);
    expect(invoice).toMatchObject({ kind: 'invoice', paid: true, amountMinor: 49_900 });
    expect(invoice.subscription).toBeUndefined();
  });
});

describe('fetchStripeRecord: logging', () => {
  it('logs one line per Stripe call, without bodies or the key', async () => {
    const r = await purchase({});
    const logs = captureLogs();
    await fetchStripeRecord(config(), r.paymentId, {}, logs.logger);
    const lines = logs.lines();
    expect(lines.map((l) => l.operation)).toEqual(
      expect.arrayContaining([
        'payment intent',
        'checkout sessions',
        'checkout line items',
        'invoice payments',
      ]),
    );
    expect(lines.every((l) => l.paymentId === r.paymentId && typeof l.requestId === 'string')).toBe(true);
    expect(logs.text()).not.toContain(credentials.STRIPE_API_KEY);
    expect(logs.text()).not.toContain(customer.email);
  });
});

describe('fetchStripeRecord: what Stripe refuses', () => {
  it('reads an unknown payment as not found, not as an error', async () => {
    const record = await fetchStripeRecord(config(), 'pi_3UnknownIntent000000000000');
    expect(record).toMatchObject({ found: false, paid: false, amountMinor: 0, currency: '' });
    expect((await fetchStripeRecord(config(), 'in_1UnknownInvoice')).found).toBe(false);
  });

  it('classifies a wrong key as ProviderRejected, not retryable', async () => {
    const err = await failure(fetchStripeRecord(config('sk_test_wrongkey0000abcd'), 'pi_3Any'));
    expect(err.type).toBe('ProviderRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.status).toBe(401);
  });

  it('classifies an injected 429 as RateLimited, retryable', async () => {
    const r = await purchase({});
    await sandbox.putFaults({ stripe: { rateLimitRate: 1, retryAfter: { seconds: 7 } } });
    const err = await failure(fetchStripeRecord(config(), r.paymentId));
    expect(err.type).toBe('RateLimited');
    expect(err.nonRetryable).toBe(false);
    expect(err.retryDelayMs).toBeGreaterThanOrEqual(7_000);
  });

  it('classifies an injected 503 as DownstreamUnavailable, retryable', async () => {
    const r = await purchase({});
    await sandbox.putFaults({ stripe: { failNext: 1 } });
    const err = await failure(fetchStripeRecord(config(), r.paymentId));
    expect(err.type).toBe('DownstreamUnavailable');
    expect(err.nonRetryable).toBe(false);
    expect(err.status).toBe(503);
  });
});
