/**
 * A purchase as the sandbox provider plays it: the merchant-side object (order, payment link,
 * subscription, checkout session, invoice) with what the merchant's server wrote on it, what a buyer's
 * browser added, and the payment(s) that paid it. `npm run send` and the tests describe a purchase with
 * this, the sandbox creates and pays it (`POST /_sandbox/<provider>/purchases`) and answers with the
 * webhook bodies the provider would deliver for it, which the caller signs and delivers.
 */

export interface PurchaseSpec {
  /** Razorpay: `order` | `payment-link` | `subscription`; Stripe: `checkout` | `subscription` | `invoice`. */
  kind: string;
  /** Use this payment id (`pay_...`, `pi_...`) for the (first) payment; default a fresh one. */
  paymentId?: string;
  /** What the merchant object asks and the payment takes, in minor units. */
  amountMinor: number;
  /** ISO 4217. */
  currency: string;
  /** The buyer as the provider records them; `null` leaves a field out. */
  customer: { email?: string | null; name?: string | null; phone?: string | null };
  /** What the merchant's server wrote. */
  merchant: {
    /** Razorpay order / payment link / subscription notes; Stripe session (and payment intent / invoice) metadata. */
    notes?: Record<string, string>;
    /** Razorpay subscription plan (`plan_...`). */
    planId?: string;
    /** Stripe line items; their unit amounts times quantities should add up to `amountMinor`. */
    lineItems?: Array<{ priceId: string; productId: string; quantity: number; unitAmountMinor: number }>;
  };
  /** What the buyer's browser added: Razorpay payment notes (checkout.js), Stripe `client_reference_id`. */
  buyer?: { notes?: Record<string, string>; clientReferenceId?: string };
  /** Razorpay order with `partial_payment: true`: the amounts of its payments, in order (they add up to `amountMinor`). */
  partialPayments?: number[];
  /** Razorpay: a standard order paid in full twice (a second tab, a late authorisation captured). */
  paidTwice?: boolean;
  /** Subscriptions: how many charges have been paid (1 = the first only); each later one is a renewal. */
  charges?: number;
  /** Stripe subscriptions: a free trial of this many days first (a $0 invoice), then the charges. */
  trialDays?: number;
  /** Unix seconds of the payment (default now). */
  createdAt?: number;
}

export interface PurchaseDelivery {
  /** The event type, e.g. `payment.captured`, `invoice.paid`. */
  eventType: string;
  /** The webhook body exactly as the provider would send it (the caller serialises and signs it). */
  body: object;
}

export interface PurchaseResult {
  /** The payment id the workflow is keyed by for the (first) paid event. */
  paymentId: string;
  /** Every payment made (partial payments, subscription charges), in order. */
  paymentIds: string[];
  /** Ids of the merchant objects created: order, payment_link, subscription, checkout_session, invoice, customer. */
  references: Record<string, string>;
  /** The webhooks the provider sends for this purchase, in the order it sends them. */
  deliveries: PurchaseDelivery[];
}
