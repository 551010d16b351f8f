/**
 * Runs one downstream step: its activity with the proxy's declarative retry policy, and, once Temporal
 * has stopped retrying, a manual review whose decision says whether to run it again, skip it or stop.
 * Typed by the step, so what a step keeps of its activity's result is checked by the compiler.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  isCancellation,
  patched,
} from '@temporalio/workflow';
import { redactContacts } from '../domain/mask';
import type { EnrollmentStatus, ReviewKind } from './messages';
import { CANCEL_ENDS_PAYMENT_PATCH, WELCOME_UNCERTAIN_PATCH } from './patches';
import type { Reviews } from './review';
import { type ActivityResults, type ActivityStepName, stepsByName } from './steps';
import type { Visibility } from './visibility';

/** What the status query and the workflow's result show of each activity step's result. */
export type KeptResults = {
  confirm: { verdict: string; product: string };
  /**
   * `created`: the catalog courses whose enrollment this payment made (comma-separated; absent on the
   * payments from before the catalog): a refund takes back only those, not a course another payment
   * of the student enrolled first.
   */
  enroll: { enrollmentId: string; alreadyEnrolled: boolean; created?: string };
  welcome: { messageId: string };
  crm: { contactId: string; created: boolean };
};

export type StepOutcome = 'succeeded' | 'skipped' | 'aborted';

export class StepRunner {
  /** The kept result of every step that succeeded, typed by step. */
  readonly results: Partial<KeptResults> = {};

  constructor(
    private readonly status: EnrollmentStatus,
    private readonly visibility: Visibility,
    private readonly reviews: Reviews,
    /** Called once a step succeeds (the paid-to-enrolled metric hangs on `enroll`). */
    private readonly onSuccess: (step: ActivityStepName) => void = () => undefined,
  ) {}

  async run<S extends ActivityStepName>(
    step: S,
    call: () => Promise<ActivityResults[S]>,
    keep: (result: ActivityResults[S]) => KeptResults[S],
  ): Promise<StepOutcome> {
    const state = this.status.steps[step];
    for (;;) {
      this.visibility.setState(stepsByName[step].state);
      state.status = 'running';
      try {
        const result = await call();
        const kept = keep(result);
        state.attempts += result.attempt;
        state.status = 'succeeded';
        state.result = kept;
        this.results[step] = kept;
        this.onSuccess(step);
        this.visibility.publish();
        return 'succeeded';
      } catch (err) {
        if (!(err instanceof ActivityFailure)) throw err;
        // Our code never cancels an activity itself: a cancelled one means the workflow is being
        // cancelled (`temporal workflow cancel`), and that is no reason to ask a person.
        if (isCancellation(err) && patched(CANCEL_ENDS_PAYMENT_PATCH)) throw err;
        const failure = describeFailure(err);
        // The activities mask contacts in their own messages; a failure they never described is masked here.
        failure.message = redactContacts(failure.message);
        state.attempts += failure.attempts;
        state.status = 'failed';
        state.lastError = failure.message;
        const kind =
          mayHaveSent(step, err) && patched(WELCOME_UNCERTAIN_PATCH) ? 'outcome_unknown' : failure.kind;
        const decided = await this.reviews.review(step, failure.message, kind);
        if (decided === 'retry') continue;
        return decided;
      }
    }
  }
}

/**
 * Whether a failed welcome may still have reached Meta. The activity says for itself when it knows
 * (an ApplicationFailure: `WhatsAppOutcomeUnknown`, or a type it raises only when nothing was sent);
 * any other failure (a timeout while the last attempt was mid-call, a worker lost on it) it never got
 * to describe, so the message may be out and a `retry` may send a second one.
 */
export function mayHaveSent(step: string, err: ActivityFailure): boolean {
  return step === 'welcome' && !(err.cause instanceof ApplicationFailure);
}

/** Turns an activity failure into words for the status query and the review reason. */
function describeFailure(err: ActivityFailure): { message: string; attempts: number; kind?: ReviewKind } {
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) {
    const detail = cause.details?.[0] as { attempt?: number } | undefined;
    return {
      message: `${cause.type ?? 'Error'}: ${cause.message}`,
      attempts: detail?.attempt ?? 1,
      // A retry may send a second message: batch tools must never retry this one.
      kind: cause.type === 'WhatsAppOutcomeUnknown' ? 'outcome_unknown' : 'failure',
    };
  }
  if (cause instanceof TimeoutFailure)
    return { message: `activity timed out (${cause.timeoutType})`, attempts: 1 };
  return { message: cause?.message ?? err.message, attempts: 1 };
}
