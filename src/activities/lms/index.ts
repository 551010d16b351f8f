/**
 * The LMS activities' bodies, whichever LMS is configured (LMS_PROVIDER): inputs checked, the adapter
 * chosen once at worker start-up, and the attempt added to what it answers.
 */
import type { WorkerConfig } from '../../config';
import { currentAttempt } from '../activity-context';
import type { ClassifyDeps, HttpDeps } from '../http';
import type {
  ChangeAccessInput,
  ChangeAccessResult,
  EnrollStudentInput,
  EnrollStudentResult,
} from '../types';
import { changeAccessInputSchema, enrollStudentInputSchema, parseInput } from '../validation';
import type { LmsAdapter } from './adapter';
import { canvasConfig, createCanvasLms } from './canvas';
import { createGenericLms, genericLmsConfig } from './generic';
import { createMoodleLms, moodleConfig } from './moodle';

export type { LmsAdapter } from './adapter';

export function createLms(config: WorkerConfig, deps: HttpDeps & ClassifyDeps): LmsAdapter {
  switch (config.LMS_PROVIDER) {
    case 'moodle':
      return createMoodleLms(moodleConfig(config), deps);
    case 'canvas':
      return createCanvasLms(canvasConfig(config), deps);
    case 'generic':
      return createGenericLms(genericLmsConfig(config), deps);
  }
}

export async function enrollStudentOnce(
  lms: LmsAdapter,
  rawInput: EnrollStudentInput,
): Promise<EnrollStudentResult> {
  const attempt = currentAttempt();
  const input = parseInput(enrollStudentInputSchema, rawInput, 'enrollStudent');
  return { ...(await lms.enroll(input)), attempt };
}

/**
 * `lmsCourseOf` maps the grant's catalog course to the LMS's course id: Moodle and Canvas find the
 * enrollment by student and course (the generic LMS by the reference enrollment wrote).
 */
export async function changeAccessOnce(
  lms: LmsAdapter,
  lmsCourseOf: (grantKey: string) => string | undefined,
  rawInput: ChangeAccessInput,
): Promise<ChangeAccessResult> {
  const attempt = currentAttempt();
  const input = parseInput(changeAccessInputSchema, rawInput, 'changeAccess');
  const outcome = await lms.changeAccess({
    ...input,
    courseId: input.grantKey === undefined ? undefined : lmsCourseOf(input.grantKey),
  });
  return outcome.found
    ? { found: true, enrollmentId: outcome.enrollmentId, status: input.status, attempt }
    : { found: false, attempt };
}
