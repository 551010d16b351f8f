/**
 * Stripe webhooks as the pinned API version shapes them, written out by hand so the interpretation
 * is checked against the provider's objects rather than against our own fixture builders.
 */
import { accessWorkflowId } from '../../src/domain/access-event';
import { interpretStripeEvent, STRIPE_WORKFLOW_EVENT_TYPES, stripe } from '../../src/providers/stripe';

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

  it.each(['payment_intent.payment_failed', 'refund.created', 'refund.updated', 'charge.succeeded'])(
    'ignores %s',
    (type) => {
      expect(interpretStripeEvent(envelope(type, { id: 'x', object: 'whatever' }))).toMatchObject({
        kind: 'ignored',
        reason: 'not a paid event',
      });
    },
  );

  it('refuses a body that is not an event envelope', () => {
    expect(interpretStripeEvent({ id: 'cs_x', object: 'checkout.session' }).kind).toBe('invalid');
  });
});

// ------------------------------------------------------------------------------------------------
// Money going back: refunds, disputes, subscriptions that end.

const INTENT = 'pi_3PaymentIntentAbcdEfgh0001';
const CHARGE = 'ch_3PaymentIntentAbcdEfgh0001';

/** A charge as `charge.refunded` carries it, after `refunded` of its 49 900 went back. */
const refundedCharge = (refunded: number, paymentIntent: string | null = INTENT) => ({
  id: CHARGE,
  object: 'charge',
  amount: 49_900,
  amount_captured: 49_900,
  amount_refunded: refunded,
  balance_transaction: 'txn_3Balance0001',
  billing_details: {
    address: null,
    email: 'ravi@example.com',
    name: 'Ravi Menon',
    phone: null,
    tax_id: null,
  },
  captured: true,
  created: CREATED - 86_400,
  currency: 'inr',
  customer: 'cus_PayCustomer001',
  disputed: false,
  livemode: false,
  metadata: { product_id: 'ts-101' },
  paid: true,
  payment_intent: paymentIntent,
  payment_method: 'pm_1Card0001',
  receipt_email: 'ravi@example.com',
  refunded: refunded === 49_900,
  status: 'succeeded',
});

const refundedEvent = (
  refunded: number,
  id = 'evt_1SxTestEventAbCdEfGhIjKl',
  paymentIntent?: string | null,
) => {
  const event = envelope('charge.refunded', refundedCharge(refunded, paymentIntent));
  return {
    ...event,
    id,
    data: { ...event.data, previous_attributes: { amount_refunded: 0, refunded: false } },
  };
};

const dispute = (status: string) => ({
  id: 'dp_1DisputeAbc0000001',
  object: 'dispute',
  amount: 49_900,
  balance_transactions: [],
  charge: CHARGE,
  created: CREATED - 3_600,
  currency: 'inr',
  enhanced_eligibility_types: [],
  evidence: { customer_email_address: null, uncategorized_text: null },
  evidence_details: { due_by: CREATED + 600_000, has_evidence: false, past_due: false, submission_count: 0 },
  is_charge_refundable: false,
  livemode: false,
  metadata: {},
  payment_intent: INTENT,
  payment_method_details: { card: { brand: 'visa', network_reason_code: '10.4' }, type: 'card' },
  reason: 'fraudulent',
  status,
});

const deletedSubscription = {
  id: 'sub_1SubscriptionAbc0000001',
  object: 'subscription',
  cancel_at: null,
  cancel_at_period_end: false,
  canceled_at: CREATED - 10,
  cancellation_details: { comment: null, feedback: null, reason: 'payment_failed' },
  collection_method: 'charge_automatically',
  created: CREATED - 5_000_000,
  currency: 'inr',
  customer: 'cus_SubCustomer001',
  ended_at: CREATED - 10,
  items: { object: 'list', data: [], has_more: false, url: '/v1/subscription_items' },
  latest_invoice: 'in_1SubRenewalInvoice000002',
  livemode: false,
  metadata: { product_id: 'ml-mastery' },
  status: 'canceled',
};

const accessEvent = (result: ReturnType<typeof interpretStripeEvent>) => {
  if (result.kind !== 'access') throw new Error(`expected access, got ${JSON.stringify(result)}`);
  return result.event;
};

describe('Stripe refunds', () => {
  it('reads a partial charge.refunded as an access event keyed by the charge and the amount refunded so far', () => {
    expect(interpretStripeEvent(refundedEvent(10_000))).toEqual({
      kind: 'access',
      event: {
        provider: 'stripe',
        kind: 'refund',
        causeId: CHARGE,
        refundedMinor: 10_000,
        paymentId: INTENT,
        status: 'partial',
        eventId: 'evt_1SxTestEventAbCdEfGhIjKl',
        eventType: 'charge.refunded',
        eventCreatedAt: new Date(CREATED * 1000).toISOString(),
        livemode: false,
      },
    });
  });

  it('gives a partial then a full refund of one charge two workflows, and a redelivery the same one', () => {
    const partial = accessEvent(interpretStripeEvent(refundedEvent(10_000, 'evt_1Partial')));
    const full = accessEvent(interpretStripeEvent(refundedEvent(49_900, 'evt_1Full')));
    const redelivered = accessEvent(interpretStripeEvent(refundedEvent(10_000, 'evt_1Partial')));
    expect(full.status).toBe('full');
    expect(accessWorkflowId(partial)).toBe(`refund-stripe-${CHARGE}-10000`);
    expect(accessWorkflowId(full)).toBe(`refund-stripe-${CHARGE}-49900`);
    expect(accessWorkflowId(redelivered)).toBe(accessWorkflowId(partial));
  });

  it('keeps a refund of an old charge made without a PaymentIntent, naming no payment', () => {
    const event = accessEvent(interpretStripeEvent(refundedEvent(49_900, 'evt_1Old', null)));
    expect(event.paymentId).toBeUndefined();
    expect(event.causeId).toBe(CHARGE);
  });

  it('takes an expanded PaymentIntent by its id', () => {
    const body = refundedEvent(10_000);
    body.data.object.payment_intent = { id: INTENT, object: 'payment_intent' };
    expect(accessEvent(interpretStripeEvent(body)).paymentId).toBe(INTENT);
  });

  it.each([
    ['no amount_refunded', (c: Record<string, unknown>) => delete c.amount_refunded],
    ['a fractional amount_refunded', (c: Record<string, unknown>) => (c.amount_refunded = 10.5)],
    ['no id', (c: Record<string, unknown>) => delete c.id],
    ['an id with symbols', (c: Record<string, unknown>) => (c.id = 'ch_../x')],
  ])('acknowledges a charge.refunded with %s as ignored, with a reason, never invalid', (_case, mutate) => {
    const body = refundedEvent(10_000);
    mutate(body.data.object);
    expect(interpretStripeEvent(body)).toMatchObject({
      kind: 'ignored',
      eventType: 'charge.refunded',
      reason: expect.any(String),
    });
  });
});

describe('Stripe disputes', () => {
  it.each([
    ['charge.dispute.created', 'needs_response'],
    ['charge.dispute.funds_withdrawn', 'needs_response'],
    ['charge.dispute.updated', 'under_review'],
    ['charge.dispute.closed', 'won'],
    ['charge.dispute.closed', 'lost'],
    ['charge.dispute.closed', 'warning_closed'],
    ['charge.dispute.funds_reinstated', 'won'],
  ])('reads %s (%s) as a phase of the dispute', (type, status) => {
    expect(interpretStripeEvent(envelope(type, dispute(status)))).toEqual({
      kind: 'access',
      event: {
        provider: 'stripe',
        kind: 'dispute',
        causeId: 'dp_1DisputeAbc0000001',
        paymentId: INTENT,
        status,
        eventId: 'evt_1SxTestEventAbCdEfGhIjKl',
        eventType: type,
        eventCreatedAt: new Date(CREATED * 1000).toISOString(),
        livemode: false,
      },
    });
    expect(accessWorkflowId(accessEvent(interpretStripeEvent(envelope(type, dispute(status)))))).toBe(
      'dispute-stripe-dp_1DisputeAbc0000001',
    );
  });

  it('keeps a dispute whose charge had no PaymentIntent, naming no payment', () => {
    const event = accessEvent(
      interpretStripeEvent(
        envelope('charge.dispute.created', { ...dispute('needs_response'), payment_intent: null }),
      ),
    );
    expect(event.paymentId).toBeUndefined();
  });

  it('acknowledges a dispute without an id as ignored', () => {
    const { id: _id, ...noId } = dispute('lost');
    expect(interpretStripeEvent(envelope('charge.dispute.closed', noId)).kind).toBe('ignored');
  });
});

describe('Stripe subscriptions and failed payments', () => {
  it('reads customer.subscription.deleted as an access event keyed by the subscription', () => {
    const event = accessEvent(
      interpretStripeEvent(envelope('customer.subscription.deleted', deletedSubscription)),
    );
    expect(event).toEqual({
      provider: 'stripe',
      kind: 'subscription',
      causeId: 'sub_1SubscriptionAbc0000001',
      status: 'canceled',
      eventId: 'evt_1SxTestEventAbCdEfGhIjKl',
      eventType: 'customer.subscription.deleted',
      eventCreatedAt: new Date(CREATED * 1000).toISOString(),
      livemode: false,
    });
    expect(accessWorkflowId(event)).toBe('subscription-stripe-sub_1SubscriptionAbc0000001');
  });

  it('leaves the other subscription events alone', () => {
    for (const type of ['customer.subscription.updated', 'customer.subscription.created']) {
      expect(interpretStripeEvent(envelope(type, deletedSubscription)).kind).toBe('ignored');
    }
  });

  it('records invoice.payment_failed without changing access', () => {
    const failed = { ...firstInvoice, amount_paid: 0, status: 'open', attempt_count: 1 };
    expect(interpretStripeEvent(envelope('invoice.payment_failed', failed))).toEqual({
      kind: 'ignored',
      eventType: 'invoice.payment_failed',
      reason: 'payment failed: recorded, access unchanged',
    });
  });

  it('takes livemode from the envelope, for the receiver to check', () => {
    const live = { ...envelope('customer.subscription.deleted', deletedSubscription), livemode: true };
    expect(accessEvent(interpretStripeEvent(live)).livemode).toBe(true);
  });

  it('lists every event that starts an access workflow in the registry (metrics label only those)', () => {
    expect(stripe.eventTypes).toEqual(
      expect.arrayContaining([
        'charge.refunded',
        'charge.dispute.created',
        'charge.dispute.updated',
        'charge.dispute.closed',
        'charge.dispute.funds_withdrawn',
        'charge.dispute.funds_reinstated',
        'customer.subscription.deleted',
        'invoice.payment_failed',
      ]),
    );
  });

  it('has reconciliation list every type that starts a workflow, within the 20 types Stripe takes', () => {
    expect(stripe.eventTypes).toEqual(expect.arrayContaining([...STRIPE_WORKFLOW_EVENT_TYPES]));
    expect(STRIPE_WORKFLOW_EVENT_TYPES.length).toBeLessThanOrEqual(20);
    // What reconciliation does not list, the receiver acknowledges and ignores, whatever it carries.
    const unlisted = stripe.eventTypes.filter((t) => !STRIPE_WORKFLOW_EVENT_TYPES.includes(t));
    expect(unlisted.length).toBeGreaterThan(0);
    for (const type of unlisted) {
      const body = {
        id: 'evt_unlisted',
        object: 'event',
        type,
        created: 1_796_000_000,
        data: { object: { id: 'x' } },
      };
      const meaning = interpretStripeEvent(body);
      const reason = meaning.kind === 'ignored' ? meaning.reason : meaning.kind;
      // Ignored for its type, not for the shape of what it carries.
      expect([type, reason]).toEqual([type, expect.stringMatching(/^(not a paid event|payment failed)/)]);
    }
  });
});
