import { webcrypto } from 'node:crypto';
import Stripe from 'stripe';
import { razorpayEvent } from '../../src/providers/razorpay/fixtures';
import { stripeEvent } from '../../src/providers/stripe/fixtures';
import { serializeAsProvider, signedDelivery, tamperBody } from '../../src/tools/sign';
import { signRazorpay } from '../../src/providers/razorpay/signature';
import { stripeSignatureHeader } from '../../src/providers/stripe/signature';

const RAZORPAY_SECRET = 'rzp_webhook_secret_9f8e7d';
const STRIPE_SECRET = 'whsec_test_4eC39HqLyjWDarjtT1zdp7dc';
const CREATED_AT = 1_790_000_000;

/** HMAC through WebCrypto: an implementation independent of the node:crypto one under test. */
async function webCryptoHmacHex(secret: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const key = await webcrypto.subtle.importKey(
    'raw',
    enc.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await webcrypto.subtle.sign('HMAC', key, enc.encode(body));
  return Buffer.from(mac).toString('hex');
}

const differingBytes = (a: string, b: string): number[] => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  expect(x.length).toBe(y.length);
  return [...x.keys()].filter((i) => x[i] !== y[i]);
};

describe('signRazorpay', () => {
  it('matches the published HMAC-SHA256 test vector', () => {
    expect(signRazorpay('The quick brown fox jumps over the lazy dog', 'key')).toBe(
      'f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8',
    );
  });

  it('equals an independently computed lowercase hex HMAC of the raw body', async () => {
    const raw = serializeAsProvider('razorpay', razorpayEvent('order.paid', { createdAt: CREATED_AT }));
    const signature = signRazorpay(raw, RAZORPAY_SECRET);
    expect(signature).toBe(await webCryptoHmacHex(RAZORPAY_SECRET, raw));
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
  });

  it('signs a Buffer and the same string identically', () => {
    const raw = '{"entity":"event","note":"Zo\\u00eb"}';
    expect(signRazorpay(Buffer.from(raw, 'utf8'), RAZORPAY_SECRET)).toBe(signRazorpay(raw, RAZORPAY_SECRET));
  });
});

describe('stripeSignatureHeader', () => {
  it('produces a header the official SDK accepts', () => {
    const raw = serializeAsProvider('stripe', stripeEvent('checkout.session.completed', {}));
    const header = stripeSignatureHeader(raw, STRIPE_SECRET);
    const event = Stripe.webhooks.constructEvent(raw, header, STRIPE_SECRET);
    expect(event.type).toBe('checkout.session.completed');
  });

  it('signs `${t}.${body}` with the whole whsec_ string at the given timestamp', async () => {
    const header = stripeSignatureHeader('{"id":"evt_1"}', STRIPE_SECRET, 1_790_000_000);
    const expected = await webCryptoHmacHex(STRIPE_SECRET, '1790000000.{"id":"evt_1"}');
    expect(header).toBe(`t=1790000000,v1=${expected}`);
  });

  it('is refused by the SDK when the timestamp is 10 minutes old', () => {
    const raw = '{"id":"evt_1","object":"event"}';
    const header = stripeSignatureHeader(raw, STRIPE_SECRET, Math.floor(Date.now() / 1000) - 600);
    expect(() => Stripe.webhooks.constructEvent(raw, header, STRIPE_SECRET)).toThrow(
      'Timestamp outside the tolerance zone',
    );
  });
});

describe('serializeAsProvider', () => {
  it('escapes slashes and non-ASCII like Razorpay (PHP json_encode) and still parses back', () => {
    const event = razorpayEvent('payment.captured', { name: 'Zoë Brontë', createdAt: CREATED_AT });
    const raw = serializeAsProvider('razorpay', event);
    expect(raw).toContain('"description":"Course enrollment \\/ lifetime access"');
    expect(raw).toContain('"student_name":"Zo\\u00eb Bront\\u00eb"');
    expect([...raw].every((c) => c.charCodeAt(0) < 0x80)).toBe(true);
    expect(JSON.parse(raw)).toEqual(event);
    expect(JSON.stringify(JSON.parse(raw))).not.toBe(raw);
  });

  it('pretty-prints Stripe bodies with two spaces', () => {
    const event = stripeEvent('payment_intent.succeeded', {});
    const raw = serializeAsProvider('stripe', event);
    expect(raw.startsWith(`{\n  "id": "${event.id}",\n  "object": "event",`)).toBe(true);
  });
});

describe('signedDelivery', () => {
  it('gives Razorpay deliveries a JSON content type, a valid signature and a stable event id', async () => {
    const event = razorpayEvent('payment.captured', {
      paymentId: 'pay_Kx7Qm2Lp9Zr4Tb',
      createdAt: CREATED_AT,
    });
    const first = signedDelivery('razorpay', event, { secret: RAZORPAY_SECRET });
    const again = signedDelivery('razorpay', event, { secret: RAZORPAY_SECRET });
    expect(first.headers).toEqual({
      'content-type': 'application/json',
      'user-agent': 'Razorpay-Webhook/v1',
      'x-razorpay-event-id': first.eventId,
      'x-razorpay-signature': await webCryptoHmacHex(RAZORPAY_SECRET, first.body),
    });
    expect(first.eventId).toMatch(/^[A-Za-z0-9]{14}$/);
    expect(again).toEqual(first);

    const other = signedDelivery(
      'razorpay',
      razorpayEvent('order.paid', { paymentId: 'pay_Kx7Qm2Lp9Zr4Tb' }),
      {
        secret: RAZORPAY_SECRET,
      },
    );
    expect(other.eventId).not.toBe(first.eventId);
  });

  it('uses the event id it is given', () => {
    const signed = signedDelivery('razorpay', razorpayEvent('payment.captured', {}), {
      secret: RAZORPAY_SECRET,
      eventId: 'RzpEvt00000001',
    });
    expect(signed.eventId).toBe('RzpEvt00000001');
    expect(signed.headers['x-razorpay-event-id']).toBe('RzpEvt00000001');
  });

  it('gives Stripe deliveries a Stripe-Signature the SDK verifies, ignoring the extra v0', () => {
    const event = stripeEvent('payment_intent.succeeded', {});
    const signed = signedDelivery('stripe', event, { secret: STRIPE_SECRET });
    expect(signed.eventId).toBe(event.id);
    expect(Object.keys(signed.headers).sort()).toEqual(['content-type', 'stripe-signature', 'user-agent']);
    expect(signed.headers['content-type']).toBe('application/json');
    expect(signed.headers['stripe-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64},v0=[0-9a-f]{64}$/);
    const verified = Stripe.webhooks.constructEvent(
      signed.body,
      signed.headers['stripe-signature']!,
      STRIPE_SECRET,
    );
    expect(verified.id).toBe(event.id);
  });

  it('signs Stripe deliveries at the requested timestamp', () => {
    const signed = signedDelivery('stripe', stripeEvent('payment_intent.succeeded', {}), {
      secret: STRIPE_SECRET,
      timestamp: 1_790_000_123,
    });
    expect(signed.headers['stripe-signature']!.startsWith('t=1790000123,v1=')).toBe(true);
  });
});

describe('tampering', () => {
  it('changes exactly one byte, the amount, and keeps valid JSON', () => {
    const raw = serializeAsProvider('razorpay', razorpayEvent('payment.captured', { amountMinor: 49_900 }));
    const tampered = tamperBody(raw);
    expect(differingBytes(raw, tampered)).toHaveLength(1);
    expect(JSON.parse(tampered).payload.payment.entity.amount).toBe(59_900);
  });

  it('keeps the signature of the original body, so it no longer matches the Razorpay body sent', () => {
    const event = razorpayEvent('payment.captured', {});
    const honest = signedDelivery('razorpay', event, { secret: RAZORPAY_SECRET });
    const tampered = signedDelivery('razorpay', event, { secret: RAZORPAY_SECRET, tamper: true });
    expect(tampered.headers).toEqual(honest.headers);
    expect(differingBytes(honest.body, tampered.body)).toHaveLength(1);
    expect(signRazorpay(honest.body, RAZORPAY_SECRET)).toBe(honest.headers['x-razorpay-signature']);
    expect(signRazorpay(tampered.body, RAZORPAY_SECRET)).not.toBe(tampered.headers['x-razorpay-signature']);
  });

  it('makes the SDK reject a tampered Stripe delivery', () => {
    const signed = signedDelivery(
      'stripe',
      stripeEvent('checkout.session.completed', { amountMinor: 2_500 }),
      {
        secret: STRIPE_SECRET,
        tamper: true,
      },
    );
    expect(JSON.parse(signed.body).data.object.amount_total).toBe(3_500);
    expect(() =>
      Stripe.webhooks.constructEvent(signed.body, signed.headers['stripe-signature']!, STRIPE_SECRET),
    ).toThrow('No signatures found matching the expected signature for payload');
  });
});
