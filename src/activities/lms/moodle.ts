/**
 * Moodle (web services over REST: `POST {site}/webservice/rest/server.php`, form-encoded, with
 * `wstoken`, `wsfunction` and `moodlewsrestformat=json`). A student is a Moodle user found by email;
 * a grant is the user's manual enrolment in the course, read before it is written.
 *
 * Why it is safe to repeat: `enrol_manual_enrol_users` is an upsert (it never makes a second
 * enrolment), the user is looked up before it is created, and a create that loses a race with a
 * concurrent payment of the same student (the username derives from the email, so the second create
 * fails) looks the user up again. The enrolment is read first because the upsert would also reactivate
 * an enrolment a dispute suspended: that one goes to a person, as with every LMS.
 *
 * Moodle answers errors with HTTP 200 and `{exception, errorcode, message}`; `moodleFailure` sorts
 * them by errorcode: the token or its service (an operator's to fix), this course or student (a
 * person's to decide), anything else (database, unknown) retried.
 */
import type { WorkerConfig } from '../../config';
import { DownstreamFailure } from '../errors';
import {
  failureForStatus,
  pick,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  idempotentRequest,
} from '../http';
import type { PaymentRef } from '../types';
import type { AccessRequest, EnrollRequest, LmsAdapter } from './adapter';
import { markWriting, wasWriting } from './write-marks';

export interface MoodleConfig {
  url: string;
  token: string;
  roleId: number;
  courseField: 'idnumber' | 'shortname' | 'id';
  auth: string;
  usernamePrefix: string;
  revoke: 'unenrol' | 'suspend';
}

export function moodleConfig(config: WorkerConfig): MoodleConfig {
  // Checked at start-up (requireLmsSettings); this only narrows the types.
  if (!config.MOODLE_URL || !config.MOODLE_TOKEN) throw new Error('MOODLE_URL and MOODLE_TOKEN are required');
  return {
    url: config.MOODLE_URL,
    token: config.MOODLE_TOKEN,
    roleId: config.MOODLE_ROLE_ID,
    courseField: config.MOODLE_COURSE_FIELD,
    auth: config.MOODLE_AUTH,
    usernamePrefix: config.MOODLE_USERNAME_PREFIX,
    revoke: config.MOODLE_REVOKE,
  };
}

/** The web service functions enrollflow calls: the Moodle service must hold exactly these. */
export const MOODLE_FUNCTIONS = [
  'core_user_get_users_by_field',
  'core_user_create_users',
  'core_course_get_courses_by_field',
  'core_enrol_get_users_courses',
  'core_enrol_get_enrolled_users',
  'enrol_manual_enrol_users',
  'enrol_manual_unenrol_users',
] as const;
export type MoodleFunction = (typeof MOODLE_FUNCTIONS)[number];

/**
 * The token, its service or its user's capabilities are wrong (`nopermissions`: the user lacks
 * enrol/manual:enrol or moodle/user:create): no payment can succeed until an operator fixes it.
 */
const CONFIGURATION_CODES = new Set(['invalidtoken', 'accessexception', 'nopermissions']);
/**
 * This course or student cannot be enrolled as asked: bad parameters, no (enabled) manual method, a
 * role the user may not assign, a method that refuses to enrol or unenrol, a course or user missing.
 */
const REJECTION_CODES = new Set([
  'invalidparameter',
  'wsnoinstance',
  'wsusercannotassign',
  'wscannotenrol',
  'wscannotunenrol',
  'manualpluginnotinstalled',
  'invalidrecord',
  'invalidcourseid',
  'invaliduser',
]);

/** Auth plugins whose accounts keep a password in Moodle: a new one needs it generated and mailed. */
const INTERNAL_AUTH = new Set(['manual', 'email']);

export interface MoodleError {
  exception: string;
  errorcode: string;
  message: string;
}

export class MoodleException extends Error {
  override name = 'MoodleException';
  constructor(readonly error: MoodleError) {
    super(error.message);
  }
}

function moodleError(body: unknown): MoodleError | undefined {
  const errorcode = pickString(body, 'errorcode');
  const exception = pickString(body, 'exception');
  if (errorcode === undefined && exception === undefined) return undefined;
  return {
    exception: exception ?? '',
    errorcode: errorcode ?? '',
    message: pickString(body, 'message') ?? '',
  };
}

/**
 * Moodle's message, first line, bounded: a site with developer debugging on appends its debug info
 * (SQL and its parameters, which can name the student) to the message.
 */
const messageOf = (error: MoodleError) => (error.message.split('\n')[0] ?? '').slice(0, 200);

/** A Moodle error as the failure it is; `doing` names the course or student it concerns. */
export function moodleFailure(error: MoodleError, doing: string): DownstreamFailure {
  const what = `Moodle ${error.errorcode || error.exception} ${doing}: ${messageOf(error)}`;
  if (CONFIGURATION_CODES.has(error.errorcode)) {
    const hint =
      error.errorcode === 'nopermissions'
        ? "the token's user lacks a capability docs/lms.md lists"
        : 'check MOODLE_TOKEN, and that its service holds every function docs/lms.md lists';
    return new DownstreamFailure('LmsMisconfigured', `${what} (${hint})`, {
      status: 200,
      code: error.errorcode,
    });
  }
  if (REJECTION_CODES.has(error.errorcode)) {
    return new DownstreamFailure('LmsRejected', what, { status: 200, code: error.errorcode });
  }
  return new DownstreamFailure('DownstreamUnavailable', what, { status: 200, code: error.errorcode });
}

/** `enrolments[0][userid]=7`: Moodle's REST server reads PHP-style form arrays. */
export function moodleForm(params: Record<string, unknown>, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    const name = prefix ? `${prefix}[${key}]` : key;
    if (value === undefined) continue;
    if (value !== null && typeof value === 'object')
      Object.assign(out, moodleForm(value as Record<string, unknown>, name));
    else out[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/**
 * A username from the email: lower case (Moodle's rule) and only the characters a site without
 * "extended characters in usernames" accepts, anything else becoming `_`.
 */
export function moodleUsername(prefix: string, email: string): string {
  return `${prefix}${email.toLowerCase()}`.replace(/[^a-z0-9_.@-]/g, '_');
}

/** Moodle wants both names: the last word is the last name; a one-word name gets `-` as its last name. */
export function moodleNames(name: string): { firstname: string; lastname: string } {
  const words = name.trim().split(/\s+/);
  if (words.length < 2) return { firstname: words[0] ?? name, lastname: '-' };
  return { firstname: words.slice(0, -1).join(' '), lastname: words.at(-1)! };
}

type EnrolmentState = 'active' | 'suspended' | 'none';

interface MoodleUser {
  id: number;
  /** Suspended by the site: an enrolment would give them no access. */
  suspended: boolean;
}

export function createMoodleLms(config: MoodleConfig, deps: HttpDeps & ClassifyDeps): LmsAdapter {
  const endpoint = `${config.url}/webservice/rest/server.php`;

  /** One web service call: its result, or a MoodleException for an error Moodle answered. */
  async function call(
    payment: PaymentRef,
    fn: MoodleFunction,
    params: Record<string, unknown>,
  ): Promise<unknown> {
    const res = await idempotentRequest(
      deps,
      {
        downstream: 'lms',
        operation: fn,
        method: 'POST',
        url: endpoint,
        // The token travels in the body, never the query string, so no access log records it.
        form: { wstoken: config.token, wsfunction: fn, moodlewsrestformat: 'json', ...moodleForm(params) },
        payment,
        errorCode: (body) => pickString(body, 'errorcode'),
        // Moodle's errors come with HTTP 200: logged as the failures they are.
        isError: (body) => moodleError(body) !== undefined,
      },
      'Moodle',
    );
    if (res.status !== 200) {
      // Refused, missing or redirected (to a login page): the URL or the site's settings are wrong.
      if (
        res.status === 401 ||
        res.status === 403 ||
        res.status === 404 ||
        (res.status >= 300 && res.status < 400)
      ) {
        throw new DownstreamFailure(
          'LmsMisconfigured',
          `Moodle answered HTTP ${res.status} at ${fn}: check MOODLE_URL and that web services and REST are enabled`,
          { status: res.status },
        );
      }
      throw failureForStatus(res, 'Moodle', 'LmsRejected', deps);
    }
    const error = moodleError(res.body);
    if (error) throw new MoodleException(error);
    // `null` is a legitimate answer (enrol_manual_enrol_users); a body that is no JSON at all is not.
    if (res.body === undefined) {
      throw new DownstreamFailure(
        'LmsMisconfigured',
        `Moodle answered ${fn} with something that is not JSON: is MOODLE_URL the site's root, and REST enabled?`,
        { status: res.status },
      );
    }
    return res.body;
  }

  /** `call`, with Moodle's errors classified for what the step concerns. */
  async function run(
    payment: PaymentRef,
    fn: MoodleFunction,
    params: Record<string, unknown>,
    doing: string,
  ) {
    try {
      return await call(payment, fn, params);
    } catch (err) {
      if (err instanceof MoodleException) throw moodleFailure(err.error, doing);
      throw err;
    }
  }

  async function courseIdOf(payment: PaymentRef, courseId: string): Promise<number> {
    if (config.courseField === 'id') {
      if (!/^\d+$/.test(courseId)) {
        throw new DownstreamFailure(
          'LmsRejected',
          `Moodle course id ${courseId} is not a number (MOODLE_COURSE_FIELD=id)`,
        );
      }
      return Number(courseId);
    }
    const found = await run(
      payment,
      'core_course_get_courses_by_field',
      { field: config.courseField, value: courseId },
      `finding course ${courseId}`,
    );
    const courses = pick(found, 'courses');
    const ids = Array.isArray(courses)
      ? courses.map((c) => Number(pickString(c, 'id'))).filter(Number.isFinite)
      : [];
    if (ids.length !== 1) {
      throw new DownstreamFailure(
        'LmsRejected',
        `Moodle has ${ids.length === 0 ? 'no course' : `${ids.length} courses`} with ${config.courseField} ${courseId}`,
        { status: 200, code: ids.length === 0 ? 'nocourse' : 'ambiguouscourse' },
      );
    }
    return ids[0]!;
  }

  /** The user with this email; undefined when there is none. */
  async function findUser(payment: PaymentRef, email: string): Promise<MoodleUser | undefined> {
    const found = await run(
      payment,
      'core_user_get_users_by_field',
      { field: 'email', values: [email] },
      'finding the student',
    );
    if (!Array.isArray(found)) {
      throw new DownstreamFailure('DownstreamBadResponse', 'Moodle answered the user lookup with no list', {
        status: 200,
      });
    }
    if (found.length > 1) {
      // A site allowing accounts with the same email: which one paid is for a person to say.
      throw new DownstreamFailure(
        'LmsRejected',
        `Moodle has ${found.length} users with the student's email`,
        {
          status: 200,
          code: 'ambiguoususer',
        },
      );
    }
    if (found.length === 0) return undefined;
    const id = Number(pickString(found[0], 'id'));
    if (!Number.isInteger(id)) {
      throw new DownstreamFailure('DownstreamBadResponse', 'Moodle answered a user without an id', {
        status: 200,
      });
    }
    const suspended = pick(found[0], 'suspended');
    return { id, suspended: suspended === true || suspended === 1 || suspended === '1' };
  }

  async function createUser(payment: PaymentRef, email: string, name: string): Promise<number> {
    const user = {
      username: moodleUsername(config.usernamePrefix, email),
      auth: config.auth,
      ...moodleNames(name),
      email,
      // An internal account gets a generated password by email; other auth plugins sign in elsewhere.
      ...(INTERNAL_AUTH.has(config.auth) ? { createpassword: 1 } : {}),
    };
    let created: unknown;
    try {
      created = await call(payment, 'core_user_create_users', { users: [user] });
    } catch (err) {
      if (!(err instanceof MoodleException)) throw err;
      // Lost a race with a concurrent payment of the same student (the username or email is taken,
      // or the database's unique index refused the second insert): that user is this student.
      const raced = await findUser(payment, email);
      if (raced !== undefined) return raced.id;
      // Refused, and still no one with the email: the username is another account's, the email is
      // held in other letter case, or the token may not see emails (docs/lms.md: Show user identity).
      throw moodleFailure(
        err.error,
        "creating the student (no user with their email is visible: the username or email is another account's, or the token may not see emails: docs/lms.md, Show user identity)",
      );
    }
    const id = Number(pickString(Array.isArray(created) ? created[0] : undefined, 'id'));
    if (!Number.isFinite(id)) {
      throw new DownstreamFailure('DownstreamBadResponse', 'Moodle created a user without answering its id', {
        status: 200,
      });
    }
    return id;
  }

  /** Active, suspended, or not enrolled: the user's own course list holds active enrolments only. */
  async function enrolmentState(
    payment: PaymentRef,
    userId: number,
    courseId: number,
  ): Promise<EnrolmentState> {
    // returnusercount=0: counting every course's participants is the costly part of this call.
    const courses = await run(
      payment,
      'core_enrol_get_users_courses',
      { userid: userId, returnusercount: 0 },
      "reading the student's courses",
    );
    if (Array.isArray(courses) && courses.some((c) => Number(pickString(c, 'id')) === courseId))
      return 'active';
    const suspended = await run(
      payment,
      'core_enrol_get_enrolled_users',
      {
        courseid: courseId,
        options: [
          { name: 'onlysuspended', value: 1 },
          { name: 'userfields', value: 'id' },
        ],
      },
      `reading course ${courseId}'s suspended students`,
    );
    return Array.isArray(suspended) && suspended.some((u) => Number(pickString(u, 'id')) === userId)
      ? 'suspended'
      : 'none';
  }

  async function enrol(
    payment: PaymentRef,
    userId: number,
    courseId: number,
    suspend: boolean,
    course: string,
  ) {
    await run(
      payment,
      'enrol_manual_enrol_users',
      {
        enrolments: [{ roleid: config.roleId, userid: userId, courseid: courseId, suspend: suspend ? 1 : 0 }],
      },
      `enrolling in course ${course}`,
    );
  }

  async function enroll(input: EnrollRequest) {
    const email = input.email.toLowerCase();
    const courseId = await courseIdOf(input.payment, input.courseId);
    const user = await findUser(input.payment, email);
    if (user?.suspended) {
      throw new DownstreamFailure(
        'LmsRejected',
        `Moodle user ${user.id} is suspended: an enrolment would give no access`,
        {
          status: 200,
          code: 'usersuspended',
        },
      );
    }
    const userId = user?.id ?? (await createUser(input.payment, email, input.name));
    const enrollmentId = `${userId}:${courseId}`;
    const state = await enrolmentState(input.payment, userId, courseId);
    // Active: another payment's enrolment, unless an earlier attempt of this one made it and lost the
    // answer (it recorded that it was enrolling): a refund takes back only what the payment made.
    if (state === 'active') return { enrollmentId, alreadyEnrolled: !wasWriting('enrolling', enrollmentId) };
    if (state === 'suspended') {
      throw new DownstreamFailure(
        'LmsRejected',
        `Moodle: the student is already in course ${input.courseId}, but the enrolment is suspended`,
        { status: 200, code: 'suspended' },
      );
    }
    markWriting('enrolling', enrollmentId);
    await enrol(input.payment, userId, courseId, false, input.courseId);
    return { enrollmentId, alreadyEnrolled: false };
  }

  async function changeAccess(input: AccessRequest) {
    if (!input.email || !input.courseId) {
      throw new DownstreamFailure(
        'LmsRejected',
        'Moodle: the grant names no student email or course to find',
      );
    }
    // Enrolled by another payment of the student first: theirs to change, not this money's.
    if (input.enrolledBefore) return { found: false };
    // A user the site suspended still holds the enrolment a refund must take back.
    const userId = (await findUser(input.payment, input.email.toLowerCase()))?.id;
    if (userId === undefined) return { found: false };
    const courseId = await courseIdOf(input.payment, input.courseId);
    const state = await enrolmentState(input.payment, userId, courseId);
    const done = { found: true, enrollmentId: `${userId}:${courseId}` };
    if (state === 'none') {
      // Moodle keeps no trace of an unenrolment: when an earlier attempt sent this one and its answer
      // was lost, the enrolment is gone because of it, and the grant counts as found and revoked.
      return wasWriting('unenrolling', done.enrollmentId) ? done : { found: false };
    }

    const target = input.status === 'revoked' && config.revoke === 'suspend' ? 'suspended' : input.status;
    if (target === 'revoked') {
      markWriting('unenrolling', done.enrollmentId);
      await run(
        input.payment,
        'enrol_manual_unenrol_users',
        { enrolments: [{ userid: userId, courseid: courseId }] },
        `unenrolling from course ${input.courseId}`,
      );
    } else if (state !== target) {
      await enrol(input.payment, userId, courseId, target === 'suspended', input.courseId);
    }
    if (target !== 'active' && state !== target) await accessIsGone(input, userId, courseId);
    return done;
  }

  /**
   * The manual method's functions touch only its own enrolment: a student also enrolled by another
   * method (self enrolment, a cohort, a meta link) keeps access, which must not be reported as taken.
   */
  async function accessIsGone(input: AccessRequest, userId: number, courseId: number) {
    if ((await enrolmentState(input.payment, userId, courseId)) !== 'active') return;
    throw new DownstreamFailure(
      'LmsRejected',
      `Moodle: the student keeps access to course ${input.courseId ?? courseId} through another enrolment method (self, cohort, meta link): take it away there`,
      { status: 200, code: 'otherenrolment' },
    );
  }

  return { provider: 'moodle', enroll, changeAccess };
}
