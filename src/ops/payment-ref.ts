/**
 * What an operator types to name a payment: the provider's payment id (`pay_...`, `pi_...`), or the
 * workflow id itself (`payment-<provider>-<payment id>`, as the Web UI and `temporal` show it). Which
 * prefix belongs to which provider, and which look-alike ids are not payments, is the registry's.
 */
import { enrollmentWorkflowId } from '../domain/ids';
import { isPaymentProvider, type PaymentProvider, providerNames, providers } from '../providers';
import { UsageError } from './errors';

export interface PaymentRef {
  provider: PaymentProvider;
  paymentId: string;
  workflowId: string;
}

const ID = /^[A-Za-z0-9_]{1,64}$/;
const WORKFLOW_ID = new RegExp(`^payment-(${providerNames.join('|')})-([A-Za-z0-9_]{1,64})$`);

const providerOfPrefix = (id: string): PaymentProvider | undefined =>
  providerNames.find((name) => providers[name].ids.paymentIdPrefixes.some((prefix) => id.startsWith(prefix)));

/** Why an id an operator copied from a dashboard does not key a payment workflow, when we know. */
const notPaymentHint = (id: string): string | undefined =>
  providerNames
    .flatMap((name): ReadonlyArray<readonly [string, string]> => providers[name].ids.notPaymentIds)
    .find(([prefix]) => id.startsWith(prefix))?.[1] ??
  (id.startsWith('evt_')
    ? `a webhook event id; payments are keyed by the payment id (${paymentIdExamples(' or ')})`
    : undefined);

const paymentIdExamples = (separator: string) =>
  providerNames
    .flatMap((name) => providers[name].ids.paymentIdPrefixes.map((prefix) => `${prefix}...`))
    .join(separator);

export function parsePaymentRef(input: string, provider?: string): PaymentRef {
  const text = input.trim();
  if (provider !== undefined && !isPaymentProvider(provider)) {
    throw new UsageError(`unknown provider "${provider}": valid providers are ${providerNames.join(', ')}`);
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
      `"${text}" is neither a payment id (${paymentIdExamples(', ')}) nor a payment workflow id (payment-<provider>-<payment id>)`,
    );
  }
  const chosen = provider ?? providerOfPrefix(text);
  if (!chosen) {
    const hint = notPaymentHint(text);
    throw new UsageError(
      hint
        ? `"${text}" is ${hint}`
        : `cannot tell the provider of "${text}": pass --provider ${providerNames.join('|')} or the full workflow id payment-<provider>-<payment id>`,
    );
  }
  return { provider: chosen, paymentId: text, workflowId: enrollmentWorkflowId(chosen, text) };
}
