import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type {
  ChangeAccessInput,
  ConfirmAccessChangeInput,
  ConfirmAccessChangeResult,
  ConfirmPurchaseInput,
  ConfirmPurchaseResult,
  EnrollmentActivities,
} from '../../src/activities';
import { readGrantOnce, stopGrantingOnce } from '../../src/activities/access';
import { loadCatalog } from '../../src/catalog';
import type { Resolution } from '../../src/domain/purchase';
import type { ReconcilePageInput, ReconcilePageResult } from '../../src/domain/reconcile';
import { resolveTemporalBinaries } from '../../scripts/temporal/binaries';
import { searchAttributeRegistrations } from '../../src/workflows/messages';

/** Stand-ins for the activities: record their inputs and do what a test's script says. */
export type Calls = {
  confirm: ConfirmPurchaseInput[];
  enroll: unknown[];
  welcome: unknown[];
  crm: unknown[];
  confirmChange: ConfirmAccessChangeInput[];
  changeAccess: ChangeAccessInput[];
};
export type Script = Partial<
  Record<Exclude<keyof Calls, 'confirm' | 'confirmChange'>, (attempt: number) => void>
> & {
  /** What the provider and the catalog say; default: paid, one course named like the input's payment. */
  confirm?: (input: ConfirmPurchaseInput, attempt: number) => Partial<ConfirmPurchaseResult> | void;
  /** What the provider says of a refund, dispute or subscription; default: the event's payment refunded in full. */
  confirmChange?: (
    input: ConfirmAccessChangeInput,
    attempt: number,
  ) => Partial<Omit<ConfirmAccessChangeResult, 'attempt'>> | void;
  /** The test environment's client: access changes read and signal payments' workflows through it. */
  temporal?: Client;
  /** False: the LMS has no enrollment under the payment (the student's came from another payment). */
  lmsHoldsEnrollment?: boolean;
  /** The catalog courses the LMS answers as already enrolled (another payment of the student made them). */
  alreadyEnrolled?: string[];
  /** One page of a reconciliation: what the provider lists and what starting it did. */
  reconcilePage?: (input: ReconcilePageInput, attempt: number) => ReconcilePageResult;
};

const sampleCatalog = loadCatalog(require.resolve('../../catalog/sample.yaml'));

/** A single-course grant, as the sample catalog would resolve it. */
export const courseGrant = (courseId: string, title = `Course ${courseId}`) => ({
  kind: 'grant' as const,
  product: { id: courseId, title },
  courses: [{ courseId, title, lmsCourseId: `LMS-${courseId}` }],
  expectedMinor: 499_900,
});

export const confirmedPaid = (
  resolution: Resolution = courseGrant('course-ml-101'),
): ConfirmPurchaseResult => ({
  resolution,
  amountMinor: 499_900,
  currency: 'INR',
  kind: 'order',
  customer: { email: 'asha.verma@example.com', name: 'Asha Verma', phone: '+919876543210' },
  attempt: 1,
});

export function scriptedActivities(script: Script = {}): { activities: EnrollmentActivities; calls: Calls } {
  const calls: Calls = { confirm: [], enroll: [], welcome: [], crm: [], confirmChange: [], changeAccess: [] };
  const grants = { temporal: script.temporal, catalog: sampleCatalog };
  const attempt = () => Context.current().info.attempt;
  const activities: EnrollmentActivities = {
    async confirmPurchase(input) {
      calls.confirm.push(input);
      const scripted = script.confirm?.(input, attempt());
      return { ...confirmedPaid(), ...(scripted ?? {}), attempt: attempt() };
    },
    async enrollStudent(input) {
      calls.enroll.push(input);
      script.enroll?.(attempt());
      const already = input.grantKey !== undefined && (script.alreadyEnrolled ?? []).includes(input.grantKey);
      return { enrollmentId: 'enr_1', alreadyEnrolled: already, attempt: attempt() };
    },
    async sendWelcomeMessage(input) {
      calls.welcome.push(input);
      script.welcome?.(attempt());
      return { messageId: 'wamid.1', waId: '919876543210', attempt: attempt() };
    },
    async upsertCrmContact(input) {
      calls.crm.push(input);
      script.crm?.(attempt());
      return { contactId: '101', created: true, attempt: attempt() };
    },
    async confirmAccessChange(input) {
      calls.confirmChange.push(input);
      const scripted = script.confirmChange?.(input, attempt());
      return {
        state: 'full_refund' as const,
        detail: `refund ${input.change.causeId}: 499900 of 499900 INR refunded`,
        paymentId: input.change.paymentId,
        ...(scripted ?? {}),
        attempt: attempt(),
      };
    },
    // The real reads and signal, against the test server: the payment's workflow runs beside.
    readGrant: (input) => readGrantOnce(grants, input),
    stopGranting: (input) => stopGrantingOnce(grants, input),
    async changeAccess(input) {
      calls.changeAccess.push(input);
      script.changeAccess?.(attempt());
      // Moodle and Canvas leave a course another payment enrolled first (the generic LMS finds none).
      if (script.lmsHoldsEnrollment === false || input.enrolledBefore)
        return { found: false, attempt: attempt() };
      return { found: true, enrollmentId: 'enr_1', status: input.status, attempt: attempt() };
    },
    async reconcilePage(input) {
      if (!script.reconcilePage) throw new Error('this test scripted no reconciliation');
      return script.reconcilePage(input, attempt());
    },
  };
  return { activities, calls };
}

export const permanentLmsFailure = (): never => {
  throw ApplicationFailure.nonRetryable('course is closed for enrollment', 'LmsRejected', {
    attempt: 1,
    status: 422,
  });
};

/** Temporal's time-skipping test server (the pinned binary), with our search attributes registered. */
export async function timeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const { testServer } = resolveTemporalBinaries();
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    testServer ? { server: { executable: { type: 'existing-path', path: testServer } } } : {},
  );
  // The time-skipping server, like any Temporal server, refuses search attributes it does not know.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.keys(searchAttributeRegistrations).map((name) => [
        name,
        temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
  return env;
}

/**
 * For a test file: Temporal's time-skipping server and the workflow bundle, shared by its tests, and a
 * task queue per test, so a worker left over from a failed test cannot steal the next test's tasks.
 */
export function useWorkflowEnvironment(prefix: string) {
  let env: TestWorkflowEnvironment | undefined;
  let bundle: WorkflowBundle | undefined;
  let taskQueue = prefix;
  beforeEach(() => {
    taskQueue = `${prefix}-${expect.getState().currentTestName?.replace(/\W+/g, '-')}`;
  });
  beforeAll(async () => {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    env = await timeSkippingEnvironment();
    bundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      logger: new DefaultLogger('WARN'),
    });
  }, 120_000);
  afterAll(async () => {
    await env?.teardown();
  });
  const started = () => {
    if (!env || !bundle) throw new Error('the workflow environment has not started');
    return { env, bundle };
  };
  return {
    get env(): TestWorkflowEnvironment {
      return started().env;
    },
    get taskQueue(): string {
      return taskQueue;
    },
    /** Runs `fn` while a worker with these activities polls this test's queue. */
    withWorker: async <T>(activities: EnrollmentActivities, fn: () => Promise<T>): Promise<T> => {
      const { env: running, bundle: code } = started();
      const worker = await Worker.create({
        connection: running.nativeConnection,
        taskQueue,
        workflowBundle: code,
        activities,
      });
      return worker.runUntil(fn);
    },
  };
}
