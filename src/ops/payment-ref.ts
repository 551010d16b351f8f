/**
 * What an operator types to name a payment: the provider's payment id (`pay_...`, `pi_...`), or the
 * workflow id itself (`payment-<provider>-<payment id>`, as the Web UI and `temporal` show it).
 */
import { paymentProviders, type PaymentProvider } from '../shared/payment-event';
import { enrollmentWorkflowId } from '../shared/workflow-id';
import { UsageError } from './errors';

export interface PaymentRef {
  provider: PaymentProvider;
  paymentId: string;
  workflowId: string;
}

/** Payment id prefixes, as the providers issue them. Our workflow ids use exactly these ids. */
const PROVIDER_OF_PREFIX: ReadonlyArray<[prefix: string, provider: PaymentProvider]> = [
  ['pay_', 'razorpay'],
  ['pi_', 'stripe'],
];

/** Ids an operator is likely to copy from a dashboard that are not the key of a payment workflow. */
const NOT_PAYMENT_IDS: ReadonlyArray<[prefix: string, hint: string]> = [
  [
    'cs_',
    'a Stripe Checkout Session id; payments are keyed by the PaymentIntent id (pi_...) shown on the session',
  ],
  ['ch_', 'a Stripe Charge id; payments are keyed by the PaymentIntent id (pi_...) shown on the charge'],
  ['order_', 'a Razorpay order id; payments are keyed by the payment id (pay_...) shown on the order'],
  ['evt_', 'a webhook event id; payments are keyed by the payment id (pay_... or pi_...)'],
];

const ID = /^[A-Za-z0-9_]{1,64}$/;
const WORKFLOW_ID = new RegExp(`^payment-(${paymentProviders.join('|')})-([A-Za-z0-9_]{1,64})$`);

export function isPaymentProvider(value: string): value is PaymentProvider {
  return (paymentProviders as readonly string[]).includes(value);
}

export function parsePaymentRef(input: string, provider?: string): PaymentRef {
  const text = input.trim();
  if (provider !== undefined && !isPaymentProvider(provider)) {
    throw new UsageError(
      `unknown provider "${provider}": valid providers are ${paymentProviders.join(', ')}`,
    );
  }
  const full = WORKFLOW_ID.exec(text);
  if (full) {
    const [, fromId, paymentId] = full as unknown as [string, PaymentProvider, string];
    if (provider && provider !== fromId) {
      throw new UsageError(`--provider ${provider} contradicts the workflow id ${text}`);
    }
    return { provider: fromId, paymentId, workflowId: text };
  }
  if (!ID.test(text)) {
    throw new UsageError(
      `"${text}" is neither a payment id (pay_..., pi_...) nor a payment workflow id (payment-<provider>-<payment id>)`,
    );
  }
  const known = PROVIDER_OF_PREFIX.find(([prefix]) => text.startsWith(prefix))?.[1];
  const chosen = provider ?? known;
  if (!chosen) {
    const hint = NOT_PAYMENT_IDS.find(([prefix]) => text.startsWith(prefix))?.[1];
    throw new UsageError(
      hint
        ? `"${text}" is ${hint}`
        : `cannot tell the provider of "${text}": pass --provider ${paymentProviders.join('|')} or the full workflow id payment-<provider>-<payment id>`,
    );
  }
  return { provider: chosen, paymentId: text, workflowId: enrollmentWorkflowId(chosen, text) };
}
