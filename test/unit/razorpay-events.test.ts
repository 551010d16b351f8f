import { interpretRazorpayEvent } from '../../src/providers/razorpay';
import { razorpay } from '../../src/providers/razorpay';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';

const asBody = (event: object) => JSON.parse(JSON.stringify(event)) as Record<string, any>;

// Written in the shape Razorpay documents for payment_link.paid: link, order (its id without the
// `order_` prefix) and payment.
const paymentLinkPaid = () => ({
  entity: 'event',
  account_id: 'acc_Pz8Kd2Lw0Qa1Rb',
  event: 'payment_link.paid',
  contains: ['payment_link', 'order', 'payment'],
  payload: {
    payment_link: {
      entity: {
        id: 'plink_Nq3Vx8Tb2Lm0Ka',
        amount: 150_000,
        amount_paid: 150_000,
        currency: 'INR',
        customer: { name: 'Ravi Menon', email: 'ravi.menon@example.com', contact: '9812300000' },
        notes: { product_id: 'prod_dsa_bootcamp' },
        order_id: 'order_Nq3VyA1cD4eF5g',
        status: 'paid',
        created_at: 1_790_000_000,
      },
    },
    order: {
      entity: {
        id: 'Nq3VyA1cD4eF5g',
        entity: 'order',
        amount: 150_000,
        amount_paid: 150_000,
        amount_due: 0,
        currency: 'INR',
        status: 'paid',
        notes: [],
        created_at: 1_790_000_010,
      },
    },
    payment: {
      entity: {
        id: 'pay_Nq3W0bHj7Kp2Xs',
        entity: 'payment',
        amount: 150_000,
        currency: 'INR',
        status: 'captured',
        order_id: 'order_Nq3VyA1cD4eF5g',
        invoice_id: null,
        method: 'upi',
        captured: true,
        email: 'ravi.menon@example.com',
        contact: '+919812300000',
        notes: { product_id: 'prod_free_sample' },
        created_at: 1_790_000_050,
      },
    },
  },
  created_at: 1_790_000_060,
});

// Razorpay's documented subscription.charged: the subscription and its payment, `captured` as the
// string "1" in early samples.
const subscriptionCharged = () => ({
  entity: 'event',
  account_id: 'acc_Pz8Kd2Lw0Qa1Rb',
  event: 'subscription.charged',
  contains: ['subscription', 'payment'],
  payload: {
    subscription: {
      entity: {
        id: 'sub_Hm4Rt9Ws1Yc7Pd',
        entity: 'subscription',
        plan_id: 'plan_Hm4QxZ2bVn8Le',
        customer_id: 'cust_Hm4QyE5gTk3Mf',
        status: 'active',
        paid_count: 2,
        total_count: 12,
        notes: { course_id: 'course_club_monthly' },
        created_at: 1_789_000_000,
      },
    },
    payment: {
      entity: {
        id: 'pay_Hm4S0aKc6Jd9Qe',
        entity: 'payment',
        amount: 99_900,
        currency: 'INR',
        status: 'captured',
        order_id: 'order_Hm4S0Zp3Nd6Rf',
        invoice_id: 'inv_Hm4S0Yq2Mc5Sg',
        method: 'card',
        captured: '1',
        email: 'kavya@example.com',
        contact: '+919800011122',
        notes: [],
        created_at: 1_791_600_000,
      },
    },
  },
  created_at: 1_791_600_005,
});

describe('interpretRazorpayEvent', () => {
  it('reads payment_link.paid: the payment keys it, the link names the course, pointers normalised', () => {
    const result = interpretRazorpayEvent(paymentLinkPaid(), { 'x-razorpay-event-id': 'Ev0000000000A1' });
    expect(result).toEqual({
      kind: 'paid',
      event: {
        provider: 'razorpay',
        paymentId: 'pay_Nq3W0bHj7Kp2Xs',
        eventId: 'Ev0000000000A1',
        eventType: 'payment_link.paid',
        amountMinor: 150_000,
        currency: 'INR',
        student: { email: 'ravi.menon@example.com', name: 'Ravi Menon', phone: '+919812300000' },
        // From the link's notes, never from the payment's (the buyer's browser wrote those).
        courseId: 'prod_dsa_bootcamp',
        paidAt: new Date(1_790_000_050_000).toISOString(),
        eventCreatedAt: new Date(1_790_000_060_000).toISOString(),
        references: { order: 'order_Nq3VyA1cD4eF5g', payment_link: 'plink_Nq3Vx8Tb2Lm0Ka' },
      },
    });
  });

  it('normalises a bare order id when the payment names none', () => {
    const body = paymentLinkPaid();
    (body.payload.payment.entity as any).order_id = null;
    const result = interpretRazorpayEvent(body, {});
    expect(result.kind === 'paid' && result.event.references?.order).toBe('order_Nq3VyA1cD4eF5g');
  });

  it('reads subscription.charged with captured "1", its subscription and invoice as pointers', () => {
    const result = interpretRazorpayEvent(subscriptionCharged(), {});
    expect(result).toMatchObject({
      kind: 'paid',
      event: {
        paymentId: 'pay_Hm4S0aKc6Jd9Qe',
        eventType: 'subscription.charged',
        amountMinor: 99_900,
        courseId: 'course_club_monthly',
        references: {
          order: 'order_Hm4S0Zp3Nd6Rf',
          subscription: 'sub_Hm4Rt9Ws1Yc7Pd',
          invoice: 'inv_Hm4S0Yq2Mc5Sg',
        },
        eventCreatedAt: new Date(1_791_600_005_000).toISOString(),
      },
    });
  });

  it('prefers a merchant product_id over a course_id, and never takes either from payment notes', () => {
    const body = asBody(razorpayEvent('order.paid', { courseId: null }));
    body.payload.order.entity.notes = { course_id: 'course_a', product_id: 'prod_a' };
    expect(interpretRazorpayEvent(body, {})).toMatchObject({ kind: 'paid', event: { courseId: 'prod_a' } });

    const captured = asBody(razorpayEvent('payment.captured', { courseId: 'course_from_browser' }));
    const result = interpretRazorpayEvent(captured, {});
    expect(result.kind).toBe('paid');
    expect(result.kind === 'paid' && result.event.courseId).toBeUndefined();
  });

  it('falls back to the payment time when the envelope has none', () => {
    const body = asBody(razorpayEvent('payment.captured', { createdAt: 1_790_000_000 }));
    delete body.created_at;
    const result = interpretRazorpayEvent(body, {});
    expect(result.kind === 'paid' && result.event.eventCreatedAt).toBe(
      new Date(1_790_000_000_000).toISOString(),
    );
  });

  it('ignores a paid event whose payment is not captured', () => {
    const body = subscriptionCharged();
    (body.payload.payment.entity as any).status = 'authorized';
    expect(interpretRazorpayEvent(body, {}).kind).toBe('ignored');
  });

  it.each(
    razorpay.eventTypes.filter(
      (t) => !['payment.captured', 'order.paid', 'payment_link.paid', 'subscription.charged'].includes(t),
    ),
  )('acknowledges %s without acting on it, whatever its payload', (eventType) => {
    const body = {
      entity: 'event',
      account_id: 'acc_Pz8Kd2Lw0Qa1Rb',
      event: eventType,
      contains: [],
      payload: {},
      created_at: 1,
    };
    expect(interpretRazorpayEvent(body, {})).toMatchObject({ kind: 'ignored', eventType });
  });

  it('ignores event types it has never heard of rather than refusing them', () => {
    const body = { ...subscriptionCharged(), event: 'settlement.processed' };
    expect(interpretRazorpayEvent(body, {}).kind).toBe('ignored');
  });

  it('lists every payments-webhook family in the registry', () => {
    for (const family of ['payment_link.', 'subscription.', 'refund.', 'payment.dispute.']) {
      expect(razorpay.eventTypes.some((t) => t.startsWith(family))).toBe(true);
    }
  });

  it.each([
    ['no payment entity', (b: any) => delete b.payload.payment],
    ['no payment id', (b: any) => delete b.payload.payment.entity.id],
    ['no amount', (b: any) => delete b.payload.payment.entity.amount],
  ])('calls a paid event with %s invalid: it cannot be tied to a payment', (_case, mutate) => {
    const body = paymentLinkPaid();
    mutate(body);
    expect(interpretRazorpayEvent(body, {}).kind).toBe('invalid');
  });

  it('keeps a paid event whose link part is malformed, without the link', () => {
    const body = paymentLinkPaid();
    (body.payload.payment_link as any).entity = 'garbage';
    const result = interpretRazorpayEvent(body, {});
    expect(result.kind).toBe('paid');
    expect(result.kind === 'paid' && result.event.references).toEqual({ order: 'order_Nq3VyA1cD4eF5g' });
  });
});
