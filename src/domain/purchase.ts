/**
 * What a provider's API says about one payment, in provider-neutral words, and what the catalog makes
 * of it. The webhook is only a trigger: the confirmation activity reads the provider's records (payment,
 * order, payment link, subscription, checkout session and its line items, invoice, customer) into a
 * `ProviderRecord`; the catalog (src/catalog) turns that record into a `Resolution`: what to grant, or
 * why a person must look, or why nothing is granted. Workflow-safe: plain data, no Node built-ins.
 */
import type { PaymentProvider } from './payment-event';

/**
 * Where a claim about what was bought comes from. Merchant-set sources are written by the merchant's
 * server with its secret key; buyer-set ones can be written by anyone who opens checkout (Razorpay
 * payment notes from checkout.js) or a URL (Stripe Payment Links' `client_reference_id`), so the
 * catalog trusts them only when it says so for that source.
 */
export const claimSources = {
  /** Notes of the Razorpay order the merchant's server created (one claim per string note). */
  'razorpay.order_notes': 'merchant',
  /** The Razorpay payment link id (`plink_...`). */
  'razorpay.payment_link': 'merchant',
  /** Notes of the Razorpay payment link. */
  'razorpay.payment_link_notes': 'merchant',
  /** The Razorpay subscription's plan id (`plan_...`). */
  'razorpay.subscription_plan': 'merchant',
  /** Notes of the Razorpay subscription. */
  'razorpay.subscription_notes': 'merchant',
  /** Notes on the Razorpay payment itself: checkout.js writes them in the buyer's browser. */
  'razorpay.payment_notes': 'buyer',
  /** A Stripe line item's price id (`price_...`), with its quantity; `item` groups one line item. */
  'stripe.line_item_price': 'merchant',
  /** A Stripe line item's product id (`prod_...`); `item` groups one line item. */
  'stripe.line_item_product': 'merchant',
  /** Metadata of the Stripe checkout session, payment intent, invoice or subscription. */
  'stripe.metadata': 'merchant',
  /** A Stripe checkout session's `client_reference_id`: Payment Links take it from the URL. */
  'stripe.client_reference_id': 'buyer',
} as const;

export type ClaimSource = keyof typeof claimSources;

export interface PurchaseClaim {
  source: ClaimSource;
  /** For notes and metadata: the key the value was found under (`product_id`...). */
  key?: string;
  /** A catalog product id (notes, metadata) or a provider id (price, product, plan, payment link). */
  value: string;
  /** Units bought (Stripe line items); 1 otherwise. */
  quantity: number;
  /** Stripe: the index of the line item the claim belongs to, so its price and product go together. */
  item?: number;
}

/** What kind of merchant object the payment paid for. */
export type PurchaseKind =
  'order' | 'payment_link' | 'subscription' | 'payment' | 'checkout' | 'invoice' | 'payment_intent';

export interface ProviderRecord {
  provider: PaymentProvider;
  /** The payment the workflow is keyed by (`pay_...`, `pi_...`, or `in_...` for an invoice without one). */
  paymentId: string;
  /** False when the provider answered 404: it does not know this payment (forged, wrong account or mode). */
  found: boolean;
  /** The provider's own word that the money was taken (Razorpay `captured`, Stripe `succeeded` / `paid`). */
  paid: boolean;
  /** The provider's status word, for review reasons (`captured`, `refunded`, `requires_payment_method`...). */
  status: string;
  /** What this payment took, in minor units; 0 when not found. */
  amountMinor: number;
  /** ISO 4217, upper case; '' when not found. */
  currency: string;
  /** Stripe: live or test mode of the objects read. */
  livemode?: boolean;
  kind: PurchaseKind;
  /** Ids of the merchant objects read, by what they are: order, payment_link, subscription, checkout_session, invoice, customer... */
  references: Record<string, string>;
  claims: PurchaseClaim[];
  /** Money the provider has given back on this payment so far; absent when none. */
  refund?: { refundedMinor: number; full: boolean };
  /** The buyer's bank has disputed the payment (a chargeback, open or decided). */
  disputed?: boolean;
  /** A Razorpay order the payment belongs to. */
  order?: {
    amountMinor: number;
    amountDueMinor: number;
    /** `partial_payment: true`: the order takes several payments and is paid when nothing is due. */
    partial: boolean;
    /** The order is fully paid and this payment is its last (latest) captured payment. */
    completedByThisPayment: boolean;
  };
  /** The payment is a subscription charge; `first` when it is the subscription's first paid charge. */
  subscription?: { id: string; first: boolean };
  /**
   * The payment is granted by another payment's workflow (a Stripe PaymentIntent that pays an invoice
   * is handled by the invoice's workflow). `key` is the other workflow's payment id.
   */
  handledElsewhere?: { key: string; reason: string };
  /** Who paid, as the provider recorded them. */
  customer: { email?: string; name?: string; phone?: string };
}

/** One course a purchase grants, with what the LMS and WhatsApp need of it. */
export interface CourseGrant {
  courseId: string;
  title: string;
  lmsCourseId: string;
  welcomeTemplate?: string;
}

/** Payments that grant nothing by design, and end without a review. */
export type NoGrantOutcome = 'renewal' | 'partial_payment' | 'handled_elsewhere' | 'refunded';

export type Resolution =
  | {
      kind: 'grant';
      product: { id: string; title: string };
      courses: CourseGrant[];
      /** The catalog price the amount was checked against (0 when an operator overrode the product). */
      expectedMinor: number;
      /** Set when an operator named the product: matching and price rules were not applied. */
      overriddenBy?: 'operator';
    }
  | { kind: 'review'; reason: string }
  | {
      kind: 'none';
      outcome: NoGrantOutcome;
      reason: string;
      /**
       * A Razorpay order taking partial payments with money still due: another payment may still be
       * captured (one created before this, captured after it), so asking again later may find it paid.
       */
      moneyDue?: true;
    };
