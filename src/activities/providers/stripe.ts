/**
 * Stripe's own record of a payment, read through the official SDK: the PaymentIntent (`pi_...`) or the
 * invoice (`in_...`) the workflow is keyed by, and the merchant objects it paid for (Checkout Session
 * and its line items, subscription, customer). Webhook references are only pointers: an object read
 * through one counts only once Stripe's own links tie it to this payment.
 */
import { performance } from 'node:perf_hooks';
import type Stripe from 'stripe';
import type { WorkerConfig } from '../../config';
import type { ProviderRecord, PurchaseClaim, PurchaseKind } from '../../domain/purchase';
import { stripeSdk } from '../../providers/stripe/sdk';
import type { Logger } from '../../runtime/logger';
import { activityLogFields } from '../activity-context';
import { DownstreamFailure } from '../errors';
import { retryDelayFromHeaders } from '../retry-after';

export type StripeConfig = Pick<WorkerConfig, 'STRIPE_API_URL' | 'STRIPE_API_KEY' | 'HTTP_TIMEOUT_MS'>;

const clients = new WeakMap<StripeConfig, Stripe>();

export function clientFor(config: StripeConfig): Stripe {
  let client = clients.get(config);
  if (client) return client;
  const url = new URL(config.STRIPE_API_URL);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const Sdk = stripeSdk();
  client = new Sdk(config.STRIPE_API_KEY, {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
    timeout: config.HTTP_TIMEOUT_MS,
    // Retrying is Temporal's job: the activity's retry policy owns backoff and limits, and an SDK
    // retry inside one attempt would hide failures from it and stretch the attempt's deadline.
    maxNetworkRetries: 0,
    telemetry: false,
  });
  clients.set(config, client);
  return client;
}

const isMissing = (err: unknown): boolean =>
  (err as { code?: unknown }).code === 'resource_missing' &&
  (err as { statusCode?: unknown }).statusCode === 404;

/** Stripe's own `Retry-After`, when its 429 sends one; the SDK keeps the answer's headers on the error. */
function retryDelayOf(err: unknown): number | undefined {
  const headers = (err as { headers?: Record<string, string> }).headers;
  if (!headers) return undefined;
  return retryDelayFromHeaders(new Headers(headers), Date.now(), Math.random);
}

/** The SDK's error classes, as the activity's failure vocabulary. */
function classify(err: unknown, what: string): DownstreamFailure {
  const e = err as { type?: unknown; statusCode?: unknown; code?: unknown; message?: unknown };
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = `Stripe ${what}: ${typeof e.message === 'string' ? e.message.split('\n')[0] : String(err)}`;
  const info = { status, code, cause: err };
  switch (e.type) {
    case 'StripeAuthenticationError':
    case 'StripePermissionError':
      return new DownstreamFailure('ProviderRejected', message, info);
    case 'StripeRateLimitError':
      return new DownstreamFailure('RateLimited', message, { ...info, retryDelayMs: retryDelayOf(err) });
    case 'StripeInvalidRequestError':
      // A malformed request of ours: retrying the same request cannot help.
      return new DownstreamFailure('ProviderRejected', message, info);
    default:
      // StripeAPIError, StripeConnectionError, 5xx and anything unforeseen: reads are safe to retry.
      return new DownstreamFailure('DownstreamUnavailable', message, info);
  }
}

/** One Stripe read: its result, undefined when Stripe does not know the object, or a classified failure. */
export type Read = <T>(what: string, call: () => Promise<T>) => Promise<T | undefined>;

/**
 * Reads that log one line each, like src/activities/http.ts: operation, outcome, status, duration,
 * Stripe's request id and the payment; never bodies or the key.
 */
export function reader(paymentId: string | undefined, logger: Logger | undefined): Read {
  return async (what, call) => {
    const started = performance.now();
    const log = (fields: Record<string, unknown>, warn = false) => {
      const line = {
        downstream: 'stripe',
        operation: what,
        provider: 'stripe',
        ...(paymentId !== undefined && { paymentId }),
        durationMs: Math.round(performance.now() - started),
        ...fields,
        ...activityLogFields(),
      };
      if (warn) logger?.warn(line, `stripe ${what}`);
      else logger?.info(line, `stripe ${what}`);
    };
    try {
      const result = await call();
      const requestId = (result as { lastResponse?: { requestId?: string } }).lastResponse?.requestId;
      log({ status: 200, outcome: 'ok', requestId });
      return result;
    } catch (err) {
      const e = err as { statusCode?: unknown; requestId?: unknown; code?: unknown };
      const fields = { status: e.statusCode, requestId: e.requestId, errorCode: e.code };
      if (isMissing(err)) {
        log({ ...fields, outcome: 'not_found' });
        return undefined;
      }
      const failure = classify(err, what);
      log({ ...fields, outcome: failure.nonRetryable ? 'non_retryable' : 'retryable' }, true);
      throw failure;
    }
  };
}

export const idOf = (v: string | { id: string } | null | undefined): string | undefined =>
  typeof v === 'string' ? v : (v?.id ?? undefined);

const text = (v: string | null | undefined): string | undefined => (v && v.trim() ? v.trim() : undefined);

function metadataClaims(metadata: Stripe.Metadata | null | undefined): PurchaseClaim[] {
  return Object.entries(metadata ?? {})
    .filter(([, value]) => typeof value === 'string' && value.trim() !== '')
    .map(([key, value]) => ({ source: 'stripe.metadata', key, value: value.trim(), quantity: 1 }));
}

function itemClaims(item: number, price: string | undefined, product: string | undefined, quantity: number) {
  const claims: PurchaseClaim[] = [];
  if (price) claims.push({ source: 'stripe.line_item_price', value: price, quantity, item });
  if (product) claims.push({ source: 'stripe.line_item_product', value: product, quantity, item });
  return claims;
}

type Customer = ProviderRecord['customer'];

/** Fills what `into` lacks from `from`, field by field. */
function fill(into: Customer, from: Customer): Customer {
  return {
    email: into.email ?? from.email,
    name: into.name ?? from.name,
    phone: into.phone ?? from.phone,
  };
}

const present = (c: Customer): Customer =>
  Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));

function notFound(paymentId: string, kind: PurchaseKind): ProviderRecord {
  return {
    provider: 'stripe',
    paymentId,
    found: false,
    paid: false,
    status: 'not_found',
    amountMinor: 0,
    currency: '',
    kind,
    references: {},
    claims: [],
    customer: {},
  };
}

export async function fetchStripeRecord(
  config: StripeConfig,
  paymentId: string,
  references: Record<string, string> = {},
  logger?: Logger,
): Promise<ProviderRecord> {
  const stripe = clientFor(config);
  const read = reader(paymentId, logger);
  if (paymentId.startsWith('in_')) return invoiceRecord(stripe, read, paymentId, references);
  return paymentIntentRecord(stripe, read, paymentId);
}

async function customerFallback(
  stripe: Stripe,
  read: Read,
  customerId: string | undefined,
  charge: string | Stripe.Charge | null | undefined,
) {
  let out: Customer = {};
  if (customerId) {
    const c = await read('customer', () => stripe.customers.retrieve(customerId));
    if (c && !c.deleted) out = fill(out, { email: text(c.email), name: text(c.name), phone: text(c.phone) });
  }
  if (charge && (!out.email || !out.name || !out.phone)) {
    // The intent's charge usually comes expanded with it: read it only when it did not.
    const ch =
      typeof charge === 'string' ? await read('charge', () => stripe.charges.retrieve(charge)) : charge;
    const b = ch?.billing_details;
    if (b) out = fill(out, { email: text(b.email), name: text(b.name), phone: text(b.phone) });
  }
  return out;
}

/** What the charge says has gone back: refunds, and whether the buyer's bank disputed it. */
function refundOf(charge: string | Stripe.Charge | null): Pick<ProviderRecord, 'refund' | 'disputed'> {
  if (!charge || typeof charge === 'string') return {};
  return {
    ...(charge.amount_refunded > 0 && {
      refund: { refundedMinor: charge.amount_refunded, full: charge.refunded },
    }),
    ...(charge.disputed && { disputed: true }),
  };
}

/** The invoice a PaymentIntent paid, if it paid one (Stripe's own link, not a webhook's pointer). */
export async function invoicePaidBy(
  stripe: Stripe,
  read: Read,
  intentId: string,
): Promise<string | undefined> {
  const payments = await read('invoice payments', () =>
    stripe.invoicePayments.list({ payment: { type: 'payment_intent', payment_intent: intentId }, limit: 1 }),
  );
  const paying = payments?.data.find((p) => idOf(p.payment.payment_intent) === intentId);
  return paying ? idOf(paying.invoice) : undefined;
}

async function paymentIntentRecord(stripe: Stripe, read: Read, paymentId: string): Promise<ProviderRecord> {
  // The charge comes along (one call): it says what has been refunded.
  const pi = await read('payment intent', () =>
    stripe.paymentIntents.retrieve(paymentId, { expand: ['latest_charge'] }),
  );
  if (!pi) return notFound(paymentId, 'payment_intent');
  const refs: Record<string, string> = {};
  const claims: PurchaseClaim[] = metadataClaims(pi.metadata);
  let kind: PurchaseKind = 'payment_intent';
  let customer: Customer = {};
  const customerId = idOf(pi.customer);
  if (customerId) refs.customer = customerId;

  // Its Checkout Session: found by Stripe's own link, so a webhook's pointer is never needed here.
  const sessions = await read('checkout sessions', () =>
    stripe.checkout.sessions.list({ payment_intent: pi.id, limit: 1 }),
  );
  const session = sessions?.data.find((s) => idOf(s.payment_intent) === pi.id);
  if (session) {
    kind = 'checkout';
    refs.checkout_session = session.id;
    const items = await read('checkout line items', () =>
      stripe.checkout.sessions.listLineItems(session.id, { limit: 100 }),
    );
    (items?.data ?? []).forEach((li, i) => {
      claims.push(...itemClaims(i, li.price?.id, idOf(li.price?.product ?? null), li.quantity ?? 1));
    });
    claims.push(...metadataClaims(session.metadata));
    const ref = text(session.client_reference_id);
    if (ref) claims.push({ source: 'stripe.client_reference_id', value: ref, quantity: 1 });
    const d = session.customer_details;
    if (d) customer = { email: text(d.email), name: text(d.name), phone: text(d.phone) };
    customer = fill(customer, { email: text(session.customer_email) });
  }

  // A PaymentIntent that pays an invoice is the invoice's business: its workflow grants it.
  const invoiceId = await invoicePaidBy(stripe, read, pi.id);
  if (invoiceId) refs.invoice = invoiceId;

  customer = fill(customer, await customerFallback(stripe, read, customerId, pi.latest_charge));
  return {
    provider: 'stripe',
    paymentId,
    found: true,
    paid: pi.status === 'succeeded',
    status: pi.status,
    ...refundOf(pi.latest_charge),
    amountMinor: pi.amount_received,
    currency: pi.currency.toUpperCase(),
    livemode: pi.livemode,
    kind,
    references: refs,
    claims,
    ...(invoiceId && {
      handledElsewhere: { key: invoiceId, reason: `this PaymentIntent pays invoice ${invoiceId}` },
    }),
    customer: present(customer),
  };
}

/**
 * Whether this invoice is the subscription's first charge: its first paid invoice that took money.
 * `subscription_create` with an amount is (no call needed); after a free trial the first charge is a
 * `subscription_cycle`, found in the subscription's paid invoices. If Stripe does not list this paid
 * invoice yet, the answer is unknown, and unknown must not read as "renewal" (which grants nothing):
 * the read fails retryably.
 */
async function isFirstCharge(
  stripe: Stripe,
  read: Read,
  subscriptionId: string,
  inv: Stripe.Invoice,
): Promise<boolean> {
  if (inv.billing_reason === 'subscription_create' && inv.amount_paid > 0) return true;
  if (inv.status !== 'paid' || inv.amount_paid === 0) return false;
  const paid = await paidInvoices(stripe, read, subscriptionId);
  if (!paid.some((p) => p.id === inv.id)) {
    throw new DownstreamFailure(
      'DownstreamUnavailable',
      `Stripe does not list invoice ${inv.id} as paid in subscription ${subscriptionId} yet`,
    );
  }
  return paid[0]!.id === inv.id;
}

/** The subscription's paid invoices that took money, every page read, the earliest paid first. */
export async function paidInvoices(
  stripe: Stripe,
  read: Read,
  subscriptionId: string,
): Promise<Stripe.Invoice[]> {
  const paid: Stripe.Invoice[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < MAX_INVOICE_PAGES; pages += 1) {
    const listed = await read('subscription invoices', () =>
      stripe.invoices.list({
        subscription: subscriptionId,
        status: 'paid',
        limit: 100,
        ...(after && { starting_after: after }),
      }),
    );
    paid.push(...(listed?.data ?? []).filter((i) => i.amount_paid > 0));
    if (!listed?.has_more || listed.data.length === 0) break;
    after = listed.data[listed.data.length - 1]!.id;
  }
  const paidAt = (i: Stripe.Invoice) => i.status_transitions?.paid_at ?? i.created;
  return paid.sort((a, b) => paidAt(a) - paidAt(b));
}

/** A subscription bills at most monthly: 10 pages of 100 paid invoices is decades of charges. */
const MAX_INVOICE_PAGES = 10;

/** What has been refunded of a paid invoice: through the PaymentIntent that paid it, and its charge. */
async function invoiceRefund(
  stripe: Stripe,
  read: Read,
  invoiceId: string,
): Promise<Pick<ProviderRecord, 'refund' | 'disputed'>> {
  const payments = await read('invoice payments', () =>
    stripe.invoicePayments.list({ invoice: invoiceId, limit: 10 }),
  );
  // An invoice may list attempts that failed or were canceled: the refund is on the one that paid.
  const intentId = payments?.data
    .filter((p) => p.status === 'paid')
    .map((p) => idOf(p.payment.payment_intent))
    .find((id) => id !== undefined);
  if (!intentId) return {};
  const pi = await read('payment intent', () =>
    stripe.paymentIntents.retrieve(intentId, { expand: ['latest_charge'] }),
  );
  return pi ? refundOf(pi.latest_charge) : {};
}

async function invoiceRecord(
  stripe: Stripe,
  read: Read,
  paymentId: string,
  references: Record<string, string>,
): Promise<ProviderRecord> {
  const inv = await read('invoice', () => stripe.invoices.retrieve(paymentId));
  if (!inv) return notFound(paymentId, 'invoice');
  const refs: Record<string, string> = {};
  const claims: PurchaseClaim[] = [];
  (inv.lines.data ?? []).forEach((line, i) => {
    const details = line.pricing?.price_details;
    claims.push(...itemClaims(i, idOf(details?.price), idOf(details?.product), line.quantity ?? 1));
  });
  claims.push(...metadataClaims(inv.metadata));
  const customerId = idOf(inv.customer);
  if (customerId) refs.customer = customerId;
  let customer: Customer = {
    email: text(inv.customer_email),
    name: text(inv.customer_name),
    phone: text(inv.customer_phone),
  };
  const subDetails = inv.parent?.subscription_details;
  const subscriptionId = idOf(subDetails?.subscription);
  let subscription: ProviderRecord['subscription'];
  if (subscriptionId) {
    refs.subscription = subscriptionId;
    subscription = { id: subscriptionId, first: await isFirstCharge(stripe, read, subscriptionId, inv) };
    claims.push(...metadataClaims(subDetails?.metadata));
    // The Checkout Session that created the subscription, confirmed by its own link to this invoice.
    const sessions = await read('checkout sessions', () =>
      stripe.checkout.sessions.list({ subscription: subscriptionId, limit: 1 }),
    );
    const pointed = references.checkout_session;
    // The session's invoice is the subscription's first; after a free trial that is the $0 trial
    // invoice, and the first charge that took money is the one the session's purchase is granted by.
    const session = sessions?.data.find(
      (s) =>
        idOf(s.subscription) === subscriptionId &&
        (idOf(s.invoice) === inv.id || (subscription!.first && s.amount_total === 0)),
    );
    if (session && (pointed === undefined || pointed === session.id)) {
      refs.checkout_session = session.id;
      const known = new Set(
        claims.filter((c) => c.source === 'stripe.metadata').map((c) => `${c.key}=${c.value}`),
      );
      claims.push(...metadataClaims(session.metadata).filter((c) => !known.has(`${c.key}=${c.value}`)));
      const ref = text(session.client_reference_id);
      if (ref) claims.push({ source: 'stripe.client_reference_id', value: ref, quantity: 1 });
      const d = session.customer_details;
      if (d) customer = fill(customer, { email: text(d.email), name: text(d.name), phone: text(d.phone) });
    }
  }
  customer = fill(customer, await customerFallback(stripe, read, customerId, undefined));
  const refund = inv.status === 'paid' ? await invoiceRefund(stripe, read, inv.id) : {};
  return {
    provider: 'stripe',
    paymentId,
    found: true,
    paid: inv.status === 'paid',
    status: inv.status ?? 'draft',
    ...refund,
    amountMinor: inv.amount_paid,
    currency: inv.currency.toUpperCase(),
    livemode: inv.livemode,
    kind: subscription ? 'subscription' : 'invoice',
    references: refs,
    claims,
    ...(subscription && { subscription }),
    customer: present(customer),
  };
}
