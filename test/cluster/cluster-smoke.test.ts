import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { newPaymentId } from '../../src/providers';
import { type DeliveryPlan, planDeliveries, postDelivery } from '../../src/tools/deliver';
import { fixturePurchase, registerPurchase } from '../../src/tools/purchase';
import type { EnrollmentSummary } from '../../src/workflows/messages';
import { statusQuery } from '../../src/workflows/messages';
import type { Cluster } from '../../scripts/temporal/cluster';
import { eventually } from '../helpers/eventually';
import { sameEmail, useSystem } from '../helpers/system';

const run = promisify(execFile);

/**
 * The whole system on the production engine (scripts/temporal/cluster.ts): PostgreSQL set up by
 * Temporal's SQL tool, a frontend, two history nodes, matching and the internal worker as separate
 * processes, configured by ops/temporal/ as docker-compose.yml is. Everything else on the dev server
 * is tested there; this proves the same guarantees hold on what users deploy.
 */
const system = useSystem({ engine: 'cluster', lms: 'generic' });
const cluster = () => system.temporal as Cluster;

/** A Razorpay payment held by the sandbox provider, and its two paid webhooks, signed once. */
async function purchase(paymentId: string, email: string, phone = '+919876543210') {
  const plan = planDeliveries({
    provider: 'razorpay',
    url: system.receiver.url,
    secret: system.secrets.razorpay,
    fixture: { paymentId, email, courseId: 'course-ml-101', phone },
    mix: true,
  });
  await registerPurchase(system.sandbox.url, 'razorpay', fixturePurchase('razorpay', plan.fixture));
  return plan;
}

/** Delivers every webhook of the plan at once, as the provider does (again, for a redelivery). */
const deliver = (plan: DeliveryPlan) =>
  Promise.all(
    plan.deliveries.map(async (d) => {
      const res = await postDelivery(plan.url, d.signed, 10_000);
      const body = (await res.json().catch(() => ({}))) as { status?: string };
      return { status: res.status, outcome: body.status };
    }),
  );

const resultOf = (workflowId: string) =>
  system.client.workflow.getHandle(workflowId).result() as Promise<EnrollmentSummary>;
const enrollmentsOf = async (email: string) =>
  (await system.ledger()).enrollments.filter((e) => sameEmail(e.email, email)).length;

describe('the system on the Temporal cluster (PostgreSQL, a process per service)', () => {
  it('runs each service as its own process on PostgreSQL, with the namespace set up', async () => {
    const c = cluster();
    expect(c.kind).toBe('cluster');
    expect(c.services).toEqual(['history-1', 'history-2', 'matching', 'frontend', 'worker']);
    expect(new Set(c.pids()).size).toBeGreaterThanOrEqual(6);
    // Both history nodes joined and divided the shards between them.
    const hosts = await c.postgres.query(
      'temporal',
      "select count(distinct rpc_port) from cluster_membership where role = 2 and last_heartbeat > now() - interval '1 minute'",
    );
    expect(Number(hosts)).toBe(2);
    expect(await c.postgres.query('temporal', 'select count(*) from shards')).toBe('16');
    const { stdout } = await run(system.cli, [
      'operator',
      'namespace',
      'describe',
      '--address',
      c.address,
      '--namespace',
      'default',
      '--output',
      'json',
    ]);
    const described = JSON.parse(stdout) as { config: { workflowExecutionRetentionTtl: string } };
    expect(described.config.workflowExecutionRetentionTtl).toBe('2592000s');
  });

  it('completes payments exactly once and refuses their duplicates', async () => {
    const payments = Array.from({ length: 4 }, () => newPaymentId('razorpay'));
    const plans = await Promise.all(payments.map((id) => purchase(id, `cl-${id}@example.com`)));
    // Both paid events of each payment at once, then both again (the provider's redelivery).
    const first = await Promise.all(plans.map(deliver));
    const again = await Promise.all(plans.map(deliver));
    for (const answers of first) {
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      expect(answers.map((a) => a.outcome).sort()).toEqual(['duplicate', 'started']);
    }
    for (const answers of again) {
      expect(answers).toEqual([
        { status: 200, outcome: 'duplicate' },
        { status: 200, outcome: 'duplicate' },
      ]);
    }
    for (const id of payments) {
      expect(await resultOf(`payment-razorpay-${id}`)).toMatchObject({ outcome: 'completed' });
      expect(await enrollmentsOf(`cl-${id}@example.com`)).toBe(1);
    }

    // Visibility lives in PostgreSQL: the search attributes the operators query by are stored there.
    const listed = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of system.client.workflow.list({
        query: `EnrollmentState = "completed" AND PaymentProvider = "razorpay"`,
      }))
        ids.push(wf.workflowId);
      return payments.every((id) => ids.includes(`payment-razorpay-${id}`)) ? ids : undefined;
    }, 30_000);
    expect(listed.length).toBeGreaterThanOrEqual(payments.length);
    const stored = await cluster().postgres.query(
      'temporal_visibility',
      `select count(*) from executions_visibility where workflow_id in (${payments
        .map((id) => `'payment-razorpay-${id}'`)
        .join(',')}) and status = 2`,
    );
    expect(stored).toBe(String(payments.length));
  });

  it('holds a permanent failure for review, shown by a visibility query, until a signal resolves it', async () => {
    const paymentId = newPaymentId('razorpay');
    const email = `cl-review-${paymentId}@example.com`;
    await system.setFaults({ lms: { failEmails: [email] } });
    expect((await deliver(await purchase(paymentId, email, '+919800000077')))[0]!.status).toBe(200);
    const workflowId = `payment-razorpay-${paymentId}`;
    const found = await eventually(async () => {
      const { stdout } = await run(system.cli, [
        'workflow',
        'list',
        '--address',
        cluster().address,
        '--query',
        `EnrollmentState = "needs_review" AND PaymentId = "${paymentId}"`,
        '--output',
        'json',
      ]);
      const rows = JSON.parse(stdout || '[]') as Array<{ execution: { workflowId: string } }>;
      return rows.length > 0 ? rows : undefined;
    }, 30_000);
    expect(found.map((r) => r.execution.workflowId)).toEqual([workflowId]);
    const status = await system.client.workflow.getHandle(workflowId).query(statusQuery);
    expect(status.openReview).toMatchObject({ step: 'enroll' });

    await system.setFaults({ lms: { failEmails: [] } });
    await system.client.workflow.getHandle(workflowId).signal('resolveReview', {
      reviewId: status.openReview!.id,
      action: 'retry',
      reviewer: 'ops@example.com',
      note: 'course reopened',
    });
    expect(await resultOf(workflowId)).toMatchObject({ outcome: 'completed', reviews: 1 });
    expect(await enrollmentsOf(email)).toBe(1);
  });

  it('keeps serving when a history node is killed: its shards move to the other one', async () => {
    await cluster().kill('history-2', 'SIGKILL');
    try {
      const paymentId = newPaymentId('razorpay');
      const email = `cl-kill-${paymentId}@example.com`;
      // Until membership notices the dead node, starts on its shards fail: the receiver answers 503
      // and the provider redelivers, so the same webhooks are delivered again here as Razorpay would.
      const plan = await purchase(paymentId, email);
      const answers = await eventually(
        async () => {
          const got = await deliver(plan);
          return got.every((a) => a.status === 200) ? got : undefined;
        },
        90_000,
        2_000,
      );
      expect(answers.map((a) => a.outcome)).toContain('duplicate');
      expect(await resultOf(`payment-razorpay-${paymentId}`)).toMatchObject({ outcome: 'completed' });
      expect(await enrollmentsOf(email)).toBe(1);
    } finally {
      await cluster().start('history-2');
    }
  }, 180_000);
});
