/**
 * The provider's side of a payment, played against the sandbox: before a provider sends a webhook it
 * holds the payment, and the confirmation step reads it back from the provider's API. `send` and the
 * tests create that record here (`POST /_sandbox/<provider>/purchases`) and deliver what it answers, or,
 * for a fixture built body, register a purchase with the same ids first. Later changes (a refund, a
 * dispute, a cancelled subscription) are played the same way, so the provider holds what its
 * webhooks say.
 */
import type { Catalog, CatalogProduct } from '../catalog';
import type { PaymentProvider, ResolvedFixture } from '../providers';
import type { PurchaseResult, PurchaseSpec } from '../providers/purchase';

export class SandboxPurchaseError extends Error {
  override name = 'SandboxPurchaseError';
}

/** Creates and pays the purchase in the sandbox provider; returns the webhooks it would send. */
export function registerPurchase(
  sandboxUrl: string,
  provider: PaymentProvider,
  spec: PurchaseSpec,
  timeoutMs = 10_000,
): Promise<PurchaseResult> {
  return postToSandbox<PurchaseResult>(sandboxUrl, provider, 'purchases', spec, 'purchase', timeoutMs);
}

export interface RefundRequest {
  paymentId: string;
  /** Default: what is left to refund. */
  amountMinor?: number;
}

/** What the sandbox provider answered for a refund: the refund, and the webhooks it sends for it. */
export interface RefundResult extends Pick<PurchaseResult, 'paymentId' | 'deliveries'> {
  refundId: string;
  amountMinor: number;
  full: boolean;
}

/** Refunds a payment the sandbox provider holds (as the merchant would from its dashboard). */
export function registerRefund(
  sandboxUrl: string,
  provider: PaymentProvider,
  request: RefundRequest,
  timeoutMs = 10_000,
): Promise<RefundResult> {
  return postToSandbox<RefundResult>(sandboxUrl, provider, 'refunds', request, 'refund', timeoutMs);
}

export interface DisputeRequest {
  paymentId: string;
  /** Default: what has not been refunded. */
  amountMinor?: number;
}

/** A dispute as the sandbox provider holds it now, and the webhook it sends for this step. */
export interface DisputeResult extends Pick<PurchaseResult, 'paymentId' | 'deliveries'> {
  disputeId: string;
  amountMinor: number;
  /** The provider's own status: Razorpay `open` | `won` | `lost`, Stripe `needs_response` | `won` | `lost`. */
  status: string;
}

export type DisputeOutcome = 'won' | 'lost';

/** Opens a dispute on a payment the sandbox provider holds, as the buyer's bank would. */
export function registerDispute(
  sandboxUrl: string,
  provider: PaymentProvider,
  request: DisputeRequest,
  timeoutMs = 10_000,
): Promise<DisputeResult> {
  return postToSandbox<DisputeResult>(sandboxUrl, provider, 'disputes', request, 'dispute', timeoutMs);
}

/** Ends an open dispute as the card network decided it. */
export function closeDispute(
  sandboxUrl: string,
  provider: PaymentProvider,
  disputeId: string,
  outcome: DisputeOutcome,
  timeoutMs = 10_000,
): Promise<DisputeResult> {
  const route = `disputes/${encodeURIComponent(disputeId)}/close`;
  return postToSandbox<DisputeResult>(sandboxUrl, provider, route, { outcome }, 'dispute close', timeoutMs);
}

/** A subscription the sandbox provider has ended, and the webhook it sends for that. */
export interface SubscriptionEndResult extends Pick<PurchaseResult, 'deliveries'> {
  subscriptionId: string;
  /** The payment its first charge made (what keyed its enrollment); null when none was made. */
  paymentId: string | null;
  status: string;
  /** Unix seconds. */
  endedAt: number;
}

/** Cancels, at once, a subscription the sandbox provider holds (as the merchant would). */
export function cancelSubscription(
  sandboxUrl: string,
  provider: PaymentProvider,
  subscriptionId: string,
  timeoutMs = 10_000,
): Promise<SubscriptionEndResult> {
  const route = `subscriptions/${encodeURIComponent(subscriptionId)}/cancel`;
  return postToSandbox<SubscriptionEndResult>(sandboxUrl, provider, route, {}, 'cancellation', timeoutMs);
}

async function postToSandbox<T>(
  sandboxUrl: string,
  provider: PaymentProvider,
  route: string,
  body: object,
  what: string,
  timeoutMs: number,
): Promise<T> {
  const url = `${sandboxUrl.replace(/\/+$/, '')}/_sandbox/${provider}/${route}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new SandboxPurchaseError(
      `the sandbox provider at ${url} did not answer: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const text = await res.text();
  // Creating answers 201, changing what exists (closing, cancelling) 200.
  if (!res.ok) {
    throw new SandboxPurchaseError(`the sandbox provider refused the ${what}: ${res.status} ${text}`);
  }
  return JSON.parse(text) as T;
}

/**
 * The purchase behind a fixture's events: an order (Razorpay) or a one-time checkout (Stripe) whose
 * merchant notes name the fixture's course as the catalog product, with the fixture's payment id, so
 * the events the fixture builders make for it describe what the provider holds.
 */
export function fixturePurchase(provider: PaymentProvider, fixture: ResolvedFixture): PurchaseSpec {
  return {
    kind: provider === 'razorpay' ? 'order' : 'checkout',
    paymentId: fixture.paymentId,
    amountMinor: fixture.amountMinor,
    currency: fixture.currency.toUpperCase(),
    customer: { email: fixture.email, name: fixture.name, phone: fixture.phone },
    merchant: { notes: fixture.courseId === null ? {} : { product_id: fixture.courseId } },
    createdAt: fixture.createdAt,
  };
}

export interface CatalogPurchaseRequest {
  /** The catalog product bought. */
  productId: string;
  /** Razorpay `order` | `payment-link` | `subscription`; Stripe `checkout` | `subscription` | `invoice`. */
  kind: string;
  /** What the merchant object asks and the payment takes; default the catalog price. */
  amountMinor?: number;
  currency: string;
  customer: PurchaseSpec['customer'];
  /** What the buyer's browser adds (Razorpay payment notes; Stripe `client_reference_id`). */
  buyerNotes?: Record<string, string>;
  paymentId?: string;
  charges?: number;
}

export const purchaseKinds: Record<PaymentProvider, readonly string[]> = {
  razorpay: ['order', 'payment-link', 'subscription'],
  stripe: ['checkout', 'subscription', 'invoice'],
};

/** The Stripe price a merchant would put in a line item: the product's price for the currency, by name. */
function stripePriceFor(product: CatalogProduct, currency: string): string {
  const ids = product.stripe.priceIds;
  const named = ids.find((id) => id.toLowerCase().endsWith(`_${currency.toLowerCase()}`));
  const id = named ?? ids[0];
  if (!id) throw new Error(`catalog product ${product.id} has no Stripe price id to sell it with`);
  return id;
}

/**
 * What a merchant's server creates to sell a catalog product, the way merchants do: Razorpay order and
 * payment link notes naming the product (the catalog's first notes key), a subscription on the product's
 * plan; Stripe line items with the product's price, and session metadata naming it.
 */
export function catalogPurchase(
  catalog: Catalog,
  provider: PaymentProvider,
  request: CatalogPurchaseRequest,
): PurchaseSpec {
  const product = catalog.productById.get(request.productId);
  if (!product) {
    throw new Error(
      `"${request.productId}" is not a product of ${catalog.source}; it sells ${[...catalog.productById.keys()].join(', ')}`,
    );
  }
  const kinds = purchaseKinds[provider];
  if (!kinds.includes(request.kind)) {
    throw new Error(`${provider} purchases are ${kinds.join(', ')}; not "${request.kind}"`);
  }
  const currency = request.currency.toUpperCase();
  const price = product.prices[currency];
  const amountMinor = request.amountMinor ?? price;
  if (amountMinor === undefined) {
    throw new Error(
      `${product.id} has no ${currency} price in ${catalog.source}: pass --amount or another --currency`,
    );
  }
  const notes = { [catalog.trust.notesKeys[0] ?? 'product_id']: product.id };
  const base = {
    kind: request.kind,
    paymentId: request.paymentId,
    amountMinor,
    currency,
    customer: request.customer,
    charges: request.charges,
  };
  if (provider === 'razorpay') {
    const planId = product.razorpay.subscriptionPlanIds[0];
    if (request.kind === 'subscription' && !planId) {
      throw new Error(`${product.id} has no Razorpay subscription plan in ${catalog.source}`);
    }
    return {
      ...base,
      merchant: request.kind === 'subscription' ? { planId, notes } : { notes },
      buyer: request.buyerNotes ? { notes: request.buyerNotes } : undefined,
    };
  }
  const buyerReference = request.buyerNotes
    ? (request.buyerNotes.client_reference_id ?? Object.values(request.buyerNotes)[0])
    : undefined;
  return {
    ...base,
    merchant: {
      notes,
      lineItems: [
        {
          priceId: stripePriceFor(product, currency),
          productId: product.stripe.productIds[0] ?? `prod_${product.id.replace(/\W/g, '')}`,
          quantity: 1,
          unitAmountMinor: amountMinor,
        },
      ],
    },
    buyer: buyerReference ? { clientReferenceId: buyerReference } : undefined,
  };
}
