import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import type { ConfirmPurchaseInput, ConfirmPurchaseResult, EnrollmentActivities } from '../../src/activities';
import type { Resolution } from '../../src/domain/purchase';
import { resolveTemporalBinaries } from '../../scripts/temporal/binaries';
import { searchAttributeRegistrations } from '../../src/workflows/messages';

/** Stand-ins for the activities: record their inputs and do what a test's script says. */
export type Calls = {
  confirm: ConfirmPurchaseInput[];
  enroll: unknown[];
  welcome: unknown[];
  crm: unknown[];
};
export type Script = Partial<Record<Exclude<keyof Calls, 'confirm'>, (attempt: number) => void>> & {
  /** What the provider and the catalog say; default: paid, one course named like the input's payment. */
  confirm?: (input: ConfirmPurchaseInput, attempt: number) => Partial<ConfirmPurchaseResult> | void;
};

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
  const calls: Calls = { confirm: [], enroll: [], welcome: [], crm: [] };
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
      return { enrollmentId: 'enr_1', alreadyEnrolled: false, attempt: attempt() };
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
