/**
 * The core of `send`: build realistic events, sign them as the provider would and deliver them the
 * way providers do (at least once, concurrently, the two "paid" events of one payment in any order).
 * End-to-end tests call `sendDeliveries` directly; the CLI only parses flags around it.
 */
import {
  type PaymentFixture,
  type PaymentProvider,
  providerNames,
  providers,
  type ResolvedFixture,
  resolveFixture,
} from '../providers';
import type { PurchaseResult } from '../providers/purchase';
import { fixturePurchase, registerPurchase } from './purchase';
import { randomSecret, signedDelivery, type SignedDelivery } from './sign';

/** How far back `stale` puts the Stripe timestamp: twice the SDK's default 300 s tolerance. */
export const STALE_SECONDS = 600;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface SendOptions {
  provider: PaymentProvider;
  /** Receiver base URL; `/webhooks/<provider>` is appended. */
  url: string;
  /** The webhook secret the receiver knows (ignored for signing when `wrongSecret`). */
  secret: string;
  /** Event type; defaults to `payment.captured` / `checkout.session.completed`. */
  event?: string;
  fixture?: PaymentFixture;
  /** How many deliveries (default 1, or 2 with `mix`); redeliveries reuse the same signed body. */
  duplicates?: number;
  /** Alternate the provider's two paid events for the same payment, each signed on its own. */
  mix?: boolean;
  /** Change one byte of the body after signing. */
  tamper?: boolean;
  /** Sign with a random secret instead of `secret`. */
  wrongSecret?: boolean;
  /** Stripe only: sign with a timestamp `STALE_SECONDS` old. */
  stale?: boolean;
  timeoutMs?: number;
  /** Clock in epoch milliseconds (injected by tests). */
  now?: () => number;
  /**
   * The sandbox playing the provider: the payment is created there first (`fixturePurchase`), as a real
   * provider holds a payment before it sends its webhook, so the confirmation step finds it.
   */
  sandboxUrl?: string;
}

export interface DeliveryResult {
  /** 1-based position in the batch. */
  index: number;
  url: string;
  eventType: string;
  /** Razorpay `X-Razorpay-Event-Id`; Stripe `evt_...`. */
  eventId: string;
  paymentId: string;
  /** HTTP status, or 0 when no response arrived (connection refused, timeout). */
  status: number;
  body: string;
  durationMs: number;
  error?: string;
}

export interface PlannedDelivery {
  eventType: string;
  signed: SignedDelivery;
}

export interface DeliveryPlan {
  url: string;
  fixture: ResolvedFixture;
  /** One entry per delivery, in order; repeated entries are the very same object (same bytes). */
  deliveries: PlannedDelivery[];
}

export function webhookUrl(baseUrl: string, provider: PaymentProvider): string {
  return `${baseUrl.replace(/\/+$/, '')}/webhooks/${provider}`;
}

/** Tampered, wrongly signed and stale deliveries must be refused with 401. */
export function expectsRejection(opts: Pick<SendOptions, 'tamper' | 'wrongSecret' | 'stale'>): boolean {
  return Boolean(opts.tamper || opts.wrongSecret || opts.stale);
}

export function isExpectedOutcome(result: Pick<DeliveryResult, 'status'>, expectRejection: boolean): boolean {
  return expectRejection ? result.status === 401 : result.status >= 200 && result.status < 300;
}

function eventKinds(opts: SendOptions): string[] {
  const { provider } = opts;
  const { fixtures } = providers[provider];
  if (opts.mix) {
    if (opts.event !== undefined) {
      throw new Error(
        `mix sends ${fixtures.paidEventPair.join(' and ')}; do not combine it with an event type`,
      );
    }
    return [...fixtures.paidEventPair];
  }
  const kind = opts.event ?? fixtures.defaultEventKind;
  if (!(fixtures.eventKinds as readonly string[]).includes(kind)) {
    throw new Error(
      `Unknown ${provider} event "${kind}"; expected one of: ${fixtures.eventKinds.join(', ')}`,
    );
  }
  return [kind];
}

/** Builds and signs everything up front (pure apart from ids), so tests can inspect the bytes. */
export function planDeliveries(opts: SendOptions): DeliveryPlan {
  const { provider } = opts;
  const kinds = eventKinds(opts);
  const count = opts.duplicates ?? (opts.mix ? kinds.length : 1);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`duplicates must be a positive integer, got ${count}`);
  const definition = providers[provider];
  if (opts.stale && !definition.signsTimestamp) {
    const timestamped = providerNames.filter((name) => providers[name].signsTimestamp);
    throw new Error(
      `stale applies to ${timestamped.map((name) => providers[name].displayName).join(' and ')} only: ${definition.displayName} signatures carry no timestamp`,
    );
  }

  const nowSeconds = Math.floor((opts.now ?? Date.now)() / 1000);
  // Resolve once: every event of this run describes the same payment.
  const fixture = resolveFixture(provider, { createdAt: nowSeconds, ...opts.fixture });
  const secret = opts.wrongSecret ? randomSecret(provider) : opts.secret;
  const timestamp = definition.signsTimestamp ? nowSeconds - (opts.stale ? STALE_SECONDS : 0) : undefined;

  const signedByKind = kinds.map((kind): PlannedDelivery => {
    const body = definition.fixtures.buildEvent(kind, fixture);
    const signOpts = timestamp === undefined ? { secret } : { secret, timestamp };
    return { eventType: kind, signed: signedDelivery(provider, body, { ...signOpts, tamper: opts.tamper }) };
  });

  const deliveries = Array.from({ length: count }, (_, i) => signedByKind[i % signedByKind.length]!);
  return { url: webhookUrl(opts.url, provider), fixture, deliveries };
}

export interface PurchaseSendOptions extends Pick<
  SendOptions,
  | 'provider'
  | 'url'
  | 'secret'
  | 'event'
  | 'duplicates'
  | 'tamper'
  | 'wrongSecret'
  | 'stale'
  | 'timeoutMs'
  | 'now'
> {
  /** What the sandbox provider answered for the purchase (or refund): its payment and the webhooks it sends. */
  purchase: Pick<PurchaseResult, 'paymentId' | 'deliveries'>;
}

/**
 * Signs the webhooks a purchase produced, as the provider would: all of them in order (or only those
 * of `event`), each redelivered until there are `duplicates` deliveries. Repeated entries are the very
 * same signed bytes, as a provider's retries are.
 */
export function planPurchaseDeliveries(opts: PurchaseSendOptions): {
  url: string;
  paymentId: string;
  deliveries: PlannedDelivery[];
} {
  const { provider } = opts;
  const definition = providers[provider];
  if (opts.stale && !definition.signsTimestamp) {
    throw new Error(`stale applies to providers that sign a timestamp; ${definition.displayName} does not`);
  }
  const chosen = opts.purchase.deliveries.filter(
    (d) => opts.event === undefined || d.eventType === opts.event,
  );
  if (chosen.length === 0) {
    const sent = opts.purchase.deliveries.map((d) => d.eventType).join(', ');
    throw new Error(`this purchase sends ${sent}; none is "${opts.event}"`);
  }
  const count = opts.duplicates ?? chosen.length;
  const nowSeconds = Math.floor((opts.now ?? Date.now)() / 1000);
  const secret = opts.wrongSecret ? randomSecret(provider) : opts.secret;
  const timestamp = definition.signsTimestamp ? nowSeconds - (opts.stale ? STALE_SECONDS : 0) : undefined;
  const signed = chosen.map((d): PlannedDelivery => ({
    eventType: d.eventType,
    signed: signedDelivery(provider, d.body, {
      ...(timestamp === undefined ? { secret } : { secret, timestamp }),
      tamper: opts.tamper,
    }),
  }));
  const deliveries = Array.from({ length: count }, (_, i) => signed[i % signed.length]!);
  return { url: webhookUrl(opts.url, provider), paymentId: opts.purchase.paymentId, deliveries };
}

/** Delivers a purchase's webhooks concurrently (providers promise no order); results in delivery order. */
export async function sendPurchaseDeliveries(opts: PurchaseSendOptions): Promise<DeliveryResult[]> {
  const plan = planPurchaseDeliveries(opts);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return Promise.all(
    plan.deliveries.map((planned, i) => deliverOnce(i + 1, plan.url, plan.paymentId, planned, timeoutMs)),
  );
}

/** One POST of a signed delivery, exactly as the provider would send it, with a deadline. */
export function postDelivery(url: string, signed: SignedDelivery, timeoutMs: number): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: signed.headers,
    body: signed.body,
    signal: AbortSignal.timeout(timeoutMs),
  });
}

async function deliverOnce(
  index: number,
  url: string,
  paymentId: string,
  planned: PlannedDelivery,
  timeoutMs: number,
): Promise<DeliveryResult> {
  const started = performance.now();
  const base = { index, url, eventType: planned.eventType, eventId: planned.signed.eventId, paymentId };
  try {
    const response = await postDelivery(url, planned.signed, timeoutMs);
    const body = await response.text();
    return { ...base, status: response.status, body, durationMs: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      ...base,
      status: 0,
      body: '',
      durationMs: Math.round(performance.now() - started),
      error: describeFetchError(err, timeoutMs),
    };
  }
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
}

/** Duck-typed: errors thrown by fetch may come from another realm (jest, vm), failing instanceof. */
function errorText(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const e = err as ErrorLike;
  const message = typeof e.message === 'string' && e.message ? e.message : '';
  const code = typeof e.code === 'string' ? e.code : '';
  return message || code || 'unknown error';
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  if (e.name === 'TimeoutError') return `no response within ${timeoutMs} ms`;
  // undici reports "fetch failed" and keeps the useful part (ECONNREFUSED ...) in `cause`.
  return e.cause === undefined ? errorText(err) : `${errorText(err)}: ${errorText(e.cause)}`;
}

/** Sends every planned delivery concurrently; results come back in delivery order. */
export async function sendDeliveries(opts: SendOptions): Promise<DeliveryResult[]> {
  const plan = planDeliveries(opts);
  if (opts.sandboxUrl)
    await registerPurchase(opts.sandboxUrl, opts.provider, fixturePurchase(opts.provider, plan.fixture));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return Promise.all(
    plan.deliveries.map((planned, i) =>
      deliverOnce(i + 1, plan.url, plan.fixture.paymentId, planned, timeoutMs),
    ),
  );
}
