/**
 * Records event histories of the enrollment workflow for test/workflow/replay.test.ts, on the
 * time-skipping server with scripted activities: one per path through the workflow, including one
 * still waiting in review (what a deployment meets in flight).
 *
 *   npx tsx test/workflow/record-histories.ts --label v2 [--workflows <dir of an enrollflow checkout's src/workflows>]
 *   (RECORD_ONLY=cancelled,... records only those scenarios)
 *
 * Record them from the version a change replaces, before changing the workflow's commands, and keep
 * them: the replay test then proves that workflows that version started still run on the new code.
 */
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { ApplicationFailure } from '@temporalio/common';
import { Client } from '@temporalio/client';
import type { AccessEvent } from '../../src/domain/access-event';
import { accessStartOptions } from '../../src/webhook/start-access';
import { enrollmentStartOptions } from '../../src/webhook/start-enrollment';
import type { ReconcileWorkflowInput } from '../../src/workflows/reconcile-messages';
import { paymentEvent } from '../helpers/payments';
import {
  courseGrant,
  permanentLmsFailure,
  type Script,
  scriptedActivities,
  timeSkippingEnvironment,
} from './scripted-activities';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const label = option('--label', '');
const workflowsPath = path.resolve(option('--workflows', path.join(__dirname, '../../src/workflows')));
const outDir = path.resolve(option('--out', path.join(__dirname, 'histories')));

interface Scenario {
  name: string;
  script?: () => Script;
  payment?: Parameters<typeof paymentEvent>[0];
  /**
   * Records an access workflow instead: the payment's own workflow runs to completion first, then this
   * change of it starts, and `drive` gets the access workflow.
   */
  access?: { change: (payment: ReturnType<typeof paymentEvent>) => AccessEvent };
  /** Records a reconciliation run instead, started with this input (its pages come from `script`). */
  reconcile?: ReconcileWorkflowInput;
  /** What happens while it runs; resolves when the history is complete enough to record. */
  drive: (handle: Handle) => Promise<void>;
}
type Handle = Awaited<
  ReturnType<Awaited<ReturnType<typeof timeSkippingEnvironment>>['client']['workflow']['start']>
>;

const waitForReview = async (handle: Handle) => {
  for (;;) {
    const history = await handle.fetchHistory();
    const upserts = (history.events ?? []).filter((e) => e.upsertWorkflowSearchAttributesEventAttributes);
    if (JSON.stringify(upserts).includes(Buffer.from('"needs_review"').toString('base64'))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
};

const scenarios: Scenario[] = [
  { name: 'completed', drive: async (h) => void (await h.result()) },
  {
    name: 'lms-retried',
    script: () => ({
      enroll: (attempt) => {
        if (attempt < 4)
          throw ApplicationFailure.retryable('LMS answered 503', 'DownstreamUnavailable', { attempt });
      },
    }),
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'in-review',
    script: () => ({ enroll: permanentLmsFailure }),
    // Recorded while still waiting for a person: the state a deployment finds it in.
    drive: waitForReview,
  },
  {
    name: 'review-retried',
    script: () => {
      let calls = 0;
      return { enroll: () => (calls++ === 0 ? permanentLmsFailure() : undefined) };
    },
    drive: async (h) => {
      await waitForReview(h);
      // Builds before review ids ignore the field; later ones require it.
      await h.signal('resolveReview', {
        reviewId: 'enroll-1',
        action: 'retry',
        reviewer: 'ops@example.com',
        note: 'LMS fixed',
      });
      await h.result();
    },
  },
  {
    name: 'details-from-redelivery',
    // No email from the webhook nor (v4 on) from the provider's record: a later delivery brings it.
    payment: { student: { name: 'Asha Verma', phone: '+919876543210' } },
    script: () => ({ confirm: () => ({ customer: {} }) }),
    drive: async (h) => {
      await waitForReview(h);
      const payment = started.get(h.workflowId)!;
      await h.signal('paymentDetails', {
        ...payment,
        eventType: 'order.paid',
        student: { ...payment.student, email: 'asha.verma@example.com' },
      });
      await h.result();
    },
  },
  {
    name: 'purchase-review',
    // v4 on: the catalog cannot say what was bought; the operator names the product.
    script: () => ({
      confirm: (input) =>
        input.operatorProductId
          ? { resolution: { ...courseGrant(input.operatorProductId), overriddenBy: 'operator' } }
          : { resolution: { kind: 'review', reason: 'no catalog product for this purchase: order notes' } },
    }),
    drive: async (h) => {
      await waitForReview(h);
      await h.signal('resolveReview', {
        reviewId: 'confirm-1',
        action: 'retry',
        reviewer: 'ops@example.com',
        note: 'product from the order page',
        patch: { productId: 'course-ml-101' },
      });
      await h.result();
    },
  },
  {
    name: 'bundle',
    script: () => ({
      confirm: () => ({
        resolution: {
          ...courseGrant('bundle-data-career', 'Data Career bundle'),
          courses: [
            { courseId: 'course-ml-101', title: 'Machine Learning 101', lmsCourseId: 'ML-101' },
            { courseId: 'course-ds-301', title: 'Data Science 301', lmsCourseId: 'DS-301' },
          ],
          expectedMinor: 1_799_900,
        },
      }),
    }),
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'part-paid-recheck',
    // v5 on: money still due on the order; the payment looks again and finds it paid.
    script: () => {
      let asked = 0;
      return {
        confirm: () =>
          (asked += 1) === 1
            ? {
                resolution: {
                  kind: 'none',
                  outcome: 'partial_payment',
                  reason: 'order order_T1 is partly paid: ₹2,999.00 of ₹4,999.00 due',
                  moneyDue: true,
                },
              }
            : undefined,
      };
    },
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'renewal',
    script: () => ({
      confirm: () => ({
        resolution: { kind: 'none', outcome: 'renewal', reason: 'renewal charge of subscription sub_1' },
      }),
    }),
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'money-back',
    // v6 on: a refund in full while the payment waits in review: the review is withdrawn, it ends refunded.
    script: () => ({ enroll: permanentLmsFailure }),
    drive: async (h) => {
      await waitForReview(h);
      await h.signal('moneyBack', {
        cause: { kind: 'refund', id: 'rfnd_T1' },
        reason: 'refund rfnd_T1: 49900 of 49900 INR refunded',
      });
      await h.result();
    },
  },
  {
    name: 'access-refund',
    access: { change: (p) => accessChange(p, 'refund', 'rfnd_V6Refund00001', 'refund.processed') },
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'access-dispute-open',
    // A dispute still open: suspended, waiting for its decision (what a deployment finds in flight).
    script: () => ({ confirmChange: () => ({ state: 'dispute_open', detail: 'dispute is open' }) }),
    access: { change: (p) => accessChange(p, 'dispute', 'disp_V6Dispute0001', 'payment.dispute.created') },
    drive: async (h) => {
      for (;;) {
        const status = await h.query<{ state: string }>('accessStatus');
        if (status.state === 'suspended') return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  },
  {
    name: 'access-partial-decided',
    script: () => ({
      confirmChange: () => ({ state: 'partial_refund', detail: 'refund: 100 of 499 INR refunded' }),
    }),
    access: { change: (p) => accessChange(p, 'refund', 'rfnd_V6Partial0001', 'refund.processed') },
    drive: async (h) => {
      for (;;) {
        const status = await h.query<{ openReview?: unknown }>('accessStatus');
        if (status.openReview) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await h.signal('resolveReview', { reviewId: 'decide-1', action: 'retry', reviewer: 'ops@example.com' });
      await h.result();
    },
  },
  {
    name: 'reconcile-pages',
    // Two pages of payments (one throttled once), then refunds; what a Schedule's run leaves behind.
    script: () => ({
      reconcilePage: (input, attempt) => {
        if (input.cursor === '100' && attempt === 1) {
          throw ApplicationFailure.create({ message: 'HTTP 429', type: 'RateLimited', nextRetryDelay: '5s' });
        }
        return {
          listed: 100,
          started:
            input.stream === 'refunds'
              ? []
              : [
                  {
                    workflowId: 'payment-razorpay-pay_V7Found0000001',
                    kind: 'payment',
                    id: 'pay_V7Found0000001',
                  },
                ],
          duplicates: 99,
          ignored: 0,
          refused: [],
          ...(input.stream === 'payments' && input.cursor === undefined && { next: '100' }),
        };
      },
    }),
    reconcile: {
      provider: 'razorpay',
      mode: 'scheduled',
      rules: {
        overlapSeconds: 3600,
        settleSeconds: 120,
        firstLookbackSeconds: 86_400,
        maxLookbackSeconds: 1_296_000,
      },
    },
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'reconcile-continued',
    // A long window: the first run continues as new after one page, with its cursor.
    script: () => ({
      reconcilePage: (input) => ({
        listed: 100,
        started: [],
        duplicates: 100,
        ignored: 0,
        refused: [],
        ...(input.cursor === undefined && { next: 'evt_V7Cursor000000001' }),
      }),
    }),
    reconcile: {
      provider: 'stripe',
      mode: 'backfill',
      window: { from: 1_796_000_000, to: 1_796_086_400 },
      pagesPerRun: 1,
    },
    drive: async (h) => void (await h.result()),
  },
  {
    name: 'cancelled',
    // The LMS keeps failing; an operator cancels the workflow while the step is between retries.
    script: () => ({
      enroll: (attempt) => {
        throw ApplicationFailure.retryable('LMS answered 503', 'DownstreamUnavailable', { attempt });
      },
    }),
    drive: async (h) => {
      for (;;) {
        const { raw } = await h.describe();
        if ((raw.pendingActivities?.[0]?.attempt ?? 0) >= 2) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await h.cancel();
      await h.result().catch(() => undefined);
    },
  },
];

const accessChange = (
  payment: ReturnType<typeof paymentEvent>,
  kind: AccessEvent['kind'],
  causeId: string,
  eventType: string,
): AccessEvent => ({
  provider: payment.provider,
  kind,
  causeId,
  paymentId: payment.paymentId,
  eventType,
  eventId: `evt_${causeId}`,
  eventCreatedAt: '2026-12-01T10:00:00.000Z',
});

/** The payment each workflow was started with, by workflow ID. */
const started = new Map<string, ReturnType<typeof paymentEvent>>();

async function main() {
  if (!label) throw new Error('--label is required (e.g. v1, the version the histories come from)');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const env = await timeSkippingEnvironment();
  try {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
    fs.mkdirSync(outDir, { recursive: true });
    const only = process.env.RECORD_ONLY?.split(',');
    for (const scenario of scenarios.filter((s) => !only || only.includes(s.name))) {
      const taskQueue = `record-${scenario.name}`;
      const { activities } = scriptedActivities({
        ...scenario.script?.(),
        temporal: new Client({ connection: env.connection }),
      });
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle,
        activities,
      });
      await worker.runUntil(async () => {
        if (scenario.reconcile) {
          const run = await env.client.workflow.start('reconcileWorkflow', {
            taskQueue,
            workflowId: `reconcile-record-${scenario.name}`,
            args: [scenario.reconcile],
          });
          await scenario.drive(run);
          // The first run: for a long window, the one that continued as new.
          const file = path.join(outDir, `${label}-${scenario.name}.json`);
          fs.writeFileSync(
            file,
            `${historyToJSON(await env.client.workflow.getHandle(run.workflowId, run.firstExecutionRunId).fetchHistory())}\n`,
          );
          console.log(`recorded ${path.relative(process.cwd(), file)}`);
          return;
        }
        const payment = paymentEvent(scenario.payment);
        // As the receiver starts it.
        let handle = await env.client.workflow.start(
          'enrollmentWorkflow',
          enrollmentStartOptions(payment, taskQueue),
        );
        started.set(handle.workflowId, payment);
        if (scenario.access) {
          await handle.result();
          handle = await env.client.workflow.start(
            'accessWorkflow',
            accessStartOptions(scenario.access.change(payment), taskQueue),
          );
        }
        await scenario.drive(handle);
        const file = path.join(outDir, `${label}-${scenario.name}.json`);
        fs.writeFileSync(file, `${historyToJSON(await handle.fetchHistory())}\n`);
        console.log(`recorded ${path.relative(process.cwd(), file)}`);
      });
    }
  } finally {
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
