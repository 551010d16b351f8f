/**
 * Reads what Razorpay's API says about one payment into a `ProviderRecord`: the payment, its order
 * (and whether this payment completed it), the payment link or subscription it paid, and the notes on
 * each as claims for the catalog. Webhook references are pointers only: a payment link or subscription
 * is believed once Razorpay's own records tie it to this payment.
 *
 * Plain HTTP through `httpRequest` rather than the official `razorpay` package: its constructor
 * hard-codes `https://api.razorpay.com`, so it cannot be pointed at the sandbox without patching its
 * internals, and it brings axios in beside the one HTTP client (and log line) every activity uses.
 */
import { z } from 'zod';
import type { WorkerConfig } from '../../config';
import type { ProviderRecord, PurchaseClaim } from '../../domain/purchase';
import { DownstreamFailure } from '../errors';
import {
  type ClassifyDeps,
  type HttpDeps,
  type HttpResponse,
  failureForStatus,
  pickString,
  idempotentRequest,
} from '../http';

export type RazorpayApiConfig = Pick<
  WorkerConfig,
  'RAZORPAY_API_URL' | 'RAZORPAY_KEY_ID' | 'RAZORPAY_KEY_SECRET'
>;

// `notes` is `[]` when empty; anything that is not a map reads as no notes.
const notes = z
  .unknown()
  .transform((v) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {},
  );
const optionalId = z.string().min(1).nullish();

export const paymentSchema = z.object({
  id: z.string(),
  amount: z.number().int(),
  currency: z.string(),
  status: z.string(),
  amount_refunded: z.number().int().optional(),
  refund_status: z.string().nullish(),
  disputed: z.boolean().optional(),
  order_id: optionalId,
  invoice_id: optionalId,
  email: z.unknown().optional(),
  contact: z.unknown().optional(),
  notes,
  created_at: z.number(),
});
type Payment = z.infer<typeof paymentSchema>;

const orderSchema = z.object({
  id: z.string(),
  amount: z.number().int(),
  amount_due: z.number().int(),
  attempts: z.number().int().optional(),
  partial_payment: z.boolean().optional(),
  status: z.string(),
  notes,
});

const orderPaymentsSchema = z.object({
  items: z.array(z.object({ id: z.string(), status: z.string(), created_at: z.number() })),
});

const paymentLinkSchema = z.object({
  id: z.string(),
  order_id: optionalId,
  payments: z.array(z.object({ payment_id: z.string() })).nullish(),
  customer: notes,
  notes,
});
type PaymentLink = z.infer<typeof paymentLinkSchema>;

const invoiceSchema = z.object({
  id: z.string(),
  subscription_id: optionalId,
  payment_id: optionalId,
  status: z.string(),
  paid_at: z.number().nullish(),
  created_at: z.number(),
  customer_details: notes.optional(),
});

const subscriptionSchema = z.object({ id: z.string(), plan_id: z.string(), notes });

export async function fetchRazorpayRecord(
  config: RazorpayApiConfig,
  deps: HttpDeps & ClassifyDeps,
  paymentId: string,
  references: Record<string, string> = {},
): Promise<ProviderRecord> {
  const api = razorpayApi(config, deps, paymentId);
  const payment = await api.read(
    'fetch_payment',
    `/v1/payments/${encodeURIComponent(paymentId)}`,
    paymentSchema,
  );
  if (!payment || payment.id !== paymentId) return notFound(paymentId);

  const record: ProviderRecord = {
    provider: 'razorpay',
    paymentId,
    found: true,
    paid: payment.status === 'captured',
    status: payment.status,
    amountMinor: payment.amount,
    currency: payment.currency.toUpperCase(),
    kind: 'payment',
    references: {},
    claims: [],
    customer: {},
  };
  if (payment.disputed) record.disputed = true;
  if (payment.amount_refunded) {
    record.refund = {
      refundedMinor: payment.amount_refunded,
      full: payment.refund_status === 'full' || payment.amount_refunded >= payment.amount,
    };
  }
  const names: unknown[] = [];

  if (payment.order_id) {
    const order = await api.read(
      'fetch_order',
      `/v1/orders/${encodeURIComponent(payment.order_id)}`,
      orderSchema,
    );
    if (order) {
      const fullyPaid = order.status === 'paid' && order.amount_due === 0;
      record.order = {
        amountMinor: order.amount,
        amountDueMinor: order.amount_due,
        partial: order.partial_payment === true,
        completedByThisPayment: fullyPaid && (await completedBy(api, order, payment)),
      };
      record.kind = 'order';
      record.references.order = order.id;
      record.claims.push(...noteClaims(order.notes, 'razorpay.order_notes'));
      names.push(order.notes.student_name, order.notes.name);
    }
  }
  record.claims.push(...noteClaims(payment.notes, 'razorpay.payment_notes'));

  const orderHasNotes = record.claims.some((c) => c.source === 'razorpay.order_notes');
  const link = await confirmedPaymentLink(api, payment, references.payment_link, orderHasNotes);
  if (link) {
    record.kind = 'payment_link';
    record.references.payment_link = link.id;
    record.claims.push({ source: 'razorpay.payment_link', value: link.id, quantity: 1 });
    record.claims.push(...noteClaims(link.notes, 'razorpay.payment_link_notes'));
    names.push(link.notes.student_name, link.notes.name, link.customer.name);
  }

  // The payment's own invoice says which subscription it charged; a webhook's pointer is not asked.
  if (payment.invoice_id) {
    const invoice = await api.read(
      'fetch_invoice',
      `/v1/invoices/${encodeURIComponent(payment.invoice_id)}`,
      invoiceSchema,
    );
    if (invoice) record.references.invoice = invoice.id;
    if (invoice?.subscription_id && invoice.payment_id === paymentId) {
      const subscriptionId = invoice.subscription_id;
      const subscription = await api.read(
        'fetch_subscription',
        `/v1/subscriptions/${encodeURIComponent(subscriptionId)}`,
        subscriptionSchema,
      );
      if (subscription) {
        record.kind = 'subscription';
        record.references.subscription = subscription.id;
        record.subscription = {
          id: subscription.id,
          first: await isFirstCharge(api, subscription.id, paymentId),
        };
        record.claims.push({
          source: 'razorpay.subscription_plan',
          value: subscription.plan_id,
          quantity: 1,
        });
        record.claims.push(...noteClaims(subscription.notes, 'razorpay.subscription_notes'));
        names.push(subscription.notes.student_name, subscription.notes.name, invoice.customer_details?.name);
      }
    }
  }

  const email = text(payment.email) ?? text(link?.customer.email);
  const phone = text(payment.contact) ?? text(link?.customer.contact);
  const name = names.map(text).find((n) => n !== undefined);
  record.customer = {
    ...(email !== undefined && { email }),
    ...(name !== undefined && { name }),
    ...(phone !== undefined && { phone }),
  };
  return record;
}

/**
 * The payment link this payment paid, if Razorpay says so: the pointer's link when it lists this
 * payment or shares its order, else the link Razorpay finds by payment id (a `payment.captured` names
 * no link at all).
 */
async function confirmedPaymentLink(
  api: RazorpayApi,
  payment: Payment,
  pointer: string | undefined,
  hasNotes: boolean,
): Promise<PaymentLink | undefined> {
  const paidBy = (link: PaymentLink) =>
    (link.payments ?? []).some((p) => p.payment_id === payment.id) ||
    (!!link.order_id && link.order_id === payment.order_id);
  if (pointer) {
    const link = await api.read(
      'fetch_payment_link',
      `/v1/payment_links/${encodeURIComponent(pointer)}`,
      paymentLinkSchema,
    );
    if (link && paidBy(link)) return link;
  }
  // Subscription charges and orderless payments never come from a payment link, and neither does an
  // order with notes of its own: the order Razorpay makes for a link carries none (the link keeps them).
  if (payment.invoice_id || !payment.order_id || hasNotes) return undefined;
  const found = await api.read(
    'find_payment_link',
    `/v1/payment_links?payment_id=${encodeURIComponent(payment.id)}`,
    z.object({ payment_links: z.array(paymentLinkSchema) }),
  );
  return found?.payment_links.find(paidBy);
}

/**
 * Whether this captured payment is the one that paid the order. An order paid in a single attempt was
 * paid by its only payment. After several attempts: for an order taking partial payments, the latest
 * payment that took money (captured, or refunded since) completed it; a standard order is paid by one
 * payment, so when Razorpay holds more than one that took money, none of them is taken as the payer:
 * which one was granted depends on when each was captured, which the payment does not record, so a
 * person decides (one is granted, the others refunded).
 */
async function completedBy(
  api: RazorpayApi,
  order: z.infer<typeof orderSchema>,
  payment: Payment,
): Promise<boolean> {
  if (order.attempts === 1 && payment.status === 'captured') return true;
  const paid = await api.read(
    'fetch_order_payments',
    `/v1/orders/${encodeURIComponent(order.id)}/payments`,
    orderPaymentsSchema,
  );
  const tookMoney = (paid?.items ?? [])
    .filter((p) => p.status === 'captured' || p.status === 'refunded')
    .sort((a, b) => a.created_at - b.created_at);
  if (order.partial_payment === true) return tookMoney.at(-1)?.id === payment.id;
  return tookMoney.length === 1 && tookMoney[0]!.id === payment.id;
}

/** The subscription's first paid charge is the earliest paid invoice's payment. */
const INVOICE_PAGE = 100;
/** A subscription bills at most monthly: 50 pages is over 400 years of charges. */
const MAX_INVOICE_PAGES = 50;

/**
 * The subscription's first paid charge is the earliest paid invoice's payment. Every page of the
 * subscription's invoices is read; if Razorpay does not list this payment's invoice as paid yet (its
 * list can lag the payment), the answer is unknown, and unknown must not read as "renewal" (which
 * grants nothing): the read fails retryably, and Temporal asks again.
 */
async function isFirstCharge(api: RazorpayApi, subscriptionId: string, paymentId: string): Promise<boolean> {
  const paid = await paidInvoices(api, subscriptionId);
  if (!paid.some((i) => i.payment_id === paymentId)) {
    throw new DownstreamFailure(
      'DownstreamUnavailable',
      `Razorpay does not list the invoice of payment ${paymentId} as paid in subscription ${subscriptionId} yet`,
      {},
    );
  }
  return paid[0]?.payment_id === paymentId;
}

/** Every paid invoice of the subscription, every page read, the earliest paid first. */
export async function paidInvoices(
  api: RazorpayApi,
  subscriptionId: string,
): Promise<Array<z.infer<typeof invoiceSchema>>> {
  const paid: Array<z.infer<typeof invoiceSchema>> = [];
  for (let page = 0; page < MAX_INVOICE_PAGES; page += 1) {
    const invoices = await api.read(
      'list_subscription_invoices',
      `/v1/invoices?subscription_id=${encodeURIComponent(subscriptionId)}&count=${INVOICE_PAGE}&skip=${page * INVOICE_PAGE}`,
      z.object({ items: z.array(invoiceSchema) }),
    );
    const items = invoices?.items ?? [];
    paid.push(...items.filter((i) => i.status === 'paid' && i.payment_id));
    if (items.length < INVOICE_PAGE) break;
  }
  return paid.sort((a, b) => (a.paid_at ?? a.created_at) - (b.paid_at ?? b.created_at));
}

function noteClaims(values: Record<string, unknown>, source: PurchaseClaim['source']): PurchaseClaim[] {
  const claims: PurchaseClaim[] = [];
  for (const [key, value] of Object.entries(values)) {
    const v = text(value);
    if (v !== undefined) claims.push({ source, key, value: v, quantity: 1 });
  }
  return claims;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v.trim() : undefined);

function notFound(paymentId: string): ProviderRecord {
  return {
    provider: 'razorpay',
    paymentId,
    found: false,
    paid: false,
    status: 'not_found',
    amountMinor: 0,
    currency: '',
    kind: 'payment',
    references: {},
    claims: [],
    customer: {},
  };
}

export interface RazorpayApi {
  /** The entity, or undefined when Razorpay does not know the id; throws a classified failure otherwise. */
  read<T>(operation: string, path: string, schema: z.ZodType<T>): Promise<T | undefined>;
}

const errorDescription = (body: unknown) => pickString(body, 'error', 'description');
const errorCode = (body: unknown) => pickString(body, 'error', 'code');

/** Razorpay answers an unknown id with a 400 "The id provided does not exist"; a 404 means the same. */
const isUnknownId = (res: HttpResponse) =>
  res.status === 404 || (res.status === 400 && /does not exist/i.test(errorDescription(res.body) ?? ''));

/** `paymentId` labels the log lines; a list read for reconciliation concerns no one payment. */
export function razorpayApi(
  config: RazorpayApiConfig,
  deps: HttpDeps & ClassifyDeps,
  paymentId?: string,
): RazorpayApi {
  const authorization = `Basic ${Buffer.from(`${config.RAZORPAY_KEY_ID}:${config.RAZORPAY_KEY_SECRET}`).toString('base64')}`;
  const base = config.RAZORPAY_API_URL.replace(/\/+$/, '');
  return {
    async read(operation, path, schema) {
      const res = await idempotentRequest(
        deps,
        {
          downstream: 'razorpay',
          operation,
          method: 'GET',
          url: `${base}${path}`,
          headers: { authorization },
          ...(paymentId !== undefined && { payment: { provider: 'razorpay', paymentId } }),
          errorCode,
        },
        'Razorpay',
      );
      if (res.status >= 200 && res.status < 300) {
        const parsed = schema.safeParse(res.body);
        if (parsed.success) return parsed.data;
        throw new DownstreamFailure(
          'DownstreamBadResponse',
          `Razorpay ${operation} answered an unreadable body`,
          {
            status: res.status,
          },
        );
      }
      if (isUnknownId(res)) return undefined;
      const code = errorCode(res.body);
      if (res.status === 401) {
        throw new DownstreamFailure('ProviderRejected', 'Razorpay refused the API key (HTTP 401)', {
          status: res.status,
          code,
        });
      }
      throw failureForStatus(res, 'Razorpay', 'ProviderRejected', deps, code);
    },
  };
}
