import { createHmac } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { WorkflowNotFoundError } from '@temporalio/client';
import { type AccessEvent, accessWorkflowId } from '../../src/domain/access-event';
import { loadWebhookConfig } from '../../src/config';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { createLogger } from '../../src/runtime/logger';
import { type Catalog, loadCatalog } from '../../src/catalog';
import { sendDeliveries } from '../../src/tools/deliver';
import { catalogPurchase, fixturePurchase, registerPurchase } from '../../src/tools/purchase';
import { type PaymentFixture, type ResolvedFixture, newPaymentId, resolveFixture } from '../../src/providers';
import { randomAlphanumeric } from '../../src/providers/fixture';
import { razorpayEvent, type RazorpayEventKind } from '../../src/providers/razorpay/fixtures';
import { stripeEvent, type StripeEventKind } from '../../src/providers/stripe/fixtures';
import { randomSecret, serializeAsProvider } from '../../src/tools/sign';
import { signRazorpay } from '../../src/providers/razorpay/signature';
import { stripeSignatureHeader } from '../../src/providers/stripe/signature';
import { MAX_BODY_BYTES } from '../../src/webhook/app';
import { type RunningReceiver, startWebhookReceiver } from '../../src/webhook/main';
import { createEnrollmentStarter } from '../../src/webhook/start-enrollment';
import { accessEventSignal } from '../../src/workflows/access-messages';
import {
  enrollmentStateSearchAttribute,
  paymentIdSearchAttribute,
  statusQuery,
} from '../../src/workflows/messages';
import { eventually } from '../helpers/eventually';
import { startSystem, type System } from '../helpers/system';
import { exchange, type HeaderLines, requestBytes, type WireResponse } from './hostile-wire';

/**
 * Part 7: a table of hostile deliveries against the real receiver wiring (`startWebhookReceiver` on a
 * real Temporal dev server with the real worker). Each row states the exact status; after each row
 * no workflow exists for the row's payment (unless the row says a signed paid event must start one),
 * `/healthz` answers and a valid signed delivery still gets 200. A final check lists every workflow
 * in the namespace: nothing was started that the table did not expect.
 *
 * The webhook is only a trigger: a started workflow first asks the provider (the sandbox plays
 * Razorpay's and Stripe's APIs) what was paid. Rows that test what happens after the receiver register
 * their payment in the sandbox before delivering it, as a real provider holds a payment before it sends
 * its webhook; a payment nobody registered waits in review at `confirm`, and one row proves that too.
 */

let system: System;
/** The same wiring with short slow-loris limits, so the 408 rows take a second, not fifteen. */
let strict: RunningReceiver;
const SLOW_LORIS = { requestTimeoutMs: 1_500, headersTimeoutMs: 750 };

beforeAll(async () => {
  system = await startSystem();
  strict = await startWebhookReceiver(
    loadWebhookConfig(system.env),
    createLogger('hostile', 'silent'),
    SLOW_LORIS,
  );
}, 180_000);

afterAll(async () => {
  await strict?.close();
  await system?.stop();
}, 60_000);

const portOf = (url: string) => Number(new URL(url).port);
const json = [['Content-Type', 'application/json']] as const;

// ------------------------------------------------------------------------------------------------
// Building deliveries

const rzpRaw = (kind: RazorpayEventKind, fixture: PaymentFixture) =>
  serializeAsProvider('razorpay', razorpayEvent(kind, fixture));
const stripeRaw = (kind: StripeEventKind, fixture: PaymentFixture) =>
  serializeAsProvider('stripe', stripeEvent(kind, fixture));

/** A Razorpay event as a mutable object, for rows that corrupt one field. */
const rzpObject = (kind: RazorpayEventKind, fixture: PaymentFixture): any =>
  JSON.parse(JSON.stringify(razorpayEvent(kind, fixture)));
const stripeObject = (kind: StripeEventKind, fixture: PaymentFixture): any =>
  JSON.parse(JSON.stringify(stripeEvent(kind, fixture)));

const secret = (provider: PaymentProvider) => system.secrets[provider];
const hmacHex = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data).digest('hex');

function post(
  provider: string,
  headers: HeaderLines,
  body?: string | Buffer,
  opts: { method?: string; path?: string } = {},
): Promise<WireResponse> {
  const bytes = requestBytes(opts.method ?? 'POST', opts.path ?? `/webhooks/${provider}`, headers, body);
  return exchange(portOf(system.receiver.url), { head: bytes });
}

/** POSTs bytes signed the way Razorpay signs them, plus any extra header lines. */
const razorpaySigned = (body: string | Buffer, extra: HeaderLines = json, signedBytes = body) =>
  post('razorpay', [...extra, ['X-Razorpay-Signature', signRazorpay(signedBytes, secret('razorpay'))]], body);

const stripeSigned = (body: string | Buffer, extra: HeaderLines = json) =>
  post(
    'stripe',
    [...extra, ['Stripe-Signature', stripeSignatureHeader(String(body), secret('stripe'))]],
    body,
  );

/** Some payments' bytes with one byte replaced, so the JSON stays valid but the bytes are not UTF-8. */
function withByte(raw: string, marker: string, byte: number): Buffer {
  const at = Buffer.from(raw).indexOf(marker);
  if (at < 0) throw new Error(`marker ${marker} not in body`);
  const bytes = Buffer.from(raw);
  return Buffer.concat([
    bytes.subarray(0, at),
    Buffer.from([byte]),
    bytes.subarray(at + Buffer.byteLength(marker)),
  ]);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const DAY_SECONDS = 86_400;

/**
 * Creates the payment in the sandbox provider (an order, or a one-time checkout, naming the fixture's
 * course as the merchant's product), so the confirmation step finds it; returns the fixture resolved
 * once, to build the events of that very payment.
 */
async function registered(provider: PaymentProvider, fixture: PaymentFixture): Promise<ResolvedFixture> {
  const resolved = resolveFixture(provider, fixture);
  await registerPurchase(system.sandbox.url, provider, fixturePurchase(provider, resolved));
  return resolved;
}

/** The worker's catalog (catalog/sample.yaml), read when a row first needs it. */
let catalog: Catalog | undefined;
const sampleCatalog = () => (catalog ??= loadCatalog(system.env.CATALOG_PATH!));

// ------------------------------------------------------------------------------------------------
// The table

interface HostileCase {
  name: string;
  /** Whose canary delivery proves the receiver still works afterwards. */
  provider: PaymentProvider;
  status: number;
  /** A subset of the JSON answer, when the receiver (not Node's parser) answers. */
  answer?: Record<string, unknown>;
  /** The payment the delivery carries: no workflow may exist for it afterwards (unless `starts`). */
  paymentId?: string;
  /** 1 only where a signed paid event must start one (bad student data, shapes the provider settles). */
  starts?: 1;
  /** The access workflow a signed refund, dispute or subscription end must start (and no payment's). */
  startsAccess?: string;
  send(): Promise<WireResponse>;
  /** Further promises the row makes (time, memory, the workflow's state). */
  then?(res: WireResponse, paymentId: string): Promise<void> | void;
}

const row = (c: HostileCase) => c;
/** Every row carries its own payment, so "no workflow for this payment" means something. */
const rid = () => newPaymentId('razorpay');
const sid = () => newPaymentId('stripe');

/** Secrets that were active before the last rotation and have been removed from the configuration. */
const RETIRED = { razorpay: randomSecret('razorpay'), stripe: randomSecret('stripe') };

const INVALID = { error: 'invalid_signature' };
const IGNORED = { status: 'ignored' };
const STARTED = { status: 'started' };

/** A 50 MiB upload must be answered long before it is sent, and must never sit in memory. */
function cutOffEarly(res: WireResponse, rssBefore: number) {
  expect(res.status).toBe(413);
  expect(res.ms).toBeLessThan(2_000);
  // Loopback socket buffers absorb a few MiB before the server even reads; 50 MiB never gets out.
  expect(res.bytesSent).toBeLessThan(16 * 1024 * 1024);
  expect(process.memoryUsage().rss - rssBefore).toBeLessThan(32 * 1024 * 1024);
}

const cases: HostileCase[] = [];
const add = (...rows: HostileCase[]) => cases.push(...rows);

// --- Signatures ----------------------------------------------------------------------------------
{
  const p1 = rid();
  add(
    row({
      name: 'Razorpay: forged signature (random hex of the right length)',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p1,
      send: () =>
        post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', 'ab'.repeat(32)]],
          rzpRaw('payment.captured', { paymentId: p1 }),
        ),
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: valid signature of a different body',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p2,
      send: () =>
        razorpaySigned(
          rzpRaw('payment.captured', { paymentId: p2 }),
          json,
          rzpRaw('payment.captured', { paymentId: p2, amountMinor: 100 }),
        ),
    }),
  );
  const p3 = rid();
  add(
    row({
      name: 'Razorpay: signed with a wrong secret',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p3,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p3 });
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', signRazorpay(body, randomSecret('razorpay'))]],
          body,
        );
      },
    }),
  );
  const p4 = rid();
  add(
    row({
      name: 'Razorpay: signed with a retired secret (removed at the last rotation; live rotation in rotation.test.ts)',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p4,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p4 });
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', signRazorpay(body, RETIRED.razorpay)]],
          body,
        );
      },
    }),
  );
  const p5 = rid();
  add(
    row({
      name: "Razorpay: signed with the receiver's Stripe secret (a secret it holds, for the other provider)",
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p5,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p5 });
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', signRazorpay(body, secret('stripe'))]],
          body,
        );
      },
    }),
  );
  const p6 = rid();
  add(
    row({
      name: 'Razorpay: no signature header',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p6,
      send: () => post('razorpay', json, rzpRaw('payment.captured', { paymentId: p6 })),
    }),
  );
  const p7 = rid();
  add(
    row({
      name: 'Razorpay: empty signature header',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p7,
      send: () =>
        post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', '']],
          rzpRaw('payment.captured', { paymentId: p7 }),
        ),
    }),
  );
  const p8 = rid();
  add(
    row({
      name: 'Razorpay: signature header twice (a valid line and a forged one)',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p8,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p8 });
        const good = signRazorpay(body, secret('razorpay'));
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', good], ['X-Razorpay-Signature', 'f'.repeat(64)]],
          body,
        );
      },
    }),
  );
  const p9 = rid();
  add(
    row({
      name: 'Razorpay: array-valued signature header (JSON array text)',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p9,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p9 });
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', JSON.stringify([signRazorpay(body, secret('razorpay'))])]],
          body,
        );
      },
    }),
  );
  const p10 = rid();
  add(
    row({
      name: 'Razorpay: non-hex signature of the right length',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p10,
      send: () =>
        post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', 'zz'.repeat(32)]],
          rzpRaw('payment.captured', { paymentId: p10 }),
        ),
    }),
  );
  const p11 = rid();
  add(
    row({
      name: 'Razorpay: valid MAC truncated to 63 hex digits, and doubled to 128',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      paymentId: p11,
      send: async () => {
        const body = rzpRaw('payment.captured', { paymentId: p11 });
        const good = signRazorpay(body, secret('razorpay'));
        const doubled = await post('razorpay', [...json, ['X-Razorpay-Signature', good + good]], body);
        expect(doubled.status).toBe(401);
        return post('razorpay', [...json, ['X-Razorpay-Signature', good.slice(0, 63)]], body);
      },
    }),
  );
  const p12 = rid();
  add(
    row({
      // Decision: hex is case-insensitive; `F0` and `f0` are the same byte, so this is the same MAC.
      name: 'Razorpay: upper-case hex of the valid MAC is accepted (same MAC)',
      provider: 'razorpay',
      status: 200,
      answer: IGNORED,
      paymentId: p12,
      send: () => {
        const body = rzpRaw('payment.failed', { paymentId: p12 });
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', signRazorpay(body, secret('razorpay')).toUpperCase()]],
          body,
        );
      },
    }),
  );
  const s1 = sid();
  add(
    row({
      name: 'Stripe: signed with a wrong secret',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s1,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s1 });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', stripeSignatureHeader(body, randomSecret('stripe'))]],
          body,
        );
      },
    }),
  );
  const s2 = sid();
  add(
    row({
      name: 'Stripe: signed with a retired endpoint secret',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s2,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s2 });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', stripeSignatureHeader(body, RETIRED.stripe)]],
          body,
        );
      },
    }),
  );
  const s3 = sid();
  add(
    row({
      name: 'Stripe: no Stripe-Signature header',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s3,
      send: () => post('stripe', json, stripeRaw('payment_intent.succeeded', { paymentId: s3 })),
    }),
  );
  const s4 = sid();
  add(
    row({
      // Node joins repeated lines into one string whose v1 list mixes both: refused as ambiguous.
      name: 'Stripe: the valid Stripe-Signature line sent twice',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s4,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s4 });
        const good = stripeSignatureHeader(body, secret('stripe'));
        return post('stripe', [...json, ['Stripe-Signature', good], ['Stripe-Signature', good]], body);
      },
    }),
  );
  const s5 = sid();
  add(
    row({
      name: 'Stripe: a valid Stripe-Signature line plus a forged one',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s5,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s5 });
        const good = stripeSignatureHeader(body, secret('stripe'));
        return post(
          'stripe',
          [
            ...json,
            ['Stripe-Signature', `t=${nowSeconds()},v1=${'0'.repeat(64)}`],
            ['Stripe-Signature', good],
          ],
          body,
        );
      },
    }),
  );
  const s6 = sid();
  add(
    row({
      // Decision: Stripe's header is verified by the official SDK, which compares lower-case hex text.
      name: 'Stripe: upper-case v1 of the valid MAC is refused (the official SDK compares hex text)',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s6,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s6 });
        const t = nowSeconds();
        return post(
          'stripe',
          [
            ...json,
            ['Stripe-Signature', `t=${t},v1=${hmacHex(secret('stripe'), `${t}.${body}`).toUpperCase()}`],
          ],
          body,
        );
      },
    }),
  );
  const s7 = sid();
  add(
    row({
      name: 'Stripe: correctly signed but 600 s old (tolerance 300 s)',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s7,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s7 });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', stripeSignatureHeader(body, secret('stripe'), nowSeconds() - 600)]],
          body,
        );
      },
    }),
  );
  const s8 = sid();
  add(
    row({
      name: 'Stripe: header with a timestamp and no v1',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s8,
      send: () =>
        post(
          'stripe',
          [...json, ['Stripe-Signature', `t=${nowSeconds()}`]],
          stripeRaw('payment_intent.succeeded', { paymentId: s8 }),
        ),
    }),
  );
  const s9 = sid();
  add(
    row({
      name: 'Stripe: only a v0 signature (correct MAC under the wrong scheme)',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s9,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s9 });
        const t = nowSeconds();
        return post(
          'stripe',
          [...json, ['Stripe-Signature', `t=${t},v0=${hmacHex(secret('stripe'), `${t}.${body}`)}`]],
          body,
        );
      },
    }),
  );
  const s10 = sid();
  add(
    row({
      name: 'Stripe: valid v1 with the timestamp changed afterwards',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s10,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s10 });
        const header = stripeSignatureHeader(body, secret('stripe')).replace(
          /t=(\d+)/,
          (_m, t) => `t=${Number(t) + 1}`,
        );
        return post('stripe', [...json, ['Stripe-Signature', header]], body);
      },
    }),
  );
  const s11 = sid();
  add(
    row({
      // The SDK would parseInt this to NaN and skip its age check; we require one numeric t.
      name: 'Stripe: t=NaN with a v1 computed over "NaN.<body>" (no age check possible)',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s11,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s11 });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', `t=NaN,v1=${hmacHex(secret('stripe'), `NaN.${body}`)}`]],
          body,
        );
      },
    }),
  );
  const s12 = sid();
  add(
    row({
      name: 'Stripe: a fresh signed header with a second, stale t= appended',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s12,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s12 });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', `${stripeSignatureHeader(body, secret('stripe'))},t=1`]],
          body,
        );
      },
    }),
  );
  const s13 = sid();
  add(
    row({
      // The SDK decodes before it HMACs, dropping a BOM: these bytes are not the bytes Stripe signed.
      name: 'Stripe: a BOM prepended to a correctly signed body',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s13,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s13 });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', stripeSignatureHeader(body, secret('stripe'))]],
          Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]),
        );
      },
    }),
  );
  const s14 = sid();
  add(
    row({
      // U+FFFD signed; the wire carries 0xFF, which the SDK's lenient decoder turns back into U+FFFD.
      name: 'Stripe: an invalid UTF-8 byte where the signed body had U+FFFD',
      provider: 'stripe',
      status: 401,
      answer: INVALID,
      paymentId: s14,
      send: () => {
        const body = stripeRaw('payment_intent.succeeded', { paymentId: s14, name: 'Asha \uFFFD Rao' });
        return post(
          'stripe',
          [...json, ['Stripe-Signature', stripeSignatureHeader(body, secret('stripe'))]],
          withByte(body, '\uFFFD', 0xff),
        );
      },
    }),
  );
  const s15 = sid();
  add(
    row({
      name: "Stripe: several v1 values, one valid (Stripe's own secret roll) is accepted",
      provider: 'stripe',
      status: 200,
      answer: IGNORED,
      paymentId: s15,
      send: () => {
        const body = stripeRaw('payment_intent.payment_failed', { paymentId: s15 });
        const t = nowSeconds();
        const header = `t=${t},v1=${'1'.repeat(64)},v1=${hmacHex(secret('stripe'), `${t}.${body}`)},v0=${'2'.repeat(64)}`;
        return post('stripe', [...json, ['Stripe-Signature', header]], body);
      },
    }),
  );
}

// --- Bodies that are not event objects -------------------------------------------------------------
{
  const deepArrays = '['.repeat(100_000) + ']'.repeat(100_000);
  const deepObject = '{"a":'.repeat(100_000) + '0' + '}'.repeat(100_000);
  const notObjects: Array<[string, string, string]> = [
    ['malformed JSON', '{"entity":"event","event":', 'malformed_json'],
    ['a JSON array', '[{"entity":"event"}]', 'not_an_event_object'],
    ['a JSON number', '42', 'not_an_event_object'],
    ['JSON null', 'null', 'not_an_event_object'],
    ['a JSON string', '"payment.captured"', 'not_an_event_object'],
    ['an empty body', '', 'malformed_json'],
    ['100k levels of nested arrays', deepArrays, 'not_an_event_object'],
    ['100k unclosed [', '['.repeat(100_000), 'malformed_json'],
    ['100k levels of nested objects', deepObject, 'invalid_event'],
  ];
  for (const [what, body, error] of notObjects) {
    add(
      row({
        name: `Razorpay: signed body that is ${what}`,
        provider: 'razorpay',
        status: 400,
        answer: { error },
        send: () => razorpaySigned(body),
      }),
    );
  }
  add(
    row({
      name: 'Razorpay: unsigned 100k levels of nested arrays (verified before parsing)',
      provider: 'razorpay',
      status: 401,
      answer: INVALID,
      send: () => post('razorpay', json, deepArrays),
    }),
    row({
      name: 'Stripe: signed 100k levels of nested arrays',
      provider: 'stripe',
      status: 400,
      answer: { error: 'not_an_event_object' },
      send: () => stripeSigned(deepArrays),
    }),
  );
  const p1 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event with an invalid UTF-8 byte in a string (not silently replaced)',
      provider: 'razorpay',
      status: 400,
      answer: { error: 'malformed_json' },
      paymentId: p1,
      send: () => {
        const body = withByte(
          JSON.stringify(razorpayEvent('payment.captured', { paymentId: p1, name: 'Asha ~ Rao' })),
          '~',
          0xff,
        );
        return razorpaySigned(body);
      },
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event with a raw NUL byte inside a JSON string',
      provider: 'razorpay',
      status: 400,
      answer: { error: 'malformed_json' },
      paymentId: p2,
      send: () =>
        razorpaySigned(
          withByte(
            JSON.stringify(razorpayEvent('payment.captured', { paymentId: p2, name: 'Asha ~ Rao' })),
            '~',
            0x00,
          ),
        ),
    }),
  );
}

// --- Prototype pollution ---------------------------------------------------------------------------
{
  const p1 = rid();
  add(
    row({
      name: 'Razorpay: signed {"__proto__": <a whole paid event>}',
      provider: 'razorpay',
      status: 400,
      answer: { error: 'invalid_event' },
      paymentId: p1,
      send: () => razorpaySigned(`{"__proto__":${rzpRaw('payment.captured', { paymentId: p1 })}}`),
      then: () => expect(({} as any).payload).toBeUndefined(),
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: signed payment.captured whose payment entity hides under payload.__proto__',
      provider: 'razorpay',
      status: 400,
      answer: { error: 'invalid_event' },
      paymentId: p2,
      send: () => {
        const event = rzpObject('payment.captured', { paymentId: p2 });
        const payload = JSON.stringify(event.payload);
        event.payload = {};
        return razorpaySigned(
          JSON.stringify(event).replace('"payload":{}', `"payload":{"__proto__":${payload}}`),
        );
      },
    }),
  );
  const s1 = sid();
  add(
    row({
      name: 'Stripe: signed event carrying __proto__ and constructor.prototype keys everywhere',
      provider: 'stripe',
      status: 200,
      answer: IGNORED,
      paymentId: s1,
      send: () => {
        const poison = '"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}';
        const body = stripeRaw('payment_intent.payment_failed', { paymentId: s1 })
          .replace(/^\{/, `{${poison},`)
          .replace('"metadata": {', `"metadata": {${poison},`);
        return stripeSigned(body);
      },
      then: () => {
        expect(({} as any).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('polluted');
      },
    }),
  );
  const s2 = sid();
  add(
    row({
      name: 'Stripe: valid ignored delivery with a repeated header named __proto__',
      provider: 'stripe',
      status: 200,
      answer: IGNORED,
      paymentId: s2,
      send: () =>
        stripeSigned(stripeRaw('payment_intent.payment_failed', { paymentId: s2 }), [
          ...json,
          ['__proto__', 'a'],
          ['__proto__', 'b'],
        ]),
    }),
  );
}

// --- Size ---------------------------------------------------------------------------------------
{
  add(
    row({
      name: '1 MiB + 1 byte body',
      provider: 'razorpay',
      status: 413,
      answer: { error: 'payload_too_large' },
      send: () => razorpaySigned(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)),
    }),
  );
  const p1 = rid();
  add(
    row({
      name: 'exactly 1 MiB (a signed event padded with spaces) is accepted',
      provider: 'razorpay',
      status: 200,
      answer: IGNORED,
      paymentId: p1,
      send: () => {
        const body = rzpRaw('payment.failed', { paymentId: p1 });
        return razorpaySigned(body + ' '.repeat(MAX_BODY_BYTES - Buffer.byteLength(body)));
      },
    }),
  );
  for (const chunked of [false, true]) {
    let rssBefore = 0;
    add(
      row({
        name: `50 MiB body streamed ${chunked ? 'chunked' : 'with Content-Length'}: 413 arrives early, nothing buffered`,
        provider: 'razorpay',
        status: 413,
        send: () => {
          rssBefore = process.memoryUsage().rss;
          const total = 50 * 1024 * 1024;
          const framing = chunked ? ['Transfer-Encoding', 'chunked'] : ['Content-Length', String(total)];
          const head = requestBytes('POST', '/webhooks/razorpay', [
            ...json,
            ['X-Razorpay-Signature', 'a'.repeat(64)],
            framing as [string, string],
          ]);
          return exchange(portOf(system.receiver.url), {
            head,
            stream: { total, chunked },
            timeoutMs: 10_000,
          });
        },
        then: (res) => {
          cutOffEarly(res, rssBefore);
          expect(res.headers.connection).toBe('close');
        },
      }),
    );
  }
}

// --- Content type and encoding ------------------------------------------------------------------
{
  const ctCases: Array<[string, HeaderLines, number, string?]> = [
    ['wrong content type (text/plain)', [['Content-Type', 'text/plain']], 415, 'unsupported_media_type'],
    ['no content type', [], 415, 'unsupported_media_type'],
    [
      'a JSON-looking type (application/json-patch+json)',
      [['Content-Type', 'application/json-patch+json']],
      415,
      'unsupported_media_type',
    ],
    [
      'JSON declared in UTF-16',
      [['Content-Type', 'application/json; charset=utf-16']],
      415,
      'unsupported_media_type',
    ],
    [
      'two Content-Type lines',
      [
        ['Content-Type', 'application/json'],
        ['Content-Type', 'text/plain'],
      ],
      415,
      'unsupported_media_type',
    ],
  ];
  for (const [what, headers, status, error] of ctCases) {
    const p = rid();
    add(
      row({
        name: `Razorpay: signed paid event with ${what}`,
        provider: 'razorpay',
        status,
        answer: { error },
        paymentId: p,
        send: () => razorpaySigned(rzpRaw('payment.captured', { paymentId: p }), headers),
      }),
    );
  }
  const encodings: Array<[string, (b: Buffer) => Buffer]> = [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
    ['identity, gzip', gzipSync],
  ];
  for (const [coding, compress] of encodings) {
    const p = rid();
    add(
      row({
        name: `Razorpay: signed paid event compressed with Content-Encoding: ${coding}`,
        provider: 'razorpay',
        status: 415,
        answer: { error: 'unsupported_content_encoding' },
        paymentId: p,
        send: () => {
          const body = rzpRaw('payment.captured', { paymentId: p });
          return razorpaySigned(compress(Buffer.from(body)), [...json, ['Content-Encoding', coding]], body);
        },
      }),
    );
  }
  const p1 = rid();
  add(
    row({
      // Decision: `identity` means "no encoding" (RFC 9110); the bytes are verified as they are.
      name: 'Razorpay: Content-Encoding: identity is no encoding, accepted',
      provider: 'razorpay',
      status: 200,
      answer: IGNORED,
      paymentId: p1,
      send: () =>
        razorpaySigned(rzpRaw('payment.failed', { paymentId: p1 }), [
          ...json,
          ['Content-Encoding', 'identity'],
        ]),
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: media type and charset in other letter cases are accepted',
      provider: 'razorpay',
      status: 200,
      answer: IGNORED,
      paymentId: p2,
      send: () =>
        razorpaySigned(rzpRaw('payment.failed', { paymentId: p2 }), [
          ['Content-Type', 'Application/JSON; Charset="UTF-8"'],
        ]),
    }),
  );
}

// --- Bytes a re-serialising verifier would break ------------------------------------------------
{
  const p1 = rid();
  add(
    row({
      name: 'Razorpay: PHP-escaped \\/ and \\uXXXX as signed are accepted (verified as received)',
      provider: 'razorpay',
      status: 200,
      answer: IGNORED,
      paymentId: p1,
      send: () => {
        const body = rzpRaw('payment.failed', { paymentId: p1, name: 'Aśha Rāo / ML' });
        expect(body).toContain('\\/');
        expect(body).toContain('\\u015b');
        return razorpaySigned(body);
      },
    }),
  );
  const s1 = sid();
  add(
    row({
      name: 'Stripe: pretty-printed raw UTF-8 and emoji as signed are accepted',
      provider: 'stripe',
      status: 200,
      answer: IGNORED,
      paymentId: s1,
      send: () =>
        stripeSigned(
          stripeRaw('payment_intent.payment_failed', { paymentId: s1, name: 'Zoë 🎓 Ñandú / ML' }),
        ),
    }),
  );
}

// --- Signed, but not a usable paid event -----------------------------------------------------------
{
  const invalid: Array<[string, () => [string, string]]> = [
    [
      'no payment id',
      () => {
        const e = rzpObject('payment.captured', {});
        delete e.payload.payment.entity.id;
        return ['', JSON.stringify(e)];
      },
    ],
    [
      'zero amount',
      () => {
        const id = rid();
        return [id, rzpRaw('payment.captured', { paymentId: id, amountMinor: 0 })];
      },
    ],
    [
      'negative amount',
      () => {
        const id = rid();
        return [id, rzpRaw('payment.captured', { paymentId: id, amountMinor: -49_900 })];
      },
    ],
    [
      'an amount given as a string',
      () => {
        const id = rid();
        const e = rzpObject('payment.captured', { paymentId: id });
        e.payload.payment.entity.amount = '49900';
        return [id, JSON.stringify(e)];
      },
    ],
    [
      'a currency that is not ISO 4217-shaped',
      () => {
        const id = rid();
        return [id, rzpRaw('payment.captured', { paymentId: id, currency: 'RUPEES' })];
      },
    ],
    [
      'a payment id with path characters',
      () => ['pay_../../x', rzpRaw('payment.captured', { paymentId: 'pay_../../x' })],
    ],
    [
      'created_at beyond any representable date (was a 500)',
      () => {
        const id = rid();
        const e = rzpObject('payment.captured', { paymentId: id });
        e.payload.payment.entity.created_at = Number.MAX_SAFE_INTEGER;
        return [id, JSON.stringify(e)];
      },
    ],
  ];
  for (const [what, build] of invalid) {
    const [paymentId, body] = build();
    add(
      row({
        name: `Razorpay: signed payment.captured with ${what}`,
        provider: 'razorpay',
        status: 400,
        answer: { error: 'invalid_event' },
        paymentId: paymentId || undefined,
        send: () => razorpaySigned(body),
      }),
    );
  }
  // A genuine signed Stripe event is never refused for its shape (issue 10): Stripe would retry the
  // same bytes for three days and then disable the endpoint. What cannot be keyed is ignored, logged.
  const stripeUnkeyable: Array<[string, () => [string, string]]> = [
    [
      // Mode `payment` with no invoice either: nothing was charged that a workflow could be keyed by.
      // (Subscription mode, which has no PaymentIntent but an invoice, starts one: see below.)
      'a paid one-time session without a payment intent or invoice (was a 400)',
      () => {
        const id = sid();
        const e = stripeObject('checkout.session.completed', { paymentId: id });
        e.data.object.payment_intent = null;
        return [id, JSON.stringify(e)];
      },
    ],
    [
      'a paid session without an amount (was a 400)',
      () => {
        const id = sid();
        const e = stripeObject('checkout.session.completed', { paymentId: id });
        e.data.object.amount_total = null;
        return [id, JSON.stringify(e)];
      },
    ],
    [
      'an event time beyond any representable date (was a 500, then a 400)',
      () => {
        const id = sid();
        const e = stripeObject('payment_intent.succeeded', { paymentId: id });
        e.created = Number.MAX_SAFE_INTEGER;
        return [id, JSON.stringify(e)];
      },
    ],
  ];
  for (const [what, build] of stripeUnkeyable) {
    const [paymentId, body] = build();
    add(
      row({
        name: `Stripe: signed event with ${what} is acknowledged and ignored`,
        provider: 'stripe',
        status: 200,
        answer: IGNORED,
        paymentId,
        send: () => stripeSigned(body),
      }),
    );
  }
  const ignored: Array<[string, PaymentProvider, () => [string, string]]> = [
    [
      'Razorpay: signed payment.failed',
      'razorpay',
      () => {
        const id = rid();
        return [id, rzpRaw('payment.failed', { paymentId: id })];
      },
    ],
    [
      'Razorpay: signed refund.failed',
      'razorpay',
      () => {
        const id = rid();
        const e = rzpObject('refund.processed', { paymentId: id });
        e.event = 'refund.failed';
        e.payload.refund.entity.status = 'failed';
        return [id, JSON.stringify(e)];
      },
    ],
    [
      'Razorpay: signed event of an unknown type',
      'razorpay',
      () => {
        const id = rid();
        const e = rzpObject('payment.captured', { paymentId: id });
        e.event = 'payment.teleported';
        return [id, JSON.stringify(e)];
      },
    ],
    [
      'Razorpay: signed payment.captured whose payment is only authorized',
      'razorpay',
      () => {
        const id = rid();
        const e = rzpObject('payment.captured', { paymentId: id });
        e.payload.payment.entity.status = 'authorized';
        return [id, JSON.stringify(e)];
      },
    ],
    [
      'Stripe: signed payment_intent.payment_failed',
      'stripe',
      () => {
        const id = sid();
        return [id, stripeRaw('payment_intent.payment_failed', { paymentId: id })];
      },
    ],
    [
      'Stripe: signed checkout.session.completed that is still unpaid',
      'stripe',
      () => {
        const id = sid();
        return [id, stripeRaw('checkout.session.completed', { paymentId: id, paymentStatus: 'unpaid' })];
      },
    ],
    [
      'Stripe: signed event of an unknown type',
      'stripe',
      () => {
        const id = sid();
        const e = stripeObject('payment_intent.succeeded', { paymentId: id });
        e.type = 'payment_intent.teleported';
        return [id, JSON.stringify(e)];
      },
    ],
  ];
  for (const [name, provider, build] of ignored) {
    const [paymentId, body] = build();
    add(
      row({
        name: `${name} is acknowledged and ignored`,
        provider,
        status: 200,
        answer: IGNORED,
        paymentId,
        send: () => (provider === 'razorpay' ? razorpaySigned(body) : stripeSigned(body)),
      }),
    );
  }
}

// --- Signed paid events with bad student data: never dropped, exactly one workflow ------------------
{
  const statusOf = (workflowId: string) => system.client.workflow.getHandle(workflowId).query(statusQuery);
  const p1 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event with an invalid email starts one workflow, which waits in review',
      provider: 'razorpay',
      status: 200,
      answer: STARTED,
      paymentId: p1,
      starts: 1,
      // Razorpay holds the payment with that email too: the provider's record is what the workflow uses.
      send: async () =>
        razorpaySigned(
          rzpRaw('payment.captured', await registered('razorpay', { paymentId: p1, email: 'not-an-email' })),
        ),
      then: async (_res, id) => {
        const status = await eventually(async () => {
          const s = await statusOf(`payment-razorpay-${id}`);
          return s.state === 'needs_review' ? s : undefined;
        });
        // Confirmed with the provider and resolved against the catalog, then stopped at the data.
        expect(status.steps.confirm.status).toBe('succeeded');
        expect(status.purchase).toMatchObject({ productId: 'course-ml-101' });
        expect(status.openReview).toMatchObject({ step: 'details' });
        expect(status.openReview?.reason).toContain('student email is not valid');
        expect(status.steps.enroll.status).toBe('pending');
      },
    }),
  );
  const s1 = sid();
  add(
    row({
      name: 'Stripe: signed paid event with an invalid phone starts one workflow, which skips only the welcome',
      provider: 'stripe',
      status: 200,
      answer: STARTED,
      paymentId: s1,
      starts: 1,
      send: async () =>
        stripeSigned(
          stripeRaw(
            'payment_intent.succeeded',
            await registered('stripe', { paymentId: s1, phone: 'call me maybe' }),
          ),
        ),
      then: async (_res, id) => {
        const status = await eventually(async () => {
          const s = await statusOf(`payment-stripe-${id}`);
          return s.steps.welcome.status === 'skipped' ? s : undefined;
        });
        expect(status.steps.welcome.skippedBecause).toBe('phone number is not E.164');
        expect(status.steps.enroll.status).toBe('succeeded');
      },
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event with a 40-character phone starts one workflow (was a 400)',
      provider: 'razorpay',
      status: 200,
      answer: STARTED,
      paymentId: p2,
      starts: 1,
      send: () =>
        razorpaySigned(rzpRaw('payment.captured', { paymentId: p2, phone: `+91${'9'.repeat(37)}` })),
      then: async (_res, id) => {
        // The phone the schema cannot hold is dropped; the payment is not. (The sandbox provider does
        // not know this payment: what is asserted is what the receiver handed the workflow.)
        const status = await eventually(() => statusOf(`payment-razorpay-${id}`));
        expect(status.student.phone).toBeUndefined();
        expect(status.student.email).toBe('asha.rao@example.com');
      },
    }),
  );
  const p3 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event with a 1 KB unsigned X-Razorpay-Event-Id starts one workflow (was a 400)',
      provider: 'razorpay',
      status: 200,
      answer: STARTED,
      paymentId: p3,
      starts: 1,
      send: () =>
        razorpaySigned(rzpRaw('payment.captured', { paymentId: p3 }), [
          ...json,
          ['X-Razorpay-Event-Id', 'e'.repeat(1024)],
        ]),
    }),
  );
}

// --- Signed paid events the webhook cannot settle: the provider's record decides -------------------
{
  const statusOf = (workflowId: string) => system.client.workflow.getHandle(workflowId).query(statusQuery);
  const p1 = rid();
  add(
    row({
      // Was a 400. The order in the webhook is not believed (its notes name another product); the
      // confirmation step reads Razorpay's own order, which is in INR and names course-ml-101.
      name: 'Razorpay: signed order.paid whose order is in another currency starts one workflow; the provider’s order decides',
      provider: 'razorpay',
      status: 200,
      answer: STARTED,
      paymentId: p1,
      starts: 1,
      send: async () => {
        const e = rzpObject('order.paid', await registered('razorpay', { paymentId: p1 }));
        e.payload.order.entity.currency = 'USD';
        e.payload.order.entity.notes = { product_id: 'bundle-data-career', course_id: 'course-ds-301' };
        return razorpaySigned(JSON.stringify(e));
      },
      then: async (_res, id) => {
        const status = await eventually(async () => {
          const s = await statusOf(`payment-razorpay-${id}`);
          return s.state === 'completed' ? s : undefined;
        });
        expect(status.purchase).toMatchObject({
          productId: 'course-ml-101',
          courses: ['course-ml-101'],
          amountMinor: 499_900,
          currency: 'INR',
        });
        expect(status.reviews).toEqual([]);
      },
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event for a payment Razorpay does not know starts one workflow, which waits in review at confirm',
      provider: 'razorpay',
      status: 200,
      answer: STARTED,
      paymentId: p2,
      starts: 1,
      send: () => razorpaySigned(rzpRaw('payment.captured', { paymentId: p2 })),
      then: async (_res, id) => {
        const status = await eventually(async () => {
          const s = await statusOf(`payment-razorpay-${id}`);
          return s.state === 'needs_review' ? s : undefined;
        });
        expect(status.openReview).toMatchObject({ id: 'confirm-1', step: 'confirm', kind: 'purchase' });
        expect(status.openReview?.reason).toContain(`Razorpay does not know payment ${id}`);
        expect(status.purchase).toBeUndefined();
        expect(status.steps.enroll.status).toBe('pending');
      },
    }),
  );
  // Subscription mode has no PaymentIntent (`payment_intent: null`): its first invoice pays it and
  // keys its workflow. Was answered 400, which Stripe retries for three days, then disables the endpoint.
  const s1 = `in_${randomAlphanumeric(24)}`;
  add(
    row({
      name: 'Stripe: signed subscription-mode checkout.session.completed (no payment intent) starts the invoice’s workflow',
      provider: 'stripe',
      status: 200,
      answer: { status: 'started', workflowId: `payment-stripe-${s1}` },
      paymentId: s1,
      starts: 1,
      send: async () => {
        const purchase = await registerPurchase(
          system.sandbox.url,
          'stripe',
          catalogPurchase(sampleCatalog(), 'stripe', {
            productId: 'course-ml-101',
            kind: 'subscription',
            currency: 'USD',
            paymentId: s1,
            customer: { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+14155550100' },
          }),
        );
        const session = purchase.deliveries.find((d) => d.eventType === 'checkout.session.completed');
        expect(session?.body).toMatchObject({
          data: { object: { mode: 'subscription', payment_intent: null, invoice: s1 } },
        });
        return stripeSigned(serializeAsProvider('stripe', session!.body));
      },
      then: async (_res, id) => {
        const status = await eventually(async () => {
          const s = await statusOf(`payment-stripe-${id}`);
          return s.state === 'completed' ? s : undefined;
        });
        expect(status.purchase).toMatchObject({
          productId: 'course-ml-101',
          amountMinor: 4_900,
          currency: 'USD',
        });
      },
    }),
  );
}

// --- Money going back: one access workflow per refund, dispute or ended subscription -----------------
{
  const p1 = rid();
  const rzpRefund = rzpObject('refund.processed', { paymentId: p1 });
  const rzpRefundWorkflow = `refund-razorpay-${rzpRefund.payload.refund.entity.id}`;
  add(
    row({
      name: 'Razorpay: signed refund.processed starts one access workflow, keyed by the refund',
      provider: 'razorpay',
      status: 200,
      answer: { status: 'started', workflowId: rzpRefundWorkflow },
      paymentId: p1,
      startsAccess: rzpRefundWorkflow,
      send: () => razorpaySigned(JSON.stringify(rzpRefund)),
    }),
    row({
      name: 'Razorpay: the same refund.processed redelivered is a duplicate of that workflow',
      provider: 'razorpay',
      status: 200,
      answer: { status: 'duplicate', workflowId: rzpRefundWorkflow },
      paymentId: p1,
      startsAccess: rzpRefundWorkflow,
      send: () => razorpaySigned(JSON.stringify(rzpRefund)),
    }),
  );
  const s1 = sid();
  const partial = stripeObject('charge.refunded', { paymentId: s1, amountMinor: 49_900 });
  partial.data.object.amount_refunded = 10_000;
  partial.data.object.refunded = false;
  const partialWorkflow = `refund-stripe-${partial.data.object.id}-10000`;
  add(
    row({
      // Stripe's charge.refunded names no refund: the charge and its cumulative amount refunded key it.
      name: 'Stripe: signed partial charge.refunded starts one access workflow, keyed by the charge and the amount refunded so far',
      provider: 'stripe',
      status: 200,
      answer: { status: 'started', workflowId: partialWorkflow },
      paymentId: s1,
      startsAccess: partialWorkflow,
      send: () => stripeSigned(JSON.stringify(partial)),
    }),
  );
  const p2 = rid();
  add(
    row({
      // Razorpay signs no timestamp: a refund body replayed after the horizon must not revoke anything.
      name: 'Razorpay: a genuine refund.processed body created 40 days ago is acknowledged as stale',
      provider: 'razorpay',
      status: 200,
      answer: { status: 'stale' },
      paymentId: p2,
      send: () =>
        razorpaySigned(
          rzpRaw('refund.processed', { paymentId: p2, createdAt: nowSeconds() - 40 * DAY_SECONDS }),
        ),
    }),
  );
  const s2 = sid();
  add(
    row({
      name: 'Stripe: signed live-mode charge.refunded in a test-mode deployment is acknowledged and ignored',
      provider: 'stripe',
      status: 200,
      answer: IGNORED,
      paymentId: s2,
      send: () => {
        const e = stripeObject('charge.refunded', { paymentId: s2 });
        e.livemode = true;
        e.data.object.livemode = true;
        return stripeSigned(JSON.stringify(e));
      },
    }),
  );
  const p3 = rid();
  add(
    row({
      name: 'Razorpay: signed refund.processed whose refund has no id is acknowledged and ignored, never refused',
      provider: 'razorpay',
      status: 200,
      answer: IGNORED,
      paymentId: p3,
      send: () => {
        const e = rzpObject('refund.processed', { paymentId: p3 });
        delete e.payload.refund.entity.id;
        return razorpaySigned(JSON.stringify(e));
      },
    }),
  );
}

// --- Freshness and mode: genuine signatures, events that must start nothing ---------------------------
{
  const ago = (days: number) => nowSeconds() - days * DAY_SECONDS;
  const STALE = { status: 'stale' };
  const p1 = rid();
  add(
    row({
      // Razorpay signs no timestamp: a captured body replayed after retention must not start a second
      // workflow (a second welcome), though the payment is real and Razorpay knows it.
      name: 'Razorpay: a genuine captured body created 40 days ago (past REDELIVERY_HORIZON_HOURS) is acknowledged as stale',
      provider: 'razorpay',
      status: 200,
      answer: STALE,
      paymentId: p1,
      send: async () =>
        razorpaySigned(
          rzpRaw('payment.captured', await registered('razorpay', { paymentId: p1, createdAt: ago(40) })),
        ),
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'Razorpay: signed paid event with created_at 1 (1970) is acknowledged as stale',
      provider: 'razorpay',
      status: 200,
      answer: STALE,
      paymentId: p2,
      send: () => razorpaySigned(rzpRaw('order.paid', { paymentId: p2, createdAt: 1 })),
    }),
  );
  const s1 = sid();
  add(
    row({
      // The signature is fresh (a resend from the dashboard); the event it signs is 40 days old.
      name: 'Stripe: freshly signed paid event created 40 days ago is acknowledged as stale',
      provider: 'stripe',
      status: 200,
      answer: STALE,
      paymentId: s1,
      send: () => stripeSigned(stripeRaw('payment_intent.succeeded', { paymentId: s1, createdAt: ago(40) })),
    }),
  );
  const s2 = sid();
  add(
    row({
      // STRIPE_LIVEMODE is unset (false): a live-mode event cannot start anything in this deployment.
      name: 'Stripe: signed live-mode paid event in a test-mode deployment is acknowledged and ignored',
      provider: 'stripe',
      status: 200,
      answer: IGNORED,
      paymentId: s2,
      send: () => {
        const e = stripeObject('checkout.session.completed', { paymentId: s2 });
        e.livemode = true;
        e.data.object.livemode = true;
        return stripeSigned(JSON.stringify(e));
      },
    }),
  );
}

// --- HTTP: methods, paths, headers, framing -------------------------------------------------------
{
  const p1 = rid();
  add(
    row({
      name: 'GET on the webhook path',
      provider: 'razorpay',
      status: 405,
      answer: { error: 'method_not_allowed' },
      send: () => post('razorpay', [], undefined, { method: 'GET' }),
      then: (res) => expect(res.headers.allow).toBe('POST'),
    }),
    row({
      name: 'PUT of a correctly signed paid event on the webhook path',
      provider: 'razorpay',
      status: 405,
      answer: { error: 'method_not_allowed' },
      paymentId: p1,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p1 });
        return post(
          'razorpay',
          [...json, ['X-Razorpay-Signature', signRazorpay(body, secret('razorpay'))]],
          body,
          { method: 'PUT' },
        );
      },
    }),
  );
  for (const provider of ['paypal', '__proto__', 'constructor', 'RAZORPAY']) {
    const p = rid();
    add(
      row({
        name: `unknown provider path /webhooks/${provider} with a correctly signed Razorpay body`,
        provider: 'razorpay',
        status: 404,
        answer: { error: 'unknown_provider' },
        paymentId: p,
        send: () => {
          const body = rzpRaw('payment.captured', { paymentId: p });
          return post(
            provider,
            [...json, ['X-Razorpay-Signature', signRazorpay(body, secret('razorpay'))]],
            body,
          );
        },
      }),
    );
  }
  add(
    row({
      name: 'a path below the provider (/webhooks/razorpay/extra)',
      provider: 'razorpay',
      status: 404,
      answer: { error: 'not_found' },
      send: () => post('razorpay', json, '{}', { path: '/webhooks/razorpay/extra' }),
    }),
    row({
      name: 'malformed percent-encoding in the provider segment',
      provider: 'razorpay',
      status: 400,
      answer: { error: 'bad_request' },
      send: () => post('razorpay', json, '{}', { path: '/webhooks/%E0%A4%A' }),
    }),
    row({
      name: 'a 20 KB header (over Node’s 16 KiB limit)',
      provider: 'razorpay',
      status: 431,
      send: () => post('razorpay', [...json, ['X-Padding', 'p'.repeat(20_000)]], '{}'),
    }),
    row({
      name: 'a NUL byte in the signature header (refused by the HTTP parser)',
      provider: 'razorpay',
      status: 400,
      send: () =>
        post('razorpay', [...json, ['X-Razorpay-Signature', `${'a'.repeat(32)}\0${'a'.repeat(31)}`]], '{}'),
    }),
    row({
      name: 'a NUL byte in the path',
      provider: 'razorpay',
      status: 400,
      send: () => post('razorpay', json, '{}', { path: '/webhooks/razor\0pay' }),
    }),
    row({
      // Request smuggling shape: both framings at once.
      name: 'Transfer-Encoding: chunked together with Content-Length',
      provider: 'razorpay',
      status: 400,
      send: () =>
        post('razorpay', [...json, ['Transfer-Encoding', 'chunked'], ['Content-Length', '5']], '0\r\n\r\n'),
    }),
  );
}

// --- Slow-loris (receiver with requestTimeout 1.5 s, headersTimeout 0.75 s) ------------------------
{
  const within = (res: WireResponse, limitMs: number) => {
    expect(res.ms).toBeGreaterThanOrEqual(limitMs - 50);
    // Node sweeps connections every headersTimeout/4 here, not every 30 s (its default).
    expect(res.ms).toBeLessThan(limitMs + 1_000);
  };
  const p1 = rid();
  add(
    row({
      name: 'slow-loris: headers trickled one byte every 50 ms get 408 at the headers timeout',
      provider: 'razorpay',
      status: 408,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p1 });
        const bytes = requestBytes(
          'POST',
          '/webhooks/razorpay',
          [...json, ['X-Razorpay-Signature', signRazorpay(body, secret('razorpay'))]],
          body,
        );
        return exchange(portOf(strict.url), { head: '', trickle: { bytes, everyMs: 50 } });
      },
      paymentId: p1,
      then: (res) => {
        within(res, SLOW_LORIS.headersTimeoutMs);
        expect(res.bytesSent).toBeLessThan(60);
      },
    }),
  );
  const p2 = rid();
  add(
    row({
      name: 'slow-loris: a signed body trickled one byte every 20 ms gets 408 at the request timeout',
      provider: 'razorpay',
      status: 408,
      paymentId: p2,
      send: () => {
        const body = rzpRaw('payment.captured', { paymentId: p2 });
        const head = requestBytes('POST', '/webhooks/razorpay', [
          ...json,
          ['X-Razorpay-Signature', signRazorpay(body, secret('razorpay'))],
          ['Content-Length', String(Buffer.byteLength(body))],
        ]);
        return exchange(portOf(strict.url), { head, trickle: { bytes: body, everyMs: 20 } });
      },
      then: (res) => within(res, SLOW_LORIS.requestTimeoutMs),
    }),
    row({
      name: 'slow-loris: a connection that never sends a byte gets 408 at the headers timeout',
      provider: 'razorpay',
      status: 408,
      send: () => exchange(portOf(strict.url), { head: '' }),
      then: (res) => within(res, SLOW_LORIS.headersTimeoutMs),
    }),
  );
}

// ------------------------------------------------------------------------------------------------
// Running it

const workflowExists = async (workflowId: string) => {
  try {
    await system.client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
};

/** Strongly consistent (describe by ID, both providers), then the visibility index operators use. */
async function workflowsStartedFor(paymentId: string): Promise<string[]> {
  const candidates = (['razorpay', 'stripe'] as const).map((p) => `payment-${p}-${paymentId}`);
  const existing = [];
  for (const id of candidates) if (await workflowExists(id)) existing.push(id);
  return existing;
}

async function listed(query: string): Promise<string[]> {
  const found: string[] = [];
  for await (const wf of system.client.workflow.list({ query })) found.push(wf.workflowId);
  return found.sort();
}

/** One payment per provider, delivered after every row: first `started`, then `duplicate`. */
const canary = { razorpay: rid(), stripe: sid() };
const expectedWorkflows = new Set<string>(
  (['razorpay', 'stripe'] as const).map((p) => `payment-${p}-${canary[p]}`),
);

async function receiverStillHealthy(provider: PaymentProvider) {
  const health = await fetch(`${system.receiver.url}/healthz`);
  expect(health.status).toBe(200);
  const [delivery] = await sendDeliveries({
    provider,
    url: system.receiver.url,
    secret: secret(provider),
    // Unicode and a slash: Razorpay's canary is PHP-escaped on the wire.
    fixture: { paymentId: canary[provider], name: 'Aśha Rāo / ML', courseId: 'course-ml-101' },
  });
  expect(delivery!.status).toBe(200);
  expect(['started', 'duplicate']).toContain((JSON.parse(delivery!.body) as { status: string }).status);
}

describe('hostile deliveries to the real receiver', () => {
  it('has at least 40 cases, each with a distinct name', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases.map((c) => [`${c.name} -> ${c.status}`, c] as const))('%s', async (_name, c) => {
    const res = await c.send();
    expect(res.status).toBe(c.status);
    if (c.answer) expect(JSON.parse(res.body)).toMatchObject(c.answer);

    if (c.paymentId) {
      const started = await workflowsStartedFor(c.paymentId);
      if (c.startsAccess) {
        // The payment's own workflow is not started by its refund; the refund's is, and carries its id.
        expect(started).toEqual([]);
        expect(await workflowExists(c.startsAccess)).toBe(true);
        expectedWorkflows.add(c.startsAccess);
        expect(await eventually(async () => (await listed(`PaymentId = "${c.paymentId}"`)).length)).toBe(1);
        expect(await listed(`PaymentId = "${c.paymentId}"`)).toEqual([c.startsAccess]);
      } else if (c.starts) {
        expect(started).toEqual([`payment-${c.provider}-${c.paymentId}`]);
        started.forEach((id) => expectedWorkflows.add(id));
        expect(await eventually(async () => (await listed(`PaymentId = "${c.paymentId}"`)).length)).toBe(1);
      } else {
        expect(started).toEqual([]);
        expect(await listed(`PaymentId = "${c.paymentId}"`)).toEqual([]);
      }
    }
    await c.then?.(res, c.paymentId ?? '');
    await receiverStillHealthy(c.provider);
  });

  it.each(['razorpay', 'stripe'] as const)(
    'still starts a fresh signed %s payment after the whole table',
    async (provider) => {
      const paymentId = newPaymentId(provider);
      const [delivery] = await sendDeliveries({
        provider,
        url: system.receiver.url,
        secret: secret(provider),
        fixture: { paymentId },
      });
      expect(delivery!.status).toBe(200);
      expect(JSON.parse(delivery!.body)).toEqual({
        status: 'started',
        workflowId: `payment-${provider}-${paymentId}`,
      });
      expectedWorkflows.add(`payment-${provider}-${paymentId}`);
    },
  );

  it('started no workflow in the namespace beyond the canaries and the rows that must start one', async () => {
    const expected = [...expectedWorkflows].sort();
    // Visibility is eventually consistent: wait (bounded) until every expected workflow is listed,
    // then compare exactly, so a failure shows the diff.
    let all = await listed('');
    for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
      if (expected.every((id) => all.includes(id))) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
      all = await listed('');
    }
    expect(all).toEqual(expected);
  });
});

/**
 * The receiver's starter on the real server, on a task queue no worker polls: the access workflow
 * then stays running (nothing executes it), as a dispute's does while it waits for the provider.
 */
describe('access starts against the real Temporal server', () => {
  const starter = () =>
    createEnrollmentStarter({
      client: system.client,
      taskQueue: 'hostile-access-no-worker',
      startTimeoutMs: 5_000,
      logger: createLogger('hostile', 'silent'),
    });
  const dispute = (eventType: string, status: string, minutesAgo: number): AccessEvent => ({
    provider: 'razorpay',
    kind: 'dispute',
    causeId: `disp_${randomAlphanumeric(14)}`,
    paymentId: rid(),
    status,
    eventType,
    eventCreatedAt: new Date(Date.now() - minutesAgo * 60_000).toISOString(),
  });
  const accessSignals = async (workflowId: string) => {
    const history = await system.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? [])
      .map((e) => e.workflowExecutionSignaledEventAttributes)
      .filter((a) => a?.signalName === accessEventSignal.name);
  };

  it('starts a dispute once and signals its later events to the running workflow, each once', async () => {
    const start = starter();
    const created = dispute('payment.dispute.created', 'open', 30);
    const won = {
      ...created,
      eventType: 'payment.dispute.won',
      status: 'won',
      eventCreatedAt: new Date().toISOString(),
    };
    const workflowId = accessWorkflowId(created);
    try {
      await expect(start.startAccess(created)).resolves.toEqual({ status: 'started', workflowId });
      const described = await system.client.workflow.getHandle(workflowId).describe();
      expect(described.typedSearchAttributes.get(paymentIdSearchAttribute)).toBe(created.paymentId);
      expect(described.typedSearchAttributes.get(enrollmentStateSearchAttribute)).toBe('changing_access');
      expect(await described.staticSummary()).toBe(
        `Dispute ${created.causeId} of ${created.paymentId} · razorpay · open`,
      );

      await expect(start.startAccess(won)).resolves.toEqual({ status: 'duplicate', workflowId });
      // A redelivery of the same event (and of the first one, which the start carried) adds nothing.
      await expect(start.startAccess(won)).resolves.toEqual({ status: 'duplicate', workflowId });
      await expect(start.startAccess(created)).resolves.toEqual({ status: 'duplicate', workflowId });
      const signals = await accessSignals(workflowId);
      expect(signals.map((a) => a?.input?.payloads?.length)).toEqual([1]);
      expect((await system.client.workflow.getHandle(workflowId).describe()).status.name).toBe('RUNNING');
    } finally {
      await system.client.workflow.getHandle(workflowId).terminate('hostile test cleanup');
    }
    // Closed (here by an operator): a later phase of the dispute is acknowledged as a duplicate.
    const lost = { ...won, eventType: 'payment.dispute.lost', status: 'lost' };
    await expect(starter().startAccess(lost)).resolves.toEqual({ status: 'duplicate', workflowId });
    expect(await accessSignals(workflowId)).toHaveLength(1);
  }, 30_000);

  it('answers a redelivered refund duplicate without signalling its workflow', async () => {
    const start = starter();
    const refund: AccessEvent = {
      provider: 'stripe',
      kind: 'refund',
      causeId: `ch_${randomAlphanumeric(24)}`,
      refundedMinor: 4_900,
      paymentId: sid(),
      status: 'partial',
      eventType: 'charge.refunded',
      eventCreatedAt: new Date().toISOString(),
    };
    const workflowId = accessWorkflowId(refund);
    try {
      await expect(start.startAccess(refund)).resolves.toEqual({ status: 'started', workflowId });
      await expect(start.startAccess(refund)).resolves.toEqual({ status: 'duplicate', workflowId });
      // The full refund that follows is a refund of its own.
      const full = { ...refund, refundedMinor: 49_900, status: 'full' };
      await expect(start.startAccess(full)).resolves.toEqual({
        status: 'started',
        workflowId: accessWorkflowId(full),
      });
      await system.client.workflow.getHandle(accessWorkflowId(full)).terminate('hostile test cleanup');
      expect(await accessSignals(workflowId)).toEqual([]);
    } finally {
      await system.client.workflow.getHandle(workflowId).terminate('hostile test cleanup');
    }
  }, 30_000);
});
