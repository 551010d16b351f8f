import { randomAlphanumeric } from '../fixture';

/** Payments are keyed by the PaymentIntent id: a checkout session and its intent share one workflow. */
export const PAYMENT_ID_PREFIX = 'pi_';

/** Ids an operator may copy from the Stripe dashboard that are not the key of a payment workflow. */
export const notPaymentIds = [
  [
    'cs_',
    'a Stripe Checkout Session id; payments are keyed by the PaymentIntent id (pi_...) shown on the session',
  ],
  ['ch_', 'a Stripe Charge id; payments are keyed by the PaymentIntent id (pi_...) shown on the charge'],
] as const;

/** `pi_` + 24 alphanumerics. */
export const newStripePaymentId = (): string => `${PAYMENT_ID_PREFIX}${randomAlphanumeric(24)}`;
