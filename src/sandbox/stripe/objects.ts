/**
 * Builders of the Stripe API objects the sandbox serves, typed with the official SDK's types for the
 * pinned API version, so a field Stripe added, moved or removed in that version fails the type check
 * here instead of surprising the confirmation client against the real API.
 */
import type Stripe from 'stripe';
import { derivedAlphanumeric } from '../../providers/fixture';
import { derivedStripeId } from '../../providers/stripe/fixtures';

/** Who pays, as the merchant's checkout collected them. */
export interface Buyer {
  email: string | null;
  name: string | null;
  phone: string | null;
}

/** One priced item of a purchase. */
export interface Item {
  priceId: string;
  productId: string;
  quantity: number;
  unitAmountMinor: number;
}

// The wire carries decimals as strings; the SDK's type names the value it coerces them into.
const decimal = (n: number) => String(n) as unknown as Stripe.Decimal;

/** An id derived from a seed, so one purchase's related objects are stable across calls. */
export const derivedId = derivedStripeId;

export function emptyList<T>(url: string, data: T[] = []): Stripe.ApiList<T> {
  return { object: 'list', data, has_more: false, url };
}

export function price(item: Item, currency: string, created: number, recurring: boolean): Stripe.Price {
  return {
    id: item.priceId,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created,
    currency,
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product: item.productId,
    recurring: recurring
      ? { interval: 'month', interval_count: 1, meter: null, trial_period_days: null, usage_type: 'licensed' }
      : null,
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: recurring ? 'recurring' : 'one_time',
    unit_amount: item.unitAmountMinor,
    unit_amount_decimal: decimal(item.unitAmountMinor),
  };
}

export function checkoutLineItem(
  item: Item,
  index: number,
  sessionId: string,
  currency: string,
  created: number,
  recurring: boolean,
): Stripe.LineItem {
  const amount = item.unitAmountMinor * item.quantity;
  return {
    id: derivedId('li_', `${sessionId}:${index}`),
    object: 'item',
    adjustable_quantity: null,
    amount_discount: 0,
    amount_subtotal: amount,
    amount_tax: 0,
    amount_total: amount,
    currency,
    description: `Product ${item.productId}`,
    metadata: {},
    price: price(item, currency, created, recurring),
    quantity: item.quantity,
  };
}

export function customer(id: string, buyer: Buyer, created: number): Stripe.Customer {
  return {
    id,
    object: 'customer',
    address: null,
    balance: 0,
    created,
    currency: null,
    default_source: null,
    delinquent: false,
    description: null,
    email: buyer.email,
    invoice_prefix: derivedAlphanumeric(`prefix:${id}`, 8).toUpperCase(),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: false,
    metadata: {},
    name: buyer.name,
    next_invoice_sequence: 1,
    phone: buyer.phone,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
}

export interface SessionInput {
  id: string;
  mode: 'payment' | 'subscription';
  amountMinor: number;
  currency: string;
  created: number;
  customerId: string;
  buyer: Buyer;
  metadata: Record<string, string>;
  clientReferenceId: string | null;
  paymentIntentId: string | null;
  invoiceId: string | null;
  subscriptionId: string | null;
}

/** A completed, paid Checkout Session; line items are served separately, as Stripe does. */
export function checkoutSession(s: SessionInput): Stripe.Checkout.Session {
  return {
    id: s.id,
    object: 'checkout.session',
    adaptive_pricing: s.mode === 'payment' ? { enabled: false } : null,
    after_expiration: null,
    allow_promotion_codes: null,
    allowed_payment_method_types: null,
    amount_subtotal: s.amountMinor,
    amount_total: s.amountMinor,
    automatic_tax: { enabled: false, liability: null, provider: null, status: null },
    billing_address_collection: null,
    cancel_url: 'https://courses.example.com/checkout/cancelled',
    client_reference_id: s.clientReferenceId,
    client_secret: null,
    collected_information: null,
    consent: null,
    consent_collection: null,
    created: s.created,
    currency: s.currency,
    currency_conversion: null,
    custom_fields: [],
    custom_text: {
      after_submit: null,
      shipping_address: null,
      submit: null,
      terms_of_service_acceptance: null,
    },
    customer: s.customerId,
    customer_account: null,
    customer_creation: s.mode === 'payment' ? 'always' : null,
    customer_details: {
      address: null,
      business_name: null,
      email: s.buyer.email,
      individual_name: null,
      name: s.buyer.name,
      phone: s.buyer.phone,
      tax_exempt: 'none',
      tax_ids: [],
    },
    customer_email: null,
    discounts: [],
    expires_at: s.created + 86_400,
    integration_identifier: null,
    invoice: s.invoiceId,
    invoice_creation:
      s.mode === 'payment'
        ? {
            enabled: false,
            invoice_data: {
              account_tax_ids: null,
              custom_fields: null,
              description: null,
              footer: null,
              issuer: null,
              metadata: {},
              rendering_options: null,
            },
          }
        : null,
    livemode: false,
    locale: null,
    managed_payments: null,
    metadata: s.metadata,
    mode: s.mode,
    origin_context: null,
    payment_intent: s.paymentIntentId,
    payment_link: null,
    payment_method_collection: s.mode === 'subscription' ? 'always' : null,
    payment_method_configuration_details: null,
    payment_method_options: { card: { request_three_d_secure: 'automatic' } },
    payment_method_types: ['card'],
    // A trial's Checkout collects a card but takes no money.
    payment_status: s.amountMinor === 0 ? 'no_payment_required' : 'paid',
    permissions: null,
    phone_number_collection: { enabled: s.buyer.phone !== null },
    recovered_from: null,
    saved_payment_method_options: null,
    setup_intent: null,
    shipping_address_collection: null,
    shipping_cost: null,
    shipping_options: [],
    status: 'complete',
    submit_type: null,
    subscription: s.subscriptionId,
    success_url: 'https://courses.example.com/checkout/success?session_id={CHECKOUT_SESSION_ID}',
    total_details: { amount_discount: 0, amount_shipping: 0, amount_tax: 0 },
    ui_mode: 'hosted',
    url: null,
    wallet_options: null,
  };
}

export interface PaymentIntentInput {
  id: string;
  amountMinor: number;
  currency: string;
  created: number;
  customerId: string;
  chargeId: string;
  paymentMethodId: string;
  buyer: Buyer;
  metadata: Record<string, string>;
  description: string | null;
}

export function paymentIntent(p: PaymentIntentInput): Stripe.PaymentIntent {
  return {
    id: p.id,
    object: 'payment_intent',
    allowed_payment_method_types: null,
    amount: p.amountMinor,
    amount_capturable: 0,
    amount_details: { tip: {} },
    amount_received: p.amountMinor,
    application: null,
    application_fee_amount: null,
    automatic_payment_methods: null,
    canceled_at: null,
    cancellation_reason: null,
    capture_method: 'automatic_async',
    client_secret: `${p.id}_secret_${derivedAlphanumeric(`secret:${p.id}`, 25)}`,
    confirmation_method: 'automatic',
    created: p.created,
    currency: p.currency,
    customer: p.customerId,
    customer_account: null,
    description: p.description,
    excluded_payment_method_types: null,
    last_payment_error: null,
    latest_charge: p.chargeId,
    livemode: false,
    managed_payments: null,
    metadata: p.metadata,
    next_action: null,
    on_behalf_of: null,
    payment_method: p.paymentMethodId,
    payment_method_configuration_details: null,
    payment_method_options: {
      card: {
        installments: null,
        mandate_options: null,
        network: null,
        request_three_d_secure: 'automatic',
      },
    },
    payment_method_types: ['card'],
    payment_record: null,
    processing: null,
    receipt_email: null,
    review: null,
    setup_future_usage: null,
    shipping: null,
    source: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export function charge(p: PaymentIntentInput): Stripe.Charge {
  return {
    id: p.chargeId,
    object: 'charge',
    amount: p.amountMinor,
    amount_captured: p.amountMinor,
    amount_refunded: 0,
    application: null,
    application_fee: null,
    application_fee_amount: null,
    balance_transaction: derivedId('txn_', p.id),
    billing_details: {
      address: null,
      email: p.buyer.email,
      name: p.buyer.name,
      phone: p.buyer.phone,
      tax_id: null,
    },
    calculated_statement_descriptor: 'ENROLLFLOW COURSES',
    captured: true,
    created: p.created,
    currency: p.currency,
    customer: p.customerId,
    description: p.description,
    disputed: false,
    failure_balance_transaction: null,
    failure_code: null,
    failure_message: null,
    fraud_details: {},
    livemode: false,
    metadata: {},
    on_behalf_of: null,
    outcome: {
      advice_code: null,
      network_advice_code: null,
      network_decline_code: null,
      network_status: 'approved_by_network',
      reason: null,
      risk_level: 'normal',
      seller_message: 'Payment complete.',
      type: 'authorized',
    },
    paid: true,
    payment_intent: p.id,
    payment_method: p.paymentMethodId,
    payment_method_details: null,
    receipt_email: null,
    receipt_number: null,
    receipt_url: null,
    refunded: false,
    review: null,
    shipping: null,
    source: null,
    source_transfer: null,
    statement_descriptor: null,
    statement_descriptor_suffix: null,
    status: 'succeeded',
    transfer_data: null,
    transfer_group: null,
  };
}

export interface InvoiceInput {
  id: string;
  number: string;
  billingReason: 'subscription_create' | 'subscription_cycle' | 'manual';
  amountMinor: number;
  currency: string;
  created: number;
  customerId: string;
  buyer: Buyer;
  items: Item[];
  metadata: Record<string, string>;
  /** The subscription the invoice bills, with the metadata the subscription had when it was created. */
  subscription: { id: string; itemIds: string[]; metadata: Record<string, string> } | null;
  period: { start: number; end: number };
}

export function invoiceLine(inv: InvoiceInput, item: Item, index: number): Stripe.InvoiceLineItem {
  const amount = item.unitAmountMinor * item.quantity;
  const sub = inv.subscription;
  const itemDetails = sub
    ? {
        invoice_item_details: null,
        subscription_item_details: {
          invoice_item: null,
          proration: false,
          proration_details: { credited_items: null },
          subscription: sub.id,
          subscription_item: sub.itemIds[index] ?? derivedId('si_', `${sub.id}:${index}`, 14),
        },
        type: 'subscription_item_details',
      }
    : {
        invoice_item_details: {
          invoice_item: derivedId('ii_', `${inv.id}:${index}`),
          proration: false,
          proration_details: { credited_items: null },
          subscription: null,
        },
        subscription_item_details: null,
        type: 'invoice_item_details',
      };
  return {
    id: derivedId('il_', `${inv.id}:${index}`),
    object: 'line_item',
    amount,
    currency: inv.currency,
    description: `${item.quantity} × Product ${item.productId}`,
    discount_amounts: [],
    discountable: true,
    discounts: [],
    invoice: inv.id,
    livemode: false,
    metadata: {},
    parent: itemDetails,
    period: inv.period,
    pretax_credit_amounts: [],
    pricing: {
      price_details: { price: item.priceId, product: item.productId },
      type: 'price_details',
      unit_amount_decimal: decimal(item.unitAmountMinor),
    },
    quantity: item.quantity,
    quantity_decimal: decimal(item.quantity),
    subscription: sub?.id ?? null,
    subtotal: amount,
    taxes: [],
  };
}

/** A paid invoice; `payments` is includable (`expand[]=payments`), so it is left out here. */
export function invoice(inv: InvoiceInput): Stripe.Invoice {
  const paidAt = inv.created + 60;
  const lines = inv.items.map((item, i) => invoiceLine(inv, item, i));
  return {
    id: inv.id,
    object: 'invoice',
    account_country: 'IN',
    account_name: 'Enrollflow Courses',
    account_tax_ids: null,
    amount_due: inv.amountMinor,
    amount_overpaid: 0,
    amount_paid: inv.amountMinor,
    amount_remaining: 0,
    amount_shipping: 0,
    application: null,
    attempt_count: 1,
    attempted: true,
    auto_advance: false,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null, provider: null, status: null },
    automatically_finalizes_at: null,
    billing_reason: inv.billingReason,
    collection_method: 'charge_automatically',
    created: inv.created,
    currency: inv.currency,
    custom_fields: null,
    customer: inv.customerId,
    customer_account: null,
    customer_address: null,
    customer_email: inv.buyer.email,
    customer_name: inv.buyer.name,
    customer_phone: inv.buyer.phone,
    customer_shipping: null,
    customer_tax_exempt: 'none',
    customer_tax_ids: [],
    default_payment_method: null,
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    due_date: null,
    effective_at: inv.created,
    ending_balance: 0,
    footer: null,
    from_invoice: null,
    hosted_invoice_url: `https://invoice.stripe.com/i/acct_test/${derivedAlphanumeric(`hosted:${inv.id}`, 40)}`,
    invoice_pdf: `https://pay.stripe.com/invoice/acct_test/${derivedAlphanumeric(`hosted:${inv.id}`, 40)}/pdf`,
    issuer: { type: 'self' },
    last_finalization_error: null,
    latest_revision: null,
    lines: emptyList(`/v1/invoices/${inv.id}/lines`, lines),
    livemode: false,
    metadata: inv.metadata,
    next_payment_attempt: null,
    number: inv.number,
    on_behalf_of: null,
    parent: inv.subscription
      ? {
          quote_details: null,
          subscription_details: { metadata: inv.subscription.metadata, subscription: inv.subscription.id },
          type: 'subscription_details',
        }
      : null,
    payment_settings: { default_mandate: null, payment_method_options: null, payment_method_types: null },
    period_end: inv.period.end,
    period_start: inv.period.start,
    post_payment_credit_notes_amount: 0,
    pre_payment_credit_notes_amount: 0,
    receipt_number: null,
    rendering: null,
    shipping_cost: null,
    shipping_details: null,
    starting_balance: 0,
    statement_descriptor: null,
    status: 'paid',
    status_transitions: {
      finalized_at: inv.created,
      marked_uncollectible_at: null,
      paid_at: paidAt,
      voided_at: null,
    },
    subtotal: inv.amountMinor,
    subtotal_excluding_tax: inv.amountMinor,
    test_clock: null,
    total: inv.amountMinor,
    total_discount_amounts: [],
    total_excluding_tax: inv.amountMinor,
    total_pretax_credit_amounts: [],
    total_taxes: [],
    webhooks_delivered_at: inv.created,
  };
}

export function invoicePayment(
  inv: Stripe.Invoice,
  paymentIntentId: string,
  created: number,
): Stripe.InvoicePayment {
  return {
    id: derivedId('inpay_', inv.id),
    object: 'invoice_payment',
    amount_paid: inv.amount_paid,
    amount_requested: inv.amount_due,
    created,
    currency: inv.currency,
    invoice: inv.id,
    is_default: true,
    livemode: false,
    payment: { payment_intent: paymentIntentId, type: 'payment_intent' },
    status: 'paid',
    status_transitions: { canceled_at: null, paid_at: created },
  };
}

export interface SubscriptionInput {
  id: string;
  customerId: string;
  currency: string;
  created: number;
  items: Item[];
  itemIds: string[];
  latestInvoiceId: string;
  metadata: Record<string, string>;
  period: { start: number; end: number };
}

export function subscription(s: SubscriptionInput): Stripe.Subscription {
  const items: Stripe.SubscriptionItem[] = s.items.map((item, i) => ({
    id: s.itemIds[i]!,
    object: 'subscription_item',
    billing_thresholds: null,
    created: s.created,
    current_trial: null,
    current_period_end: s.period.end,
    current_period_start: s.period.start,
    discounts: [],
    metadata: {},
    plan: {
      id: item.priceId,
      object: 'plan',
      active: true,
      amount: item.unitAmountMinor,
      amount_decimal: decimal(item.unitAmountMinor),
      billing_scheme: 'per_unit',
      created: s.created,
      currency: s.currency,
      interval: 'month',
      interval_count: 1,
      livemode: false,
      metadata: {},
      meter: null,
      nickname: null,
      product: item.productId,
      tiers_mode: null,
      transform_usage: null,
      trial_period_days: null,
      usage_type: 'licensed',
    },
    price: price(item, s.currency, s.created, true),
    quantity: item.quantity,
    subscription: s.id,
    tax_rates: [],
  }));
  return {
    id: s.id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: s.created,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'classic' },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: null,
    cancellation_details: { comment: null, feedback: null, feedback_option: null, reason: null },
    collection_method: 'charge_automatically',
    created: s.created,
    currency: s.currency,
    customer: s.customerId,
    customer_account: null,
    days_until_due: null,
    default_payment_method: derivedId('pm_', s.id),
    default_source: null,
    default_tax_rates: [],
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: 'self' },
    },
    items: emptyList(`/v1/subscription_items?subscription=${s.id}`, items),
    latest_invoice: s.latestInvoiceId,
    livemode: false,
    managed_payments: null,
    metadata: s.metadata,
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: {
      payment_method_options: null,
      payment_method_types: null,
      save_default_payment_method: 'off',
    },
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: s.created,
    status: 'active',
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: {
      end_behavior: { billing_cycle_anchor: null, missing_payment_method: 'create_invoice' },
    },
    trial_start: null,
  };
}
