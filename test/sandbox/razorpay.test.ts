import { call, credentials, FakeClock, jsonPost, useSandbox } from './harness';
import { razorpayDisputeEvent, razorpayEvent } from '../../src/providers/razorpay/fixtures';

const keys = {
  RAZORPAY_KEY_ID: 'rzp_test_K3yId0001',
  RAZORPAY_KEY_SECRET: 'rzp-secret-0001',
  STRIPE_API_KEY: 'sk_test_1',
};
const clock = new FakeClock();
const sb = useSandbox({ credentials: { ...credentials, ...keys }, now: clock.now });
const nowSeconds = () => Math.floor(clock.ms / 1000);

const basic = (id = keys.RAZORPAY_KEY_ID, secret = keys.RAZORPAY_KEY_SECRET) => ({
  authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
});
const api = (path: string, headers: Record<string, string> = basic()) =>
  call(`${sb.url}/razorpay${path}`, { headers });
const purchase = (spec: object) => jsonPost(`${sb.url}/_sandbox/razorpay/purchases`, spec);

const base = {
  amountMinor: 49_900,
  currency: 'INR',
  customer: { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+919876543210' },
  merchant: { notes: { product_id: 'prod_ts101' } },
  createdAt: 1_790_000_000,
};

describe('sandbox Razorpay API', () => {
  it('refuses a missing or wrong key with Razorpay’s error body', async () => {
    for (const headers of [
      {},
      basic(keys.RAZORPAY_KEY_ID, 'wrong'),
      basic('rzp_test_other', keys.RAZORPAY_KEY_SECRET),
    ]) {
      const res = await api('/v1/payments/pay_AAAAAAAAAAAAAA', headers);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        error: {
          code: 'BAD_REQUEST_ERROR',
          description: 'Authentication failed',
          source: 'NA',
          step: 'NA',
          reason: 'NA',
          metadata: {},
        },
      });
    }
  });

  it('answers an unknown id as Razorpay does: 400 "The id provided does not exist"', async () => {
    for (const path of [
      '/v1/payments/pay_Unknown0000001',
      '/v1/orders/order_Nope',
      '/v1/payment_links/plink_x',
      '/v1/subscriptions/sub_x',
      '/v1/invoices/inv_x',
    ]) {
      const res = await api(path);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'BAD_REQUEST_ERROR',
        description: 'The id provided does not exist',
      });
    }
  });

  it('creates an order paid by one captured payment, with buyer notes on the payment only', async () => {
    const created = await purchase({
      ...base,
      kind: 'order',
      paymentId: 'pay_Kx7Qm2Lp9Zr4Tb',
      buyer: { notes: { product_id: 'prod_free' } },
    });
    expect(created.status).toBe(201);
    // The same order id the fixture builders give this payment.
    const orderId = razorpayEvent('order.paid', { paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' }).payload.order!.entity.id;
    expect(created.body).toMatchObject({
      paymentId: 'pay_Kx7Qm2Lp9Zr4Tb',
      paymentIds: ['pay_Kx7Qm2Lp9Zr4Tb'],
      references: { order: orderId },
    });
    expect(created.body.deliveries.map((d: any) => d.eventType)).toEqual(['payment.captured', 'order.paid']);

    const payment = await api('/v1/payments/pay_Kx7Qm2Lp9Zr4Tb');
    expect(payment.body).toMatchObject({
      id: 'pay_Kx7Qm2Lp9Zr4Tb',
      entity: 'payment',
      amount: 49_900,
      currency: 'INR',
      status: 'captured',
      captured: true,
      order_id: orderId,
      invoice_id: null,
      email: 'asha.rao@example.com',
      contact: '+919876543210',
      notes: { product_id: 'prod_free' },
      amount_refunded: 0,
      refund_status: null,
      created_at: 1_790_000_000,
    });
    const order = await api(`/v1/orders/${orderId}`);
    expect(order.body).toMatchObject({
      id: orderId,
      entity: 'order',
      amount: 49_900,
      amount_paid: 49_900,
      amount_due: 0,
      status: 'paid',
      notes: { product_id: 'prod_ts101' },
    });
    expect(order.body.partial_payment).toBeUndefined();
    // The webhook is a snapshot of the same records.
    expect(created.body.deliveries[1].body.payload.order.entity).toEqual(order.body);
    expect(created.body.deliveries[0].body.payload.payment.entity).toEqual(payment.body);
  });

  it('sends notes: [] when a side wrote none', async () => {
    const created = await purchase({ ...base, kind: 'order', merchant: {} });
    const payment = await api(`/v1/payments/${created.body.paymentId}`);
    expect(payment.body.notes).toEqual([]);
    expect((await api(`/v1/orders/${payment.body.order_id}`)).body.notes).toEqual([]);
  });

  it('pays a partial-payment order with several payments, order.paid only with the last', async () => {
    const created = await purchase({ ...base, kind: 'order', partialPayments: [20_000, 29_900] });
    expect(created.status).toBe(201);
    const [first, second] = created.body.paymentIds;
    expect(created.body.deliveries.map((d: any) => d.eventType)).toEqual([
      'payment.captured',
      'payment.captured',
      'order.paid',
    ]);
    expect(created.body.deliveries[2].body.payload.payment.entity.id).toBe(second);
    const order = await api(`/v1/orders/${created.body.references.order}`);
    expect(order.body).toMatchObject({
      partial_payment: true,
      amount: 49_900,
      amount_due: 0,
      status: 'paid',
    });
    const paid = await api(`/v1/orders/${created.body.references.order}/payments`);
    expect(paid.body.entity).toBe('collection');
    expect(paid.body.items.map((p: any) => [p.id, p.amount]).sort()).toEqual(
      [
        [first, 20_000],
        [second, 29_900],
      ].sort(),
    );
  });

  it('creates a paid payment link with its order, customer and payment', async () => {
    const created = await purchase({ ...base, kind: 'payment-link' });
    expect(created.status).toBe(201);
    const { payment_link: plinkId, order: orderId } = created.body.references;
    expect(plinkId).toMatch(/^plink_[A-Za-z0-9]{14}$/);
    const link = await api(`/v1/payment_links/${plinkId}`);
    expect(link.body).toMatchObject({
      id: plinkId,
      amount: 49_900,
      amount_paid: 49_900,
      status: 'paid',
      order_id: orderId,
      customer: { name: 'Asha Rao', email: 'asha.rao@example.com', contact: '+919876543210' },
      notes: { product_id: 'prod_ts101' },
      payments: [expect.objectContaining({ payment_id: created.body.paymentId, plink_id: plinkId })],
    });
    expect((await api(`/v1/payments/${created.body.paymentId}`)).body.order_id).toBe(orderId);
    expect(created.body.deliveries.map((d: any) => d.eventType)).toEqual([
      'payment.captured',
      'order.paid',
      'payment_link.paid',
    ]);
    const linkPaid = created.body.deliveries[2].body;
    expect(linkPaid.contains).toEqual(['payment_link', 'order', 'payment']);
    expect(`order_${linkPaid.payload.order.entity.id}`).toBe(orderId);
    const byPayment = await api(`/v1/payment_links?payment_id=${created.body.paymentId}`);
    expect(byPayment.body.payment_links.map((l: any) => l.id)).toEqual([plinkId]);
  });

  it('creates a subscription with one invoice and captured payment per charge', async () => {
    const created = await purchase({
      ...base,
      kind: 'subscription',
      merchant: { planId: 'plan_Monthly01', notes: { product_id: 'prod_club' } },
      charges: 2,
    });
    expect(created.status).toBe(201);
    const subId = created.body.references.subscription;
    expect(created.body.paymentIds).toHaveLength(2);
    expect(created.body.deliveries.map((d: any) => d.eventType)).toEqual([
      'payment.captured',
      'subscription.activated',
      'subscription.charged',
      'payment.captured',
      'subscription.charged',
    ]);
    expect(created.body.deliveries.map((d: any) => d.body.payload.subscription?.entity.paid_count)).toEqual([
      undefined,
      1,
      1,
      undefined,
      2,
    ]);
    const sub = await api(`/v1/subscriptions/${subId}`);
    expect(sub.body).toMatchObject({
      id: subId,
      entity: 'subscription',
      plan_id: 'plan_Monthly01',
      status: 'active',
      paid_count: 2,
      notes: { product_id: 'prod_club' },
    });
    const invoices = await api(`/v1/invoices?subscription_id=${subId}`);
    expect(invoices.body.count).toBe(2);
    for (const id of created.body.paymentIds) {
      const payment = await api(`/v1/payments/${id}`);
      const invoice = await api(`/v1/invoices/${payment.body.invoice_id}`);
      expect(invoice.body).toMatchObject({ subscription_id: subId, payment_id: id, status: 'paid' });
    }
  });

  it('pages the payment list: newest first, count at most 100, default 10', async () => {
    for (let i = 0; i < 12; i++) await purchase({ ...base, kind: 'order', createdAt: 1_790_000_000 + i });
    const page = await api('/v1/payments');
    expect(page.body).toMatchObject({ entity: 'collection', count: 10 });
    expect(page.body.items[0].created_at).toBe(1_790_000_011);
    const rest = await api('/v1/payments?count=5&skip=10');
    expect(rest.body.items.map((p: any) => p.created_at)).toEqual([1_790_000_001, 1_790_000_000]);
    const window = await api('/v1/payments?from=1790000003&to=1790000004');
    expect(window.body.count).toBe(2);
    expect((await api('/v1/payments?count=101')).status).toBe(400);
  });

  it('refuses a bad purchase spec and a reused payment id', async () => {
    expect((await purchase({ ...base, kind: 'checkout' })).status).toBe(400);
    expect((await purchase({ ...base, kind: 'subscription' })).status).toBe(400);
    expect((await purchase({ ...base, kind: 'order', partialPayments: [1, 2] })).status).toBe(400);
    expect((await purchase({ ...base, kind: 'order', paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' })).status).toBe(201);
    expect((await purchase({ ...base, kind: 'order', paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' })).status).toBe(409);
  });

  it('fails on demand with a 5xx, before reading anything', async () => {
    const created = await purchase({ ...base, kind: 'order' });
    await sb.patchFaults({ razorpay: { failNext: 1 } });
    const failed = await api(`/v1/payments/${created.body.paymentId}`);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(failed.body.error.code).toBe('SERVER_ERROR');
    expect((await api(`/v1/payments/${created.body.paymentId}`)).status).toBe(200);
    expect((await sb.ledger()).requests.filter((r) => r.service === 'razorpay').map((r) => r.status)).toEqual(
      [503, 200],
    );
  });

  it('forgets every purchase on reset', async () => {
    const created = await purchase({ ...base, kind: 'order' });
    expect((await api(`/v1/payments/${created.body.paymentId}`)).status).toBe(200);
    expect((await jsonPost(`${sb.url}/_sandbox/reset`, {})).status).toBe(200);
    expect((await api(`/v1/payments/${created.body.paymentId}`)).status).toBe(400);
  });
});

describe('sandbox Razorpay refunds', () => {
  const refund = (body: object) => jsonPost(`${sb.url}/_sandbox/razorpay/refunds`, body);

  it('refunds in parts as Razorpay records it: cumulative amount, partial then full, and the webhooks', async () => {
    const { body: bought } = await purchase({ ...base, kind: 'order' });
    const paymentId: string = bought.paymentId;

    const part = await refund({ paymentId, amountMinor: 20_000 });
    expect(part.status).toBe(201);
    expect(part.body).toMatchObject({ paymentId, amountMinor: 20_000, full: false });
    expect(part.body.refundId).toMatch(/^rfnd_[A-Za-z0-9]{14}$/);
    expect(part.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'refund.created',
      'refund.processed',
    ]);
    const [created, processed] = part.body.deliveries.map((d: { body: any }) => d.body);
    expect(created.payload.refund.entity).toMatchObject({ id: part.body.refundId, status: 'pending' });
    expect(processed).toMatchObject({
      entity: 'event',
      event: 'refund.processed',
      contains: ['refund', 'payment'],
    });
    expect(processed.payload.refund.entity).toMatchObject({
      amount: 20_000,
      payment_id: paymentId,
      status: 'processed',
    });
    expect(processed.payload.payment.entity).toMatchObject({
      status: 'captured',
      amount_refunded: 20_000,
      refund_status: 'partial',
    });
    expect((await api(`/v1/payments/${paymentId}`)).body).toMatchObject({
      status: 'captured',
      refund_status: 'partial',
    });

    const rest = await refund({ paymentId });
    expect(rest.body).toMatchObject({ amountMinor: 29_900, full: true });
    expect((await api(`/v1/payments/${paymentId}`)).body).toMatchObject({
      status: 'refunded',
      amount_refunded: 49_900,
      refund_status: 'full',
    });
    const listed = await api(`/v1/payments/${paymentId}/refunds`);
    expect(listed.body).toMatchObject({ entity: 'collection', count: 2 });
    expect(listed.body.items.map((r: { amount: number }) => r.amount).sort()).toEqual([20_000, 29_900]);
    expect((await api(`/v1/refunds/${rest.body.refundId}`)).body).toMatchObject({
      amount: 29_900,
      status: 'processed',
    });
  });

  it('refuses what Razorpay refuses: more than is left, a refunded payment, an unknown payment', async () => {
    const { body: bought } = await purchase({ ...base, kind: 'order' });
    const tooMuch = await refund({ paymentId: bought.paymentId, amountMinor: 50_000 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body.message).toBe('The refund amount provided is greater than amount captured');
    await refund({ paymentId: bought.paymentId });
    const again = await refund({ paymentId: bought.paymentId });
    expect(again.status).toBe(400);
    expect(again.body.message).toMatch(/has been refunded/);
    expect((await refund({ paymentId: 'pay_Unknown0000001' })).status).toBe(400);
    expect((await refund({ paymentId: 'order_x' })).body.error).toBe('invalid_refund');
    expect((await api('/v1/refunds/rfnd_Unknown0000001')).status).toBe(400);
  });

  it('lists every refund newest first, by created_at from..to inclusive, with count and skip', async () => {
    const paid: string[] = [];
    for (let i = 0; i < 3; i++) paid.push((await purchase({ ...base, kind: 'order' })).body.paymentId);
    const t0 = nowSeconds();
    const refunds: string[] = [];
    for (const [paymentId, amountMinor] of [
      [paid[0], 10_000],
      [paid[1], undefined],
      [paid[0], undefined],
      [paid[2], 5_000],
    ] as const) {
      refunds.push((await refund({ paymentId, amountMinor })).body.refundId);
      clock.advance(10);
    }
    const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((r) => r.id);
    const newest = [...refunds].reverse();

    const all = await api('/v1/refunds');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ entity: 'collection', count: 4 });
    expect(ids(all)).toEqual(newest);
    expect(all.body.items[3]).toMatchObject({
      entity: 'refund',
      payment_id: paid[0],
      amount: 10_000,
      created_at: t0,
    });
    expect(ids(await api(`/v1/refunds?from=${t0 + 10}&to=${t0 + 20}`))).toEqual([refunds[2], refunds[1]]);
    expect(ids(await api(`/v1/refunds?from=${t0 + 21}`))).toEqual([refunds[3]]);
    expect(ids(await api(`/v1/refunds?to=${t0}`))).toEqual([refunds[0]]);
    expect(ids(await api('/v1/refunds?count=2&skip=1'))).toEqual([refunds[2], refunds[1]]);
    expect((await api('/v1/refunds?skip=4')).body).toEqual({ entity: 'collection', count: 0, items: [] });
    expect((await api(`/v1/refunds/${refunds[1]}`)).body).toMatchObject({
      id: refunds[1],
      payment_id: paid[1],
    });

    const tooMany = await api('/v1/refunds?count=101');
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({
      code: 'BAD_REQUEST_ERROR',
      description: 'The count may not be greater than 100.',
      field: 'count',
    });
    expect((await api('/v1/refunds?from=yesterday')).body.error).toMatchObject({ field: 'from' });
    const denied = await api('/v1/refunds', basic(keys.RAZORPAY_KEY_ID, 'wrong'));
    expect(denied.status).toBe(401);
    expect(denied.body.error.description).toBe('Authentication failed');

    expect((await jsonPost(`${sb.url}/_sandbox/reset`, {})).status).toBe(200);
    expect((await api('/v1/refunds')).body).toEqual({ entity: 'collection', count: 0, items: [] });
  });
});

describe('sandbox Razorpay disputes', () => {
  const dispute = (body: object) => jsonPost(`${sb.url}/_sandbox/razorpay/disputes`, body);
  const close = (id: string, body: object) =>
    jsonPost(`${sb.url}/_sandbox/razorpay/disputes/${id}/close`, body);
  const bought = async () => (await purchase({ ...base, kind: 'order' })).body.paymentId as string;

  it('opens a chargeback on a captured payment, as Razorpay records and announces it', async () => {
    const paymentId = await bought();
    const opened = await dispute({ paymentId });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ paymentId, amountMinor: 49_900, status: 'open' });
    expect(opened.body.disputeId).toMatch(/^disp_[A-Za-z0-9]{14}$/);
    // The fixtures name a payment's first dispute as the sandbox does.
    expect(opened.body.disputeId).toBe(
      razorpayDisputeEvent('payment.dispute.created', { paymentId }).payload.dispute!.entity.id,
    );
    expect(opened.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'payment.dispute.created',
    ]);
    const created = opened.body.deliveries[0].body;
    expect(created).toMatchObject({
      entity: 'event',
      event: 'payment.dispute.created',
      contains: ['payment', 'dispute'],
      created_at: nowSeconds(),
    });
    expect(created.payload.dispute.entity).toEqual({
      id: opened.body.disputeId,
      entity: 'dispute',
      payment_id: paymentId,
      amount: 49_900,
      currency: 'INR',
      amount_deducted: 0,
      reason_code: 'chargeback',
      reason_description: expect.any(String),
      respond_by: nowSeconds() + 7 * 86_400,
      status: 'open',
      phase: 'chargeback',
      created_at: nowSeconds(),
      evidence: expect.objectContaining({ amount: 49_900, summary: null, submitted_at: null }),
    });
    expect(created.payload.payment.entity).toMatchObject({
      id: paymentId,
      status: 'captured',
      disputed: true,
    });

    const read = await api(`/v1/disputes/${opened.body.disputeId}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.payload.dispute.entity);
    expect((await api(`/v1/payments/${paymentId}`)).body).toMatchObject({
      status: 'captured',
      disputed: true,
    });
  });

  it('closes a dispute lost, taking its amount, and refuses to close it twice', async () => {
    const paymentId = await bought();
    const { body: opened } = await dispute({ paymentId, amountMinor: 20_000 });
    expect(opened.amountMinor).toBe(20_000);
    clock.advance(86_400);
    const lost = await close(opened.disputeId, { outcome: 'lost' });
    expect(lost.status).toBe(200);
    expect(lost.body).toMatchObject({ disputeId: opened.disputeId, paymentId, status: 'lost' });
    expect(lost.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'payment.dispute.lost',
    ]);
    const event = lost.body.deliveries[0].body;
    expect(event).toMatchObject({ contains: ['payment', 'dispute'], created_at: nowSeconds() });
    expect(event.payload.dispute.entity).toMatchObject({
      status: 'lost',
      amount: 20_000,
      amount_deducted: 20_000,
    });
    expect((await api(`/v1/disputes/${opened.disputeId}`)).body).toMatchObject({
      status: 'lost',
      amount_deducted: 20_000,
    });

    const again = await close(opened.disputeId, { outcome: 'won' });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({
      error: 'dispute_refused',
      message: 'The dispute cannot be closed as it is already in lost state',
    });
    expect((await api(`/v1/disputes/${opened.disputeId}`)).body.status).toBe('lost');
  });

  it('closes a dispute won with nothing deducted; the payment may be disputed again after', async () => {
    const paymentId = await bought();
    const { body: first } = await dispute({ paymentId });
    const won = await close(first.disputeId, { outcome: 'won' });
    expect(won.body.deliveries[0].eventType).toBe('payment.dispute.won');
    expect(won.body.deliveries[0].body.payload.dispute.entity).toMatchObject({
      status: 'won',
      amount_deducted: 0,
    });
    const second = await dispute({ paymentId });
    expect(second.status).toBe(201);
    expect(second.body.disputeId).not.toBe(first.disputeId);
  });

  it('refuses what Razorpay would: an unknown or refunded payment, a second open dispute, unknown ids', async () => {
    const unknown = await dispute({ paymentId: 'pay_Unknown0000001' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error: 'dispute_refused', message: 'The id provided does not exist' });

    const refunded = await bought();
    await jsonPost(`${sb.url}/_sandbox/razorpay/refunds`, { paymentId: refunded });
    const late = await dispute({ paymentId: refunded });
    expect(late.status).toBe(400);
    expect(late.body.message).toBe('The payment has been refunded; only captured payments can be disputed');

    const paymentId = await bought();
    expect((await dispute({ paymentId })).status).toBe(201);
    expect((await dispute({ paymentId })).body.message).toBe('The payment already has a dispute in progress');
    expect((await dispute({ paymentId: await bought(), amountMinor: 50_000 })).status).toBe(400);

    expect((await close('disp_Unknown0000001', { outcome: 'lost' })).status).toBe(400);
    expect((await close('disp_Unknown0000001', { outcome: 'maybe' })).body.error).toBe(
      'invalid_dispute_close',
    );
    expect((await dispute({ paymentId: 'order_x' })).body.error).toBe('invalid_dispute');
    const missing = await api('/v1/disputes/disp_Unknown0000001');
    expect(missing.status).toBe(400);
    expect(missing.body.error.description).toBe('The id provided does not exist');
  });

  it('forgets disputes on reset', async () => {
    const { body: opened } = await dispute({ paymentId: await bought() });
    expect((await jsonPost(`${sb.url}/_sandbox/reset`, {})).status).toBe(200);
    expect((await api(`/v1/disputes/${opened.disputeId}`)).status).toBe(400);
  });
});

describe('sandbox Razorpay subscription cancellation', () => {
  const cancel = (id: string, body?: object) =>
    body === undefined
      ? call(`${sb.url}/_sandbox/razorpay/subscriptions/${id}/cancel`, { method: 'POST' })
      : jsonPost(`${sb.url}/_sandbox/razorpay/subscriptions/${id}/cancel`, body);
  const subscribe = async (charges = 2) =>
    (
      await purchase({
        ...base,
        kind: 'subscription',
        merchant: { planId: 'plan_Monthly01', notes: { product_id: 'prod_club' } },
        charges,
      })
    ).body;

  it('cancels at once: status cancelled, ended now, the period paid for kept, and subscription.cancelled', async () => {
    const bought = await subscribe();
    const subId: string = bought.references.subscription;
    const before = (await api(`/v1/subscriptions/${subId}`)).body;
    expect(before).toMatchObject({ status: 'active', ended_at: null });
    expect(before.current_end - before.current_start).toBe(30 * 86_400);

    const cancelled = await cancel(subId);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      subscriptionId: subId,
      // The payment its enrollment is keyed by: the first charge.
      paymentId: bought.paymentId,
      status: 'cancelled',
      endedAt: nowSeconds(),
    });
    expect(cancelled.body.deliveries.map((d: { eventType: string }) => d.eventType)).toEqual([
      'subscription.cancelled',
    ]);
    const event = cancelled.body.deliveries[0].body;
    expect(event).toMatchObject({
      event: 'subscription.cancelled',
      contains: ['subscription'],
      created_at: nowSeconds(),
    });
    expect(event.payload.subscription.entity).toEqual({
      ...before,
      status: 'cancelled',
      ended_at: nowSeconds(),
    });
    expect((await api(`/v1/subscriptions/${subId}`)).body).toEqual(event.payload.subscription.entity);

    const again = await cancel(subId, {});
    expect(again.status).toBe(400);
    expect(again.body).toEqual({
      error: 'cancellation_refused',
      message: 'Subscription is not cancellable in cancelled status.',
    });
  });

  it('with atCycleEnd ends it when the period paid for ends, announced then', async () => {
    const bought = await subscribe(1);
    const subId: string = bought.references.subscription;
    const { current_end: currentEnd } = (await api(`/v1/subscriptions/${subId}`)).body;
    const cancelled = await cancel(subId, { atCycleEnd: true });
    expect(cancelled.body).toMatchObject({ status: 'cancelled', endedAt: currentEnd });
    expect(cancelled.body.deliveries[0].body).toMatchObject({ created_at: currentEnd });
    expect(cancelled.body.deliveries[0].body.payload.subscription.entity).toMatchObject({
      status: 'cancelled',
      current_end: currentEnd,
      ended_at: currentEnd,
    });
  });

  it('refuses an unknown or completed subscription and a malformed body', async () => {
    const unknown = await cancel('sub_Unknown0000001');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe('The id provided does not exist');
    const done = await subscribe(12);
    const completed = await cancel(done.references.subscription);
    expect(completed.status).toBe(400);
    expect(completed.body.message).toBe('Subscription is not cancellable in completed status.');
    expect((await cancel(done.references.subscription, { atCycleEnd: 'yes' })).body.error).toBe(
      'invalid_cancellation',
    );
  });
});
