import { Writable } from 'node:stream';
import { loadWebhookConfig } from '../../src/config';
import { knownEventTypes, providerNames, providers, resolveFixture } from '../../src/providers';
import { parsePaymentRef } from '../../src/ops/payment-ref';
import { createLogger } from '../../src/runtime/logger';
import { signedDelivery } from '../../src/tools/sign';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';

/**
 * Every provider in the registry is registered whole: a folder that signs what it verifies, ids the
 * ops CLI recognises, event types the metrics know, headers and secrets the logger never writes.
 * A half-added provider fails here, not in production.
 */
const env = {
  RAZORPAY_WEBHOOK_SECRETS: 'registry-test-razorpay-secret',
  STRIPE_WEBHOOK_SECRETS: 'whsec_registryTestStripeSecret',
  ...newPayloadKeyEnv(),
};

describe.each(providerNames)('the %s provider, as registered', (name) => {
  const definition = providers[name];
  const secret = definition.randomSecret();
  const config = loadWebhookConfig({ ...env, [definition.secretVariable]: secret });
  const adapter = definition.createAdapter(config);

  it('verifies and reads as paid both of its own paid events, signed by its own scheme', () => {
    const fixture = resolveFixture(name);
    for (const kind of definition.fixtures.paidEventPair) {
      const body = definition.fixtures.buildEvent(kind, fixture);
      const delivery = signedDelivery(name, body, { secret });
      const raw = Buffer.from(delivery.body);
      expect(() => adapter.verify(raw, delivery.headers, Date.now())).not.toThrow();
      const meaning = adapter.interpret(JSON.parse(delivery.body), delivery.headers);
      expect(meaning).toMatchObject({
        kind: 'paid',
        event: { provider: name, paymentId: fixture.paymentId },
      });
    }
  });

  it('refuses a delivery signed with another secret', () => {
    const body = definition.fixtures.buildEvent(definition.fixtures.defaultEventKind, resolveFixture(name));
    const delivery = signedDelivery(name, body, { secret: definition.randomSecret() });
    expect(() => adapter.verify(Buffer.from(delivery.body), delivery.headers, Date.now())).toThrow();
  });

  it('refuses to build an adapter without a secret', () => {
    expect(() => definition.createAdapter({ ...config, [definition.secretVariable]: [] })).toThrow(
      definition.secretVariable,
    );
  });

  it('names its payment ids so the ops CLI finds the workflow', () => {
    const paymentId = definition.ids.newPaymentId();
    expect(paymentId.startsWith(definition.ids.paymentIdPrefixes[0])).toBe(true);
    expect(parsePaymentRef(paymentId)).toEqual({
      provider: name,
      paymentId,
      workflowId: `payment-${name}-${paymentId}`,
    });
    for (const [prefix, hint] of definition.ids.notPaymentIds) {
      expect(() => parsePaymentRef(`${prefix}AbC123`)).toThrow(hint);
    }
  });

  it('lists every event its builder makes among the event types metrics count', () => {
    for (const kind of definition.fixtures.eventKinds) expect(knownEventTypes.has(kind)).toBe(true);
  });

  it('never lets the logger write its signature headers or its secrets', () => {
    let written = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = createLogger('registry-test', 'info', sink);
    const headers = Object.fromEntries(
      definition.signatureHeaders.map((h) => [h, 'sig-value-that-must-not-appear']),
    );
    logger.info(
      { headers, req: { headers }, [definition.secretVariable]: 'secret-that-must-not-appear' },
      'x',
    );
    expect(written).toContain('[redacted]');
    expect(written).not.toContain('sig-value-that-must-not-appear');
    expect(written).not.toContain('secret-that-must-not-appear');
  });
});
