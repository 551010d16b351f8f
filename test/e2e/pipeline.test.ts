import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sendDeliveries } from '../../src/tools/deliver';
import { newPaymentId } from '../../src/providers';
import type { EnrollmentSummary } from '../../src/workflows/messages';
import { statusQuery } from '../../src/workflows/messages';
import { eventually } from '../helpers/eventually';
import { useSystem, sameEmail } from '../helpers/system';

const run = promisify(execFile);

/**
 * The pipeline end to end on a real Temporal dev server: signed webhooks in, workflows run by the real
 * worker, real HTTP to the sandbox downstreams, whose ledger is the ground truth for exactly-once.
 */
const system = useSystem();

const workflowsOf = async (paymentId: string) => {
  const ids: string[] = [];
  for await (const wf of system.client.workflow.list({ query: `PaymentId = "${paymentId}"` }))
    ids.push(wf.workflowId);
  return ids;
};

const resultOf = (workflowId: string) =>
  system.client.workflow.getHandle(workflowId).result() as Promise<EnrollmentSummary>;

const sideEffectsFor = async (email: string) => {
  const ledger = await system.ledger();
  return {
    enrollments: ledger.enrollments.filter((e) => sameEmail(e.email, email)).length,
    messages: ledger.messages.length,
    contacts: ledger.contacts.filter((c) => c.email.toLowerCase() === email.toLowerCase()).length,
  };
};

describe('payment to enrollment, end to end', () => {
  it('completes a signed Razorpay payment with one enrollment, one message and one contact', async () => {
    const paymentId = newPaymentId('razorpay');
    const email = `rzp-${paymentId}@example.com`;
    const before = (await system.ledger()).messages.length;
    const [delivery] = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      sandboxUrl: system.sandbox.url,
      fixture: { paymentId, email, courseId: 'course-ml-101', phone: '+919876543210' },
    });
    expect(delivery!.status).toBe(200);
    expect(JSON.parse(delivery!.body)).toEqual({
      status: 'started',
      workflowId: `payment-razorpay-${paymentId}`,
    });

    const summary = await resultOf(`payment-razorpay-${paymentId}`);
    expect(summary).toMatchObject({ outcome: 'completed', paymentId, provider: 'razorpay' });
    expect(summary.messageId).toMatch(/^wamid\./);
    const effects = await sideEffectsFor(email);
    expect(effects.enrollments).toBe(1);
    expect(effects.contacts).toBe(1);
    expect(effects.messages - before).toBe(1);
    const ledger = await system.ledger();
    expect(ledger.enrollments.find((e) => sameEmail(e.email, email))).toMatchObject(
      // The generic LMS keeps the grant's reference; Moodle and Canvas an account of the student's.
      system.lms === 'generic'
        ? { lms: 'generic', external_ref: `razorpay:${paymentId}:course-ml-101`, course_id: 'ML-101' }
        : { lms: system.lms, course_id: 'ML-101', lms_state: 'active' },
    );

    // What the Web UI shows: a static summary, and current details the workflow keeps up to date.
    const handle = system.client.workflow.getHandle(`payment-razorpay-${paymentId}`);
    const description = await handle.describe();
    expect(await description.staticSummary()).toBe(
      // payment.captured names no course the merchant set (payment notes are the buyer's): the
      // provider's records decide, and the status shows what they said.
      // No student data: course, amount and payment only.
      `no course · ₹4,999.00 · razorpay ${paymentId}`,
    );
    // Masked, and escaped as Markdown (the `*`s render as themselves); no name row.
    expect(await description.staticDetails()).toContain('| Email | r\\*\\*\\*@example.com |');
    expect(await description.staticDetails()).not.toContain('Asha');
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain('**State:** completed');
    expect(metadata.currentDetails).toContain(
      '**Bought:** Machine Learning 101 (course-ml-101: course-ml-101)',
    );
    expect(metadata.currentDetails).toContain('| LMS enrollment | succeeded | 1 |');
    expect(metadata.currentDetails).toContain('| WhatsApp welcome | succeeded | 1 | wamid.');
  });

  it('completes a signed Stripe checkout session under its PaymentIntent id', async () => {
    const paymentId = newPaymentId('stripe');
    const email = `stripe-${paymentId}@example.com`;
    const [delivery] = await sendDeliveries({
      provider: 'stripe',
      url: system.receiver.url,
      secret: system.secrets.stripe,
      event: 'checkout.session.completed',
      sandboxUrl: system.sandbox.url,
      fixture: {
        paymentId,
        email,
        courseId: 'course-ds-301',
        phone: '+14155550100',
        currency: 'usd',
        amountMinor: 14_900,
      },
    });
    expect(delivery!.status).toBe(200);
    const summary = await resultOf(`payment-stripe-${paymentId}`);
    expect(summary.outcome).toBe('completed');
    expect(await sideEffectsFor(email)).toMatchObject({ enrollments: 1, contacts: 1 });
    expect(await workflowsOf(paymentId)).toEqual([`payment-stripe-${paymentId}`]);
  });

  it('turns five concurrent deliveries of one payment (captured + order.paid) into one workflow and one set of side effects', async () => {
    const paymentId = newPaymentId('razorpay');
    const email = `dup-${paymentId}@example.com`;
    const messagesBefore = (await system.ledger()).messages.length;
    const results = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      sandboxUrl: system.sandbox.url,
      fixture: { paymentId, email, courseId: 'course-ml-101', phone: '+919812345678' },
      duplicates: 5,
      mix: true,
    });
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => r.eventType))).toEqual(new Set(['payment.captured', 'order.paid']));
    const statuses = results.map((r) => (JSON.parse(r.body) as { status: string }).status).sort();
    expect(statuses).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'started']);

    const summary = await resultOf(`payment-razorpay-${paymentId}`);
    expect(summary.outcome).toBe('completed');
    // A late redelivery after completion is still a duplicate (ID reuse policy REJECT_DUPLICATE).
    const [late] = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      fixture: { paymentId, email, courseId: 'course-ml-101' },
    });
    expect(JSON.parse(late!.body)).toMatchObject({ status: 'duplicate' });

    expect(
      await eventually(async () => ((await workflowsOf(paymentId)).length === 1 ? true : undefined)),
    ).toBe(true);
    const effects = await sideEffectsFor(email);
    expect(effects.enrollments).toBe(1);
    expect(effects.contacts).toBe(1);
    expect(effects.messages - messagesBefore).toBe(1);
  });

  it('answers a forged webhook 401 and starts nothing', async () => {
    const paymentId = newPaymentId('razorpay');
    const forged = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      wrongSecret: true,
      fixture: { paymentId },
    });
    const tampered = await sendDeliveries({
      provider: 'stripe',
      url: system.receiver.url,
      secret: system.secrets.stripe,
      tamper: true,
      fixture: { paymentId: newPaymentId('stripe') },
    });
    expect([forged[0]!.status, tampered[0]!.status]).toEqual([401, 401]);
    // Give visibility the time it would need to show a start, then check there is none.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await workflowsOf(paymentId)).toEqual([]);
    await expect(
      system.client.workflow.getHandle(`payment-razorpay-${paymentId}`).describe(),
    ).rejects.toThrow(/not found/i);
  });

  it('shows a permanent LMS failure as EnrollmentState="needs_review" and completes after a CLI signal', async () => {
    const paymentId = newPaymentId('razorpay');
    const email = `closed-${paymentId}@example.com`;
    await system.setFaults({ lms: { failEmails: [email] } });
    const [delivery] = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      sandboxUrl: system.sandbox.url,
      fixture: { paymentId, email, courseId: 'course-ml-101', phone: '+919800000001' },
    });
    expect(delivery!.status).toBe(200);
    const workflowId = `payment-razorpay-${paymentId}`;

    const query = `EnrollmentState = "needs_review" AND PaymentId = "${paymentId}"`;
    const found = await eventually(
      async () => {
        const { stdout } = await run(system.cli, [
          'workflow',
          'list',
          '--address',
          system.temporal.address,
          '--query',
          query,
          '--output',
          'json',
        ]);
        const rows = JSON.parse(stdout || '[]') as Array<{ execution: { workflowId: string } }>;
        return rows.length > 0 ? rows : undefined;
      },
      30_000,
      250,
    );
    expect(found.map((r) => r.execution.workflowId)).toEqual([workflowId]);
    const status = await system.client.workflow.getHandle(workflowId).query(statusQuery);
    expect(status.openReview).toMatchObject({ id: 'enroll-1', step: 'enroll' });
    expect(status.openReview?.reason).toMatch(/^LmsRejected/);
    expect((await system.ledger()).messages.filter((m) => m.to === '919800000001')).toHaveLength(0);

    // The operator fixes the course in the LMS, then tells the workflow to retry, from the CLI.
    await system.setFaults({ lms: { failEmails: [] } });
    await run(system.cli, [
      'workflow',
      'signal',
      '--address',
      system.temporal.address,
      '--workflow-id',
      workflowId,
      '--name',
      'resolveReview',
      '--input',
      JSON.stringify({
        reviewId: status.openReview?.id,
        action: 'retry',
        reviewer: 'ops@example.com',
        note: 'course reopened',
      }),
    ]);
    const summary = await resultOf(workflowId);
    expect(summary).toMatchObject({ outcome: 'completed', reviews: 1 });
    expect(await sideEffectsFor(email)).toMatchObject({ enrollments: 1, contacts: 1 });
    const { stdout } = await run(system.cli, [
      'workflow',
      'list',
      '--address',
      system.temporal.address,
      '--output',
      'json',
      '--query',
      `EnrollmentState = "completed" AND PaymentId = "${paymentId}"`,
    ]);
    expect((JSON.parse(stdout) as unknown[]).length).toBe(1);
  });
});
