/**
 * The sandbox's Stripe API, read with the official SDK itself: if the SDK can parse, type and
 * classify what the sandbox answers, the confirmation client will behave the same against Stripe.
 */
import Stripe from 'stripe';
import type { PurchaseResult, PurchaseSpec } from '../../src/providers/purchase';
import { stripeRelatedIds } from '../../src/providers/stripe/fixtures';
import { call, credentials, jsonPost, useSandbox } from './harness';

const sandbox = useSandbox();

const client = (key = credentials.STRIPE_API_KEY) =>
  new Stripe(key, {
    host: '127.0.0.1',
    port: Number(new URL(sandbox.url).port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });

const spec = (over: Partial<PurchaseSpec> = {}): PurchaseSpec => ({
  kind: 'checkout',
  amountMinor: 49_900,
  currency: 'INR',
  customer: { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+919876543210' },
  merchant: {
    notes: { product_id: 'ts-101' },
    lineItems: [{ priceId: 'price_TS101inr', productId: 'prod_TS101', quantity: 1, unitAmountMinor: 49_900 }],
  },
  ...over,
});

async function purchase(s: PurchaseSpec): Promise<PurchaseResult> {
  const res = await jsonPost(`${sandbox.url}/_sandbox/stripe/purchases`, s);
  expect(res.status).toBe(201);
  return res.body as PurchaseResult;
}

const bodyOf = (r: PurchaseResult, i: number) => r.deliveries[i]!.body as any;

describe('Stripe sandbox: checkout', () => {
  it('creates a paid session, its intent and line items, keyed by the given PaymentIntent id', async () => {
    const pi = 'pi_3SandboxCheckout000000001';
    const r = await purchase(spec({ paymentId: pi, buyer: { clientReferenceId: 'ref-42' } }));
    expect(r.paymentId).toBe(pi);
    expect(r.deliveries.map((d) => d.eventType)).toEqual([
      'checkout.session.completed',
      'payment_intent.succeeded',
    ]);
    const sessionId = stripeRelatedIds(pi).checkoutSessionId;
    expect(r.references.checkout_session).toBe(sessionId);
    expect(bodyOf(r, 0)).toMatchObject({ object: 'event', livemode: false, api_version: Stripe.API_VERSION });

    const stripe = client();
    const session = await stripe.checkout.sessions.retrieve(sessionId, {
      expand: ['line_items'],
    });
    expect(session).toMatchObject({
      mode: 'payment',
      payment_intent: pi,
      payment_status: 'paid',
      client_reference_id: 'ref-42',
      metadata: { product_id: 'ts-101' },
      livemode: false,
    });
    expect(session.line_items?.data[0]?.price).toMatchObject({ id: 'price_TS101inr', product: 'prod_TS101' });
    expect(session.lastResponse.requestId).toMatch(/^req_/);

    const intent = await stripe.paymentIntents.retrieve(pi);
    expect(intent).toMatchObject({ status: 'succeeded', amount_received: 49_900, currency: 'inr' });
    expect(intent.metadata).toEqual({ product_id: 'ts-101' });
    const listed = await stripe.checkout.sessions.list({ payment_intent: pi });
    expect(listed.data.map((s) => s.id)).toEqual([sessionId]);
    const charge = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(charge.billing_details.email).toBe('asha.rao@example.com');
    const customer = await stripe.customers.retrieve(session.customer as string);
    expect(customer).toMatchObject({ email: 'asha.rao@example.com' });
  });

  it('has no line items when the merchant named none', async () => {
    const r = await purchase(spec({ merchant: {} }));
    const items = await client().checkout.sessions.listLineItems(r.references.checkout_session!);
    expect(items.data).toEqual([]);
  });

  it('refuses a malformed spec with 400', async () => {
    const res = await jsonPost(`${sandbox.url}/_sandbox/stripe/purchases`, { ...spec(), kind: 'order' });
    expect(res.status).toBe(400);
  });
});

describe('Stripe sandbox: subscription and invoice', () => {
  it('pays a subscription by its first invoice, then renewals', async () => {
    const r = await purchase(spec({ kind: 'subscription', charges: 3 }));
    expect(r.paymentId).toMatch(/^in_/);
    expect(r.paymentIds).toHaveLength(3);
    expect(r.deliveries.map((d) => d.eventType)).toEqual([
      'checkout.session.completed',
      'invoice.paid',
      'payment_intent.succeeded',
      'invoice.paid',
      'payment_intent.succeeded',
      'invoice.paid',
      'payment_intent.succeeded',
    ]);
    expect(bodyOf(r, 0).data.object).toMatchObject({
      mode: 'subscription',
      payment_intent: null,
      invoice: r.paymentId,
    });

    const stripe = client();
    const first: Stripe.Invoice = await stripe.invoices.retrieve(r.paymentIds[0]!);
    expect(first.billing_reason).toBe('subscription_create');
    expect(first.parent?.subscription_details?.subscription).toBe(r.references.subscription);
    expect(first.lines.data[0]?.pricing?.price_details).toEqual({
      price: 'price_TS101inr',
      product: 'prod_TS101',
    });
    expect((await stripe.invoices.retrieve(r.paymentIds[2]!)).billing_reason).toBe('subscription_cycle');

    const payments = await stripe.invoicePayments.list({
      payment: { type: 'payment_intent', payment_intent: r.references.payment_intent! },
    });
    expect(payments.data.map((p) => p.invoice)).toEqual([r.paymentId]);
    const sub = await stripe.subscriptions.retrieve(r.references.subscription!);
    expect(sub).toMatchObject({ status: 'active', latest_invoice: r.paymentIds[2] });
  });

  it('pays a one-off invoice the merchant created', async () => {
    const r = await purchase(spec({ kind: 'invoice' }));
    expect(r.deliveries.map((d) => d.eventType)).toEqual(['invoice.paid', 'payment_intent.succeeded']);
    const inv = await client().invoices.retrieve(r.paymentId, { expand: ['payments'] });
    expect(inv).toMatchObject({
      billing_reason: 'manual',
      status: 'paid',
      parent: null,
      metadata: { product_id: 'ts-101' },
    });
    expect(inv.payments?.data[0]?.payment.payment_intent).toBe(r.references.payment_intent);
  });
});

describe('Stripe sandbox: errors the SDK classifies', () => {
  it('answers a wrong key with 401, which the SDK raises as StripeAuthenticationError', async () => {
    const err = await client('sk_test_wrongkey0000abcd')
      .paymentIntents.retrieve('pi_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect((err as Error).message).toBe('Invalid API Key provided: sk_test_****abcd');
  });

  it('answers an unknown id with resource_missing', async () => {
    const err = await client()
      .paymentIntents.retrieve('pi_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(err).toMatchObject({ code: 'resource_missing', statusCode: 404, param: 'intent' });
    expect((err as Error).message).toBe("No such payment_intent: 'pi_x'");
  });

  it('answers an injected rate limit with 429, a StripeRateLimitError', async () => {
    await sandbox.putFaults({ stripe: { rateLimitRate: 1 } });
    const err = await client()
      .invoices.retrieve('in_x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
  });

  it('accepts Basic auth with the key as user, and puts a Request-Id on every answer', async () => {
    const basic = Buffer.from(`${credentials.STRIPE_API_KEY}:`).toString('base64');
    const ok = await call(`${sandbox.url}/v1/payment_intents/pi_nope`, {
      headers: { authorization: `Basic ${basic}` },
    });
    expect(ok.status).toBe(404);
    expect(ok.headers.get('request-id')).toMatch(/^req_/);
    const none = await call(`${sandbox.url}/v1/payment_intents/pi_nope`);
    expect(none.status).toBe(401);
    expect(none.headers.get('request-id')).toMatch(/^req_/);
  });

  it('forgets every object on reset', async () => {
    const r = await purchase(spec());
    await call(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    const err = await client()
      .paymentIntents.retrieve(r.paymentId)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'resource_missing' });
  });
});

describe('Stripe sandbox: refunds', () => {
  const refund = (body: object) => jsonPost(`${sandbox.url}/_sandbox/stripe/refunds`, body);

  it('refunds a charge in parts; the SDK reads the refunds and the charge as Stripe would answer', async () => {
    const bought = await purchase(spec());
    const part = await refund({ paymentId: bought.paymentId, amountMinor: 20_000 });
    expect(part.status).toBe(201);
    expect(part.body).toMatchObject({ paymentId: bought.paymentId, amountMinor: 20_000, full: false });
    expect(part.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'refund.created',
      'charge.refunded',
    ]);
    const refunded = part.body.deliveries[1].body;
    expect(refunded).toMatchObject({ object: 'event', type: 'charge.refunded' });
    expect(refunded.data.object).toMatchObject({
      object: 'charge',
      payment_intent: bought.paymentId,
      amount_refunded: 20_000,
      refunded: false,
    });

    const rest = await refund({ paymentId: bought.paymentId });
    expect(rest.body).toMatchObject({ amountMinor: 29_900, full: true });
    const sdk = client();
    const read = await sdk.refunds.retrieve(rest.body.refundId);
    expect(read).toMatchObject({
      object: 'refund',
      amount: 29_900,
      payment_intent: bought.paymentId,
      status: 'succeeded',
    });
    const charge = await sdk.charges.retrieve(read.charge as string);
    expect(charge).toMatchObject({ amount_refunded: 49_900, refunded: true });
  });

  it('refuses what Stripe refuses: more than is left, a refunded charge, an unknown intent', async () => {
    const bought = await purchase(spec());
    const tooMuch = await refund({ paymentId: bought.paymentId, amountMinor: 60_000 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.message).toMatch(/greater than unrefunded amount/);
    await refund({ paymentId: bought.paymentId });
    expect((await refund({ paymentId: bought.paymentId })).body.message).toMatch(/already been refunded/);
    expect((await refund({ paymentId: 'pi_Unknown000000000000000' })).status).toBe(404);
    const missing = await client()
      .refunds.retrieve('re_Unknown000000000000000')
      .catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
  });
});
