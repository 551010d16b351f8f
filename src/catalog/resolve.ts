/**
 * What a payment bought, decided from the provider's own records and the catalog: grant these
 * courses, or nothing by design (renewal, partial payment, handled by another workflow), or a person
 * must look. The webhook that started the workflow is not consulted: anything in it could be forged
 * or stale, while the record was read from the provider's API. Pure: the same record and catalog
 * always give the same answer, and review reasons are written for the operator who reads them.
 */
import { formatAmount } from '../domain/money';
import {
  claimSources,
  type ClaimSource,
  type CourseGrant,
  type ProviderRecord,
  type PurchaseClaim,
  type Resolution,
} from '../domain/purchase';
import type { Catalog, CatalogProduct, Prices } from './load';

export interface ResolveOptions {
  /** A product (or course) id an operator named at review: granted without matching or price rules. */
  operatorProductId?: string;
  /** The mode this deployment runs in; a record of the other mode is never granted. */
  livemode?: boolean;
}

/** Notes and metadata hold anything; only values under the catalog's notesKeys name a product. */
const keyedSources: ReadonlySet<ClaimSource> = new Set<ClaimSource>([
  'razorpay.order_notes',
  'razorpay.payment_link_notes',
  'razorpay.subscription_notes',
  'razorpay.payment_notes',
  'stripe.metadata',
]);

const lineItemSources: ReadonlySet<ClaimSource> = new Set<ClaimSource>([
  'stripe.line_item_price',
  'stripe.line_item_product',
]);

const sourceWords: Record<ClaimSource, string> = {
  'razorpay.order_notes': 'order notes',
  'razorpay.payment_link': 'payment link',
  'razorpay.payment_link_notes': 'payment link notes',
  'razorpay.subscription_plan': 'subscription plan',
  'razorpay.subscription_notes': 'subscription notes',
  'razorpay.payment_notes': 'payment notes',
  'stripe.line_item_price': 'line item price',
  'stripe.line_item_product': 'line item product',
  'stripe.metadata': 'metadata',
  'stripe.client_reference_id': 'client_reference_id',
};

/** Why a buyer-set source is not believed, in the words an operator needs to see it is not a bug. */
const buyerDistrust: Partial<Record<ClaimSource, (value: string) => string>> = {
  'razorpay.payment_notes': (value) =>
    `payment notes name "${value}" but are written in the buyer's browser; not trusted`,
  'stripe.client_reference_id': (value) =>
    `client_reference_id names "${value}" but Payment Links take it from the URL; not trusted`,
};

interface Item {
  product: CatalogProduct;
  quantity: number;
}

type Step<T> = { ok: true; value: T } | { ok: false; resolution: Resolution };

const review = (reason: string): { ok: false; resolution: Resolution } => ({
  ok: false,
  resolution: { kind: 'review', reason },
});

/** `razorpay` -> `Razorpay`; a local rule so this module stays free of the provider registry's adapters. */
const providerWord = (provider: string): string => provider.charAt(0).toUpperCase() + provider.slice(1);

const isKnownSource = (source: string): source is ClaimSource => Object.hasOwn(claimSources, source);

const describeClaim = (claim: PurchaseClaim): string =>
  `${sourceWords[claim.source] ?? claim.source}${claim.key ? ` ${claim.key}` : ''} "${claim.value}"`;

/** A price only when the currency is the catalog's own key (never an inherited property). */
const priceIn = (prices: Prices, currency: string): number | undefined =>
  Object.hasOwn(prices, currency) ? prices[currency] : undefined;

/** The product a notes, metadata or client_reference_id value names: a product id, or a course's own product. */
const productNamed = (catalog: Catalog, value: string): CatalogProduct | undefined =>
  catalog.productById.get(value.trim()) ?? catalog.productByCourseId.get(value.trim());

function distrust(catalog: Catalog, claim: PurchaseClaim): string | undefined {
  if (!isKnownSource(claim.source)) return `unknown source ${String(claim.source)}`;
  if (claimSources[claim.source] === 'buyer' && !catalog.trust.buyerSources.some((s) => s === claim.source)) {
    return buyerDistrust[claim.source]?.(claim.value) ?? `${describeClaim(claim)} is buyer-set; not trusted`;
  }
  if (
    keyedSources.has(claim.source) &&
    (claim.key === undefined || !catalog.trust.notesKeys.includes(claim.key))
  ) {
    return `${sourceWords[claim.source]} key "${claim.key ?? ''}" names "${claim.value}" but trust.notesKeys does not list "${claim.key ?? ''}"`;
  }
  return undefined;
}

function fromLineItems(catalog: Catalog, claims: readonly PurchaseClaim[]): Step<Item[]> {
  const lineItems = new Map<number | string, { price?: PurchaseClaim; product?: PurchaseClaim }>();
  claims.forEach((claim, i) => {
    // A claim without an item index cannot be paired, so it stands alone.
    const key = claim.item ?? `alone-${i}`;
    const lineItem = lineItems.get(key) ?? {};
    if (claim.source === 'stripe.line_item_price') lineItem.price = claim;
    else lineItem.product = claim;
    lineItems.set(key, lineItem);
  });

  const items = new Map<string, Item>();
  for (const { price, product } of lineItems.values()) {
    const named = [
      price ? `price "${price.value}"` : undefined,
      product ? `product "${product.value}"` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const found =
      (price && catalog.productByStripePriceId.get(price.value)) ??
      (product && catalog.productByStripeProductId.get(product.value));
    if (!found)
      return review(
        `no catalog product for this purchase: the line item with ${named} is not in the catalog`,
      );
    const quantity = (price ?? product)?.quantity ?? 1;
    if (!Number.isInteger(quantity) || quantity < 1) {
      return review(`the line item with ${named} has quantity ${quantity}`);
    }
    const sum = items.get(found.id);
    items.set(found.id, { product: found, quantity: (sum?.quantity ?? 0) + quantity });
  }
  return { ok: true, value: [...items.values()] };
}

function fromOtherClaims(
  catalog: Catalog,
  claims: readonly PurchaseClaim[],
  hints: readonly string[],
): Step<Item[]> {
  const sourcesByProduct = new Map<string, { product: CatalogProduct; sources: Set<string> }>();
  const unmapped: PurchaseClaim[] = [];
  for (const claim of claims) {
    const product =
      claim.source === 'razorpay.subscription_plan'
        ? catalog.productByRazorpayPlanId.get(claim.value)
        : claim.source === 'razorpay.payment_link'
          ? catalog.productByPaymentLinkId.get(claim.value)
          : productNamed(catalog, claim.value);
    if (!product) {
      unmapped.push(claim);
      continue;
    }
    const entry = sourcesByProduct.get(product.id) ?? { product, sources: new Set<string>() };
    entry.sources.add(claim.source);
    sourcesByProduct.set(product.id, entry);
  }

  const matched = [...sourcesByProduct.values()];
  if (matched.length > 1) {
    const list = matched.map(({ product, sources }) => `${product.id} (${[...sources].join(', ')})`);
    return review(`conflicting products: ${list.join(', ')}`);
  }
  const [only] = matched;
  if (only) return { ok: true, value: [{ product: only.product, quantity: 1 }] };

  const seen = unmapped.map(describeClaim);
  const what =
    seen.length === 0
      ? 'it carries no trusted product claim'
      : `${seen.join(', ')} ${seen.length === 1 ? 'is' : 'are'} not in the catalog`;
  return review([`no catalog product for this purchase: ${what}`, ...hints].join('; '));
}

function matchProducts(catalog: Catalog, record: ProviderRecord): Step<Item[]> {
  const trusted: PurchaseClaim[] = [];
  const hints: string[] = [];
  for (const claim of record.claims) {
    const why = distrust(catalog, claim);
    if (why === undefined) trusted.push(claim);
    // Only a distrusted claim that named something sold is worth an operator's attention.
    else if (productNamed(catalog, claim.value) && !hints.includes(why)) hints.push(why);
  }
  const lineItems = trusted.filter((c) => lineItemSources.has(c.source));
  // The line items are what Stripe charged for; notes and metadata only describe the purchase.
  if (lineItems.length > 0) return fromLineItems(catalog, lineItems);
  return fromOtherClaims(
    catalog,
    trusted.filter((c) => !lineItemSources.has(c.source)),
    hints,
  );
}

function checkPrice(record: ProviderRecord, items: readonly Item[]): Step<number> {
  const currency = record.currency;
  let expected = 0;
  for (const { product, quantity } of items) {
    const price = priceIn(product.prices, currency);
    if (price === undefined) return review(`${product.id} has no ${currency || '(no currency)'} price`);
    expected += price * quantity;
  }
  const money = (minor: number) => formatAmount(minor, currency);
  const what = items
    .map(({ product, quantity }) => (quantity > 1 ? `${quantity} × ${product.id}` : product.id))
    .join(' + ');
  const order = record.order;
  const orderName = record.references.order ? `order ${record.references.order}` : 'the order';

  if (order?.partial) {
    if (order.amountMinor !== expected) {
      return review(
        `${orderName} is for ${money(order.amountMinor)} but the catalog price of ${what} is ${money(expected)}`,
      );
    }
    return { ok: true, value: expected };
  }
  if (record.amountMinor !== expected) {
    return review(`paid ${money(record.amountMinor)} but the catalog price of ${what} is ${money(expected)}`);
  }
  if (order && order.amountMinor !== record.amountMinor) {
    return review(`paid ${money(record.amountMinor)} but ${orderName} is for ${money(order.amountMinor)}`);
  }
  return { ok: true, value: expected };
}

function grant(items: readonly Item[], expectedMinor: number, overridden: boolean): Resolution {
  const products = items.map((i) => i.product);
  const courses: CourseGrant[] = [];
  for (const course of products.flatMap((p) => p.courses)) {
    if (courses.some((c) => c.courseId === course.id)) continue;
    courses.push({
      courseId: course.id,
      title: course.title,
      lmsCourseId: course.lmsCourseId,
      ...(course.welcomeTemplate === undefined ? {} : { welcomeTemplate: course.welcomeTemplate }),
    });
  }
  const [single] = products;
  const product =
    products.length === 1 && single
      ? { id: single.id, title: single.title }
      : { id: products.map((p) => p.id).join('+'), title: products.map((p) => p.title).join(' + ') };
  return {
    kind: 'grant',
    product,
    courses,
    expectedMinor,
    ...(overridden ? { overriddenBy: 'operator' as const } : {}),
  };
}

/** The rules, in order; the first that decides wins (docs in src/domain/purchase.ts and the tests). */
export function resolvePurchase(
  catalog: Catalog,
  record: ProviderRecord,
  options: ResolveOptions = {},
): Resolution {
  const provider = providerWord(record.provider);
  const payment = `payment ${record.paymentId}`;

  if (!record.found) return { kind: 'review', reason: `${provider} does not know ${payment}` };
  if (
    options.livemode !== undefined &&
    record.livemode !== undefined &&
    record.livemode !== options.livemode
  ) {
    const mode = (live: boolean) => (live ? 'live' : 'test');
    return {
      kind: 'review',
      reason: `${provider} ${payment} is a ${mode(record.livemode)}-mode payment, but this deployment runs in ${mode(options.livemode)} mode`,
    };
  }
  // Before the paid check: a fully refunded Razorpay payment is no longer `captured`. Whatever arrives
  // late for it (its own webhook, a redelivery), the money is back with the buyer.
  if (record.refund?.full) {
    return {
      kind: 'none',
      outcome: 'refunded',
      reason: `${provider} says ${payment} was refunded in full: nothing is granted`,
    };
  }
  if (!record.paid) {
    return { kind: 'review', reason: `${provider} says ${payment} is ${record.status}, not paid` };
  }
  if (record.handledElsewhere) {
    return { kind: 'none', outcome: 'handled_elsewhere', reason: record.handledElsewhere.reason };
  }
  if (record.subscription && !record.subscription.first) {
    return {
      kind: 'none',
      outcome: 'renewal',
      reason: `renewal charge of subscription ${record.subscription.id}: access continues`,
    };
  }
  // A chargeback before anything was granted: its own workflow found nothing to suspend or revoke.
  if (record.disputed && options.operatorProductId === undefined) {
    return {
      kind: 'review',
      reason: `${provider} says ${payment} is disputed by the buyer's bank: retry --product <product> grants it, abort grants nothing`,
    };
  }
  // Part of the money went back before anything was granted: whatever the product's partial-refund
  // policy, the refund's own workflow may have found nothing to apply it to, so a person decides.
  if (record.refund && options.operatorProductId === undefined) {
    return {
      kind: 'review',
      reason: `${provider} says ${payment} was partly refunded (${formatAmount(record.refund.refundedMinor, record.currency)} of ${formatAmount(record.amountMinor, record.currency)}) before it was granted: retry --product <product> grants it, abort grants nothing`,
    };
  }
  const order = record.order;
  if (order?.partial) {
    const name = record.references.order ? `order ${record.references.order}` : 'the order';
    if (order.amountDueMinor > 0) {
      const money = (minor: number) => formatAmount(minor, record.currency);
      return {
        kind: 'none',
        outcome: 'partial_payment',
        reason: `${name} is partly paid: ${money(order.amountDueMinor)} of ${money(order.amountMinor)} due`,
        moneyDue: true,
      };
    }
    if (!order.completedByThisPayment) {
      return { kind: 'none', outcome: 'partial_payment', reason: `another payment completed ${name}` };
    }
  } else if (order && !order.completedByThisPayment && options.operatorProductId === undefined) {
    // Granting it would grant the same order twice (a second welcome, a second CRM record); the
    // buyer is owed a refund, which is a person's decision.
    const name = record.references.order ? `order ${record.references.order}` : 'the order';
    return {
      kind: 'review',
      reason: `${name} was paid more than once: Razorpay holds another payment for it (refund the extra payments and abort; name the product on the one to grant)`,
    };
  }

  if (options.operatorProductId !== undefined) {
    const product = productNamed(catalog, options.operatorProductId);
    if (!product) {
      return {
        kind: 'review',
        reason: `the operator named product "${options.operatorProductId}", which is not in the catalog`,
      };
    }
    return grant([{ product, quantity: 1 }], 0, true);
  }

  const matched = matchProducts(catalog, record);
  if (!matched.ok) return matched.resolution;
  const price = checkPrice(record, matched.value);
  if (!price.ok) return price.resolution;
  return grant(matched.value, price.value, false);
}
