import { accessWorkflowId } from '../../src/domain/access-event';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import type { PaymentProvider } from '../../src/domain/payment-event';
import type { ReconcileMode } from '../../src/domain/reconcile';
import { loadCatalog } from '../../src/catalog';
import { catalogPurchase, registerPurchase, registerRefund } from '../../src/tools/purchase';
import type { AccessSummary } from '../../src/workflows/access-messages';
import { paymentSourceSearchAttribute, type EnrollmentSummary } from '../../src/workflows/messages';
import type { ReconcileResult, ReconcileWorkflowInput } from '../../src/workflows/reconcile-messages';
import { eventually } from '../helpers/eventually';
import { useSystem, studentEmail, sameEmail } from '../helpers/system';

/**
 * Reconciliation black-box: the sandbox provider holds payments and refunds whose webhooks never came,
 * and the reconciliation workflow, run on the real worker against a Temporal dev server, finds them
 * through the providers' list APIs (Razorpay's payments and refunds, Stripe's events) and starts
 * exactly the workflows their webhooks would have: the course granted once, then taken back once.
 */
const system = useSystem();

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** course-ml-101 bought and paid in the sandbox provider; its webhooks are never delivered. */
const boughtWithoutWebhook = (provider: PaymentProvider, email: string, createdAt?: number) =>
  registerPurchase(system.sandbox.url, provider, {
    ...catalogPurchase(loadCatalog(system.env.CATALOG_PATH!), provider, {
      productId: 'course-ml-101',
      kind: provider === 'razorpay' ? 'order' : 'checkout',
      currency: 'INR',
      customer: { email, name: 'Asha Rao', phone: '+919876500012' },
    }),
    ...(createdAt !== undefined && { createdAt }),
  });

let runs = 0;
async function reconcile(
  provider: PaymentProvider,
  since: number,
  mode: ReconcileMode = 'backfill',
): Promise<ReconcileResult> {
  runs += 1;
  const input: ReconcileWorkflowInput = { provider, mode, window: { from: since, to: nowSeconds() } };
  return system.client.workflow.execute<(i: ReconcileWorkflowInput) => Promise<ReconcileResult>>(
    'reconcileWorkflow',
    { taskQueue: system.env.TEMPORAL_TASK_QUEUE!, workflowId: `reconcile-e2e-${runs}`, args: [input] },
  );
}

const enrollmentsOf = async (email: string) =>
  (await system.ledger()).enrollments.filter((e) => sameEmail(e.email, email));

describe('reconciliation finds what no webhook announced', () => {
  it.each(['razorpay', 'stripe'] as const)(
    'a %s payment, then its refund in full: enrolled once, revoked once, a second pass starts nothing',
    async (provider) => {
      const since = nowSeconds() - 60;
      const email = studentEmail(`reconciled-${provider}`);
      const purchase = await boughtWithoutWebhook(provider, email);
      const paymentWorkflow = enrollmentWorkflowId(provider, purchase.paymentId);

      // A dry run lists the payment once (a Stripe checkout has two paid events) and starts nothing.
      const dry = await reconcile(provider, since, 'dry_run');
      expect(dry.startedItems.filter((i) => i.workflowId === paymentWorkflow)).toHaveLength(1);
      await expect(system.client.workflow.getHandle(paymentWorkflow).describe()).rejects.toThrow();

      const first = await reconcile(provider, since);
      expect(first.startedItems.map((i) => i.workflowId)).toContain(paymentWorkflow);
      const payment = system.client.workflow.getHandle(paymentWorkflow);
      expect(((await payment.result()) as EnrollmentSummary).outcome).toBe('completed');
      const described = await payment.describe();
      expect(described.typedSearchAttributes.get(paymentSourceSearchAttribute)).toBe('operator');
      expect(await enrollmentsOf(email)).toHaveLength(1);

      const refund = await registerRefund(system.sandbox.url, provider, { paymentId: purchase.paymentId });
      const second = await reconcile(provider, since);
      const access = second.startedItems.filter((i) => i.kind === 'refund');
      expect(access).toHaveLength(1);
      expect(second.startedItems).toHaveLength(1);
      expect(access[0]!.workflowId).toEqual(
        provider === 'razorpay'
          ? accessWorkflowId({ provider, kind: 'refund', causeId: refund.refundId })
          : expect.stringMatching(/^refund-stripe-ch_\w+-\d+$/),
      );
      const revoked = (await system.client.workflow
        .getHandle(access[0]!.workflowId)
        .result()) as AccessSummary;
      expect(revoked).toMatchObject({ outcome: 'revoked', paymentId: purchase.paymentId });
      const [enrollment] = await eventually(async () => {
        const found = await enrollmentsOf(email);
        return found[0]?.status === 'revoked' ? found : undefined;
      }, 30_000);
      expect(enrollment!.access_changes.map((c) => c.to)).toEqual(['revoked']);

      const third = await reconcile(provider, since, 'dry_run');
      expect(third.totals.started).toBe(0);
      // The refund's workflow exists; a Razorpay payment refunded in full no longer lists as captured.
      expect(third.totals.duplicates).toBeGreaterThanOrEqual(1);
    },
    120_000,
  );

  it('refuses, and lists, a payment older than the redelivery horizon instead of starting it', async () => {
    const email = studentEmail('too-old');
    const sixteenDaysAgo = nowSeconds() - 16 * 86_400;
    const purchase = await boughtWithoutWebhook('razorpay', email, sixteenDaysAgo);
    const result = await reconcile('razorpay', sixteenDaysAgo - 60);
    expect(result.refusedItems).toContainEqual({
      id: purchase.paymentId,
      reason: expect.stringContaining('past the redelivery horizon'),
    });
    expect(result.startedItems.map((i) => i.id)).not.toContain(purchase.paymentId);
    await expect(
      system.client.workflow.getHandle(enrollmentWorkflowId('razorpay', purchase.paymentId)).describe(),
    ).rejects.toThrow();
    expect(await enrollmentsOf(email)).toHaveLength(0);
  });
});
