/**
 * The sandbox Razorpay account's records, as its API returns them. Entities are stored whole and
 * handed out as copies, so a caller cannot change what the next request reads.
 */
import type {
  RazorpayDisputeEntity,
  RazorpayInvoiceEntity,
  RazorpayOrderEntity,
  RazorpayPaymentEntity,
  RazorpayPaymentLinkEntity,
  RazorpaySubscriptionEntity,
} from '../../providers/razorpay/entities';
import type { RazorpayRefundEntity } from '../../providers/razorpay/fixtures';

export interface RazorpayRecords {
  payments: RazorpayPaymentEntity[];
  orders: RazorpayOrderEntity[];
  paymentLinks: RazorpayPaymentLinkEntity[];
  subscriptions: RazorpaySubscriptionEntity[];
  invoices: RazorpayInvoiceEntity[];
  disputes: RazorpayDisputeEntity[];
}

export class RazorpayStore {
  private readonly payments = new Map<string, RazorpayPaymentEntity>();
  private readonly orders = new Map<string, RazorpayOrderEntity>();
  private readonly paymentLinks = new Map<string, RazorpayPaymentLinkEntity>();
  private readonly subscriptions = new Map<string, RazorpaySubscriptionEntity>();
  private readonly invoices = new Map<string, RazorpayInvoiceEntity>();
  private readonly refunds = new Map<string, RazorpayRefundEntity>();
  private readonly disputes = new Map<string, RazorpayDisputeEntity>();
  /** Payment ids per order: the confirm step asks for an order's payments on every payment. */
  private readonly paymentsByOrder = new Map<string, Set<string>>();

  /** Whether any of these ids is taken: a purchase is stored whole or not at all. */
  holdsAny(ids: string[]): boolean {
    return ids.some(
      (id) =>
        this.payments.has(id) ||
        this.orders.has(id) ||
        this.paymentLinks.has(id) ||
        this.subscriptions.has(id) ||
        this.invoices.has(id) ||
        this.disputes.has(id),
    );
  }

  /** Stores new records, or replaces stored ones by id with how they now stand. */
  add(records: Partial<RazorpayRecords>): void {
    for (const p of records.payments ?? []) {
      this.payments.set(p.id, structuredClone(p));
      if (p.order_id) {
        const ids = this.paymentsByOrder.get(p.order_id) ?? new Set<string>();
        this.paymentsByOrder.set(p.order_id, ids.add(p.id));
      }
    }
    for (const o of records.orders ?? []) this.orders.set(o.id, structuredClone(o));
    for (const l of records.paymentLinks ?? []) this.paymentLinks.set(l.id, structuredClone(l));
    for (const s of records.subscriptions ?? []) this.subscriptions.set(s.id, structuredClone(s));
    for (const i of records.invoices ?? []) this.invoices.set(i.id, structuredClone(i));
    for (const d of records.disputes ?? []) this.disputes.set(d.id, structuredClone(d));
  }

  payment = (id: string) => copy(this.payments.get(id));
  order = (id: string) => copy(this.orders.get(id));
  paymentLink = (id: string) => copy(this.paymentLinks.get(id));
  subscription = (id: string) => copy(this.subscriptions.get(id));
  invoice = (id: string) => copy(this.invoices.get(id));

  refund = (id: string) => copy(this.refunds.get(id));
  refundsOf = (paymentId: string): RazorpayRefundEntity[] =>
    [...this.refunds.values()].filter((r) => r.payment_id === paymentId).map((r) => structuredClone(r));

  /** A refund and the payment as it now stands (amount_refunded, refund_status, status). */
  addRefund(refund: RazorpayRefundEntity, payment: RazorpayPaymentEntity): void {
    this.refunds.set(refund.id, structuredClone(refund));
    this.payments.set(payment.id, structuredClone(payment));
  }

  dispute = (id: string) => copy(this.disputes.get(id));
  disputesOf = (paymentId: string): RazorpayDisputeEntity[] =>
    [...this.disputes.values()].filter((d) => d.payment_id === paymentId).map((d) => structuredClone(d));

  /** The payment a subscription's first charge made: what its enrollment is keyed by. */
  firstPaymentOf(subscriptionId: string): string | undefined {
    const invoices = [...this.invoices.values()].filter((i) => i.subscription_id === subscriptionId);
    return invoices.sort((a, b) => a.created_at - b.created_at)[0]?.payment_id;
  }

  paymentsOfOrder = (orderId: string): RazorpayPaymentEntity[] =>
    [...(this.paymentsByOrder.get(orderId) ?? [])]
      .map((id) => this.payments.get(id))
      .filter((p): p is RazorpayPaymentEntity => p?.order_id === orderId)
      .map((p) => structuredClone(p));
  allPayments = (): RazorpayPaymentEntity[] => [...this.payments.values()].map((p) => structuredClone(p));
  allPaymentLinks = (): RazorpayPaymentLinkEntity[] =>
    [...this.paymentLinks.values()].map((l) => structuredClone(l));
  allInvoices = (): RazorpayInvoiceEntity[] => [...this.invoices.values()].map((i) => structuredClone(i));
  allRefunds = (): RazorpayRefundEntity[] => [...this.refunds.values()].map((r) => structuredClone(r));

  clear(): void {
    this.payments.clear();
    this.orders.clear();
    this.paymentLinks.clear();
    this.subscriptions.clear();
    this.invoices.clear();
    this.paymentsByOrder.clear();
    this.refunds.clear();
    this.disputes.clear();
  }
}

const copy = <T>(value: T | undefined): T | undefined =>
  value === undefined ? undefined : structuredClone(value);
