import { newPaymentId, resolveFixture, type PaymentFixture } from '../../src/providers';
import {
  RAZORPAY_TEST_ACCOUNT_ID,
  razorpayDisputeEvent,
  razorpayEvent,
  razorpayRefundFailedEvent,
  razorpaySubscriptionEvent,
} from '../../src/providers/razorpay/fixtures';
import {
  stripeDisputeEvent,
  stripeEvent,
  stripeInvoicePaymentFailedEvent,
  stripeRelatedIds,
  stripeSubscriptionDeletedEvent,
  type StripeCharge,
  type StripeCheckoutSession,
  type StripePaymentIntent,
} from '../../src/providers/stripe/fixtures';

const fixture: PaymentFixture = {
  paymentId: 'pay_Kx7Qm2Lp9Zr4Tb',
  orderId: 'order_Kx7QlZ0aB1cD2e',
  amountMinor: 149_900,
  currency: 'INR',
  email: 'meera.iyer@example.com',
  name: 'Meera Iyer',
  phone: '+919812345678',
  courseId: 'course_rust201',
  createdAt: 1_790_000_000,
};

describe('newPaymentId', () => {
  it('makes Razorpay ids of pay_ and 14 alphanumerics, different every time', () => {
    const ids = Array.from({ length: 50 }, () => newPaymentId('razorpay'));
    for (const id of ids) expect(id).toMatch(/^pay_[A-Za-z0-9]{14}$/);
    expect(new Set(ids).size).toBe(50);
  });

  it('makes Stripe PaymentIntent ids of pi_ and 24 alphanumerics', () => {
    const ids = Array.from({ length: 50 }, () => newPaymentId('stripe'));
    for (const id of ids) expect(id).toMatch(/^pi_[A-Za-z0-9]{24}$/);
    expect(new Set(ids).size).toBe(50);
  });
});

describe('resolveFixture', () => {
  it('fills realistic defaults and keeps null as "absent"', () => {
    const f = resolveFixture('razorpay', { courseId: null, createdAt: 1_790_000_000 });
    expect(f).toEqual({
      paymentId: expect.stringMatching(/^pay_[A-Za-z0-9]{14}$/),
      orderId: expect.stringMatching(/^order_[A-Za-z0-9]{14}$/),
      amountMinor: 499_900,
      currency: 'INR',
      email: 'asha.rao@example.com',
      name: 'Asha Rao',
      phone: '+919876543210',
      courseId: null,
      paymentStatus: 'paid',
      createdAt: 1_790_000_000,
    });
  });

  it('derives the order id from the payment id, so events of one payment agree', () => {
    const a = resolveFixture('razorpay', { paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' });
    const b = resolveFixture('razorpay', { paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' });
    expect(a.orderId).toBe(b.orderId);
  });
});

describe('razorpayEvent', () => {
  it('builds payment.captured as Razorpay sends it, with course and student in notes', () => {
    const event = razorpayEvent('payment.captured', fixture);
    expect(event).toMatchObject({
      entity: 'event',
      account_id: RAZORPAY_TEST_ACCOUNT_ID,
      event: 'payment.captured',
      contains: ['payment'],
      created_at: 1_790_000_000,
    });
    expect(event.payload.order).toBeUndefined();
    expect(event.payload.payment.entity).toMatchObject({
      id: 'pay_Kx7Qm2Lp9Zr4Tb',
      entity: 'payment',
      amount: 149_900,
      currency: 'INR',
      status: 'captured',
      order_id: 'order_Kx7QlZ0aB1cD2e',
      method: 'upi',
      captured: true,
      amount_refunded: 0,
      email: 'meera.iyer@example.com',
      contact: '+919812345678',
      notes: { course_id: 'course_rust201', student_name: 'Meera Iyer' },
      fee: 3538,
      tax: 540,
      error_code: null,
      created_at: 1_790_000_000,
    });
    expect(event.payload.payment.entity.acquirer_data.rrn).toMatch(/^\d{12}$/);
  });

  it('sends notes as an empty array when there is neither course nor name (Razorpay quirk)', () => {
    const event = razorpayEvent('payment.captured', { ...fixture, courseId: null, name: null });
    expect(event.payload.payment.entity.notes).toEqual([]);
    expect(Array.isArray(event.payload.payment.entity.notes)).toBe(true);
  });

  it('leaves out only the missing note', () => {
    const event = razorpayEvent('payment.captured', { ...fixture, courseId: null });
    expect(event.payload.payment.entity.notes).toEqual({ student_name: 'Meera Iyer' });
  });

  it('builds order.paid with the payment and its paid order', () => {
    const event = razorpayEvent('order.paid', fixture);
    expect(event.event).toBe('order.paid');
    expect(event.contains).toEqual(['payment', 'order']);
    expect(event.payload.payment.entity.id).toBe('pay_Kx7Qm2Lp9Zr4Tb');
    expect(event.payload.order?.entity).toEqual({
      id: 'order_Kx7QlZ0aB1cD2e',
      entity: 'order',
      amount: 149_900,
      amount_paid: 149_900,
      amount_due: 0,
      currency: 'INR',
      receipt: 'rcpt_Kx7QlZ0a',
      offer_id: null,
      status: 'paid',
      attempts: 1,
      notes: { course_id: 'course_rust201', student_name: 'Meera Iyer' },
      created_at: 1_789_999_970,
    });
  });

  it('builds payment.failed with an error and no capture', () => {
    const p = razorpayEvent('payment.failed', fixture).payload.payment.entity;
    expect(p).toMatchObject({
      status: 'failed',
      captured: false,
      fee: null,
      tax: null,
      error_code: 'BAD_REQUEST_ERROR',
      error_reason: 'payment_cancelled',
    });
  });

  it('builds refund.processed pointing at the payment', () => {
    const event = razorpayEvent('refund.processed', fixture);
    expect(event.contains).toEqual(['refund', 'payment']);
    expect(event.payload.payment.entity).toMatchObject({ status: 'refunded', amount_refunded: 149_900 });
    expect(event.payload.refund?.entity).toMatchObject({
      entity: 'refund',
      payment_id: 'pay_Kx7Qm2Lp9Zr4Tb',
      amount: 149_900,
      status: 'processed',
      created_at: 1_790_003_600,
    });
    expect(event.payload.refund?.entity.id).toMatch(/^rfnd_[A-Za-z0-9]{14}$/);
  });
});

describe('stripeEvent', () => {
  const stripeFixture: PaymentFixture = {
    ...fixture,
    paymentId: 'pi_3QabcDEF456ghiJKL789mnoP',
    orderId: undefined,
  };

  it('wraps objects in a test-mode event envelope', () => {
    const event = stripeEvent('checkout.session.completed', stripeFixture);
    expect(event).toMatchObject({
      object: 'event',
      api_version: '2026-10-28.endive',
      created: 1_790_000_000,
      livemode: false,
      type: 'checkout.session.completed',
    });
    expect(event.id).toMatch(/^evt_[A-Za-z0-9]{24}$/);
    expect(stripeEvent('checkout.session.completed', stripeFixture).id).not.toBe(event.id);
  });

  it('builds a paid checkout session with lower-case currency, course and student', () => {
    const session = stripeEvent('checkout.session.completed', stripeFixture).data
      .object as StripeCheckoutSession;
    expect(session).toMatchObject({
      object: 'checkout.session',
      payment_intent: 'pi_3QabcDEF456ghiJKL789mnoP',
      payment_status: 'paid',
      amount_total: 149_900,
      currency: 'inr',
      customer_details: { email: 'meera.iyer@example.com', name: 'Meera Iyer', phone: '+919812345678' },
      client_reference_id: 'course_rust201',
      metadata: { course_id: 'course_rust201', student_name: 'Meera Iyer' },
      mode: 'payment',
      status: 'complete',
    });
    expect(session.id).toMatch(/^cs_test_a1[A-Za-z0-9]{58}$/);
  });

  it('gives the checkout session and the PaymentIntent the same pi_ id', () => {
    const session = stripeEvent('checkout.session.completed', stripeFixture).data
      .object as StripeCheckoutSession;
    const intent = stripeEvent('payment_intent.succeeded', stripeFixture).data.object as StripePaymentIntent;
    expect(session.payment_intent).toBe('pi_3QabcDEF456ghiJKL789mnoP');
    expect(intent.id).toBe('pi_3QabcDEF456ghiJKL789mnoP');
  });

  it('builds a succeeded PaymentIntent with the student in metadata', () => {
    const intent = stripeEvent('payment_intent.succeeded', stripeFixture).data.object as StripePaymentIntent;
    expect(intent).toMatchObject({
      object: 'payment_intent',
      amount: 149_900,
      amount_received: 149_900,
      currency: 'inr',
      status: 'succeeded',
      receipt_email: 'meera.iyer@example.com',
      metadata: {
        course_id: 'course_rust201',
        student_email: 'meera.iyer@example.com',
        student_name: 'Meera Iyer',
        student_phone: '+919812345678',
      },
      latest_charge: stripeRelatedIds('pi_3QabcDEF456ghiJKL789mnoP').chargeId,
    });
    expect(intent.latest_charge).toMatch(/^ch_[A-Za-z0-9]{24}$/);
  });

  it('marks a delayed-method session unpaid on completion and paid on async success', () => {
    const unpaid = { ...stripeFixture, paymentStatus: 'unpaid' as const };
    const completed = stripeEvent('checkout.session.completed', unpaid).data.object as StripeCheckoutSession;
    const succeeded = stripeEvent('checkout.session.async_payment_succeeded', unpaid).data
      .object as StripeCheckoutSession;
    expect(completed.payment_status).toBe('unpaid');
    expect(succeeded.payment_status).toBe('paid');
    expect(succeeded.id).toBe(completed.id);
  });

  it('omits the course from metadata and nulls client_reference_id without a course', () => {
    const session = stripeEvent('checkout.session.completed', { ...stripeFixture, courseId: null }).data
      .object as StripeCheckoutSession;
    expect(session.client_reference_id).toBeNull();
    expect(session.metadata).toEqual({ student_name: 'Meera Iyer' });
  });

  it('builds charge.refunded with the PaymentIntent and the refunded amount', () => {
    const event = stripeEvent('charge.refunded', stripeFixture);
    const charge = event.data.object as StripeCharge;
    expect(charge).toMatchObject({
      object: 'charge',
      payment_intent: 'pi_3QabcDEF456ghiJKL789mnoP',
      amount_refunded: 149_900,
      refunded: true,
    });
    expect(event.data.previous_attributes).toEqual({ amount_refunded: 0, refunded: false });
  });

  it('builds payment_intent.payment_failed with nothing received', () => {
    const intent = stripeEvent('payment_intent.payment_failed', stripeFixture).data
      .object as StripePaymentIntent;
    expect(intent).toMatchObject({ status: 'requires_payment_method', amount_received: 0 });
    expect(intent.last_payment_error?.code).toBe('card_declined');
  });
});

describe('builders of the events that take money or access back', () => {
  const stripeFixture: PaymentFixture = { ...fixture, paymentId: 'pi_3QabcDEF456ghiJKL789mnoP' };

  it('builds Razorpay dispute events around the payment, the dispute after it', () => {
    const created = razorpayDisputeEvent('payment.dispute.created', fixture);
    expect(created).toMatchObject({
      entity: 'event',
      account_id: RAZORPAY_TEST_ACCOUNT_ID,
      event: 'payment.dispute.created',
      contains: ['payment', 'dispute'],
      created_at: 1_790_003_600,
    });
    expect(created.payload.payment?.entity).toMatchObject({ id: 'pay_Kx7Qm2Lp9Zr4Tb', disputed: true });
    const dispute = created.payload.dispute!.entity;
    expect(dispute).toMatchObject({
      entity: 'dispute',
      payment_id: 'pay_Kx7Qm2Lp9Zr4Tb',
      amount: 149_900,
      amount_deducted: 0,
      status: 'open',
      phase: 'chargeback',
    });
    expect(dispute.id).toMatch(/^disp_[A-Za-z0-9]{14}$/);
    const lost = razorpayDisputeEvent('payment.dispute.lost', fixture, { amountMinor: 50_000 });
    expect(lost.payload.dispute?.entity).toMatchObject({
      id: dispute.id,
      status: 'lost',
      amount: 50_000,
      amount_deducted: 50_000,
    });
    expect(lost.created_at).toBe(1_790_003_600 + 86_400);
    expect(razorpayDisputeEvent('payment.dispute.won', fixture).payload.dispute?.entity.status).toBe('won');
    expect(razorpayDisputeEvent('payment.dispute.closed', fixture, { at: 5 })).toMatchObject({
      event: 'payment.dispute.closed',
      created_at: 5,
      payload: { dispute: { entity: { status: 'closed', amount_deducted: 0 } } },
    });
  });

  it('builds Razorpay subscription ends with the period paid for', () => {
    const cancelled = razorpaySubscriptionEvent('subscription.cancelled', fixture);
    expect(cancelled).toMatchObject({ contains: ['subscription'], created_at: 1_790_003_600 });
    expect(cancelled.payload.payment).toBeUndefined();
    expect(cancelled.payload.subscription?.entity).toMatchObject({
      entity: 'subscription',
      status: 'cancelled',
      current_start: 1_790_000_000,
      current_end: 1_790_000_000 + 30 * 86_400,
      ended_at: 1_790_003_600,
      notes: { course_id: 'course_rust201', student_name: 'Meera Iyer' },
    });
    const halted = razorpaySubscriptionEvent('subscription.halted', fixture, { charges: 3 });
    expect(halted.payload.subscription?.entity).toMatchObject({
      status: 'halted',
      ended_at: null,
      paid_count: 3,
    });
    const completed = razorpaySubscriptionEvent('subscription.completed', fixture, { charges: 6 }).payload
      .subscription!.entity;
    expect(completed).toMatchObject({
      status: 'completed',
      paid_count: 6,
      total_count: 6,
      remaining_count: 0,
    });
    expect(completed.ended_at).toBe(completed.current_end);
    // One subscription, whichever way it ends.
    expect(halted.payload.subscription?.entity.id).toBe(cancelled.payload.subscription?.entity.id);
  });

  it('builds Razorpay refund.failed with the payment as it was before the refund', () => {
    const failed = razorpayRefundFailedEvent(fixture);
    expect(failed).toMatchObject({ event: 'refund.failed', contains: ['refund', 'payment'] });
    expect(failed.payload.refund?.entity).toMatchObject({
      payment_id: 'pay_Kx7Qm2Lp9Zr4Tb',
      status: 'failed',
    });
    expect(failed.payload.payment?.entity).toMatchObject({
      status: 'captured',
      amount_refunded: 0,
      refund_status: null,
    });
  });

  it('builds Stripe dispute events whose object is the dispute of the payment’s charge', () => {
    const created = stripeDisputeEvent('charge.dispute.created', stripeFixture);
    expect(created).toMatchObject({
      object: 'event',
      type: 'charge.dispute.created',
      livemode: false,
      created: 1_790_003_600,
    });
    expect(created.data.object).toMatchObject({
      object: 'dispute',
      charge: stripeRelatedIds('pi_3QabcDEF456ghiJKL789mnoP').chargeId,
      payment_intent: 'pi_3QabcDEF456ghiJKL789mnoP',
      amount: 149_900,
      currency: 'inr',
      reason: 'fraudulent',
      status: 'needs_response',
      is_charge_refundable: false,
    });
    expect(created.data.object.id).toMatch(/^dp_[A-Za-z0-9]{24}$/);
    const closed = stripeDisputeEvent('charge.dispute.closed', stripeFixture, { status: 'won' });
    expect(closed.data.object).toMatchObject({ id: created.data.object.id, status: 'won' });
    expect(stripeDisputeEvent('charge.dispute.closed', stripeFixture).data.object.status).toBe('lost');
  });

  it('builds Stripe customer.subscription.deleted and invoice.payment_failed for one subscription', () => {
    const deleted = stripeSubscriptionDeletedEvent(stripeFixture);
    const sub = deleted.data.object;
    expect(deleted.type).toBe('customer.subscription.deleted');
    expect(sub).toMatchObject({
      object: 'subscription',
      status: 'canceled',
      canceled_at: 1_790_003_600,
      ended_at: 1_790_003_600,
    });
    expect(sub.items.data[0]).toMatchObject({
      current_period_start: 1_790_000_000,
      current_period_end: 1_790_000_000 + 30 * 86_400,
    });
    const failed = stripeInvoicePaymentFailedEvent(stripeFixture);
    expect(failed.type).toBe('invoice.payment_failed');
    expect(failed.data.object).toMatchObject({
      object: 'invoice',
      status: 'open',
      billing_reason: 'subscription_cycle',
      amount_paid: 0,
      amount_remaining: 149_900,
      customer: sub.customer,
      parent: { subscription_details: { subscription: sub.id } },
    });
  });
});
