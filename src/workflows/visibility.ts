/**
 * What a payment shows outside itself while it runs: the `EnrollmentState` search attribute (read by
 * list queries, the Web UI's filters, batch jobs and the business metrics) and the Web UI's current
 * details. The status query reads the same `EnrollmentStatus` and is always exact.
 */
import {
  condition,
  isCancellation,
  patched,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { renderCurrentDetails } from './details';
import { type EnrollmentState, type EnrollmentStatus, enrollmentStateSearchAttribute } from './messages';
import { SHOW_STEPS_LATE_PATCH } from './patches';

/**
 * How far `EnrollmentState` may lag behind a payment's steps. Every upsert is a visibility write on the
 * server, and a step's state mostly lasts too short for anyone to see it (docs/benchmarks.md has what a
 * write per step cost). Operators look for payments stuck for minutes, so once visibility has lagged this
 * long it is brought up to date (showing the step current then).
 */
export const VISIBLE_STEP_DELAY = '5s';

/** States shown the moment the workflow enters them: a person or an alert acts on them. */
const SHOWN_AT_ONCE: ReadonlySet<EnrollmentState> = new Set(['needs_review', 'completed', 'aborted']);

const upsertState = (state: EnrollmentState) =>
  upsertSearchAttributes([{ key: enrollmentStateSearchAttribute, value: state }]);

export class Visibility {
  /** What `EnrollmentState` shows now: set by the receiver at start (or by an earlier run, after a reset). */
  private visibleState = workflowInfo().typedSearchAttributes.get(enrollmentStateSearchAttribute);
  private readonly showStepsLate: boolean;

  /**
   * `confirmedPayment`: the workflow took CONFIRM_WITH_PROVIDER_PATCH, which came after steps were shown
   * late, so it needs no marker (and no visibility write) of its own for that. Workflows started before
   * steps were shown late replay as they ran: every change shown at once.
   */
  constructor(
    private readonly status: EnrollmentStatus,
    confirmedPayment = false,
  ) {
    this.showStepsLate = confirmedPayment || patched(SHOW_STEPS_LATE_PATCH);
    this.publish();
    if (this.showStepsLate) void this.showLastingSteps();
  }

  /** Rewrites the Web UI's current details: at every change an operator would care about. */
  publish(): void {
    setCurrentDetails(renderCurrentDetails(this.status));
  }

  setState(state: EnrollmentState): void {
    if (!this.showStepsLate) {
      // The earlier version's rule, kept exactly: an upsert whenever the state changes.
      if (this.status.state !== state) upsertState(state);
    } else if (SHOWN_AT_ONCE.has(state) || this.visibleState === 'needs_review') {
      // Leaving review is shown at once too, so a decided payment drops out of review filters and
      // batch signals straight away.
      this.show(state);
    }
    this.status.state = state;
    this.publish();
  }

  private show(state: EnrollmentState): void {
    if (this.visibleState === state) return;
    this.visibleState = state;
    upsertState(state);
  }

  /** Brings visibility up to date once it has lagged behind the state for VISIBLE_STEP_DELAY. */
  private async showLastingSteps(): Promise<void> {
    try {
      for (;;) {
        await condition(() => this.status.state !== this.visibleState);
        await sleep(VISIBLE_STEP_DELAY);
        this.show(this.status.state);
      }
    } catch (err) {
      // The workflow was cancelled: this timer goes with it; what visibility shows is left as it is.
      if (!isCancellation(err)) throw err;
    }
  }
}
