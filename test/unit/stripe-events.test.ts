/**
 * Stripe webhooks as the pinned API version shapes them, written out by hand so the interpretation
 * is checked against the provider's objects rather than against our own fixture builders.
 */
import { interpretStripeEvent } from '../../src/providers/stripe';

const CREATED = 1_780_000_000;

const envelope = (type: string, object: Record<string, unknown>) => ({
  id: 'evt_1SxTestEventAbCdEfGhIjKl',
  object: 'event',
  api_version: '2026-10-28.endive',
  created: CREATED,
  data: { object },
  livemode: false,
  pending_webhooks: 2,
  request: { id: null, idempotency_key: null },
  type,
});

const customerDetails = {
  address: { city: null, country: 'IN', line1: null, line2: null, postal_code: null, state: null },
  business_name: null,
  email: 'meera.iyer@example.com',
  individual_name: null,
  name: 'Meera Iyer',
  phone: '+919812345678',
  tax_exempt: 'none',
  tax_ids: [],
};

const subscriptionSession = {
  id: 'cs_test_b1SubscriptionSessionXyZ0123456789',
  object: 'checkout.session',
  amount_subtotal: 99_900,
  amount_total: 99_900,
  client_reference_id: 'course_from_url',
  created: CREATED - 200,
  currency: 'inr',
  customer: 'cus_SubCustomer001',
  customer_details: customerDetails,
  customer_email: null,
  invoice: 'in_1SubFirstInvoice00000001',
  livemode: false,
  metadata: { product_id: 'ml-mastery' },
  mode: 'subscription',
  payment_intent: null,
  payment_link: null,
  payment_status: 'paid',
  status: 'complete',
  subscription: 'sub_1SubscriptionAbc0000001',
};

const paymentSession = {
  ...subscriptionSession,
  id: 'cs_test_a1PaymentSessionXyZ0123456789',
  mode: 'payment',
  payment_intent: 'pi_3PaymentIntentAbcdEfgh0001',
  invoice: null,
  subscription: null,
  metadata: { course_id: 'course-go-201' },
};

const firstInvoice = {
  id: 'in_1SubFirstInvoice00000001',
  object: 'invoice',
  amount_due: 99_900,
  amount_paid: 99_900,
  amount_remaining: 0,
  billing_reason: 'subscription_create',
  currency: 'inr',
  customer: 'cus_SubCustomer001',
  customer_email: 'meera.iyer@example.com',
  customer_name: 'Meera Iyer',
  customer_phone: null,
  lines: {
    object: 'list',
    data: [
      {
        id: 'il_1LineAbc',
        object: 'line_item',
        amount: 99_900,
        pricing: {
          price_details: { price: 'price_MLmonthly', product: 'prod_MLmastery' },
          type: 'price_details',
          unit_amount_decimal: '99900',
        },
        quantity: 1,
      },
    ],
    has_more: false,
    url: '/v1/invoices/in_1SubFirstInvoice00000001/lines',
  },
  livemode: false,
  metadata: {},
  parent: {
    quote_details: null,
    subscription_details: {
      metadata: { product_id: 'ml-mastery' },
      subscription: 'sub_1SubscriptionAbc0000001',
    },
    type: 'subscription_details',
  },
  status: 'paid',
};

const paidEvent = (result: ReturnType<typeof interpretStripeEvent>) => {
  if (result.kind !== 'paid') throw new Error(`expected paid, got ${JSON.stringify(result)}`);
  return result.event;
};

describe('Stripe checkout sessions', () => {
  it('keys a subscription-mode session, which has no PaymentIntent, by its first invoice', () => {
    const event = paidEvent(
      interpretStripeEvent(envelope('checkout.session.completed', subscriptionSession)),
    );
    expect(event).toMatchObject({
      provider: 'stripe',
      paymentId: 'in_1SubFirstInvoice00000001',
      eventType: 'checkout.session.completed',
      amountMinor: 99_900,
      currency: 'INR',
      livemode: false,
      eventCreatedAt: new Date(CREATED * 1000).toISOString(),
      courseId: 'ml-mastery',
      student: { email: 'meera.iyer@example.com', name: 'Meera Iyer', phone: '+919812345678' },
      references: {
        checkout_session: subscriptionSession.id,
        invoice: 'in_1SubFirstInvoice00000001',
        subscription: 'sub_1SubscriptionAbc0000001',
        customer: 'cus_SubCustomer001',
      },
    });
  });

  it('keys a payment-mode session by its PaymentIntent', () => {
    const event = paidEvent(interpretStripeEvent(envelope('checkout.session.completed', paymentSession)));
    expect(event.paymentId).toBe('pi_3PaymentIntentAbcdEfgh0001');
    expect(event.references).toMatchObject({ payment_intent: 'pi_3PaymentIntentAbcdEfgh0001' });
    expect(event.courseId).toBe('course-go-201');
  });

  it('reads async_payment_succeeded by the same rule', () => {
    const event = paidEvent(
      interpretStripeEvent(envelope('checkout.session.async_payment_succeeded', subscriptionSession)),
    );
    expect(event.paymentId).toBe('in_1SubFirstInvoice00000001');
  });

  it('never takes the course from client_reference_id, which a Payment Link URL sets', () => {
    const event = paidEvent(
      interpretStripeEvent(envelope('checkout.session.completed', { ...paymentSession, metadata: {} })),
    );
    expect(event.courseId).toBeUndefined();
  });

  it('takes the email from customer_email when customer_details has none', () => {
    const session = {
      ...paymentSession,
      customer_details: { ...customerDetails, email: null },
      customer_email: 'prefilled@example.com',
    };
    expect(
      paidEvent(interpretStripeEvent(envelope('checkout.session.completed', session))).student.email,
    ).toBe('prefilled@example.com');
  });

  it('ignores, never refuses, a setup-mode session that charged nothing', () => {
    const setup = {
      ...paymentSession,
      mode: 'setup',
      payment_intent: null,
      amount_total: null,
      currency: null,
    };
    expect(interpretStripeEvent(envelope('checkout.session.completed', setup))).toMatchObject({
      kind: 'ignored',
      eventType: 'checkout.session.completed',
    });
  });

  it('ignores an unpaid session (delayed payment methods)', () => {
    const unpaid = { ...paymentSession, payment_status: 'unpaid' };
    expect(interpretStripeEvent(envelope('checkout.session.completed', unpaid)).kind).toBe('ignored');
  });
});

describe('Stripe invoices and intents', () => {
  it('keys invoice.paid by the invoice, the same key as the subscription checkout', () => {
    const fromInvoice = paidEvent(interpretStripeEvent(envelope('invoice.paid', firstInvoice)));
    const fromSession = paidEvent(
      interpretStripeEvent(envelope('checkout.session.completed', subscriptionSession)),
    );
    expect(fromInvoice.paymentId).toBe('in_1SubFirstInvoice00000001');
    expect(fromInvoice.paymentId).toBe(fromSession.paymentId);
    expect(fromInvoice).toMatchObject({
      amountMinor: 99_900,
      currency: 'INR',
      courseId: 'ml-mastery',
      student: { email: 'meera.iyer@example.com', name: 'Meera Iyer' },
      references: {
        invoice: 'in_1SubFirstInvoice00000001',
        subscription: 'sub_1SubscriptionAbc0000001',
        customer: 'cus_SubCustomer001',
      },
    });
  });

  it('keys a renewal invoice by its own id', () => {
    const renewal = {
      ...firstInvoice,
      id: 'in_1SubRenewalInvoice000002',
      billing_reason: 'subscription_cycle',
    };
    expect(paidEvent(interpretStripeEvent(envelope('invoice.paid', renewal))).paymentId).toBe(
      'in_1SubRenewalInvoice000002',
    );
  });

  it('ignores a zero-amount paid invoice instead of refusing it', () => {
    const free = { ...firstInvoice, amount_paid: 0 };
    expect(interpretStripeEvent(envelope('invoice.paid', free)).kind).toBe('ignored');
  });

  it('keys payment_intent.succeeded by the intent, with its customer as a reference', () => {
    const intent = {
      id: 'pi_3PaymentIntentAbcdEfgh0001',
      object: 'payment_intent',
      amount: 49_900,
      amount_received: 49_900,
      currency: 'inr',
      customer: 'cus_PayCustomer001',
      latest_charge: 'ch_3Charge',
      livemode: false,
      metadata: { product_id: 'ts-101' },
      receipt_email: 'ravi@example.com',
      status: 'succeeded',
    };
    expect(paidEvent(interpretStripeEvent(envelope('payment_intent.succeeded', intent)))).toMatchObject({
      paymentId: 'pi_3PaymentIntentAbcdEfgh0001',
      courseId: 'ts-101',
      student: { email: 'ravi@example.com' },
      references: { payment_intent: 'pi_3PaymentIntentAbcdEfgh0001', customer: 'cus_PayCustomer001' },
    });
  });

  it.each([
    'customer.subscription.deleted',
    'charge.dispute.created',
    'charge.refunded',
    'invoice.payment_failed',
  ])('ignores %s', (type) => {
    expect(interpretStripeEvent(envelope(type, { id: 'x', object: 'whatever' })).kind).toBe('ignored');
  });

  it('refuses a body that is not an event envelope', () => {
    expect(interpretStripeEvent({ id: 'cs_x', object: 'checkout.session' }).kind).toBe('invalid');
  });
});
