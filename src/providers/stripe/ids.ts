import { randomAlphanumeric } from '../fixture';

/** Payments are keyed by the PaymentIntent id: a checkout session and its intent share one workflow. */
export const PAYMENT_ID_PREFIX = 'pi_';
/** A subscription's payment is keyed by its invoice: the invoice is what `invoice.paid` and the session name. */
export const INVOICE_ID_PREFIX = 'in_';

/** Ids an operator may copy from the Stripe dashboard that are not the key of a payment workflow. */
export const notPaymentIds = [
  [
    'cs_',
    'a Stripe Checkout Session id; payments are keyed by the PaymentIntent id (pi_...) shown on the session, or by its invoice (in_...) for a subscription',
  ],
  ['ch_', 'a Stripe Charge id; payments are keyed by the PaymentIntent id (pi_...) shown on the charge'],
] as const;

/** `pi_` + 24 alphanumerics. */
export const newStripePaymentId = (): string => `${PAYMENT_ID_PREFIX}${randomAlphanumeric(24)}`;
