/**
 * The provider registry: the one list of payment providers. The receiver (adapters), its metrics
 * (label values), the ops CLI (payment id prefixes), the tools (signing and event builders) and log
 * redaction (signature headers) read it and never name a provider, so adding one is a folder under
 * src/providers and one line below (docs/providers.md, "Adding a provider").
 */
import type { WebhookConfig } from '../config';
import { type PaymentFixture, type ResolvedFixture, resolveFixtureWith } from './fixture';
import type { ProviderAdapter } from './adapter';
import { razorpay } from './razorpay';
import { stripe } from './stripe';

export const providers = { razorpay, stripe } as const;

export type PaymentProvider = keyof typeof providers;

/** Every provider the receiver accepts deliveries from, in registry order. */
export const providerNames = Object.keys(providers) as [PaymentProvider, ...PaymentProvider[]];

export function isPaymentProvider(value: unknown): value is PaymentProvider {
  return typeof value === 'string' && Object.hasOwn(providers, value);
}

/** Event types the providers send to a payments endpoint (metrics count any other as `other`). */
export const knownEventTypes: ReadonlySet<string> = new Set(
  providerNames.flatMap((name) => providers[name].eventTypes),
);

/** Every provider's signature headers (lower case): never written to logs. */
export const signatureHeaders: readonly string[] = providerNames.flatMap(
  (name) => providers[name].signatureHeaders,
);

/** The adapters the receiver verifies and interprets deliveries with; throws on a missing secret. */
export function createAdapters(config: WebhookConfig): Record<PaymentProvider, ProviderAdapter> {
  return Object.fromEntries(
    providerNames.map((name) => [name, providers[name].createAdapter(config)]),
  ) as Record<PaymentProvider, ProviderAdapter>;
}

/** A realistic payment id of the provider's (`pay_...`, `pi_...`). */
export const newPaymentId = (provider: PaymentProvider): string => providers[provider].ids.newPaymentId();

/** A payment's fixture with every default applied: resolve once to build several events of it. */
export const resolveFixture = (provider: PaymentProvider, fixture: PaymentFixture = {}): ResolvedFixture =>
  resolveFixtureWith(providers[provider].ids.newPaymentId, fixture);

export type { PaymentFixture, ResolvedFixture };
