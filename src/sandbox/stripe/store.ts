/** The sandbox account's objects, by id, as the API serves them; forgotten on reset. */
import type Stripe from 'stripe';
import type { PurchaseDelivery } from '../../providers/purchase';

const idOf = (ref: string | { id: string } | null | undefined): string | undefined =>
  typeof ref === 'string' ? ref : ref?.id;

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
  readonly disputes = new Map<string, Stripe.Dispute>();
  /** Every event the account produced, delivered or not: listing them is how a lost webhook is found. */
  readonly events = new Map<string, Stripe.Event>();

  /** The bodies are Stripe event envelopes (`stripeEnvelope`), typed loosely by `PurchaseDelivery`. */
  recordEvents(deliveries: PurchaseDelivery[]): void {
    for (const d of deliveries) {
      const evt = d.body as Stripe.Event;
      this.events.set(evt.id, evt);
    }
  }

  /**
   * The intent and charge behind a payment as enrollflow keys it: a PaymentIntent, or the invoice a
   * subscription charge paid (then the intent that paid it).
   */
  chargeOf(paymentId: string): { intent: Stripe.PaymentIntent; charge: Stripe.Charge } | undefined {
    const paidBy = [...this.invoicePayments.values()].find((p) => idOf(p.invoice) === paymentId);
    const intentId = paymentId.startsWith('in_') ? idOf(paidBy?.payment.payment_intent) : paymentId;
    const intent = intentId === undefined ? undefined : this.paymentIntents.get(intentId);
    const chargeId = idOf(intent?.latest_charge);
    const charge = chargeId === undefined ? undefined : this.charges.get(chargeId);
    return intent && charge ? { intent, charge } : undefined;
  }

  /** The id enrollflow keys an intent's payment by: the invoice it paid, if it paid one, else the intent. */
  paymentKeyOf(intentId: string): string {
    const paid = [...this.invoicePayments.values()].find((p) => idOf(p.payment.payment_intent) === intentId);
    return idOf(paid?.invoice) ?? intentId;
  }

  /** The invoice a subscription's first paid charge paid: what its enrollment is keyed by. */
  firstPaidInvoiceOf(subscriptionId: string): string | undefined {
    return [...this.invoices.values()]
      .filter(
        (inv) =>
          inv.amount_paid > 0 && idOf(inv.parent?.subscription_details?.subscription) === subscriptionId,
      )
      .sort((a, b) => a.created - b.created)[0]?.id;
  }

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
      this.disputes,
      this.events,
    ] as Map<string, unknown>[])
      map.clear();
  }
}
