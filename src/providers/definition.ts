import type { WebhookConfig } from '../config';
import type { ProviderAdapter } from './adapter';
import type { PaymentFixture, ResolvedFixture } from './fixture';

/** What signing a delivery needs beyond the bytes: the secret, and what a test may want to pin. */
export interface SignOptions {
  secret: string;
  /** Razorpay: `X-Razorpay-Event-Id`. Default: derived from the body, so redeliveries reuse it. */
  eventId?: string;
  /** Stripe: signature timestamp in unix seconds (default now). */
  timestamp?: number;
}

export interface SignedHeaders {
  headers: Record<string, string>;
  /** The id the provider gives this delivery (a header for Razorpay, the body's `evt_...` for Stripe). */
  eventId: string;
}

/**
 * Everything the rest of the code may know about one provider. The receiver, the logger, the ops CLI
 * and the tools read these through the registry (src/providers/index.ts) and never name a provider.
 */
export interface ProviderDefinition<Name extends string = string> {
  readonly name: Name;
  /** How people write it, in messages. */
  readonly displayName: string;
  /** Every event type this provider sends to a payments endpoint, acted on or not (metrics labels). */
  readonly eventTypes: readonly string[];
  /** Lower-case header names that carry a signature: never written to logs. */
  readonly signatureHeaders: readonly string[];
  /** The configuration variable holding this provider's webhook secrets: never written to logs. */
  readonly secretVariable: string;
  readonly ids: {
    /**
     * Prefixes of the ids our payment workflows are keyed by, the usual one first (Stripe keys a
     * one-time payment by its PaymentIntent and a subscription payment by its invoice).
     */
    readonly paymentIdPrefixes: readonly [string, ...string[]];
    /** Ids an operator may copy from this provider's dashboard that do not key a payment. */
    readonly notPaymentIds: ReadonlyArray<readonly [prefix: string, hint: string]>;
    newPaymentId(): string;
  };
  /** Throws at construction when the configuration gives no secret to verify with. */
  createAdapter(config: WebhookConfig): ProviderAdapter;
  /** The bytes this provider would put on the wire for `body`. */
  serialize(body: object): string;
  /** Signature (and event id) headers for `rawBody`, exactly as this provider sends them. */
  sign(rawBody: string, body: object, opts: SignOptions): SignedHeaders;
  /** How long the provider waits for an answer before it counts the delivery failed and redelivers. */
  readonly deliveryTimeoutMs?: number;
  /** Whether the signature covers a timestamp the receiver checks for age (a replay window). */
  readonly signsTimestamp: boolean;
  /** A secret shaped like this provider's, for signing what the receiver must refuse. */
  randomSecret(): string;
  readonly fixtures: {
    /** Event types the builder can produce. */
    readonly eventKinds: readonly string[];
    /** What the provider sends first for a plain successful payment. */
    readonly defaultEventKind: string;
    /** Both paid events the provider may send for one payment (either first, often both). */
    readonly paidEventPair: readonly [string, string];
    /** A body shaped exactly as the provider sends it; throws for a kind not in `eventKinds`. */
    buildEvent(kind: string, fixture: PaymentFixture | ResolvedFixture): object;
  };
}
