import { openDispute } from '../../src/providers/razorpay/entities';
import { accessWorkflowId } from '../../src/domain/access-event';
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

const PAID = ['payment.captured', 'order.paid', 'payment_link.paid', 'subscription.charged'];
const DISPUTE_EVENTS = [
  'payment.dispute.created',
  'payment.dispute.won',
  'payment.dispute.lost',
  'payment.dispute.closed',
  'payment.dispute.under_review',
  'payment.dispute.action_required',
];
const SUBSCRIPTION_END_EVENTS = ['subscription.halted', 'subscription.cancelled', 'subscription.completed'];
/** What starts an access workflow; `refund.created` and `refund.failed` do not. */
const ACCESS_EVENTS = ['refund.processed', ...DISPUTE_EVENTS, ...SUBSCRIPTION_END_EVENTS];

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

  it.each(razorpay.eventTypes.filter((t) => !PAID.includes(t) && !ACCESS_EVENTS.includes(t)))(
    'acknowledges %s without acting on it, whatever its payload',
    (eventType) => {
      const body = {
        entity: 'event',
        account_id: 'acc_Pz8Kd2Lw0Qa1Rb',
        event: eventType,
        contains: [],
        payload: {},
        created_at: 1,
      };
      expect(interpretRazorpayEvent(body, {})).toMatchObject({ kind: 'ignored', eventType });
    },
  );

  it('ignores event types it has never heard of rather than refusing them', () => {
    const body = { ...subscriptionCharged(), event: 'settlement.processed' };
    expect(interpretRazorpayEvent(body, {}).kind).toBe('ignored');
  });

  it('lists every payments-webhook family in the registry, and every event that starts work', () => {
    for (const family of ['payment_link.', 'subscription.', 'refund.', 'payment.dispute.']) {
      expect(razorpay.eventTypes.some((t) => t.startsWith(family))).toBe(true);
    }
    // Metrics label only the registry's event types.
    expect(razorpay.eventTypes).toEqual(expect.arrayContaining([...PAID, ...ACCESS_EVENTS]));
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

// ------------------------------------------------------------------------------------------------
// Money going back: refunds, disputes, subscriptions that end. Bodies as Razorpay documents them.

const ACCOUNT = 'acc_Pz8Kd2Lw0Qa1Rb';
const EVENT_ID = { 'x-razorpay-event-id': 'Ev0000000000R1' };

/** The payment as a refund or dispute event carries it: the state it is in after the event. */
const refundedPayment = (refunded: number, refundStatus: 'partial' | 'full') => ({
  id: 'pay_Rf5Kq2Lx9Wb3Nc',
  entity: 'payment',
  amount: 150_000,
  currency: 'INR',
  status: refundStatus === 'full' ? 'refunded' : 'captured',
  order_id: 'order_Rf5Kp0Aa1Bb2Cc',
  invoice_id: null,
  international: false,
  method: 'upi',
  amount_refunded: refunded,
  refund_status: refundStatus,
  captured: true,
  description: 'Course enrollment',
  email: 'ravi.menon@example.com',
  contact: '+919812300000',
  notes: { course_id: 'course-ml-101' },
  fee: 3_540,
  tax: 540,
  created_at: 1_790_000_000,
});

/** refund.created, refund.processed or refund.failed, in the shape of Razorpay's sample payloads. */
const refundEvent = (
  event: string,
  status = 'processed',
  refundId = 'rfnd_Rf6Tz1Mw4Yd8Pe',
  amount = 50_000,
) => ({
  entity: 'event',
  account_id: ACCOUNT,
  event,
  contains: ['refund', 'payment'],
  payload: {
    refund: {
      entity: {
        id: refundId,
        entity: 'refund',
        amount,
        currency: 'INR',
        payment_id: 'pay_Rf5Kq2Lx9Wb3Nc',
        notes: { comment: 'Requested within 7 days' },
        receipt: null,
        acquirer_data: { rrn: '312345678901' },
        created_at: 1_790_086_000,
        batch_id: null,
        status,
        speed_processed: 'normal',
        speed_requested: 'normal',
      },
    },
    payment: { entity: refundedPayment(amount, 'partial') },
  },
  created_at: 1_790_086_400,
});

/** A payment.dispute.* event: the payment and the dispute, in the shape of Razorpay's samples. */
const disputeEvent = (event: string, status: string | undefined) => ({
  entity: 'event',
  account_id: ACCOUNT,
  event,
  contains: ['payment', 'dispute'],
  payload: {
    payment: { entity: { ...refundedPayment(0, 'partial'), refund_status: null } },
    dispute: {
      entity: (() => {
        const { status: _open, ...dispute } = openDispute({
          id: 'disp_Dp7Lx3Nv5Qa0Ws',
          paymentId: 'pay_Rf5Kq2Lx9Wb3Nc',
          amount: 150_000,
          currency: 'INR',
          createdAt: 1_790_090_000,
        });
        return {
          ...dispute,
          amount_deducted: status === 'lost' ? 150_000 : 0,
          ...(status !== undefined && { status }),
        };
      })(),
    },
  },
  created_at: 1_790_090_100,
});

/** subscription.halted, .cancelled or .completed: the subscription alone. */
const subscriptionEnded = (event: string, status: string) => ({
  entity: 'event',
  account_id: ACCOUNT,
  event,
  contains: ['subscription'],
  payload: {
    subscription: {
      entity: {
        id: 'sub_Hm4Rt9Ws1Yc7Pd',
        entity: 'subscription',
        plan_id: 'plan_Hm4QxZ2bVn8Le',
        customer_id: 'cust_Hm4QyE5gTk3Mf',
        status,
        current_start: 1_791_600_000,
        current_end: 1_794_192_000,
        ended_at: status === 'halted' ? null : 1_792_000_000,
        quantity: 1,
        notes: { course_id: 'course_club_monthly' },
        charge_at: status === 'halted' ? 1_794_192_000 : null,
        start_at: 1_789_000_000,
        end_at: 1_820_000_000,
        auth_attempts: status === 'halted' ? 4 : 0,
        total_count: 12,
        paid_count: 3,
        customer_notify: true,
        created_at: 1_789_000_000,
        expire_by: null,
        short_url: null,
        has_scheduled_changes: false,
        change_scheduled_at: null,
        source: 'api',
        payment_method: 'card',
        offer_id: null,
        remaining_count: 9,
      },
    },
  },
  created_at: 1_792_000_005,
});

const accessEvent = (result: ReturnType<typeof interpretRazorpayEvent>) => {
  if (result.kind !== 'access') throw new Error(`expected access, got ${JSON.stringify(result)}`);
  return result.event;
};

describe('Razorpay refunds', () => {
  it('reads refund.processed as an access event keyed by the refund, naming its payment', () => {
    expect(interpretRazorpayEvent(refundEvent('refund.processed'), EVENT_ID)).toEqual({
      kind: 'access',
      event: {
        provider: 'razorpay',
        kind: 'refund',
        causeId: 'rfnd_Rf6Tz1Mw4Yd8Pe',
        paymentId: 'pay_Rf5Kq2Lx9Wb3Nc',
        status: 'processed',
        eventId: 'Ev0000000000R1',
        eventType: 'refund.processed',
        eventCreatedAt: new Date(1_790_086_400_000).toISOString(),
      },
    });
  });

  it('keys each refund of a payment by its own id, and a redelivery by the same one', () => {
    const first = accessEvent(interpretRazorpayEvent(refundEvent('refund.processed'), {}));
    const again = accessEvent(interpretRazorpayEvent(refundEvent('refund.processed'), EVENT_ID));
    const second = accessEvent(
      interpretRazorpayEvent(
        refundEvent('refund.processed', 'processed', 'rfnd_Rf7Ua2Nx5Ze9Qf', 100_000),
        {},
      ),
    );
    expect(accessWorkflowId(first)).toBe('refund-razorpay-rfnd_Rf6Tz1Mw4Yd8Pe');
    expect(accessWorkflowId(again)).toBe(accessWorkflowId(first));
    expect(accessWorkflowId(second)).toBe('refund-razorpay-rfnd_Rf7Ua2Nx5Ze9Qf');
    expect(second.paymentId).toBe(first.paymentId);
  });

  it.each([
    ['refund.created', 'pending', 'refund not processed yet'],
    ['refund.failed', 'failed', 'refund failed: access unchanged'],
  ])('acknowledges %s without a workflow, saying why', (event, status, reason) => {
    expect(interpretRazorpayEvent(refundEvent(event, status), {})).toEqual({
      kind: 'ignored',
      eventType: event,
      reason,
    });
  });

  it('takes the payment from the payment entity when the refund does not name it', () => {
    const body = refundEvent('refund.processed');
    delete (body.payload.refund.entity as Partial<typeof body.payload.refund.entity>).payment_id;
    expect(accessEvent(interpretRazorpayEvent(body, {})).paymentId).toBe('pay_Rf5Kq2Lx9Wb3Nc');
  });

  it('falls back to the refund time when the envelope has none', () => {
    const body: Record<string, unknown> = refundEvent('refund.processed');
    delete body.created_at;
    expect(accessEvent(interpretRazorpayEvent(body, {})).eventCreatedAt).toBe(
      new Date(1_790_086_000_000).toISOString(),
    );
  });
});

describe('Razorpay disputes', () => {
  it.each([
    ['payment.dispute.created', 'open'],
    ['payment.dispute.action_required', 'open'],
    ['payment.dispute.under_review', 'under_review'],
    ['payment.dispute.won', 'won'],
    ['payment.dispute.lost', 'lost'],
    ['payment.dispute.closed', 'closed'],
  ])('reads %s as a phase of the dispute, status %s', (event, status) => {
    expect(interpretRazorpayEvent(disputeEvent(event, status), EVENT_ID)).toEqual({
      kind: 'access',
      event: {
        provider: 'razorpay',
        kind: 'dispute',
        causeId: 'disp_Dp7Lx3Nv5Qa0Ws',
        paymentId: 'pay_Rf5Kq2Lx9Wb3Nc',
        status,
        eventId: 'Ev0000000000R1',
        eventType: event,
        eventCreatedAt: new Date(1_790_090_100_000).toISOString(),
      },
    });
  });

  it('keys every phase of one dispute by the dispute: later ones are signalled to its workflow', () => {
    const ids = DISPUTE_EVENTS.map((event) =>
      accessWorkflowId(accessEvent(interpretRazorpayEvent(disputeEvent(event, 'open'), {}))),
    );
    expect(new Set(ids)).toEqual(new Set(['dispute-razorpay-disp_Dp7Lx3Nv5Qa0Ws']));
  });

  it.each([
    ['payment.dispute.created', 'open'],
    ['payment.dispute.won', 'won'],
    ['payment.dispute.lost', 'lost'],
  ])('derives the status of %s from the event when the dispute entity has none', (event, status) => {
    expect(accessEvent(interpretRazorpayEvent(disputeEvent(event, undefined), {})).status).toBe(status);
  });
});

describe('Razorpay subscriptions that end', () => {
  it.each([
    ['subscription.halted', 'halted'],
    ['subscription.cancelled', 'cancelled'],
    ['subscription.completed', 'completed'],
  ])('reads %s as an access event keyed by the subscription', (event, status) => {
    expect(interpretRazorpayEvent(subscriptionEnded(event, status), EVENT_ID)).toEqual({
      kind: 'access',
      event: {
        provider: 'razorpay',
        kind: 'subscription',
        causeId: 'sub_Hm4Rt9Ws1Yc7Pd',
        status,
        eventId: 'Ev0000000000R1',
        eventType: event,
        eventCreatedAt: new Date(1_792_000_005_000).toISOString(),
      },
    });
    expect(accessWorkflowId(accessEvent(interpretRazorpayEvent(subscriptionEnded(event, status), {})))).toBe(
      'subscription-razorpay-sub_Hm4Rt9Ws1Yc7Pd',
    );
  });

  it('leaves the other subscription events alone', () => {
    for (const event of ['subscription.paused', 'subscription.activated', 'subscription.pending']) {
      expect(interpretRazorpayEvent(subscriptionEnded(event, 'active'), {}).kind).toBe('ignored');
    }
  });
});

describe('Razorpay access events that cannot be keyed', () => {
  const mutated = (body: any, mutate: (b: any) => void) => {
    const copy = asBody(body);
    mutate(copy);
    return copy;
  };

  it.each<[string, object, (b: any) => void]>([
    ['no refund entity', refundEvent('refund.processed'), (b: any) => delete b.payload.refund],
    [
      'a refund without an id',
      refundEvent('refund.processed'),
      (b: any) => delete b.payload.refund.entity.id,
    ],
    [
      'a refund id with symbols',
      refundEvent('refund.processed'),
      (b: any) => (b.payload.refund.entity.id = 'rfnd_../x'),
    ],
    [
      'a dispute entity that is a string',
      disputeEvent('payment.dispute.lost', 'lost'),
      (b: any) => (b.payload.dispute.entity = 'disp_x'),
    ],
    [
      'no subscription',
      subscriptionEnded('subscription.cancelled', 'cancelled'),
      (b: any) => (b.payload = {}),
    ],
    [
      'no time at all',
      refundEvent('refund.processed'),
      (b: any) => {
        delete b.created_at;
        delete b.payload.refund.entity.created_at;
      },
    ],
  ])('acknowledges one with %s as ignored, with a reason, never invalid', (_case, body, mutate) => {
    const result = interpretRazorpayEvent(mutated(body, mutate), {});
    expect(result).toMatchObject({ kind: 'ignored', reason: expect.any(String) });
  });

  it('drops what only labels the event (a malformed payment id, an oversized status), keeping the event', () => {
    const body = mutated(disputeEvent('payment.dispute.lost', 'lost'), (b) => {
      b.payload.dispute.entity.payment_id = 'pay_../../x';
      b.payload.payment.entity.id = 42;
      b.payload.dispute.entity.status = 'x'.repeat(65);
    });
    const event = accessEvent(interpretRazorpayEvent(body, {}));
    expect(event.paymentId).toBeUndefined();
    // The event's own name still says what happened.
    expect(event.status).toBe('lost');
    expect(event.causeId).toBe('disp_Dp7Lx3Nv5Qa0Ws');
  });
});
