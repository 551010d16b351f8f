import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import fc from 'fast-check';
import { createLogger } from '../../src/runtime/logger';
import { type AccessEvent, accessEventSchema, accessWorkflowId } from '../../src/domain/access-event';
import { type PaymentEvent, paymentEventSchema } from '../../src/domain/payment-event';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';
import { stripeEvent } from '../../src/providers/stripe/fixtures';
import { serializeAsProvider } from '../../src/tools/sign';
import { createWebhookApp, MAX_BODY_BYTES } from '../../src/webhook/app';
import { type Interpretation, SignatureError } from '../../src/providers/adapter';
import {
  interpretRazorpayEvent,
  razorpayAdapter,
  verifyRazorpaySignature,
} from '../../src/providers/razorpay';
import { interpretStripeEvent, stripeAdapter, verifyStripeSignature } from '../../src/providers/stripe';
import { type EnrollmentStarter, TemporalUnavailableError } from '../../src/webhook/start-enrollment';

/**
 * Part 8: properties, each checked on a few hundred generated inputs (fast-check, bounded runs). The
 * oracles restate the signing schemes from the providers' documentation, independently of the code
 * under test: what a verifier accepts must be exactly what an active secret signed.
 */

const NOW_MS = Date.UTC(2026, 10, 20, 10, 0, 0);
const NOW_S = Math.floor(NOW_MS / 1000);
const TOLERANCE_S = 300;
const hmacHex = (key: string, data: string | Buffer) => createHmac('sha256', key).update(data).digest('hex');

/** Runs a verifier: true when it accepts, false on SignatureError; anything else escapes and fails. */
function accepts(verify: () => void): boolean {
  try {
    verify();
    return true;
  } catch (err) {
    if (err instanceof SignatureError) return false;
    throw err;
  }
}

// ------------------------------------------------------------------------------------------------
// Oracles

/** Razorpay: 64 hex digits (any case) equal to HMAC-SHA256(secret, raw bytes) for an active secret. */
function razorpaySignedByActive(body: Buffer, header: string | undefined, active: string[]): boolean {
  if (header === undefined || !/^[0-9a-fA-F]{64}$/.test(header)) return false;
  return active.some((key) => hmacHex(key, body) === header.toLowerCase());
}

/**
 * Stripe, as our receiver promises it: the bytes are BOM-less UTF-8 (so they are exactly what was
 * signed), the header has exactly one all-digits `t` no older than the tolerance, and some `v1` equals
 * HMAC-SHA256(secret, `${t}.${body}`) for an active secret. Parts are split the way the SDK splits
 * them (`,` then `=`); an empty `v1` value makes the SDK refuse the whole header (fails closed).
 */
function stripeSignedByActive(body: Buffer, header: string | undefined, active: string[]): boolean {
  if (!header) return false;
  if (!Buffer.from(body.toString('utf8'), 'utf8').equals(body)) return false;
  if (body.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) return false;
  const parts = header.split(',').map((part) => part.split('='));
  const stamps = parts.filter(([key]) => key === 't');
  if (stamps.length !== 1 || stamps[0]!.length !== 2 || !/^\d{1,15}$/.test(stamps[0]![1]!)) return false;
  const t = Number(stamps[0]![1]);
  if (NOW_S - t > TOLERANCE_S) return false;
  const v1 = parts.filter(([key]) => key === 'v1').map(([, value]) => value);
  if (v1.length === 0 || v1.some((value) => !value)) return false;
  const content = `${t}.${body.toString('utf8')}`;
  return active.some((key) => v1.includes(hmacHex(key, content)));
}

// ------------------------------------------------------------------------------------------------
// Arbitraries

const fixed = { paymentId: 'pay_FuzzFuzzFuzz01', createdAt: NOW_S - 60 };
const fixedStripe = { paymentId: 'pi_FuzzFuzzFuzzFuzzFuzzFuzz', createdAt: NOW_S - 60 };
const realEvents = {
  razorpay: (['payment.captured', 'order.paid', 'payment.failed', 'refund.processed'] as const).map((k) =>
    razorpayEvent(k, fixed),
  ),
  stripe: (
    [
      'checkout.session.completed',
      'checkout.session.async_payment_succeeded',
      'payment_intent.succeeded',
      'payment_intent.payment_failed',
      'charge.refunded',
    ] as const
  ).map((k) => stripeEvent(k, fixedStripe)),
};
const realBodies = [
  ...realEvents.razorpay.map((e) => serializeAsProvider('razorpay', e)),
  ...realEvents.stripe.map((e) => serializeAsProvider('stripe', e)),
];

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** Every path to a value inside an object, e.g. ['payload', 'payment', 'entity', 'notes']. */
function pathsOf(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const here = prefix.length ? [prefix] : [];
  return [...here, ...Object.entries(value).flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}

/** Values that have broken parsers before: extremes, wrong types, prototype keys. */
const nastyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    0,
    -1,
    1.5,
    Number.MAX_SAFE_INTEGER,
    1e308,
    -1e308,
    '',
    ' ',
    'x'.repeat(2_000),
    [],
    {},
    null,
    JSON.parse('{"__proto__":{"polluted":true}}'),
    { constructor: { prototype: { polluted: true } } },
  ),
);

type Mutation = { path: string[]; op: 'set' | 'delete'; value: unknown };

function mutate(event: unknown, mutations: Mutation[]): Record<string, unknown> {
  const copy = clone(event) as Record<string, unknown>;
  for (const { path, op, value } of mutations) {
    let node: any = copy;
    for (const key of path.slice(0, -1)) {
      if (typeof node !== 'object' || node === null) break;
      node = node[key];
    }
    const last = path.at(-1);
    if (last === undefined || typeof node !== 'object' || node === null) continue;
    if (op === 'delete') delete node[last];
    // A copy: generated constants are shared between runs and must never end up nested in themselves.
    // defineProperty: a `__proto__` key becomes an own key, exactly as JSON.parse makes it.
    else
      Object.defineProperty(node, last, {
        value: clone(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return copy;
}

const mutationsAt = (paths: string[][]) =>
  fc.array(
    fc.record({
      path: fc.constantFrom(...paths),
      op: fc.constantFrom('set' as const, 'set' as const, 'delete' as const),
      value: nastyValue,
    }),
    { minLength: 1, maxLength: 4 },
  );

const mutatedEvent = (events: readonly object[]) =>
  fc
    .integer({ min: 0, max: events.length - 1 })
    .chain((i) => mutationsAt(pathsOf(events[i])).map((ms) => mutate(events[i], ms)));

const anyJsonObject = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 }), {
  maxKeys: 8,
});

const bodyBytes = fc.oneof(
  fc.constantFrom(...realBodies).map((b) => Buffer.from(b)),
  mutatedEvent([...realEvents.razorpay, ...realEvents.stripe]).map((e) => Buffer.from(JSON.stringify(e))),
  fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
  fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'binary', maxLength: 64 }).map((s) => Buffer.from(s)),
);

const secret = fc.string({ unit: 'binary', minLength: 1, maxLength: 24 });
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));

/** A Razorpay header: honest, honest with a twist, or hostile. */
const razorpayHeader = (body: Buffer, active: string[], foreign: string, other: Buffer) => {
  const anyKey = fc.constantFrom(...active, foreign);
  return fc.oneof(
    anyKey.map((key) => hmacHex(key, body)),
    anyKey.map((key) => hmacHex(key, body).toUpperCase()),
    anyKey.map((key) => hmacHex(key, other)),
    fc.tuple(anyKey, fc.nat({ max: 63 }), fc.constantFrom(...'0123456789abcdefg')).map(([key, i, c]) => {
      const mac = hmacHex(key, body);
      return mac.slice(0, i) + c + mac.slice(i + 1);
    }),
    anyKey.map((key) => hmacHex(key, body).slice(0, 63)),
    hex64,
    fc.string({ unit: 'binary-ascii', maxLength: 80 }),
    fc.constant(undefined),
    fc.constant(''),
  );
};

/** A Stripe header assembled from parts: timestamps honest and not, v1 from any secret, noise. */
const stripeHeader = (body: Buffer, active: string[], foreign: string, other: Buffer) => {
  const timestamp = fc.oneof(
    fc.integer({ min: -600, max: 600 }).map((age) => String(NOW_S - age)),
    fc.constantFrom('NaN', '', '0123', '1e9', ` ${NOW_S}`, `${NOW_S}abc`, '-5', `${NOW_S}=1`),
  );
  // What Stripe sends: a fresh t, one v1 per signing secret, a v0 in test mode.
  const honest = fc
    .record({
      age: fc.integer({ min: -60, max: TOLERANCE_S }),
      keys: fc.subarray([...active, foreign], { minLength: 1 }),
      v0: fc.boolean(),
    })
    .map(({ age, keys, v0 }) => {
      const t = NOW_S - age;
      const v1 = keys.map((key) => `v1=${hmacHex(key, `${t}.${body.toString('utf8')}`)}`);
      return [`t=${t}`, ...v1, ...(v0 ? [`v0=${'0'.repeat(64)}`] : [])].join(',');
    });
  const assembled = fc
    .record({
      stamps: fc.array(timestamp, { minLength: 0, maxLength: 2 }),
      v1: fc.array(
        fc.record({
          key: fc.constantFrom(...active, foreign),
          overOther: fc.boolean(),
          upper: fc.boolean(),
          flip: fc.boolean(),
          stampIndex: fc.nat({ max: 1 }),
        }),
        { maxLength: 3 },
      ),
      noise: fc.array(
        fc.oneof(
          hex64.map((h) => `v0=${h}`),
          fc.constantFrom('v1=', 'v1', 'x=1', '', ' v1=00'),
          fc.string({ maxLength: 20 }).filter((s) => !s.includes(',')),
        ),
        { maxLength: 2 },
      ),
      rotate: fc.nat(),
    })
    .map(({ stamps, v1, noise, rotate }) => {
      const signatures = v1.map(({ key, overOther, upper, flip, stampIndex }) => {
        // Content as the SDK builds it: parseInt of the timestamp text.
        const t = parseInt(stamps[stampIndex] ?? stamps[0] ?? String(NOW_S), 10);
        let mac = hmacHex(key, `${t}.${(overOther ? other : body).toString('utf8')}`);
        if (upper) mac = mac.toUpperCase();
        if (flip) mac = (mac[0] === '0' ? '1' : '0') + mac.slice(1);
        return `v1=${mac}`;
      });
      const parts = [...stamps.map((t) => `t=${t}`), ...signatures, ...noise];
      // A deterministic reordering, so shrinking stays meaningful.
      return parts.map((_, i) => parts[(i + rotate) % parts.length]!).join(',');
    });
  return fc.oneof(honest, assembled, assembled);
};

// ------------------------------------------------------------------------------------------------

describe('fuzzing the signature verifiers', () => {
  it('verifyRazorpaySignature accepts exactly what an active secret signed over these bytes, and throws only SignatureError', () => {
    let accepted = 0;
    const delivery = fc
      .record({
        active: fc.uniqueArray(secret, { minLength: 1, maxLength: 3 }),
        foreign: secret,
        body: bodyBytes,
        other: bodyBytes,
      })
      .chain((d) => razorpayHeader(d.body, d.active, d.foreign, d.other).map((header) => ({ ...d, header })));
    fc.assert(
      fc.property(delivery, ({ active, body, header }) => {
        const ok = accepts(() => verifyRazorpaySignature(body, header, active));
        expect(ok).toBe(razorpaySignedByActive(body, header, active));
        if (ok) accepted += 1;
      }),
      { numRuns: 500 },
    );
    // Not vacuous: about one header in seven is genuine (~75 of 500).
    expect(accepted).toBeGreaterThan(25);
  });

  it('verifyRazorpaySignature refuses every signature when no secret is configured', () => {
    fc.assert(
      fc.property(bodyBytes, secret, (body, key) => {
        expect(accepts(() => verifyRazorpaySignature(body, hmacHex(key, body), []))).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('verifyStripeSignature accepts exactly a fresh v1 an active secret made over these bytes, and throws only SignatureError', () => {
    let accepted = 0;
    const endpointSecret = secret.map((s) => `whsec_${s}`);
    const delivery = fc
      .record({
        active: fc.uniqueArray(endpointSecret, { minLength: 1, maxLength: 3 }),
        foreign: endpointSecret,
        body: bodyBytes,
        other: bodyBytes,
      })
      .chain((d) => stripeHeader(d.body, d.active, d.foreign, d.other).map((header) => ({ ...d, header })));
    fc.assert(
      fc.property(delivery, ({ active, body, header }) => {
        const ok = accepts(() => verifyStripeSignature(body, header, active, TOLERANCE_S, NOW_MS));
        expect(ok).toBe(stripeSignedByActive(body, header, active));
        if (ok) accepted += 1;
      }),
      { numRuns: 500 },
    );
    expect(accepted).toBeGreaterThan(50);
  });
});

describe('fuzzing the payload interpreters', () => {
  const kinds = new Set(['paid', 'access', 'ignored', 'invalid']);

  function wellFormed(result: Interpretation, provider: PaymentEvent['provider']) {
    expect(kinds.has(result.kind)).toBe(true);
    if (result.kind === 'paid') {
      // What reaches Temporal is a valid event whose id is safe inside a workflow id.
      expect(paymentEventSchema.safeParse(result.event).success).toBe(true);
      expect(result.event.provider).toBe(provider);
      expect(result.event.paymentId).toMatch(/^[A-Za-z0-9_]{1,64}$/);
      expect(result.event.amountMinor).toBeGreaterThan(0);
    } else if (result.kind === 'access') {
      expect(accessEventSchema.safeParse(result.event).success).toBe(true);
      expect(result.event.provider).toBe(provider);
      expect(accessWorkflowId(result.event)).toMatch(/^[a-z]+-[a-z]+-[A-Za-z0-9_-]{1,90}$/);
      expect(Number.isNaN(Date.parse(result.event.eventCreatedAt))).toBe(false);
    } else if (result.kind === 'invalid') {
      expect(result.reason.length).toBeGreaterThan(0);
    }
  }

  const headerNoise: fc.Arbitrary<IncomingHttpHeaders> = fc.record(
    {
      'x-razorpay-event-id': fc.oneof(
        fc.string({ maxLength: 300 }),
        fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }),
      ),
      'content-type': fc.string({ maxLength: 20 }),
    },
    { requiredKeys: [] },
  );

  it('interpretRazorpayEvent returns paid, access, ignored or invalid (never throws) for arbitrary JSON objects and mutated real events', () => {
    fc.assert(
      fc.property(
        fc.oneof(anyJsonObject, mutatedEvent(realEvents.razorpay)),
        headerNoise,
        (body, headers) => {
          wellFormed(interpretRazorpayEvent(body, headers), 'razorpay');
        },
      ),
      { numRuns: 500 },
    );
    expect(({} as any).polluted).toBeUndefined();
  });

  it('interpretStripeEvent returns paid, access, ignored or invalid (never throws) for arbitrary JSON objects and mutated real events', () => {
    fc.assert(
      fc.property(fc.oneof(anyJsonObject, mutatedEvent(realEvents.stripe)), (body) => {
        wellFormed(interpretStripeEvent(body), 'stripe');
      }),
      { numRuns: 500 },
    );
    expect(({} as any).polluted).toBeUndefined();
  });

  it('interprets any event time a JSON number can carry as paid, invalid or ignored, never a crash (no Date can hold 2^53 s)', () => {
    const eventTime = fc.oneof(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 0, max: 8_640_000_000_000 }),
      fc.double({ noNaN: true }),
    );
    fc.assert(
      fc.property(eventTime, eventTime, (paymentTime, eventCreated) => {
        const razorpay = clone(realEvents.razorpay[0]!);
        razorpay.payload.payment.entity.created_at = paymentTime;
        const stripe = clone(realEvents.stripe[2]!);
        stripe.created = eventCreated;
        // A time that is not a whole number of seconds is no envelope either provider sends: invalid.
        // Stripe acknowledges a well-formed signed event it cannot key (a 4xx would make Stripe retry
        // it for days), so an unrepresentable date there is ignored.
        for (const [result, outcomes] of [
          [interpretRazorpayEvent(razorpay as unknown as Record<string, unknown>, {}), ['paid', 'invalid']],
          [
            interpretStripeEvent(stripe as unknown as Record<string, unknown>),
            ['paid', 'ignored', 'invalid'],
          ],
        ] as const) {
          expect(outcomes).toContain(result.kind);
          if (result.kind === 'paid') expect(Number.isNaN(Date.parse(result.event.paidAt))).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });

  /** Where student, course and event-id data live: advisory, it must never decide paid vs invalid. */
  const studentData = {
    razorpay: [
      ['payload', 'payment', 'entity', 'email'],
      ['payload', 'payment', 'entity', 'contact'],
      ['payload', 'payment', 'entity', 'notes'],
      ['payload', 'payment', 'entity', 'notes', 'course_id'],
      ['payload', 'payment', 'entity', 'notes', 'student_name'],
      ['payload', 'order', 'entity', 'notes'],
      ['payload', 'order', 'entity', 'notes', 'course_id'],
    ],
    stripe: [
      ['id'],
      ['data', 'object', 'customer_details'],
      ['data', 'object', 'customer_details', 'email'],
      ['data', 'object', 'customer_details', 'phone'],
      ['data', 'object', 'customer_details', 'name'],
      ['data', 'object', 'metadata'],
      ['data', 'object', 'metadata', 'course_id'],
      ['data', 'object', 'metadata', 'student_email'],
      ['data', 'object', 'client_reference_id'],
      ['data', 'object', 'receipt_email'],
    ],
  };

  it('never turns a signed paid Razorpay event into invalid because of its student data or header noise', () => {
    const paid = realEvents.razorpay.slice(0, 2);
    fc.assert(
      fc.property(
        fc.constantFrom(...paid),
        mutationsAt(studentData.razorpay),
        headerNoise,
        (event, mutations, headers) => {
          const result = interpretRazorpayEvent(mutate(event, mutations), headers);
          expect(result).toMatchObject({ kind: 'paid', event: { paymentId: fixed.paymentId } });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never answers a signed refund invalid, whatever its payload holds: it is started or acknowledged', () => {
    // Everything inside the payload (Razorpay) or the object (Stripe), the envelope left genuine.
    const inside = (event: object, under: string[]) =>
      pathsOf(event).filter((p) => p.length > under.length && under.every((key, i) => p[i] === key));
    const refunds = [
      { provider: 'razorpay' as const, event: realEvents.razorpay[3]!, under: ['payload'] },
      { provider: 'stripe' as const, event: realEvents.stripe[4]!, under: ['data', 'object'] },
    ];
    let started = 0;
    fc.assert(
      fc.property(
        fc
          .constantFrom(...refunds)
          .chain((r) => mutationsAt(inside(r.event, r.under)).map((ms) => ({ ...r, ms }))),
        ({ provider, event, ms }) => {
          const body = mutate(event, ms);
          const result =
            provider === 'razorpay' ? interpretRazorpayEvent(body, {}) : interpretStripeEvent(body);
          expect(['access', 'ignored']).toContain(result.kind);
          wellFormed(result, provider);
          if (result.kind === 'access') started += 1;
        },
      ),
      { numRuns: 300 },
    );
    // Not vacuous: most mutations leave the refund's id alone.
    expect(started).toBeGreaterThan(50);
  });

  it('never turns a signed paid Stripe event into invalid because of its student data', () => {
    const paid = realEvents.stripe.slice(0, 3);
    fc.assert(
      fc.property(fc.constantFrom(...paid), mutationsAt(studentData.stripe), (event, mutations) => {
        // A Stripe event id is tracing only; its absence is the one thing the envelope still needs.
        const mutated = mutate(event, mutations);
        if (typeof mutated.id !== 'string' || !mutated.id) mutated.id = 'evt_fuzz';
        const result = interpretStripeEvent(mutated);
        expect(result).toMatchObject({ kind: 'paid', event: { paymentId: fixedStripe.paymentId } });
      }),
      { numRuns: 300 },
    );
  });
});

// ------------------------------------------------------------------------------------------------
// The whole HTTP app, over real HTTP on loopback, with Temporal replaced by a recorder

describe('fuzzing the webhook HTTP app', () => {
  const DOCUMENTED = [200, 400, 401, 404, 413, 415, 503];
  const active = {
    razorpay: ['rzp_fuzz_active_1', 'rzp_fuzz_active_2'],
    stripe: ['whsec_fuzz_active_1', 'whsec_fuzz_active_2'],
  };
  const retired = { razorpay: 'rzp_fuzz_retired', stripe: 'whsec_fuzz_retired' };

  let server: Server;
  let base: string;
  let mode: 'ok' | 'duplicate' | 'down' = 'ok';
  const attempts: Array<PaymentEvent | AccessEvent> = [];
  const attempt = (event: PaymentEvent | AccessEvent, workflowId: string) => {
    attempts.push(event);
    if (mode === 'down') throw new TemporalUnavailableError('fuzz: Temporal down');
    return { status: mode === 'duplicate' ? ('duplicate' as const) : ('started' as const), workflowId };
  };
  const starter: EnrollmentStarter = {
    start: async (event) => attempt(event, `payment-${event.provider}-${event.paymentId}`),
    startAccess: async (event) => attempt(event, accessWorkflowId(event)),
    ready: async () => mode !== 'down',
  };

  beforeAll(async () => {
    const app = createWebhookApp({
      adapters: {
        razorpay: razorpayAdapter(active.razorpay),
        stripe: stripeAdapter(active.stripe, TOLERANCE_S),
      },
      starter,
      logger: createLogger('fuzz', 'silent'),
      now: () => NOW_MS,
    });
    server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const modes = fc.constantFrom('ok' as const, 'duplicate' as const, 'down' as const);
  const paidBodies = {
    razorpay: realBodies.slice(0, 2),
    stripe: realBodies.slice(realEvents.razorpay.length, realEvents.razorpay.length + 3),
  };
  /** A well-formed paid delivery (its header is still generated, honest or not). */
  const paidDelivery = fc.constantFrom('razorpay' as const, 'stripe' as const).chain((provider) =>
    fc.record({
      path: fc.constant<string>(provider),
      contentType: fc.constant<string | undefined>('application/json'),
      encoding: fc.constant<string | undefined>(undefined),
      body: fc.constantFrom(...paidBodies[provider]).map((b) => Buffer.from(b)),
      other: bodyBytes,
      mode: modes,
    }),
  );
  const anyDelivery = fc.record({
    path: fc.constantFrom('razorpay', 'stripe', 'razorpay', 'stripe', 'paypal', '__proto__', 'constructor'),
    contentType: fc.constantFrom<string | undefined>(
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'text/plain',
      undefined,
    ),
    encoding: fc.constantFrom<string | undefined>(undefined, undefined, undefined, 'identity', 'gzip', 'br'),
    body: fc.oneof(
      { weight: 20, arbitrary: bodyBytes },
      { weight: 1, arbitrary: fc.constant(Buffer.alloc(MAX_BODY_BYTES + 1, 0x20)) },
    ),
    other: bodyBytes,
    mode: modes,
  });
  const delivery = fc
    .oneof({ weight: 1, arbitrary: paidDelivery }, { weight: 2, arbitrary: anyDelivery })
    .chain((d) => {
      const provider = d.path === 'stripe' ? ('stripe' as const) : ('razorpay' as const);
      const header =
        provider === 'stripe'
          ? stripeHeader(d.body, active.stripe, retired.stripe, d.other)
          : razorpayHeader(d.body, active.razorpay, retired.razorpay, d.other);
      return header.map((h) => ({ ...d, provider, header: h }));
    });

  /** What the contract answers before the signature matters, or undefined when it comes to that. */
  function refusedUpFront(d: { path: string; contentType?: string; encoding?: string; body: Buffer }) {
    if (d.path !== 'razorpay' && d.path !== 'stripe') return 404;
    if (!d.contentType?.startsWith('application/json') || d.contentType.includes('latin1')) return 415;
    if (d.encoding !== undefined && d.encoding !== 'identity') return 415;
    if (d.body.length > MAX_BODY_BYTES) return 413;
    return undefined;
  }

  it('answers every delivery with a documented status, and starts a workflow only for bytes an active secret signed', async () => {
    let started = 0;
    let refusedSignatures = 0;
    await fc.assert(
      fc.asyncProperty(delivery, async (d) => {
        mode = d.mode;
        attempts.length = 0;
        const signatureHeader = d.provider === 'stripe' ? 'stripe-signature' : 'x-razorpay-signature';
        const headers: Record<string, string> = {};
        if (d.contentType) headers['content-type'] = d.contentType;
        if (d.encoding) headers['content-encoding'] = d.encoding;
        // fetch refuses values with control characters; the raw-socket suite sends those.
        if (d.header !== undefined && /^[\x20-\x7e]*$/.test(d.header)) headers[signatureHeader] = d.header;
        // Like every HTTP stack, fetch strips a value's surrounding whitespace.
        const sent = headers[signatureHeader]?.trim();
        const authentic =
          d.provider === 'stripe'
            ? stripeSignedByActive(d.body, sent, active.stripe)
            : razorpaySignedByActive(d.body, sent, active.razorpay);

        const res = await fetch(`${base}/webhooks/${d.path}`, {
          method: 'POST',
          headers,
          body: d.body,
          signal: AbortSignal.timeout(5_000),
        });
        const answer = (await res.json()) as Record<string, unknown>;

        expect(DOCUMENTED).toContain(res.status);
        const upFront = refusedUpFront(d);
        if (upFront !== undefined) expect(res.status).toBe(upFront);
        else if (!authentic) expect(res.status).toBe(401);
        else expect([200, 400, 503]).toContain(res.status);
        if (upFront === undefined && !authentic) refusedSignatures += 1;

        if (attempts.length > 0) {
          // Whatever reached the starter was signed by an active secret over exactly these bytes.
          expect({ path: d.path, authentic }).toEqual({ path: d.provider, authentic: true });
          expect(attempts).toHaveLength(1);
          expect(res.status).toBe(d.mode === 'down' ? 503 : 200);
          if (d.mode !== 'down') {
            expect(answer.status).toBe(d.mode === 'duplicate' ? 'duplicate' : 'started');
            started += 1;
          }
        } else {
          expect(['started', 'duplicate']).not.toContain(answer.status);
          expect(res.status).not.toBe(503);
        }
      }),
      { numRuns: 300 },
    );
    // Not vacuous: both sides of the signature check were exercised through HTTP.
    expect(started).toBeGreaterThan(0);
    expect(refusedSignatures).toBeGreaterThan(20);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
