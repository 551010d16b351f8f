import { accessWorkflowId } from '../../src/domain/access-event';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { sendPurchaseDeliveries } from '../../src/tools/deliver';
import { catalogPurchase, registerPurchase, registerRefund } from '../../src/tools/purchase';
import { loadCatalog } from '../../src/catalog';
import type { AccessStatus, AccessSummary } from '../../src/workflows/access-messages';
import type { EnrollmentSummary } from '../../src/workflows/messages';
import { eventually } from '../helpers/eventually';
import { sendJson } from '../helpers/send';
import { opsRunner } from '../ops/support';
import { useSystem, studentEmail, sameEmail } from '../helpers/system';

/**
 * Access follows the money back, black-box: `npm run send` plays the provider (pays, refunds, opens
 * and closes disputes in the sandbox provider and delivers their signed webhooks, redeliveries
 * included) against the real receiver, worker and a Temporal dev server; the sandbox LMS ledger and CRM
 * say what access each student has and how often it changed.
 */
const system = useSystem();

const send = (provider: PaymentProvider, ...args: string[]) => sendJson(system, provider, args);

async function paid(provider: PaymentProvider, email: string): Promise<string> {
  const { paymentId } = await send(provider, '--course', 'course-ml-101', '--email', email);
  const summary = (await system.client.workflow
    .getHandle(enrollmentWorkflowId(provider, paymentId))
    .result()) as EnrollmentSummary;
  expect(summary.outcome).toBe('completed');
  return paymentId;
}

const enrollmentOf = async (email: string) => {
  const found = (await system.ledger()).enrollments.filter((e) => sameEmail(e.email, email));
  expect(found).toHaveLength(1);
  return found[0]!;
};
const statusIs = (email: string, status: string) =>
  eventually(
    async () => ((await enrollmentOf(email)).status === status ? enrollmentOf(email) : undefined),
    30_000,
  );
/** course-ml-101 bought and paid in the sandbox provider, its webhooks not delivered yet. */
const bought = (provider: PaymentProvider, kind: string, currency: string, email: string) =>
  registerPurchase(
    system.sandbox.url,
    provider,
    catalogPurchase(loadCatalog(system.env.CATALOG_PATH!), provider, {
      productId: 'course-ml-101',
      kind,
      currency,
      customer: { email, name: 'Asha Rao', phone: '+919876500012' },
    }),
  );
const webhooksTo = (provider: PaymentProvider) => ({
  provider,
  url: system.receiver.url,
  secret: system.secrets[provider],
});
const accessResult = (workflowId: string) =>
  system.client.workflow.getHandle(workflowId).result() as Promise<AccessSummary>;

describe('access follows the money back', () => {
  it('a refund of a bundle takes back only what it enrolled: the course the student had bought alone stays', async () => {
    const email = studentEmail('bundle-after-course');
    await paid('razorpay', email);
    const { paymentId } = await send('razorpay', '--course', 'bundle-data-career', '--email', email);
    const bundle = (await system.client.workflow
      .getHandle(enrollmentWorkflowId('razorpay', paymentId))
      .result()) as EnrollmentSummary;
    expect(bundle.outcome).toBe('completed');

    const sent = await send('razorpay', '--refund', paymentId);
    const started = sent.results.map((r) => JSON.parse(r.body)).find((b) => b.status === 'started');
    expect(await accessResult(started.workflowId as string)).toMatchObject({ outcome: 'revoked', paymentId });

    const byCourse = Object.fromEntries(
      (await system.ledger()).enrollments
        .filter((e) => sameEmail(e.email, email))
        .map((e) => [e.course_id, e.status]),
    );
    // ML-101 came from the first payment, which was not refunded; DS-301 from the bundle, which was.
    expect(byCourse).toEqual({ 'ML-101': 'active', 'DS-301': 'revoked' });
  });

  it.each(['razorpay', 'stripe'] as const)(
    'a %s refund in full, delivered again and again, revokes the course once and updates the CRM',
    async (provider) => {
      const email = studentEmail(`refund-${provider}`);
      const paymentId = await paid(provider, email);
      const sent = await send(provider, '--refund', paymentId, '--duplicates', '6');
      expect(sent.results.every((r) => r.status === 200)).toBe(true);
      const started = sent.results.filter((r) => JSON.parse(r.body).status === 'started');
      expect(started).toHaveLength(1);
      const workflowId = JSON.parse(started[0]!.body).workflowId as string;
      expect(workflowId).toMatch(
        provider === 'razorpay' ? /^refund-razorpay-rfnd_/ : /^refund-stripe-ch_\w+-\d+$/,
      );
      expect(await accessResult(workflowId)).toMatchObject({ outcome: 'revoked', paymentId });

      const enrollment = await statusIs(email, 'revoked');
      expect(enrollment.access_changes.map((c) => c.to)).toEqual(['revoked']);
      const contact = (await system.ledger()).contacts.find((c) => c.email === email);
      expect(contact?.properties).toMatchObject({
        enrollflow_access_state: 'revoked',
        enrollflow_enrolled: 'false',
      });
    },
  );

  it('a dispute opened suspends; lost, it revokes', async () => {
    const email = studentEmail('dispute-lost');
    const paymentId = await paid('razorpay', email);
    const opened = await send('razorpay', '--dispute', paymentId);
    await statusIs(email, 'suspended');
    await send('razorpay', '--dispute', opened.dispute!.disputeId, '--outcome', 'lost', '--duplicates', '3');
    const enrollment = await statusIs(email, 'revoked');
    expect(enrollment.access_changes.map((c) => c.to)).toEqual(['suspended', 'revoked']);
    const summary = await accessResult(
      accessWorkflowId({ provider: 'razorpay', kind: 'dispute', causeId: opened.dispute!.disputeId }),
    );
    expect(summary.timeline.map((t) => t.access)).toEqual(['suspended', 'revoked']);
  });

  it('a Stripe dispute won restores what it suspended', async () => {
    const email = studentEmail('dispute-won');
    const paymentId = await paid('stripe', email);
    const opened = await send('stripe', '--dispute', paymentId);
    await statusIs(email, 'suspended');
    await send('stripe', '--dispute', opened.dispute!.disputeId, '--outcome', 'won');
    const enrollment = await statusIs(email, 'active');
    expect(enrollment.access_changes.map((c) => c.to)).toEqual(['suspended', 'active']);
  });

  it('a cancelled subscription keeps access to the end of the period paid for', async () => {
    const email = studentEmail('cancelled');
    const purchase = await bought('stripe', 'subscription', 'USD', email);
    const common = webhooksTo('stripe');
    await sendPurchaseDeliveries({ ...common, purchase });
    await system.client.workflow.getHandle(enrollmentWorkflowId('stripe', purchase.paymentId)).result();
    const subscriptionId = purchase.references.subscription!;
    await send('stripe', '--cancel-subscription', subscriptionId);
    const handle = system.client.workflow.getHandle(
      accessWorkflowId({ provider: 'stripe', kind: 'subscription', causeId: subscriptionId }),
    );
    // Confirmed ended, read what the first charge granted, and now waits for the period's end.
    const waiting = await eventually(async () => {
      const status = await handle.query<AccessStatus>('accessStatus');
      return status.confirmed?.state === 'subscription_ended' && status.steps.grant.status === 'succeeded'
        ? status
        : undefined;
    });
    expect(waiting).toMatchObject({ paymentId: purchase.paymentId, state: 'changing_access' });
    expect(Date.parse(waiting.confirmed!.paidUntil!)).toBeGreaterThan(Date.now() + 20 * 86_400_000);
    expect((await enrollmentOf(email)).status).toBe('active');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await handle.terminate('test: done');
  });

  it('a refund delivered before the payment’s own webhook leaves nothing granted', async () => {
    const email = studentEmail('refund-first');
    const purchase = await bought('razorpay', 'order', 'INR', email);
    const refund = await registerRefund(system.sandbox.url, 'razorpay', { paymentId: purchase.paymentId });
    const common = webhooksTo('razorpay');
    await sendPurchaseDeliveries({ ...common, purchase: refund });
    const summary = await accessResult(
      accessWorkflowId({ provider: 'razorpay', kind: 'refund', causeId: refund.refundId }),
    );
    expect(summary).toMatchObject({ outcome: 'unchanged', reason: expect.stringContaining('never saw') });
    // Recorded for the operator: `show` finds the refund though the payment has no workflow.
    const shown = await opsRunner(system)('show', purchase.paymentId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('no payment workflow');
    expect(shown.stdout).toMatch(/unchanged +refund\.processed rfnd_\w+: .*never saw/);

    // The paid webhooks come after all: the provider says refunded, and nothing is granted.
    await sendPurchaseDeliveries({ ...common, purchase });
    const late = (await system.client.workflow
      .getHandle(enrollmentWorkflowId('razorpay', purchase.paymentId))
      .result()) as EnrollmentSummary;
    expect(late.outcome).toBe('refunded');
    expect((await system.ledger()).enrollments.filter((e) => sameEmail(e.email, email))).toEqual([]);
  });
});
