/**
 * The one list of a payment's steps, in the order the workflow runs them. The workflow, the Web UI's
 * current details and the ops CLI all read it, so it stays free of Node built-ins and I/O.
 */
import type { EnrollmentActivities } from '../activities';
import type { EnrollmentState } from './messages';

interface StepDefinition {
  name: string;
  /** How the Web UI's current details name it. */
  label: string;
  /** The `EnrollmentState` while it runs. */
  state: EnrollmentState;
  /** The activity that does it; the student-data check runs inside the workflow. */
  activity?: keyof EnrollmentActivities;
}

export const STEPS = [
  { name: 'confirm', label: 'Provider confirmation', state: 'confirming', activity: 'confirmPurchase' },
  { name: 'details', label: 'Student data', state: 'validating' },
  { name: 'enroll', label: 'LMS enrollment', state: 'enrolling', activity: 'enrollStudent' },
  { name: 'welcome', label: 'WhatsApp welcome', state: 'messaging', activity: 'sendWelcomeMessage' },
  { name: 'crm', label: 'CRM contact', state: 'crm', activity: 'upsertCrmContact' },
] as const satisfies readonly StepDefinition[];

export type Step = (typeof STEPS)[number];
export type StepName = Step['name'];
/** The steps a downstream does, through an activity. */
export type ActivityStepName = Extract<Step, { activity: string }>['name'];

/** What each activity step's activity gives back, by step. */
export type ActivityResults = {
  [S in ActivityStepName]: Awaited<
    ReturnType<EnrollmentActivities[Extract<Step, { name: S; activity: string }>['activity']]>
  >;
};

/** One value for every step, in step order. */
export function perStep<T>(value: (step: Step) => T): Record<StepName, T> {
  return Object.fromEntries(STEPS.map((step) => [step.name, value(step)])) as Record<StepName, T>;
}

export const STEP_NAMES: readonly StepName[] = STEPS.map((step) => step.name);
export const stepsByName: Readonly<Record<StepName, Step>> = perStep((step) => step);

/** The step an activity type does, for activities Temporal reports by type name. */
export const stepOfActivity = (activityType: string): StepName | undefined =>
  STEPS.find((step) => 'activity' in step && step.activity === activityType)?.name;
