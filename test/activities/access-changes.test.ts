/**
 * The providers' word on money going back, read over real HTTP from the sandbox providers (the Stripe
 * one through the official SDK): refunds full and partial, disputes open, won and lost, subscriptions
 * cancelled, each traced to the payment enrollflow keyed its grant by.
 */
import { readRazorpayChange } from '../../src/activities/providers/razorpay-changes';
import { readStripeChange } from '../../src/activities/providers/stripe-changes';
import type { AccessEvent } from '../../src/domain/access-event';
import type { PaymentProvider } from '../../src/providers';
import {
  cancelSubscription,
  closeDispute,
  registerDispute,
  registerPurchase,
  registerRefund,
} from '../../src/tools/purchase';
import { credentials, useSandbox } from '../sandbox/harness';
import { captureLogs, noJitter } from './support/fixtures';

const sb = useSandbox();
const logs = captureLogs();
const deps = { fetch, logger: logs.logger, timeoutMs: 2_000, now: Date.now, random: noJitter };

const read = (change: Omit<AccessEvent, 'eventType' | 'eventCreatedAt'>) => {
  const event = { ...change, eventType: 'test', eventCreatedAt: new Date().toISOString() };
  return change.provider === 'razorpay'
    ? readRazorpayChange(
        {
          RAZORPAY_API_URL: `${sb.url}/razorpay`,
          RAZORPAY_KEY_ID: credentials.RAZORPAY_KEY_ID,
          RAZORPAY_KEY_SECRET: credentials.RAZORPAY_KEY_SECRET,
        },
        deps,
        event,
      )
    : readStripeChange(
        {
          STRIPE_API_URL: `${sb.url}/stripe`,
          STRIPE_API_KEY: credentials.STRIPE_API_KEY,
          HTTP_TIMEOUT_MS: 2_000,
        },
        event,
        logs.logger,
      );
};

const customer = { email: 'asha.rao@example.com', name: 'Asha Rao', phone: '+919876543210' };
const buy = (provider: PaymentProvider, kind: string, extra: object = {}) =>
  registerPurchase(sb.url, provider, {
    kind,
    amountMinor: provider === 'razorpay' ? 499_900 : 4_900,
    currency: provider === 'razorpay' ? 'INR' : 'USD',
    customer,
    merchant: { notes: { product_id: 'course-ml-101' }, metadata: { product_id: 'course-ml-101' } },
    ...extra,
  } as never);

describe('readRazorpayChange', () => {
  it('reads a partial then a full refund by their refund ids, with the payment they concern', async () => {
    const p = await buy('razorpay', 'order');
    const partial = await registerRefund(sb.url, 'razorpay', {
      paymentId: p.paymentId,
      amountMinor: 100_000,
    });
    const first = await read({ provider: 'razorpay', kind: 'refund', causeId: partial.refundId });
    expect(first).toEqual({
      state: 'partial_refund',
      detail: `refund ${partial.refundId}: 100000 of 499900 INR refunded`,
      paymentId: p.paymentId,
    });
    const rest = await registerRefund(sb.url, 'razorpay', { paymentId: p.paymentId });
    expect(await read({ provider: 'razorpay', kind: 'refund', causeId: rest.refundId })).toMatchObject({
      state: 'full_refund',
      paymentId: p.paymentId,
    });
    // The first refund, read again, now finds the payment refunded in full: the provider's truth is current.
    expect((await read({ provider: 'razorpay', kind: 'refund', causeId: partial.refundId })).state).toBe(
      'full_refund',
    );
  });

  it('reads a dispute open, then as it was decided', async () => {
    const p = await buy('razorpay', 'order');
    const d = await registerDispute(sb.url, 'razorpay', { paymentId: p.paymentId });
    const change = { provider: 'razorpay' as const, kind: 'dispute' as const, causeId: d.disputeId };
    expect(await read(change)).toMatchObject({ state: 'dispute_open', paymentId: p.paymentId });
    await closeDispute(sb.url, 'razorpay', d.disputeId, 'lost');
    expect(await read(change)).toMatchObject({
      state: 'dispute_lost',
      detail: `dispute ${d.disputeId} is lost`,
    });
  });

  it('reads a cancelled subscription: its first charge and the end of the period paid for', async () => {
    const p = await buy('razorpay', 'subscription', {
      charges: 2,
      merchant: { planId: 'plan_Ml101Monthly01', notes: { product_id: 'course-ml-101' } },
    });
    const subscriptionId = p.references.subscription!;
    const change = { provider: 'razorpay' as const, kind: 'subscription' as const, causeId: subscriptionId };
    expect((await read(change)).state).toBe('subscription_active');
    await cancelSubscription(sb.url, 'razorpay', subscriptionId);
    const ended = await read(change);
    expect(ended).toMatchObject({ state: 'subscription_ended', paymentId: p.paymentIds[0] });
    expect(Date.parse(ended.paidUntil!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('says not_found for ids Razorpay does not know', async () => {
    for (const kind of ['refund', 'dispute', 'subscription'] as const) {
      const causeId = {
        refund: 'rfnd_Unknown000001',
        dispute: 'disp_Unknown00001',
        subscription: 'sub_Unknown000001',
      }[kind];
      expect((await read({ provider: 'razorpay', kind, causeId })).state).toBe('not_found');
    }
  });
});

describe('readStripeChange', () => {
  it('reads a refunded charge, partial then full, keyed to the PaymentIntent', async () => {
    const p = await buy('stripe', 'checkout');
    const partial = await registerRefund(sb.url, 'stripe', { paymentId: p.paymentId, amountMinor: 900 });
    const charge = (partial.deliveries.find((d) => d.eventType === 'charge.refunded')!.body as any).data
      .object;
    expect(
      await read({ provider: 'stripe', kind: 'refund', causeId: charge.id, refundedMinor: 900 }),
    ).toEqual({
      state: 'partial_refund',
      detail: `charge ${charge.id}: 900 of 4900 USD refunded`,
      paymentId: p.paymentId,
    });
    await registerRefund(sb.url, 'stripe', { paymentId: p.paymentId });
    expect(
      (await read({ provider: 'stripe', kind: 'refund', causeId: charge.id, refundedMinor: 4900 })).state,
    ).toBe('full_refund');
  });

  it('traces a subscription charge refund to its invoice, the key of its grant', async () => {
    const p = await buy('stripe', 'subscription');
    expect(p.paymentId).toMatch(/^in_/);
    const refund = await registerRefund(sb.url, 'stripe', { paymentId: p.paymentId });
    const charge = (refund.deliveries.find((d) => d.eventType === 'charge.refunded')!.body as any).data
      .object;
    expect(await read({ provider: 'stripe', kind: 'refund', causeId: charge.id })).toMatchObject({
      state: 'full_refund',
      paymentId: p.paymentId,
    });
  });

  it('reads a dispute open, then won', async () => {
    const p = await buy('stripe', 'checkout');
    const d = await registerDispute(sb.url, 'stripe', { paymentId: p.paymentId });
    const change = { provider: 'stripe' as const, kind: 'dispute' as const, causeId: d.disputeId };
    expect(await read(change)).toMatchObject({ state: 'dispute_open', paymentId: p.paymentId });
    await closeDispute(sb.url, 'stripe', d.disputeId, 'won');
    expect((await read(change)).state).toBe('dispute_won');
  });

  it('reads a cancelled subscription with its first paid invoice', async () => {
    const p = await buy('stripe', 'subscription', { charges: 2 });
    const subscriptionId = p.references.subscription!;
    const change = { provider: 'stripe' as const, kind: 'subscription' as const, causeId: subscriptionId };
    expect((await read(change)).state).toBe('subscription_active');
    await cancelSubscription(sb.url, 'stripe', subscriptionId);
    expect(await read(change)).toMatchObject({ state: 'subscription_ended', paymentId: p.paymentIds[0] });
  });

  it('says not_found for ids Stripe does not know', async () => {
    expect((await read({ provider: 'stripe', kind: 'dispute', causeId: 'dp_Unknown0000000001' })).state).toBe(
      'not_found',
    );
    expect((await read({ provider: 'stripe', kind: 'refund', causeId: 'ch_Unknown0000000001' })).state).toBe(
      'not_found',
    );
  });
});
