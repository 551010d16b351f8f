/**
 * One interface in front of every LMS enrollflow enrolls into (LMS_PROVIDER): the generic REST LMS
 * (generic.ts), Moodle (moodle.ts) and Canvas (canvas.ts). The activities (src/activities/index.ts)
 * call only this, so the workflow, its retry policies and its reviews are the same whichever LMS runs.
 *
 * What each adapter does inside: find or create the student, read the current enrollment, enroll,
 * and suspend, restore or revoke. Enrollment is one operation here because the generic LMS finds or
 * creates the student and enrolls in one idempotent call, while Moodle and Canvas need the steps one
 * by one; each adapter orders them so that a retry of the whole operation is safe.
 *
 * Failures are `DownstreamFailure`s from the vocabulary in src/domain/failures.ts, classified per
 * LMS: retryable (down, throttled, a database error), `LmsRejected` (this student or course cannot be
 * enrolled as asked: a person decides) or `LmsMisconfigured` (the LMS refused enrollflow's credentials
 * or permissions: an operator fixes the configuration, then retries every payment waiting on it).
 */
import type { LmsProvider } from '../../config';
import type { ChangeAccessInput, EnrollStudentInput } from '../types';

/** One course of a payment; `courseId` is the course in the LMS, as the catalog's lmsCourseId names it. */
export type EnrollRequest = EnrollStudentInput;

export interface EnrollOutcome {
  /** The LMS's id of the enrollment (Moodle has none of its own: `<user id>:<course id>` there). */
  enrollmentId: string;
  /** An active enrollment was already there: an earlier attempt, or the student bought the course before. */
  alreadyEnrolled: boolean;
}

/**
 * One granted course's change. `email` (the student the grant enrolled) and `courseId` (the grant's
 * course in the LMS, from the catalog) are how Moodle and Canvas find the enrollment; the generic LMS
 * finds it by the reference enrollment wrote.
 */
export type AccessRequest = ChangeAccessInput & { courseId?: string };

export interface AccessOutcome {
  /** False when the LMS holds no enrollment for the grant: nothing was granted, nothing changes. */
  found: boolean;
  enrollmentId?: string;
}

export interface LmsAdapter {
  readonly provider: LmsProvider;
  enroll(request: EnrollRequest): Promise<EnrollOutcome>;
  changeAccess(request: AccessRequest): Promise<AccessOutcome>;
}
