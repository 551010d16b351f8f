/**
 * Shared by the ops suites: run the ops CLI in-process against a started system, and put payments into
 * the states operators meet (in review, retrying) through the real path: signed webhook, receiver,
 * worker, sandbox downstreams with faults.
 */
import { runOps } from '../../src/ops/cli';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { sendDeliveries, sendPurchaseDeliveries } from '../../src/tools/deliver';
import type { PurchaseResult } from '../../src/providers/purchase';
import { type AccessStatus, accessStatusQuery } from '../../src/workflows/access-messages';
import { registerPurchase } from '../../src/tools/purchase';
import type { PaymentEvent } from '../../src/domain/payment-event';
import { newPaymentId } from '../../src/providers';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import { statusQuery, type EnrollmentStatus, type EnrollmentSummary } from '../../src/workflows/messages';
import { loadCatalog } from '../../src/catalog';
import { SAMPLE_CATALOG } from '../helpers/system';
import { eventually } from '../helpers/eventually';
import type { System } from '../helpers/system';

export interface OpsRun {
  code: number;
  stdout: string;
  stderr: string;
}

export const opsEnv = (system: System): NodeJS.ProcessEnv => ({
  TEMPORAL_ADDRESS: system.temporal.address,
  TEMPORAL_NAMESPACE: 'default',
  PAYLOAD_KEYS: system.env.PAYLOAD_KEYS,
  PAYLOAD_KEY_ID: system.env.PAYLOAD_KEY_ID,
});

/** The ops CLI in-process, with this environment (and clock), its output collected. */
export async function runOpsWith(env: NodeJS.ProcessEnv, argv: string[], now?: Date): Promise<OpsRun> {
  let stdout = '';
  let stderr = '';
  const code = await runOps(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    ...(now ? { now: () => now } : {}),
  });
  return { code, stdout, stderr };
}

export function opsRunner(system: System) {
  return (...argv: string[]): Promise<OpsRun> => runOpsWith(opsEnv(system), argv);
}

export interface TestPayment {
  provider: PaymentProvider;
  paymentId: string;
  workflowId: string;
  email: string;
}

/** The sandbox keeps one failEmails list per service: this tracks ours so each call can add to it. */
export class LmsBlocks {
  private readonly emails = new Set<string>();
  constructor(private readonly system: System) {}

  async block(email: string): Promise<void> {
    this.emails.add(email);
    await this.system.setFaults({ lms: { failEmails: [...this.emails] } });
  }

  async unblockAll(): Promise<void> {
    this.emails.clear();
    await this.system.setFaults({ lms: { failEmails: [] } });
  }
}

export const statusOf = (system: System, workflowId: string): Promise<EnrollmentStatus> =>
  system.client.workflow.getHandle(workflowId).query(statusQuery);

export const resultOf = (system: System, workflowId: string): Promise<EnrollmentSummary> =>
  system.client.workflow.getHandle(workflowId).result() as Promise<EnrollmentSummary>;

/** Waits until visibility (what list queries and batch jobs see) agrees with the workflow. */
export async function visibleAs(system: System, workflowId: string, state: string): Promise<void> {
  const query = `WorkflowId = "${workflowId}" AND EnrollmentState = "${state}" AND ExecutionStatus = "Running"`;
  await eventually(async () => (await system.client.workflow.count(query)).count === 1, 15_000, 100);
}

export async function waitForState(
  system: System,
  workflowId: string,
  accept: (s: EnrollmentStatus) => boolean,
): Promise<EnrollmentStatus> {
  return eventually(
    async () => {
      const s = await statusOf(system, workflowId);
      return accept(s) ? s : undefined;
    },
    20_000,
    100,
  );
}

interface PayOptions {
  provider?: PaymentProvider;
  courseId?: string | null;
  amountMinor?: number;
  currency?: string;
  phone?: string;
}

const catalog = loadCatalog(SAMPLE_CATALOG);

/** The sample catalog's price of a product in a currency: what a buyer pays unless a test says otherwise. */
export function catalogPrice(productId: string, currency: string): number {
  const price = catalog.productById.get(productId)?.prices[currency.toUpperCase()];
  if (price === undefined) throw new Error(`the sample catalog has no ${currency} price for ${productId}`);
  return price;
}

/** One signed webhook through the real receiver, for a purchase the sandbox provider holds. */
export async function pay(
  system: System,
  options: PayOptions & { email?: string } = {},
): Promise<TestPayment> {
  const provider = options.provider ?? 'razorpay';
  const paymentId = newPaymentId(provider);
  const email = options.email ?? `ops-${paymentId.toLowerCase()}@example.com`;
  const courseId = options.courseId === undefined ? 'course-ml-101' : options.courseId;
  const currency = options.currency ?? (provider === 'stripe' ? 'usd' : 'INR');
  const [delivery] = await sendDeliveries({
    provider,
    url: system.receiver.url,
    secret: provider === 'razorpay' ? system.secrets.razorpay : system.secrets.stripe,
    // The provider holds the payment before it sends the webhook: the confirmation step reads it back.
    sandboxUrl: system.sandbox.url,
    fixture: {
      paymentId,
      email,
      courseId,
      phone: options.phone ?? '+919876500000',
      amountMinor: options.amountMinor ?? (courseId === null ? undefined : catalogPrice(courseId, currency)),
      currency,
    },
  });
  if (delivery?.status !== 200) throw new Error(`delivery refused: ${delivery?.status} ${delivery?.body}`);
  return { provider, paymentId, workflowId: enrollmentWorkflowId(provider, paymentId), email };
}

/**
 * For a test that starts the workflow itself (no webhook): the provider's record of the payment, an
 * order for the event's course at its catalog price, as the confirmation step will read it.
 */
export async function registerPaymentOf(system: System, event: PaymentEvent): Promise<void> {
  const courseId = event.courseId ?? 'course-ml-101';
  await registerPurchase(system.sandbox.url, event.provider, {
    kind: event.provider === 'razorpay' ? 'order' : 'checkout',
    paymentId: event.paymentId,
    amountMinor: catalogPrice(courseId, event.currency),
    currency: event.currency.toUpperCase(),
    customer: { email: event.student.email, name: event.student.name, phone: event.student.phone },
    merchant: { notes: { product_id: courseId } },
  });
}

/** The id of the review a payment waits in, as `show` prints it. */
export async function openReviewId(system: System, workflowId: string): Promise<string> {
  const id = (await statusOf(system, workflowId)).openReview?.id;
  if (!id) throw new Error(`${workflowId} has no open review with an id`);
  return id;
}

/** A payment the LMS rejects for good: it waits in review at step enroll. */
export async function payIntoReview(
  system: System,
  blocks: LmsBlocks,
  options: PayOptions = {},
): Promise<TestPayment> {
  const provider = options.provider ?? 'razorpay';
  const email = `review-${Math.random().toString(36).slice(2, 10)}@example.com`;
  await blocks.block(email);
  const payment = await pay(system, { ...options, provider, email });
  await waitForState(system, payment.workflowId, (s) => s.state === 'needs_review');
  await visibleAs(system, payment.workflowId, 'needs_review');
  return payment;
}

/** Delivers, signed through the real receiver, the webhooks the sandbox provider produced for a change. */
export async function deliverChange(
  system: System,
  provider: PaymentProvider,
  change: { paymentId: string | null; deliveries: PurchaseResult['deliveries'] },
): Promise<void> {
  const results = await sendPurchaseDeliveries({
    provider,
    url: system.receiver.url,
    secret: provider === 'razorpay' ? system.secrets.razorpay : system.secrets.stripe,
    purchase: { paymentId: change.paymentId ?? '', deliveries: change.deliveries },
  });
  const refused = results.find((r) => r.status !== 200);
  if (refused) throw new Error(`delivery refused: ${refused.status} ${refused.body}`);
}

/** The access change a refund or dispute started, once it is in the state asked for. */
export async function accessChangeIn(
  system: System,
  workflowId: string,
  ready: (status: AccessStatus) => boolean,
): Promise<AccessStatus> {
  return eventually(
    async () => {
      const status = await system.client.workflow.getHandle(workflowId).query(accessStatusQuery);
      return ready(status) ? status : undefined;
    },
    30_000,
    200,
  );
}
