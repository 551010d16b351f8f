import { interpretRazorpayEvent } from '../../src/providers/razorpay';
import { interpretStripeEvent } from '../../src/providers/stripe';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';
import { stripeEvent } from '../../src/providers/stripe/fixtures';

const asBody = (event: object) => JSON.parse(JSON.stringify(event)) as Record<string, unknown>;

describe('Razorpay payloads', () => {
  it('turns payment.captured into a provider-neutral PaymentEvent', () => {
    const body = asBody(
      razorpayEvent('payment.captured', {
        paymentId: 'pay_29QQoUBi66xm2f',
        amountMinor: 49900,
        email: 'asha.verma@example.com',
        name: 'Asha Verma',
        phone: '+919876543210',
        courseId: 'course-ml-101',
        createdAt: 1_790_000_000,
      }),
    );
    expect(interpretRazorpayEvent(body, { 'x-razorpay-event-id': 'EvT123' })).toEqual({
      kind: 'paid',
      event: {
        provider: 'razorpay',
        paymentId: 'pay_29QQoUBi66xm2f',
        eventId: 'EvT123',
        eventType: 'payment.captured',
        amountMinor: 49900,
        currency: 'INR',
        student: { email: 'asha.verma@example.com', name: 'Asha Verma', phone: '+919876543210' },
        // No courseId: payment notes come from the buyer's browser, so they never label the course.
        paidAt: new Date(1_790_000_000_000).toISOString(),
        eventCreatedAt: new Date(1_790_000_000_000).toISOString(),
        references: { order: (body.payload as any).payment.entity.order_id },
      },
    });
  });

  it('maps order.paid for the same payment to the same payment id, taking notes from the order', () => {
    const event = razorpayEvent('order.paid', { paymentId: 'pay_29QQoUBi66xm2f', courseId: 'course-ml-101' });
    const body = asBody(event);
    // Merchant put the business data on the order only.
    (body.payload as any).payment.entity.notes = [];
    const result = interpretRazorpayEvent(body, {});
    expect(result).toMatchObject({
      kind: 'paid',
      event: { paymentId: 'pay_29QQoUBi66xm2f', courseId: 'course-ml-101' },
    });
  });

  it('accepts notes: [] and yields a paid event without a course (the workflow sends it to review)', () => {
    const body = asBody(razorpayEvent('payment.captured', { courseId: null, name: null }));
    expect((body.payload as any).payment.entity.notes).toEqual([]);
    const result = interpretRazorpayEvent(body, {});
    expect(result.kind).toBe('paid');
    expect(result.kind === 'paid' && result.event.courseId).toBeUndefined();
  });

  it('ignores a failed payment', () => {
    expect(interpretRazorpayEvent(asBody(razorpayEvent('payment.failed')), {})).toMatchObject({
      kind: 'ignored',
    });
  });

  it('turns refund.processed into an access event keyed by the refund, naming the payment', () => {
    const body = asBody(razorpayEvent('refund.processed', { paymentId: 'pay_29QQoUBi66xm2f' }));
    expect(interpretRazorpayEvent(body, { 'x-razorpay-event-id': 'EvT124' })).toEqual({
      kind: 'access',
      event: {
        provider: 'razorpay',
        kind: 'refund',
        causeId: (body.payload as any).refund.entity.id,
        paymentId: 'pay_29QQoUBi66xm2f',
        status: 'processed',
        eventId: 'EvT124',
        eventType: 'refund.processed',
        eventCreatedAt: new Date((body.created_at as number) * 1000).toISOString(),
      },
    });
  });

  it.each([
    ['no payment entity', (b: any) => delete b.payload.payment],
    ['no payment id', (b: any) => delete b.payload.payment.entity.id],
    ['zero amount', (b: any) => (b.payload.payment.entity.amount = 0)],
    ['negative amount', (b: any) => (b.payload.payment.entity.amount = -100)],
    ['fractional amount', (b: any) => (b.payload.payment.entity.amount = 10.5)],
    ['payment id with symbols', (b: any) => (b.payload.payment.entity.id = 'pay_../../x')],
    ['not an event envelope', (b: any) => (b.entity = 'payment')],
  ])('rejects %s as invalid', (_case, mutate) => {
    const body = asBody(razorpayEvent('payment.captured'));
    mutate(body);
    expect(interpretRazorpayEvent(body, {}).kind).toBe('invalid');
  });

  it('does not believe an order in another currency, but still acts on the payment', () => {
    const body = asBody(razorpayEvent('order.paid', { courseId: 'course-ml-101' }));
    (body.payload as any).order.entity.currency = 'USD';
    const result = interpretRazorpayEvent(body, {});
    expect(result.kind).toBe('paid');
    // The course label came only from the order, which is not this payment's.
    expect(result.kind === 'paid' && result.event.courseId).toBeUndefined();
  });
});

describe('Stripe payloads', () => {
  it('maps a paid checkout session to its PaymentIntent id with the customer details', () => {
    const event = stripeEvent('checkout.session.completed', {
      paymentId: 'pi_3QabcdEFGHijklMNOPqrstuv',
      amountMinor: 1999,
      currency: 'usd',
      email: 'sam@example.com',
      name: 'Sam Lee',
      phone: '+14155550100',
      courseId: 'course-go-201',
    });
    const result = interpretStripeEvent(asBody(event));
    expect(result).toEqual({
      kind: 'paid',
      event: expect.objectContaining({
        provider: 'stripe',
        paymentId: 'pi_3QabcdEFGHijklMNOPqrstuv',
        eventId: event.id,
        eventType: 'checkout.session.completed',
        amountMinor: 1999,
        currency: 'USD',
        student: { email: 'sam@example.com', name: 'Sam Lee', phone: '+14155550100' },
        courseId: 'course-go-201',
      }),
    });
  });

  it('maps payment_intent.succeeded of the same payment to the same payment id', () => {
    const fixture = { paymentId: 'pi_3QabcdEFGHijklMNOPqrstuv', courseId: 'course-go-201' };
    const session = interpretStripeEvent(asBody(stripeEvent('checkout.session.completed', fixture)));
    const intent = interpretStripeEvent(asBody(stripeEvent('payment_intent.succeeded', fixture)));
    expect(session.kind === 'paid' && session.event.paymentId).toBe('pi_3QabcdEFGHijklMNOPqrstuv');
    expect(intent.kind === 'paid' && intent.event.paymentId).toBe('pi_3QabcdEFGHijklMNOPqrstuv');
  });

  it('ignores a completed session that is not paid yet, and accepts its async_payment_succeeded', () => {
    expect(
      interpretStripeEvent(asBody(stripeEvent('checkout.session.completed', { paymentStatus: 'unpaid' }))),
    ).toMatchObject({
      kind: 'ignored',
      reason: 'payment_status is unpaid',
    });
    expect(interpretStripeEvent(asBody(stripeEvent('checkout.session.async_payment_succeeded'))).kind).toBe(
      'paid',
    );
  });

  it('ignores failures', () => {
    expect(interpretStripeEvent(asBody(stripeEvent('payment_intent.payment_failed'))).kind).toBe('ignored');
  });

  it('turns charge.refunded into an access event keyed by the charge and the amount refunded so far', () => {
    const event = stripeEvent('charge.refunded', {
      paymentId: 'pi_3QabcdEFGHijklMNOPqrstuv',
      amountMinor: 1999,
    });
    expect(interpretStripeEvent(asBody(event))).toEqual({
      kind: 'access',
      event: {
        provider: 'stripe',
        kind: 'refund',
        causeId: (event.data.object as { id: string }).id,
        refundedMinor: 1999,
        paymentId: 'pi_3QabcdEFGHijklMNOPqrstuv',
        status: 'full',
        eventId: event.id,
        eventType: 'charge.refunded',
        eventCreatedAt: new Date(event.created * 1000).toISOString(),
        livemode: false,
      },
    });
  });

  it('ignores, never refuses, a paid session with neither a payment intent nor an invoice', () => {
    const body = asBody(stripeEvent('checkout.session.completed'));
    (body.data as any).object.payment_intent = null;
    (body.data as any).object.mode = 'setup';
    expect(interpretStripeEvent(body)).toMatchObject({
      kind: 'ignored',
      reason: expect.stringContaining('setup'),
    });
  });
});
