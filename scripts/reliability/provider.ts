/**
 * Plays Razorpay and Stripe: records each payment with the provider (the sandbox's provider APIs, which
 * the worker's confirmation step reads), builds its realistically signed paid events, delivers each
 * several times in random order and concurrently, and redelivers anything not acknowledged with a 2xx
 * within 5 s (Razorpay's limit), with backoff, until a deadline: at-least-once, unordered. Refunds are
 * played the same way: made in the provider first, then their webhooks signed and delivered.
 */
import type { Catalog } from '../../src/catalog';
import {
  planDeliveries,
  planPurchaseDeliveries,
  type PlannedDelivery,
  postDelivery,
} from '../../src/tools/deliver';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { newPaymentId } from '../../src/providers';
import type { PurchaseSpec } from '../../src/providers/purchase';
import { fixturePurchase, registerPurchase, registerRefund } from '../../src/tools/purchase';
import { sleep } from './harness';

/** Whatever the provider sends webhooks for: a payment's paid events, or a refund's. */
export interface Sender {
  provider: PaymentProvider;
  deliveries: PlannedDelivery[];
}

export interface TestPayment extends Sender {
  paymentId: string;
  email: string;
  /** E.164, unique per payment so the WhatsApp ledger can be checked per student. */
  phone: string;
  /** The catalog product bought, at its catalog price. */
  productId: string;
  /** What it grants: catalog course id -> LMS course id, one LMS enrollment each. */
  courses: Record<string, string>;
  /** What the provider holds for it (merchant notes naming the product): registered before delivery. */
  purchase: PurchaseSpec;
}

/** A refund made in the sandbox provider, with its webhooks signed for delivery. */
export interface TestRefund extends Sender {
  paymentId: string;
  /** Razorpay `rfnd_`, Stripe `re_` (its `charge.refunded` event names the charge instead). */
  refundId: string;
  /** The payment is refunded in full. */
  full: boolean;
}

/** Identifies a payment across providers (and in an enrollment's external_ref, before the course). */
export const paymentKey = (p: { provider: PaymentProvider; paymentId: string }) =>
  `${p.provider}:${p.paymentId}`;
/** The `paymentKey` of an LMS enrollment's external_ref, `<provider>:<payment id>:<catalog course>`. */
export const paymentKeyOfRef = (externalRef: string) => externalRef.split(':').slice(0, 2).join(':');

/**
 * Which payment an LMS enrollment serves. The generic LMS names it (external_ref); Moodle and Canvas
 * hold one enrollment per student and course and no reference of ours, and every test payment has a
 * student of its own, so the email says. `?` when no payment matches (an enrollment nobody paid for).
 */
export function paymentKeyOfEnrollment(
  e: { external_ref?: string; email: string },
  byEmail: ReadonlyMap<string, { provider: PaymentProvider; paymentId: string }>,
): string {
  if (e.external_ref) return paymentKeyOfRef(e.external_ref);
  const payment = byEmail.get(e.email.toLowerCase());
  return payment ? paymentKey(payment) : `?:${e.email}`;
}

export const paymentsByEmail = <P extends { email: string }>(payments: readonly P[]) =>
  new Map(payments.map((p) => [p.email.toLowerCase(), p]));

export interface PaymentOptions {
  secrets: { razorpay: string; stripe: string };
  /** What is sold: the payments cycle through its products (courses and bundles). */
  catalog: Catalog;
  /** Deliveries per payment, alternating the provider's two paid events. */
  copies: number;
  /** Emails the LMS will refuse for good (manual review scenario). */
  failing?: (index: number) => boolean;
}

/** Each provider pays in the currency its merchants mostly sell in here; both are priced in the catalog. */
const CURRENCY: Record<PaymentProvider, string> = { razorpay: 'INR', stripe: 'USD' };

let phoneCounter = Math.floor(Math.random() * 1e6);

export function makePayments(count: number, options: PaymentOptions): TestPayment[] {
  const { products } = options.catalog;
  return Array.from({ length: count }, (_, i) => {
    const provider: PaymentProvider = i % 2 === 0 ? 'razorpay' : 'stripe';
    const paymentId = newPaymentId(provider);
    const tag = options.failing?.(i) ? 'closed' : 'student';
    const email = `${tag}.${paymentId.toLowerCase()}@example.com`;
    phoneCounter += 1;
    const phone = `+9199${String(phoneCounter).padStart(8, '0')}`;
    // Two providers and three products: every pairing within six payments.
    const product = products[i % products.length]!;
    const currency = CURRENCY[provider];
    const amountMinor = product.prices[currency];
    if (amountMinor === undefined) throw new Error(`${product.id} has no ${currency} price in the catalog`);
    const plan = planDeliveries({
      provider,
      url: 'http://placeholder',
      secret: options.secrets[provider],
      mix: true,
      duplicates: options.copies,
      fixture: { paymentId, email, phone, courseId: product.id, amountMinor, currency, name: `Student ${i}` },
    });
    return {
      provider,
      paymentId,
      email,
      phone,
      productId: product.id,
      courses: Object.fromEntries(product.courses.map((c) => [c.id, c.lmsCourseId])),
      purchase: fixturePurchase(provider, plan.fixture),
      deliveries: plan.deliveries,
    };
  });
}

/**
 * Creates every payment in the sandbox provider, as a real provider holds a payment before it sends
 * its webhook: the confirmation step reads it back from there.
 */
export async function registerPayments(sandboxUrl: string, payments: TestPayment[]): Promise<void> {
  await inLanes(payments, (p) => registerPurchase(sandboxUrl, p.provider, p.purchase));
}

export interface RefundOptions {
  secrets: { razorpay: string; stripe: string };
  /** Deliveries per refund, cycling through the provider's refund events. */
  copies: number;
}

/**
 * Refunds each payment in full in the sandbox provider, as the merchant would from its dashboard, and
 * signs the webhooks the provider sends for it (Razorpay `refund.created` + `refund.processed`, Stripe
 * `refund.created` + `charge.refunded`).
 */
export async function refundPayments(
  sandboxUrl: string,
  payments: TestPayment[],
  options: RefundOptions,
): Promise<TestRefund[]> {
  return inLanes(payments, async (p): Promise<TestRefund> => {
    const refund = await registerRefund(sandboxUrl, p.provider, { paymentId: p.paymentId });
    const plan = planPurchaseDeliveries({
      provider: p.provider,
      url: 'http://placeholder',
      secret: options.secrets[p.provider],
      purchase: refund,
      duplicates: options.copies,
    });
    return {
      provider: p.provider,
      paymentId: p.paymentId,
      refundId: refund.refundId,
      full: refund.full,
      deliveries: plan.deliveries,
    };
  });
}

/** Calls the sandbox for each item, 8 at a time; results in item order. */
async function inLanes<T, R>(items: T[], call: (item: T) => Promise<R>, lanes = 8): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await call(items[i]!);
  };
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}

export interface DeliveryStats {
  deliveries: number;
  attempts: number;
  redeliveries: number;
  /** Answers seen, by status ("0" = no answer: refused, reset or timed out). */
  statuses: Record<string, number>;
  gaveUp: number;
}

export interface ProviderOptions {
  url: () => string;
  concurrency?: number;
  /** Per attempt, like Razorpay's delivery timeout. */
  timeoutMs?: number;
  /** Give up on one delivery after this long (real providers: 24 h / 3 days). */
  deadlineMs?: number;
  /** Spread the deliveries over time rather than all at once. */
  ratePerSecond?: number;
}

/** Delivers every sender's webhooks, all of them shuffled together (payments and refunds interleave). */
export async function deliverAll(senders: Sender[], options: ProviderOptions): Promise<DeliveryStats> {
  const stats: DeliveryStats = { deliveries: 0, attempts: 0, redeliveries: 0, statuses: {}, gaveUp: 0 };
  const queue = shuffle(senders.flatMap((p) => p.deliveries.map((d) => ({ sender: p, delivery: d }))));
  stats.deliveries = queue.length;
  const { concurrency = 25, timeoutMs = 5000, deadlineMs = 120_000, ratePerSecond } = options;
  let next = 0;
  const startedAt = Date.now();

  async function lane() {
    for (;;) {
      const i = next++;
      const item = queue[i];
      if (!item) return;
      if (ratePerSecond) {
        const due = startedAt + (i * 1000) / ratePerSecond;
        if (due > Date.now()) await sleep(due - Date.now());
      }
      await deliverUntilAcked(item.sender, item.delivery);
    }
  }

  async function deliverUntilAcked(sender: Sender, delivery: PlannedDelivery) {
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 0; ; attempt++) {
      stats.attempts += 1;
      if (attempt > 0) stats.redeliveries += 1;
      const status = await post(`${options.url()}/webhooks/${sender.provider}`, delivery, timeoutMs);
      stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
      if (status >= 200 && status < 300) return;
      if (Date.now() > deadline) {
        stats.gaveUp += 1;
        return;
      }
      await sleep(Math.min(250 * 2 ** attempt, 3000) * (0.5 + Math.random()));
    }
  }

  await Promise.all(Array.from({ length: concurrency }, lane));
  return stats;
}

/** Several delivery runs of one scenario, counted as one. */
export function addStats(...runs: DeliveryStats[]): DeliveryStats {
  const total: DeliveryStats = { deliveries: 0, attempts: 0, redeliveries: 0, statuses: {}, gaveUp: 0 };
  for (const run of runs) {
    total.deliveries += run.deliveries;
    total.attempts += run.attempts;
    total.redeliveries += run.redeliveries;
    total.gaveUp += run.gaveUp;
    for (const [status, n] of Object.entries(run.statuses))
      total.statuses[status] = (total.statuses[status] ?? 0) + n;
  }
  return total;
}

async function post(url: string, delivery: PlannedDelivery, timeoutMs: number): Promise<number> {
  try {
    const res = await postDelivery(url, delivery.signed, timeoutMs);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
