/** The sandbox account's objects, by id, as the API serves them; forgotten on reset. */
import type Stripe from 'stripe';

export class StripeStore {
  readonly sessions = new Map<string, Stripe.Checkout.Session>();
  readonly sessionLineItems = new Map<string, Stripe.LineItem[]>();
  readonly paymentIntents = new Map<string, Stripe.PaymentIntent>();
  readonly invoices = new Map<string, Stripe.Invoice>();
  readonly invoicePayments = new Map<string, Stripe.InvoicePayment>();
  readonly customers = new Map<string, Stripe.Customer>();
  readonly charges = new Map<string, Stripe.Charge>();
  readonly subscriptions = new Map<string, Stripe.Subscription>();
  readonly refunds = new Map<string, Stripe.Refund>();

  clear(): void {
    for (const map of [
      this.sessions,
      this.sessionLineItems,
      this.paymentIntents,
      this.invoices,
      this.invoicePayments,
      this.customers,
      this.charges,
      this.subscriptions,
      this.refunds,
    ] as Map<string, unknown>[])
      map.clear();
  }
}
