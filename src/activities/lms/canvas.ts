/**
 * Canvas LMS (REST, `Authorization: Bearer`). A student is a Canvas user found by login or SIS user id
 * (both the student's email); a grant is the user's StudentEnrollment in the course. Canvas documents
 * no idempotency for `POST /courses/:id/enrollments`, so enrollment checks first and creates only when
 * the user holds no enrollment there; creating a user that a concurrent payment just created fails on
 * the taken login, and the user is looked up again. Every call is therefore safe to repeat, and every
 * transport failure retryable.
 *
 * Revocation: suspend = `task=deactivate` (inactive, restorable with `reactivate`), revoke =
 * `task=delete` or `task=conclude` (CANVAS_REVOKE). Throttling answers 403 "Rate Limit Exceeded" (or
 * 429) without Retry-After: retried after THROTTLE_DELAY_MS.
 */
import type { WorkerConfig } from '../../config';
import { DownstreamFailure } from '../errors';
import {
  failureForStatus,
  pick,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  type HttpRequest,
  type HttpResponse,
  idempotentRequest,
} from '../http';
import { jitteredDelayMs, parseRetryAfterMs } from '../retry-after';
import type { PaymentRef } from '../types';
import type { AccessRequest, EnrollRequest, LmsAdapter } from './adapter';
import { markWriting, wasWriting } from './write-marks';

export interface CanvasConfig {
  url: string;
  token: string;
  accountId: string;
  userField: 'login' | 'sis';
  authProviderId?: string;
  courseField: 'sis' | 'id';
  revoke: 'delete' | 'conclude';
}

export function canvasConfig(config: WorkerConfig): CanvasConfig {
  // Checked at start-up (requireLmsSettings); this only narrows the types.
  if (!config.CANVAS_URL || !config.CANVAS_TOKEN) throw new Error('CANVAS_URL and CANVAS_TOKEN are required');
  return {
    url: config.CANVAS_URL,
    token: config.CANVAS_TOKEN,
    accountId: config.CANVAS_ACCOUNT_ID,
    userField: config.CANVAS_USER_FIELD,
    authProviderId: config.CANVAS_AUTH_PROVIDER_ID,
    courseField: config.CANVAS_COURSE_FIELD,
    revoke: config.CANVAS_REVOKE,
  };
}

/**
 * Canvas's throttle is a leaky bucket that drains in seconds; it sends no Retry-After, so a throttled
 * call waits this long (plus jitter) rather than the retry policy's first, shorter interval.
 */
export const THROTTLE_DELAY_MS = 10_000;

/** The enrollment states that still hold the student in the course (deleted and rejected do not). */
const HELD_STATES = ['active', 'invited', 'creation_pending', 'inactive', 'completed'] as const;

interface CanvasEnrollment {
  id: string;
  state: string;
}

/**
 * An SIS id in a path segment (`sis_login_id:<email>`): Canvas reads a period as the start of a
 * format suffix, so periods are escaped as %2E along with what encodeURIComponent escapes.
 */
export const sisSegment = (prefix: string, value: string): string =>
  `${prefix}:${encodeURIComponent(value).replace(/\./g, '%2E')}`;

/** Canvas's error text: `{errors: ...}`, `{message}` or, for its throttle, plain text. */
function canvasMessage(body: unknown, text = ''): string | undefined {
  return (
    errorsMessage(pick(body, 'errors')) ??
    pickString(body, 'message') ??
    (text.trim().slice(0, 200) || undefined)
  );
}

/** `[{message}]`, or per field, nested by model: `{pseudonym: {unique_id: [{message}]}}`. */
function errorsMessage(errors: unknown): string | undefined {
  if (Array.isArray(errors)) return pickString(errors[0], 'message');
  if (!errors || typeof errors !== 'object') return undefined;
  for (const [field, value] of Object.entries(errors)) {
    const nested = errorsMessage(value);
    if (nested) return `${field}: ${nested}`;
  }
  return undefined;
}

const activeEnrollmentForm = (userId: string) => ({
  'enrollment[user_id]': userId,
  'enrollment[type]': 'StudentEnrollment',
  // Canvas's default is `invited`: a paying student would wait for an invitation they must accept.
  'enrollment[enrollment_state]': 'active',
});

/** 403 with "Rate Limit Exceeded", or 429: Canvas's throttle, not a refusal. */
export function isThrottled(res: HttpResponse): boolean {
  return res.status === 429 || (res.status === 403 && /rate limit exceeded/i.test(res.text));
}

export function createCanvasLms(config: CanvasConfig, deps: HttpDeps & ClassifyDeps): LmsAdapter {
  const api = `${config.url}/api/v1`;
  const headers = { Authorization: `Bearer ${config.token}` };
  const userPrefix = config.userField === 'sis' ? 'sis_user_id' : 'sis_login_id';
  const courseRef = (courseId: string) =>
    config.courseField === 'sis' ? sisSegment('sis_course_id', courseId) : encodeURIComponent(courseId);

  async function send(
    payment: PaymentRef,
    req: Omit<HttpRequest, 'downstream' | 'payment' | 'errorCode' | 'headers'>,
  ): Promise<HttpResponse> {
    return idempotentRequest(
      deps,
      { ...req, headers, downstream: 'lms', payment, errorCode: (body) => canvasMessage(body) },
      'Canvas',
    );
  }

  /** Any answer but the ones a caller handles: throttled, down, refused credentials, or rejected. */
  function failure(res: HttpResponse, doing: string): DownstreamFailure {
    const message = canvasMessage(res.body, res.text);
    const suffix = message ? `: ${message}` : '';
    if (isThrottled(res)) {
      const asked = parseRetryAfterMs(res.headers.get('retry-after'), deps.now());
      return new DownstreamFailure('RateLimited', `Canvas throttled ${doing} (HTTP ${res.status})`, {
        status: res.status,
        code: 'rate_limit_exceeded',
        retryDelayMs: jitteredDelayMs(asked ?? THROTTLE_DELAY_MS, deps.random),
      });
    }
    if (res.status === 401 || res.status === 403) {
      return new DownstreamFailure(
        'LmsMisconfigured',
        `Canvas refused enrollflow's token ${doing} (HTTP ${res.status}${suffix}): check CANVAS_TOKEN and its user's permissions`,
        { status: res.status },
      );
    }
    if (res.status >= 300 && res.status < 400) {
      return new DownstreamFailure(
        'LmsMisconfigured',
        `Canvas redirected ${doing} (HTTP ${res.status}): is CANVAS_URL the instance's address?`,
        { status: res.status },
      );
    }
    if (
      res.status >= 400 &&
      res.status < 500 &&
      res.status !== 408 &&
      res.status !== 409 &&
      res.status !== 429
    ) {
      return new DownstreamFailure('LmsRejected', `Canvas refused ${doing} (HTTP ${res.status}${suffix})`, {
        status: res.status,
      });
    }
    return failureForStatus(res, 'Canvas', 'LmsRejected', deps, message);
  }

  async function findUser(payment: PaymentRef, email: string): Promise<string | undefined> {
    const res = await send(payment, {
      operation: 'find_user',
      method: 'GET',
      url: `${api}/users/${sisSegment(userPrefix, email)}`,
    });
    // Canvas's own "does not exist"; a 404 of another shape is not Canvas speaking (a wrong CANVAS_URL),
    // and reading it as "no such student" would let a refund change nothing.
    if (res.status === 404 && Array.isArray(pick(res.body, 'errors'))) return undefined;
    if (res.status === 404) {
      throw new DownstreamFailure(
        'LmsMisconfigured',
        "Canvas answered 404 without Canvas's error body: is CANVAS_URL the instance's address?",
        { status: 404 },
      );
    }
    if (res.status !== 200) throw failure(res, 'finding the student');
    const id = pickString(res.body, 'id');
    if (!id)
      throw new DownstreamFailure('DownstreamBadResponse', 'Canvas answered a user without an id', {
        status: 200,
      });
    return id;
  }

  async function createUser(payment: PaymentRef, email: string, name: string): Promise<string> {
    const form: Record<string, string> = {
      'user[name]': name,
      'user[terms_of_use]': 'true',
      'pseudonym[unique_id]': email,
      'communication_channel[type]': 'email',
      'communication_channel[address]': email,
      'communication_channel[skip_confirmation]': 'true',
    };
    if (config.userField === 'sis') {
      form['pseudonym[sis_user_id]'] = email;
      // A user deleted in Canvas with this SIS id comes back instead of failing on the taken id.
      form.enable_sis_reactivation = 'true';
    }
    if (config.authProviderId) {
      // Signing in through the school's identity provider: nothing to register, no password to set.
      form['pseudonym[authentication_provider_id]'] = config.authProviderId;
      form['user[skip_registration]'] = 'true';
    } else {
      // Canvas's own login: the student gets Canvas's email to choose a password.
      form['pseudonym[send_confirmation]'] = 'true';
    }
    const res = await send(payment, {
      operation: 'create_user',
      method: 'POST',
      url: `${api}/accounts/${encodeURIComponent(config.accountId).replace(/%3A/gi, ':')}/users`,
      form,
    });
    if (res.status === 200 || res.status === 201) {
      const id = pickString(res.body, 'id');
      if (!id) {
        throw new DownstreamFailure('DownstreamBadResponse', 'Canvas created a user without an id', {
          status: res.status,
        });
      }
      // Canvas ignores pseudonym[sis_user_id] from a user who may not manage SIS data: the student
      // would never be found again, so every later purchase and refund would miss them.
      if (config.userField === 'sis' && pickString(res.body, 'sis_user_id') !== email) {
        throw new DownstreamFailure(
          'LmsMisconfigured',
          `Canvas created user ${id} without the SIS user id: the token's user may not manage SIS data (CANVAS_USER_FIELD=sis)`,
          { status: res.status },
        );
      }
      return id;
    }
    if (res.status === 404) {
      // The account or the authentication provider named does not exist: every new student would fail.
      throw new DownstreamFailure(
        'LmsMisconfigured',
        'Canvas has no such account or authentication provider (HTTP 404): check CANVAS_ACCOUNT_ID, CANVAS_AUTH_PROVIDER_ID and CANVAS_URL',
        { status: res.status },
      );
    }
    if (res.status === 400 && /taken|already in use/i.test(res.text)) {
      // A concurrent payment of the same student created the login first: that user is this student.
      const raced = await findUser(payment, email);
      if (raced) return raced;
      throw new DownstreamFailure(
        'LmsRejected',
        `Canvas: the login for the student is taken, but no user is found by ${userPrefix} (another authentication provider?)`,
        { status: res.status },
      );
    }
    throw failure(res, 'creating the student');
  }

  async function heldEnrollment(
    payment: PaymentRef,
    course: string,
    userId: string,
    states: readonly string[],
  ): Promise<CanvasEnrollment | undefined> {
    const query = new URLSearchParams({ user_id: userId, per_page: '100' });
    query.append('type[]', 'StudentEnrollment');
    for (const state of states) query.append('state[]', state);
    const res = await send(payment, {
      operation: 'find_enrollment',
      method: 'GET',
      url: `${api}/courses/${course}/enrollments?${query.toString()}`,
    });
    if (res.status === 404) throw courseMissing(res, course);
    if (res.status !== 200) throw failure(res, 'reading the enrollment');
    if (!Array.isArray(res.body)) {
      throw new DownstreamFailure(
        'DownstreamBadResponse',
        'Canvas answered the enrollment list with no list',
        {
          status: 200,
        },
      );
    }
    const enrollments = (res.body as unknown[])
      .map((e) => ({ id: pickString(e, 'id'), state: pickString(e, 'enrollment_state') }))
      .filter((e): e is CanvasEnrollment => e.id !== undefined && e.state !== undefined);
    // One section holds one enrollment per user; several sections may each hold one: the live one counts.
    const rank = (state: string) =>
      ['active', 'inactive', 'invited', 'creation_pending', 'completed', 'deleted'].indexOf(state);
    return enrollments.sort((a, b) => rank(a.state) - rank(b.state))[0];
  }

  const courseMissing = (res: HttpResponse, course: string) =>
    new DownstreamFailure('LmsRejected', `Canvas has no course ${decodeURIComponent(course)} (HTTP 404)`, {
      status: res.status,
    });

  async function enroll(input: EnrollRequest) {
    const email = input.email.toLowerCase();
    const userId =
      (await findUser(input.payment, email)) ?? (await createUser(input.payment, email, input.name));
    const course = courseRef(input.courseId);
    const held = await heldEnrollment(input.payment, course, userId, [
      'active',
      'invited',
      'creation_pending',
      'inactive',
    ]);
    // Active: another payment's enrollment, unless an earlier attempt of this one made it and lost the
    // answer (it recorded that it was enrolling): a refund takes back only what the payment made.
    if (held?.state === 'active') {
      return { enrollmentId: held.id, alreadyEnrolled: !wasWriting('enrolling', `${userId}:${course}`) };
    }
    if (held?.state === 'inactive') {
      // Deactivated (a dispute on an earlier payment): a person decides whether this payment restores it.
      throw new DownstreamFailure(
        'LmsRejected',
        `Canvas: the student is already in course ${input.courseId}, but enrollment ${held.id} is inactive`,
        { status: 200, code: 'inactive' },
      );
    }
    // None, or an invitation still pending: Canvas makes the user's enrollment in the section active.
    markWriting('enrolling', `${userId}:${course}`);
    const res = await send(input.payment, {
      operation: 'create_enrollment',
      method: 'POST',
      url: `${api}/courses/${course}/enrollments`,
      form: activeEnrollmentForm(userId),
    });
    if (res.status === 404) throw courseMissing(res, course);
    if (res.status !== 200 && res.status !== 201) throw failure(res, `enrolling in course ${input.courseId}`);
    const id = pickString(res.body, 'id');
    const state = pickString(res.body, 'enrollment_state');
    if (!id)
      throw new DownstreamFailure('DownstreamBadResponse', 'Canvas answered an enrollment without an id', {
        status: res.status,
      });
    if (state !== 'active') {
      throw new DownstreamFailure(
        'LmsRejected',
        `Canvas made enrollment ${id} in course ${input.courseId} ${state ?? 'without a state'}, not active (is the course published?)`,
        { status: res.status, code: state },
      );
    }
    return { enrollmentId: id, alreadyEnrolled: false };
  }

  async function changeAccess(input: AccessRequest) {
    if (!input.email || !input.courseId) {
      throw new DownstreamFailure(
        'LmsRejected',
        'Canvas: the grant names no student email or course to find',
        {},
      );
    }
    // Enrolled by another payment of the student first: theirs to change, not this money's.
    if (input.enrolledBefore) return { found: false };
    const userId = await findUser(input.payment, input.email.toLowerCase());
    if (!userId) return { found: false };
    const course = courseRef(input.courseId);
    const revokedState = config.revoke === 'conclude' ? 'completed' : 'deleted';
    // A deleted enrollment is looked for only by a revocation in delete mode: the retry of one whose
    // answer was lost finds its own work done.
    const states =
      input.status === 'revoked' && revokedState === 'deleted' ? [...HELD_STATES, 'deleted'] : HELD_STATES;
    const held = await heldEnrollment(input.payment, course, userId, states);
    if (!held) return { found: false };
    const already = { found: true, enrollmentId: held.id };

    if (held.state === 'completed' && input.status !== 'revoked') {
      // Concluded: final, as a revocation is; only a person can decide what restoring it should mean.
      throw new DownstreamFailure(
        'LmsRejected',
        `Canvas: enrollment ${held.id} is concluded; it was revoked`,
        {
          status: 200,
          code: 'completed',
        },
      );
    }
    let request: Omit<HttpRequest, 'downstream' | 'payment' | 'errorCode' | 'headers'>;
    let expected: string;
    const enrollmentUrl = `${api}/courses/${course}/enrollments/${encodeURIComponent(held.id)}`;
    if (input.status === 'active') {
      if (held.state === 'active') return already;
      if (held.state !== 'inactive') {
        // Reactivate works only from inactive; an invitation is made active as enrollment makes one.
        request = {
          operation: 'create_enrollment',
          method: 'POST',
          url: `${api}/courses/${course}/enrollments`,
          form: activeEnrollmentForm(userId),
        };
      } else {
        request = { operation: 'reactivate_enrollment', method: 'PUT', url: `${enrollmentUrl}/reactivate` };
      }
      expected = 'active';
    } else if (input.status === 'suspended') {
      if (held.state === 'inactive') return already;
      request = {
        operation: 'deactivate_enrollment',
        method: 'DELETE',
        url: `${enrollmentUrl}?task=deactivate`,
      };
      expected = 'inactive';
    } else {
      if (held.state === revokedState) return already;
      request = {
        operation: `${config.revoke}_enrollment`,
        method: 'DELETE',
        url: `${enrollmentUrl}?task=${config.revoke}`,
      };
      expected = revokedState;
    }
    const res = await send(input.payment, request);
    // Gone between the read and the change (removed by hand): nothing left to change.
    if (res.status === 404) return { found: false };
    if (res.status !== 200) throw failure(res, `changing enrollment ${held.id}`);
    const state = pickString(res.body, 'enrollment_state');
    if (state !== expected) {
      throw new DownstreamFailure(
        'DownstreamBadResponse',
        `Canvas answered enrollment ${held.id} ${state ?? 'without a state'} for a change to ${expected}`,
        { status: res.status },
      );
    }
    return already;
  }

  return { provider: 'canvas', enroll, changeAccess };
}
