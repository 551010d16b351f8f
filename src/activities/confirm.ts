/**
 * The payment's first step: ask the provider, not the webhook. Reads the provider's records of the
 * payment (status, amount, currency, customer, and the merchant objects it paid for) and lets the
 * catalog decide what they grant. Only reads, so every failure that is not the provider refusing our
 * credentials is safe to retry.
 */
import type { WorkerConfig } from '../config';
import type { Catalog } from '../catalog';
import { resolvePurchase } from '../catalog';
import type { ProviderRecord } from '../domain/purchase';
import { currentAttempt } from './activity-context';
import type { ClassifyDeps, HttpDeps } from './http';
import { fetchRazorpayRecord } from './providers/razorpay';
import { fetchStripeRecord } from './providers/stripe';
import type { ConfirmPurchaseInput, ConfirmPurchaseResult } from './types';
import { confirmPurchaseInputSchema, parseInput } from './validation';

export type ProviderRecordReader = (
  input: Pick<ConfirmPurchaseInput, 'payment' | 'references'>,
) => Promise<ProviderRecord>;

/** One reader per provider in the registry; the compiler checks none is missing. */
export function providerRecordReader(
  config: WorkerConfig,
  http: HttpDeps & ClassifyDeps,
): ProviderRecordReader {
  const readers: Record<ConfirmPurchaseInput['payment']['provider'], ProviderRecordReader> = {
    razorpay: ({ payment, references }) => fetchRazorpayRecord(config, http, payment.paymentId, references),
    stripe: ({ payment, references }) =>
      fetchStripeRecord(config, payment.paymentId, references, http.logger),
  };
  return (input) => readers[input.payment.provider](input);
}

export interface ConfirmDeps {
  catalog: Catalog;
  readRecord: ProviderRecordReader;
  /** Stripe's `livemode` every confirmed payment must have (STRIPE_LIVEMODE). */
  livemode?: boolean;
}

export async function confirmPurchaseOnce(
  deps: ConfirmDeps,
  rawInput: ConfirmPurchaseInput,
): Promise<ConfirmPurchaseResult> {
  const attempt = currentAttempt();
  const input = parseInput(confirmPurchaseInputSchema, rawInput, 'confirmPurchase');
  const record = await deps.readRecord({ payment: input.payment, references: input.references ?? {} });
  const resolution = resolvePurchase(deps.catalog, record, {
    operatorProductId: input.operatorProductId,
    livemode: record.provider === 'stripe' ? deps.livemode : undefined,
  });
  return {
    resolution,
    amountMinor: record.amountMinor,
    currency: record.currency,
    kind: record.kind,
    customer: record.customer,
    attempt,
  };
}
