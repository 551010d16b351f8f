import { WorkflowNotFoundError } from '@temporalio/client';
import { loadWebhookConfig } from '../../src/config';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { createLogger } from '../../src/runtime/logger';
import { type PlannedDelivery, planDeliveries } from '../../src/tools/deliver';
import { newPaymentId } from '../../src/providers';
import { randomSecret } from '../../src/tools/sign';
import { type RunningReceiver, startWebhookReceiver } from '../../src/webhook/main';
import { useSystem } from '../helpers/system';

/**
 * Part 9: rotating a webhook secret on the real system (Temporal dev server, worker, sandbox), with
 * the receiver built the way the process builds it: from the environment, through `loadWebhookConfig`
 * and `startWebhookReceiver`. During a rotation the receiver is configured with [new, old]; events
 * signed before the rotation keep arriving, signed with the old secret, and must be accepted. Once
 * the old secret is removed (a restart with [new]), the old secret is refused like any forgery.
 */

const system = useSystem();
const logger = createLogger('rotation', 'silent');
const secretsVariable = { razorpay: 'RAZORPAY_WEBHOOK_SECRETS', stripe: 'STRIPE_WEBHOOK_SECRETS' } as const;

/**
 * The receiver process as it starts with `secrets` configured for `provider` (comma-separated, as in
 * the environment); the other provider keeps the system's secret.
 */
function startReceiverWith(provider: PaymentProvider, secrets: string[]): Promise<RunningReceiver> {
  const env = { ...system.env, [secretsVariable[provider]]: secrets.join(',') };
  return startWebhookReceiver(loadWebhookConfig(env), logger);
}

/** One paid event of a fresh payment, signed with `secret` as the provider would, kept to be resent. */
function signedPayment(provider: PaymentProvider, secret: string) {
  const plan = planDeliveries({
    provider,
    url: 'http://unused.invalid',
    secret,
    fixture: { paymentId: newPaymentId(provider), courseId: 'course-ml-101' },
  });
  return { paymentId: plan.fixture.paymentId, delivery: plan.deliveries[0]! };
}

async function deliver(receiver: RunningReceiver, provider: PaymentProvider, planned: PlannedDelivery) {
  const res = await fetch(`${receiver.url}/webhooks/${provider}`, {
    method: 'POST',
    headers: planned.signed.headers,
    body: planned.signed.body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function workflowExists(provider: PaymentProvider, paymentId: string): Promise<boolean> {
  try {
    await system.client.workflow.getHandle(`payment-${provider}-${paymentId}`).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

describe.each(['razorpay', 'stripe'] as const)(
  '%s webhook secret rotation on the real system',
  (provider) => {
    const oldSecret = () => system.secrets[provider];
    const newSecret = randomSecret(provider);
    let receiver: RunningReceiver | undefined;

    afterEach(async () => {
      await receiver?.close();
      receiver = undefined;
    });

    it('accepts deliveries signed with the old and with the new secret while both are configured, then refuses the old one once it is removed', async () => {
      // During the rotation: [new, old].
      receiver = await startReceiverWith(provider, [newSecret, oldSecret()]);
      const signedBefore = signedPayment(provider, oldSecret());
      const signedAfter = signedPayment(provider, newSecret);

      expect(await deliver(receiver, provider, signedBefore.delivery)).toEqual({
        status: 200,
        body: { status: 'started', workflowId: `payment-${provider}-${signedBefore.paymentId}` },
      });
      expect(await deliver(receiver, provider, signedAfter.delivery)).toEqual({
        status: 200,
        body: { status: 'started', workflowId: `payment-${provider}-${signedAfter.paymentId}` },
      });
      expect(await workflowExists(provider, signedBefore.paymentId)).toBe(true);
      expect(await workflowExists(provider, signedAfter.paymentId)).toBe(true);

      // The rotation is over: the receiver restarts with [new] only.
      await receiver.close();
      receiver = await startReceiverWith(provider, [newSecret]);

      // A redelivery of the very bytes accepted a moment ago, signed with the removed secret: refused.
      expect(await deliver(receiver, provider, signedBefore.delivery)).toEqual({
        status: 401,
        body: { error: 'invalid_signature' },
      });
      // A new payment signed with the removed secret: refused, and nothing is started for it.
      const signedWithRemoved = signedPayment(provider, oldSecret());
      expect((await deliver(receiver, provider, signedWithRemoved.delivery)).status).toBe(401);
      expect(await workflowExists(provider, signedWithRemoved.paymentId)).toBe(false);

      // The new secret keeps working: a redelivery is a duplicate, a new payment starts.
      expect(await deliver(receiver, provider, signedAfter.delivery)).toEqual({
        status: 200,
        body: { status: 'duplicate', workflowId: `payment-${provider}-${signedAfter.paymentId}` },
      });
      const fresh = signedPayment(provider, newSecret);
      expect((await deliver(receiver, provider, fresh.delivery)).body).toMatchObject({ status: 'started' });
      expect(await workflowExists(provider, fresh.paymentId)).toBe(true);
    });

    it('keeps accepting the old secret when the order is [old, new] (the order of the list does not matter)', async () => {
      receiver = await startReceiverWith(provider, [oldSecret(), newSecret]);
      for (const secret of [newSecret, oldSecret()]) {
        const signed = signedPayment(provider, secret);
        expect((await deliver(receiver, provider, signed.delivery)).body).toMatchObject({
          status: 'started',
        });
      }
    });

    it("does not accept the other provider's secret for this provider during a rotation", async () => {
      const other = provider === 'razorpay' ? 'stripe' : 'razorpay';
      receiver = await startReceiverWith(provider, [newSecret, oldSecret()]);
      // Sign this provider's event with the secret configured for the other one.
      const signed = signedPayment(provider, system.secrets[other]);
      expect(await deliver(receiver, provider, signed.delivery)).toEqual({
        status: 401,
        body: { error: 'invalid_signature' },
      });
      expect(await workflowExists(provider, signed.paymentId)).toBe(false);
    });
  },
);
