/**
 * Plays a `PurchaseSpec` as Stripe would: creates the merchant's objects (Checkout Session, invoice,
 * subscription), pays them with PaymentIntents and answers with the events Stripe sends, in order.
 */
import type Stripe from 'stripe';
import { z } from 'zod';
import type { PurchaseDelivery, PurchaseResult, PurchaseSpec } from '../../providers/purchase';
import { newStripePaymentId } from '../../providers/stripe/ids';
import { stripeEnvelope, stripeRelatedIds } from '../../providers/stripe/fixtures';
import * as build from './objects';
import type { StripeStore } from './store';

const notes = z.record(z.string(), z.string().max(500)).refine((m) => Object.keys(m).length <= 50, {
  message: 'Stripe metadata holds at most 50 keys',
});
const nullableText = z.string().min(1).nullish();

export const purchaseSpecSchema = z.object({
  kind: z.enum(['checkout', 'subscription', 'invoice']),
  paymentId: z
    .string()
    .regex(/^(pi|in)_[A-Za-z0-9]+$/, 'paymentId is a pi_... (or, for invoices, in_...) id')
    .optional(),
  amountMinor: z.number().int().positive(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'currency is ISO 4217'),
  customer: z.object({ email: nullableText, name: nullableText, phone: nullableText }),
  merchant: z.object({
    notes: notes.optional(),
    planId: z.string().optional(),
    lineItems: z
      .array(
        z.object({
          priceId: z.string().regex(/^price_\w+$/),
          productId: z.string().regex(/^prod_\w+$/),
          quantity: z.number().int().positive(),
          unitAmountMinor: z.number().int().nonnegative(),
        }),
      )
      .max(100)
      .optional(),
  }),
  buyer: z
    .object({ notes: notes.optional(), clientReferenceId: z.string().min(1).max(200).optional() })
    .optional(),
  charges: z.number().int().min(1).max(24).optional(),
  /** Subscriptions: a free trial first, billed by a $0 invoice; `charges` paid charges follow it. */
  trialDays: z.number().int().min(1).max(90).optional(),
  createdAt: z.number().int().positive().optional(),
}) satisfies z.ZodType<PurchaseSpec, unknown>;

type Spec = z.output<typeof purchaseSpecSchema>;

const MONTH = 30 * 86_400;

/** An event about `object` as it stands now: a snapshot, unchanged by what later happens to it. */
export function event(type: string, object: { id: string }, created: number): PurchaseDelivery {
  return { eventType: type, body: stripeEnvelope(type, structuredClone(object), created) };
}

/** What the spec's line items are; subscriptions and invoices need at least one priced line. */
function itemsOf(spec: Spec, seed: string, needsOne: boolean): build.Item[] {
  const given = spec.merchant.lineItems ?? [];
  if (given.length > 0 || !needsOne) return given;
  return [
    {
      priceId: build.derivedId('price_', seed),
      productId: build.derivedId('prod_', seed, 14),
      quantity: 1,
      unitAmountMinor: spec.amountMinor,
    },
  ];
}

export function playPurchase(store: StripeStore, spec: Spec, nowSeconds: number): PurchaseResult {
  switch (spec.kind) {
    case 'checkout':
      return playCheckout(store, spec, nowSeconds);
    case 'subscription':
      return playSubscription(store, spec, nowSeconds);
    case 'invoice':
      return playInvoice(store, spec, nowSeconds);
  }
}

interface Common {
  created: number;
  currency: string;
  buyer: build.Buyer;
  customerId: string;
  metadata: Record<string, string>;
}

function common(store: StripeStore, spec: Spec, seed: string, nowSeconds: number): Common {
  const created = spec.createdAt ?? nowSeconds;
  const buyer = {
    email: spec.customer.email ?? null,
    name: spec.customer.name ?? null,
    phone: spec.customer.phone ?? null,
  };
  const customerId = build.derivedId('cus_', seed, 14);
  store.customers.set(customerId, build.customer(customerId, buyer, created - 180));
  return {
    created,
    currency: spec.currency.toLowerCase(),
    buyer,
    customerId,
    metadata: spec.merchant.notes ?? {},
  };
}

function pay(
  store: StripeStore,
  c: Common,
  id: string,
  amountMinor: number,
  created: number,
  metadata: Record<string, string>,
  description: string | null,
): Stripe.PaymentIntent {
  const ids = stripeRelatedIds(id);
  const input = {
    id,
    amountMinor,
    currency: c.currency,
    created,
    customerId: c.customerId,
    chargeId: ids.chargeId,
    paymentMethodId: ids.paymentMethodId,
    buyer: c.buyer,
    metadata,
    description,
  };
  const intent = build.paymentIntent(input);
  store.paymentIntents.set(id, intent);
  store.charges.set(ids.chargeId, build.charge(input));
  return intent;
}

/** The Checkout Session the buyer completed, with its line items, stored as the API serves them. */
function storeSession(
  store: StripeStore,
  c: Common,
  spec: Spec,
  s: {
    id: string;
    mode: 'payment' | 'subscription';
    amountMinor: number;
    items: build.Item[];
    paymentIntentId: string | null;
    invoiceId: string | null;
    subscriptionId: string | null;
  },
): Stripe.Checkout.Session {
  const session = build.checkoutSession({
    id: s.id,
    mode: s.mode,
    amountMinor: s.amountMinor,
    currency: c.currency,
    created: c.created - 120,
    customerId: c.customerId,
    buyer: c.buyer,
    metadata: c.metadata,
    clientReferenceId: spec.buyer?.clientReferenceId ?? null,
    paymentIntentId: s.paymentIntentId,
    invoiceId: s.invoiceId,
    subscriptionId: s.subscriptionId,
  });
  store.sessions.set(s.id, session);
  const recurring = s.mode === 'subscription';
  store.sessionLineItems.set(
    s.id,
    s.items.map((item, i) => build.checkoutLineItem(item, i, s.id, c.currency, c.created - 120, recurring)),
  );
  return session;
}

function playCheckout(store: StripeStore, spec: Spec, now: number): PurchaseResult {
  const piId = spec.paymentId?.startsWith('pi_') ? spec.paymentId : newStripePaymentId();
  const c = common(store, spec, piId, now);
  const sessionId = stripeRelatedIds(piId).checkoutSessionId;
  const items = itemsOf(spec, piId, false);
  // A merchant copies the session's metadata to the intent through payment_intent_data.metadata.
  const intent = pay(store, c, piId, spec.amountMinor, c.created - 30, c.metadata, null);
  const session = storeSession(store, c, spec, {
    id: sessionId,
    mode: 'payment',
    amountMinor: spec.amountMinor,
    items,
    paymentIntentId: piId,
    invoiceId: null,
    subscriptionId: null,
  });
  return {
    paymentId: piId,
    paymentIds: [piId],
    references: { checkout_session: sessionId, payment_intent: piId, customer: c.customerId },
    deliveries: [
      event('checkout.session.completed', session, c.created),
      event('payment_intent.succeeded', intent, c.created),
    ],
  };
}

function playSubscription(store: StripeStore, spec: Spec, now: number): PurchaseResult {
  const firstPi = spec.paymentId?.startsWith('pi_') ? spec.paymentId : newStripePaymentId();
  const c = common(store, spec, firstPi, now);
  const items = itemsOf(spec, firstPi, true);
  const subId = build.derivedId('sub_', firstPi);
  const itemIds = items.map((_, i) => build.derivedId('si_', `${subId}:${i}`, 14));
  const sessionId = stripeRelatedIds(firstPi).checkoutSessionId;
  const charges = spec.charges ?? 1;
  const deliveries: PurchaseDelivery[] = [];
  const invoiceIds: string[] = [];
  const piIds: string[] = [];
  const prefix = build.derivedId('', `number:${subId}`, 8).toUpperCase();
  const trialSeconds = (spec.trialDays ?? 0) * 86_400;

  if (spec.trialDays !== undefined) {
    // The trial's invoice: subscription_create, $0, paid without any payment; Checkout completes
    // with no payment required. What the buyer pays starts with the first subscription_cycle.
    const trialInvoiceId = build.derivedId('in_', `trial:${subId}`);
    const trialItems = items.map((item) => ({ ...item, unitAmountMinor: 0 }));
    const trial = build.invoice({
      id: trialInvoiceId,
      number: `${prefix}-0000`,
      billingReason: 'subscription_create',
      amountMinor: 0,
      currency: c.currency,
      created: c.created,
      customerId: c.customerId,
      buyer: c.buyer,
      items: trialItems,
      metadata: {},
      subscription: { id: subId, itemIds, metadata: c.metadata },
      period: { start: c.created, end: c.created + trialSeconds },
    });
    store.invoices.set(trialInvoiceId, trial);
    const session = storeSession(store, c, spec, {
      id: sessionId,
      mode: 'subscription',
      amountMinor: 0,
      items: trialItems,
      paymentIntentId: null,
      invoiceId: trialInvoiceId,
      subscriptionId: subId,
    });
    deliveries.push(
      event('checkout.session.completed', session, c.created + 60),
      event('invoice.paid', trial, c.created + 60),
    );
  }

  for (let n = 0; n < charges; n++) {
    const start = c.created + trialSeconds + n * MONTH;
    const trialFirst = spec.trialDays !== undefined;
    const piId = n === 0 ? firstPi : newStripePaymentId();
    const invoiceId =
      n === 0 && spec.paymentId?.startsWith('in_') ? spec.paymentId : build.derivedId('in_', `${piId}`);
    const inv = build.invoice({
      id: invoiceId,
      number: `${prefix}-${String(n + 1).padStart(4, '0')}`,
      billingReason: n === 0 && !trialFirst ? 'subscription_create' : 'subscription_cycle',
      amountMinor: spec.amountMinor,
      currency: c.currency,
      created: start,
      customerId: c.customerId,
      buyer: c.buyer,
      items,
      metadata: {},
      subscription: { id: subId, itemIds, metadata: c.metadata },
      period: { start, end: start + MONTH },
    });
    // Billing creates and confirms the invoice's intent itself: it carries no merchant metadata.
    const intent = pay(
      store,
      c,
      piId,
      spec.amountMinor,
      start + 30,
      {},
      n === 0 && !trialFirst ? 'Subscription creation' : 'Subscription update',
    );
    store.invoices.set(invoiceId, inv);
    const payment = build.invoicePayment(inv, piId, start + 60);
    store.invoicePayments.set(payment.id, payment);
    invoiceIds.push(invoiceId);
    piIds.push(piId);
    if (n === 0 && !trialFirst) {
      const session = storeSession(store, c, spec, {
        id: sessionId,
        mode: 'subscription',
        amountMinor: spec.amountMinor,
        items,
        paymentIntentId: null,
        invoiceId,
        subscriptionId: subId,
      });
      deliveries.push(event('checkout.session.completed', session, start + 60));
    }
    deliveries.push(
      event('invoice.paid', inv, start + 60),
      event('payment_intent.succeeded', intent, start + 60),
    );
  }
  store.subscriptions.set(
    subId,
    build.subscription({
      id: subId,
      customerId: c.customerId,
      currency: c.currency,
      created: c.created,
      items,
      itemIds,
      latestInvoiceId: invoiceIds[invoiceIds.length - 1]!,
      metadata: c.metadata,
      period: {
        start: c.created + trialSeconds + (charges - 1) * MONTH,
        end: c.created + trialSeconds + charges * MONTH,
      },
    }),
  );
  return {
    paymentId: invoiceIds[0]!,
    paymentIds: invoiceIds,
    references: {
      checkout_session: sessionId,
      subscription: subId,
      invoice: invoiceIds[0]!,
      payment_intent: piIds[0]!,
      customer: c.customerId,
    },
    deliveries,
  };
}

function playInvoice(store: StripeStore, spec: Spec, now: number): PurchaseResult {
  const piId = spec.paymentId?.startsWith('pi_') ? spec.paymentId : newStripePaymentId();
  const c = common(store, spec, piId, now);
  const invoiceId = spec.paymentId?.startsWith('in_') ? spec.paymentId : build.derivedId('in_', piId);
  const inv = build.invoice({
    id: invoiceId,
    number: `${build.derivedId('', `number:${invoiceId}`, 8).toUpperCase()}-0001`,
    billingReason: 'manual',
    amountMinor: spec.amountMinor,
    currency: c.currency,
    created: c.created - 300,
    customerId: c.customerId,
    buyer: c.buyer,
    items: itemsOf(spec, piId, true),
    metadata: c.metadata,
    subscription: null,
    period: { start: c.created - 300, end: c.created - 300 },
  });
  const intent = pay(
    store,
    c,
    piId,
    spec.amountMinor,
    c.created - 30,
    {},
    `Payment for Invoice ${inv.number}`,
  );
  store.invoices.set(invoiceId, inv);
  const payment = build.invoicePayment(inv, piId, c.created);
  store.invoicePayments.set(payment.id, payment);
  return {
    paymentId: invoiceId,
    paymentIds: [invoiceId],
    references: { invoice: invoiceId, payment_intent: piId, customer: c.customerId },
    deliveries: [event('invoice.paid', inv, c.created), event('payment_intent.succeeded', intent, c.created)],
  };
}
