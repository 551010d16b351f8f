/**
 * The sandbox's Stripe API, read with the official SDK itself: if the SDK can parse, type and
 * classify what the sandbox answers, the confirmation client will behave the same against Stripe.
 */
import Stripe from 'stripe';
import type { PurchaseResult, PurchaseSpec } from '../../src/providers/purchase';
import { stripeDisputeEvent, stripeRelatedIds } from '../../src/providers/stripe/fixtures';
import { call, credentials, FakeClock, jsonPost, useSandbox } from './harness';

const clock = new FakeClock();
const sandbox = useSandbox({ now: clock.now });
const nowSeconds = () => Math.floor(clock.ms / 1000);

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

describe('Stripe sandbox: disputes', () => {
  const dispute = (body: object) => jsonPost(`${sandbox.url}/_sandbox/stripe/disputes`, body);
  const close = (id: string, body: object) =>
    jsonPost(`${sandbox.url}/_sandbox/stripe/disputes/${id}/close`, body);

  it('opens a dispute on the charge; the SDK reads the dispute and the disputed charge', async () => {
    const bought = await purchase(spec());
    const opened = await dispute({ paymentId: bought.paymentId });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({
      paymentId: bought.paymentId,
      amountMinor: 49_900,
      status: 'needs_response',
    });
    const chargeId = stripeRelatedIds(bought.paymentId).chargeId;
    // The fixtures name a charge's first dispute as the sandbox does.
    expect(opened.body.disputeId).toBe(
      stripeDisputeEvent('charge.dispute.created', { paymentId: bought.paymentId }).data.object.id,
    );
    expect(opened.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'charge.dispute.created',
    ]);
    const created = opened.body.deliveries[0].body;
    expect(created).toMatchObject({
      object: 'event',
      type: 'charge.dispute.created',
      created: nowSeconds(),
      livemode: false,
      api_version: Stripe.API_VERSION,
    });

    const sdk = client();
    const read = await sdk.disputes.retrieve(opened.body.disputeId);
    expect(read).toMatchObject({
      id: opened.body.disputeId,
      object: 'dispute',
      amount: 49_900,
      currency: 'inr',
      charge: chargeId,
      payment_intent: bought.paymentId,
      reason: 'fraudulent',
      status: 'needs_response',
      created: nowSeconds(),
      livemode: false,
      is_charge_refundable: false,
      balance_transactions: [],
      evidence_details: { has_evidence: false, submission_count: 0, past_due: false },
    });
    expect(read.evidence_details.due_by).toBeGreaterThan(nowSeconds());
    expect(read.lastResponse.requestId).toMatch(/^req_/);
    const { lastResponse: _response, ...served } = read;
    expect(served).toEqual(created.data.object);
    expect(await sdk.charges.retrieve(chargeId)).toMatchObject({ disputed: true, refunded: false });
  });

  it('resolves a subscription invoice to the charge its intent made', async () => {
    const bought = await purchase(spec({ kind: 'subscription' }));
    const opened = await dispute({ paymentId: bought.paymentId });
    expect(opened.status).toBe(201);
    expect(opened.body.paymentId).toBe(bought.paymentId);
    const read = await client().disputes.retrieve(opened.body.disputeId);
    expect(read.payment_intent).toBe(bought.references.payment_intent);
  });

  it('closes it won or lost with charge.dispute.closed, and refuses to close it twice', async () => {
    const sdk = client();
    for (const outcome of ['won', 'lost'] as const) {
      const bought = await purchase(spec());
      const { body: opened } = await dispute({ paymentId: bought.paymentId });
      clock.advance(3600);
      const closed = await close(opened.disputeId, { outcome });
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({
        disputeId: opened.disputeId,
        paymentId: bought.paymentId,
        status: outcome,
      });
      expect(closed.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
        'charge.dispute.closed',
      ]);
      expect(closed.body.deliveries[0].body).toMatchObject({
        type: 'charge.dispute.closed',
        created: nowSeconds(),
        data: { object: { id: opened.disputeId, status: outcome } },
      });
      expect((await sdk.disputes.retrieve(opened.disputeId)).status).toBe(outcome);

      const again = await close(opened.disputeId, { outcome: 'won' });
      expect(again.status).toBe(400);
      expect(again.body.error).toBe('dispute_refused');
      expect(again.body.message).toMatch(/already closed/);
    }
  });

  it('refuses what Stripe would: an unknown intent, a refunded charge, a charge already disputed, an unknown dispute', async () => {
    const unknown = await dispute({ paymentId: 'pi_Unknown000000000000000' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      error: 'dispute_refused',
      message: "No such payment_intent: 'pi_Unknown000000000000000'",
    });
    const refunded = await purchase(spec());
    await jsonPost(`${sandbox.url}/_sandbox/stripe/refunds`, { paymentId: refunded.paymentId });
    const late = await dispute({ paymentId: refunded.paymentId });
    expect(late.status).toBe(400);
    expect(late.body.message).toMatch(/has been refunded; it cannot be disputed/);

    const bought = await purchase(spec());
    expect((await dispute({ paymentId: bought.paymentId })).status).toBe(201);
    const twice = await dispute({ paymentId: bought.paymentId });
    expect(twice.status).toBe(400);
    expect(twice.body.message).toMatch(/has already been disputed/);

    expect((await close('dp_Unknown000000000000000', { outcome: 'lost' })).status).toBe(404);
    expect((await close('dp_Unknown000000000000000', {})).body.error).toBe('invalid_dispute_close');
    const missing = await client()
      .disputes.retrieve('dp_x')
      .catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missing).toMatchObject({ code: 'resource_missing', statusCode: 404 });
    expect((missing as Error).message).toBe("No such dispute: 'dp_x'");
  });
});

describe('Stripe sandbox: subscription cancellation', () => {
  const cancel = (id: string) =>
    call(`${sandbox.url}/_sandbox/stripe/subscriptions/${id}/cancel`, { method: 'POST' });

  it('cancels at once with customer.subscription.deleted; the SDK reads it canceled', async () => {
    const bought = await purchase(spec({ kind: 'subscription', charges: 2 }));
    const subId = bought.references.subscription!;
    const sdk = client();
    const before = await sdk.subscriptions.retrieve(subId);
    const periodEnd = before.items.data[0]!.current_period_end;

    clock.advance(86_400);
    const canceled = await cancel(subId);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({
      subscriptionId: subId,
      // The invoice its first charge paid: what its enrollment is keyed by.
      paymentId: bought.paymentId,
      status: 'canceled',
      endedAt: nowSeconds(),
    });
    expect(canceled.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'customer.subscription.deleted',
    ]);
    const event = canceled.body.deliveries[0].body;
    expect(event).toMatchObject({ type: 'customer.subscription.deleted', created: nowSeconds() });
    expect(event.data.object).toMatchObject({
      id: subId,
      object: 'subscription',
      status: 'canceled',
      canceled_at: nowSeconds(),
      ended_at: nowSeconds(),
      cancellation_details: { reason: 'cancellation_requested' },
      items: { data: [{ current_period_end: periodEnd }] },
    });

    const after = await sdk.subscriptions.retrieve(subId);
    expect(after).toMatchObject({ status: 'canceled', ended_at: nowSeconds(), canceled_at: nowSeconds() });
    expect(after.items.data[0]!.current_period_end).toBe(periodEnd);

    const again = await cancel(subId);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('cancellation_refused');
  });

  it('refuses an unknown subscription as Stripe does', async () => {
    const unknown = await cancel('sub_Unknown000000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toBe("No such subscription: 'sub_Unknown000000000000000'");
  });
});

describe('Stripe sandbox: events', () => {
  const post = (path: string, body: object) => jsonPost(`${sandbox.url}/_sandbox/stripe/${path}`, body);
  const idsOf = (deliveries: { body: { id: string } }[]) => deliveries.map((d) => d.body.id);
  const raw = (query: string, key = credentials.STRIPE_API_KEY) =>
    call(`${sandbox.url}/v1/events${query}`, { headers: { authorization: `Bearer ${key}` } });

  /**
   * A purchase, a part refund a minute later, a dispute a minute after that and its close a minute
   * after that: each step's events share one `created`, so ties are ordered too.
   */
  async function history() {
    const t0 = nowSeconds();
    const bought = await purchase(spec());
    clock.advance(60);
    const refunded = await post('refunds', { paymentId: bought.paymentId, amountMinor: 20_000 });
    clock.advance(60);
    const opened = await post('disputes', { paymentId: bought.paymentId });
    clock.advance(60);
    const closed = await post(`disputes/${opened.body.disputeId}/close`, { outcome: 'lost' });
    const [session, intent] = idsOf(bought.deliveries as any);
    const [refund, chargeRefunded] = idsOf(refunded.body.deliveries);
    const [disputeCreated] = idsOf(opened.body.deliveries);
    const [disputeClosed] = idsOf(closed.body.deliveries);
    return {
      t0,
      bought,
      ids: { session, intent, refund, chargeRefunded, disputeCreated, disputeClosed },
      // Newest first; within one `created`, the one produced last first.
      newestFirst: [disputeClosed, disputeCreated, chargeRefunded, refund, intent, session],
    };
  }

  it('lists every event the control routes produced, delivered or not, newest first as the SDK reads it', async () => {
    const h = await history();
    const listed = await client().events.list({ limit: 100 });
    expect(listed).toMatchObject({ object: 'list', url: '/v1/events', has_more: false });
    expect(listed.data.map((e) => e.id)).toEqual(h.newestFirst);
    // The payment whose webhook nobody received is found by listing, its body as it would have been sent.
    const paid = listed.data.find((e) => e.type === 'payment_intent.succeeded')!;
    expect(paid).toEqual(bodyOf(h.bought, 1));
    expect(paid.data.object.id).toBe(h.bought.paymentId);
    expect(listed.data.map((e) => e.type)).toEqual([
      'charge.dispute.closed',
      'charge.dispute.created',
      'charge.refunded',
      'refund.created',
      'payment_intent.succeeded',
      'checkout.session.completed',
    ]);
  });

  it('filters by created (exact or bounds), types and a type wildcard', async () => {
    const h = await history();
    const ids = h.ids;
    const stripe = client();
    const list = async (params: Stripe.EventListParams) =>
      (await stripe.events.list(params)).data.map((e) => e.id);

    expect(await list({ created: { gte: h.t0 + 60, lt: h.t0 + 180 } })).toEqual([
      ids.disputeCreated,
      ids.chargeRefunded,
      ids.refund,
    ]);
    expect(await list({ created: { gt: h.t0 + 60, lte: h.t0 + 180 } })).toEqual([
      ids.disputeClosed,
      ids.disputeCreated,
    ]);
    expect(await list({ created: h.t0 })).toEqual([ids.intent, ids.session]);
    expect(await list({ types: ['refund.created', 'charge.dispute.closed'] })).toEqual([
      ids.disputeClosed,
      ids.refund,
    ]);
    expect(await list({ created: { gte: h.t0 + 120 }, types: ['refund.created'] })).toEqual([]);
    expect(await list({ type: 'charge.dispute.*' })).toEqual([ids.disputeClosed, ids.disputeCreated]);
    expect(await list({ type: 'payment_intent.succeeded' })).toEqual([ids.intent]);
    expect(await list({ type: 'payment_intent' })).toEqual([]);
  });

  it('pages with limit and starting_after, and the SDK auto-pages through all of them', async () => {
    const h = await history();
    const stripe = client();
    const first = await stripe.events.list({ limit: 4 });
    expect(first.data.map((e) => e.id)).toEqual(h.newestFirst.slice(0, 4));
    expect(first.has_more).toBe(true);
    const second = await stripe.events.list({ limit: 4, starting_after: first.data[3]!.id });
    expect(second.data.map((e) => e.id)).toEqual(h.newestFirst.slice(4));
    expect(second.has_more).toBe(false);
    const all = await stripe.events.list({ limit: 2 }).autoPagingToArray({ limit: 100 });
    expect(all.map((e) => e.id)).toEqual(h.newestFirst);
    const filtered = await stripe.events
      .list({ limit: 1, created: { gte: h.t0 + 60 } })
      .autoPagingToArray({ limit: 100 });
    expect(filtered.map((e) => e.id)).toEqual(h.newestFirst.slice(0, 4));
    // Ten by default.
    for (let i = 0; i < 5; i++) await purchase(spec());
    const page = await stripe.events.list();
    expect(page.data).toHaveLength(10);
    expect(page.has_more).toBe(true);
  });

  it('records a subscription cancellation, and retrieves one event by id', async () => {
    const bought = await purchase(spec({ kind: 'subscription' }));
    clock.advance(86_400 * 40);
    const canceled = await call(
      `${sandbox.url}/_sandbox/stripe/subscriptions/${bought.references.subscription}/cancel`,
      { method: 'POST' },
    );
    const [deleted] = idsOf(canceled.body.deliveries);
    const stripe = client();
    const listed = await stripe.events.list({ types: ['customer.subscription.deleted'] });
    expect(listed.data.map((e) => e.id)).toEqual([deleted]);
    // The purchase's events are a minute after it; the cancellation, days later, is the newest.
    expect((await stripe.events.list({ limit: 1 })).data[0]!.id).toBe(deleted);

    const one = await stripe.events.retrieve(deleted!);
    const { lastResponse: _response, ...served } = one;
    expect(served).toEqual(canceled.body.deliveries[0].body);
    const missingEvent = await stripe.events.retrieve('evt_nope').catch((e: unknown) => e);
    expect(missingEvent).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(missingEvent).toMatchObject({ code: 'resource_missing', statusCode: 404 });
    expect((missingEvent as Error).message).toBe("No such event: 'evt_nope'");
  });

  it('refuses what Stripe refuses: type with types, more than 20 types, a bad created or limit, an unknown cursor', async () => {
    const stripe = client();
    const refusal = (params: Stripe.EventListParams) => stripe.events.list(params).catch((e: unknown) => e);

    const both = await refusal({ type: 'charge.refunded', types: ['refund.created'] });
    expect(both).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(both).toMatchObject({ statusCode: 400, param: 'type' });
    const many = await refusal({ types: Array.from({ length: 21 }, (_, i) => `type.${i}`) });
    expect(many).toMatchObject({ statusCode: 400, param: 'types' });
    expect(
      (await stripe.events.list({ types: Array.from({ length: 20 }, (_, i) => `t.${i}`) })).data,
    ).toEqual([]);
    const delivery = await refusal({ delivery_success: false });
    expect(delivery).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(delivery).toMatchObject({ statusCode: 400, param: 'delivery_success' });
    expect((delivery as Error).message).toMatch(/cannot tell delivery outcomes/);
    expect(await refusal({ starting_after: 'evt_nope' })).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
    });

    const badCreated = await raw('?created[gte]=yesterday');
    expect(badCreated.status).toBe(400);
    expect(badCreated.body.error).toMatchObject({
      code: 'parameter_invalid_integer',
      param: 'created[gte]',
      type: 'invalid_request_error',
    });
    expect((await raw('?created=1.5')).body.error).toMatchObject({
      code: 'parameter_invalid_integer',
      param: 'created',
    });
    expect((await raw('?created[after]=1')).body.error).toMatchObject({
      code: 'parameter_unknown',
      param: 'created[after]',
    });
    expect((await raw('?limit=101')).body.error).toMatchObject({
      code: 'parameter_invalid_integer',
      param: 'limit',
    });
  });

  it('goes through auth and fault injection like every other route, and forgets events on reset', async () => {
    const r = await purchase(spec());
    const id = bodyOf(r, 0).id as string;
    const wrong = client('sk_test_wrongkey0000abcd');
    for (const attempt of [wrong.events.list(), wrong.events.retrieve(id)]) {
      const err = await attempt.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect((err as Error).message).toBe('Invalid API Key provided: sk_test_****abcd');
    }
    expect((await call(`${sandbox.url}/v1/events`)).status).toBe(401);

    await sandbox.putFaults({ stripe: { rateLimitRate: 1 } });
    const limited = await client()
      .events.list()
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    await sandbox.putFaults({});

    expect((await client().events.retrieve(id)).id).toBe(id);
    await call(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    expect((await client().events.list()).data).toEqual([]);
    expect(
      await client()
        .events.retrieve(id)
        .catch((e: unknown) => e),
    ).toMatchObject({ code: 'resource_missing' });
  });
});
