/**
 * Moodle's web services, as a site with the REST protocol enabled answers them at
 * `/moodle/webservice/rest/server.php`: form-encoded calls with `wstoken`, `wsfunction` and
 * `moodlewsrestformat=json`, PHP-style arrays (`users[0][email]`), and every error answered with
 * HTTP 200 and `{exception, errorcode, message}` (no `debuginfo`: a production site's debugging is
 * off, so the detail a developer would see is not in the message either).
 *
 * The service the token belongs to holds exactly the functions docs/lms.md asks an administrator to
 * add; any other function is an access exception. Users and enrolments live in the ledger (one
 * `lmsUsers` row per account, one enrollment row per user enrolment); courses are the sample
 * catalog's, plus any a test adds through `/_sandbox/moodle/courses`.
 */
import express, { type Request } from 'express';
import type { SandboxService, ServiceContext } from './context';
import { isoAt } from './context';
import { endpoint, reply, safeEqual, send, type Reply, type ServiceProfile } from './http';
import type { EnrollmentRecord, LmsUserRecord } from './ledger';

/** What an administrator adds to the external service (docs/lms.md lists the same). */
export const MOODLE_SERVICE_FUNCTIONS = [
  'core_user_get_users_by_field',
  'core_user_create_users',
  'core_course_get_courses_by_field',
  'core_enrol_get_users_courses',
  'core_enrol_get_enrolled_users',
  'enrol_manual_enrol_users',
  'enrol_manual_unenrol_users',
] as const;

export interface MoodleCourse {
  id: number;
  shortname: string;
  fullname: string;
  idnumber: string;
  /** The course's manual enrolment method: enabled, disabled by a teacher, or never added. */
  manual: 'enabled' | 'disabled' | 'none';
  /** Roles the web service user may assign here (5 = student on a standard site). */
  assignableRoles: number[];
}

/** The sample catalog's courses as a school would have made them: id 1 is the site itself. */
const seededCourses = (): MoodleCourse[] => [
  {
    id: 2,
    shortname: 'ML101',
    fullname: 'Machine Learning 101',
    idnumber: 'ML-101',
    manual: 'enabled',
    assignableRoles: [5],
  },
  {
    id: 3,
    shortname: 'DS301',
    fullname: 'Data Science 301',
    idnumber: 'DS-301',
    manual: 'enabled',
    assignableRoles: [5],
  },
];

const AUTH_PLUGINS = new Set(['manual', 'email', 'oauth2', 'saml2', 'ldap', 'cas', 'nologin', 'shibboleth']);
/** Users 1 and 2 are the guest and the administrator on every site. */
const FIRST_USER_ID = 3;

type Params = Record<string, unknown>;

class MoodleError extends Error {
  constructor(
    readonly exception: string,
    readonly errorcode: string,
    message: string,
  ) {
    super(message);
  }
}

const invalidParameter = () =>
  new MoodleError('invalid_parameter_exception', 'invalidparameter', 'Invalid parameter value detected');
const codingError = (hint: string) =>
  new MoodleError(
    'coding_exception',
    'codingerror',
    `Coding error detected, it must be fixed by a programmer: ${hint}`,
  );
const missingRecord = (table: string) =>
  new MoodleError(
    'dml_missing_record_exception',
    // Moodle names a missing user record apart.
    table === 'user' ? 'invaliduser' : 'invalidrecord',
    `Can not find data record in database table ${table}.`,
  );

const answerError = (e: MoodleError): Reply =>
  reply(200, { exception: e.exception, errorcode: e.errorcode, message: e.message });

const profile: ServiceProfile = {
  service: 'lms',
  // Moodle has no rate limiting of its own: a reverse proxy in front of it answers 429; an injected
  // error is a database that went away mid-request, which Moodle reports like any other error.
  faultReply: (fault) =>
    fault.kind === 'rateLimited'
      ? {
          status: 429,
          text: 'Too Many Requests',
          headers: fault.retryAfter === undefined ? undefined : { 'Retry-After': fault.retryAfter },
        }
      : answerError(new MoodleError('dml_read_exception', 'dmlreadexception', 'Error reading from database')),
  unreadableBody: () => answerError(invalidParameter()),
  notFound: () => ({ status: 404, text: 'Not Found' }),
};

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const USERNAME = /^[a-z0-9_.@-]+$/;

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
/** PHP's PARAM_INT: digits only, else the call's parameters are invalid. */
function int(value: unknown): number {
  const text = str(value);
  if (text === undefined || !/^-?\d+$/.test(text)) throw invalidParameter();
  return Number(text);
}
/** qs turns `a[0][b]` into an array, or into an object when the indexes are sparse. */
const list = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value && typeof value === 'object' ? Object.values(value) : [];

export function createMoodleService(ctx: ServiceContext): SandboxService & { control: express.Router } {
  let courses = seededCourses();
  /**
   * Whether the token sees students' emails: only with email among the site's "Show user identity"
   * fields and moodle/site:viewuseridentity (docs/lms.md). Without, Moodle leaves out of a lookup by
   * email every user whose email it hides.
   */
  let emailsVisible = true;

  const users = () => ctx.ledger.lmsUserList('moodle');
  const userById = (id: number) => users().find((u) => Number(u.id) === id);
  const courseById = (id: number) => courses.find((c) => c.id === id);
  /** The user's live enrolments in the course, by any method (an unenrolled one is gone, as in Moodle). */
  const enrolmentsIn = (courseId: number) =>
    ctx.ledger
      .lmsEnrollments('moodle')
      .filter((e) => e.lms_course_id === String(courseId) && e.status !== 'revoked');
  /** The user's manual enrolment in the course: the only one the manual method's functions touch. */
  const enrolmentOf = (userId: number, courseId: number): Readonly<EnrollmentRecord> | undefined =>
    enrolmentsIn(courseId).find(
      (e) => e.lms_user_id === String(userId) && (e.lms_method ?? 'manual') === 'manual',
    );
  /** Enrolled and active through some method; suspended when every enrolment is. */
  const participation = (userId: number, courseId: number): 'active' | 'suspended' | 'none' => {
    const mine = enrolmentsIn(courseId).filter((e) => e.lms_user_id === String(userId));
    if (mine.length === 0) return 'none';
    return mine.some((e) => e.status === 'active') ? 'active' : 'suspended';
  };

  /** A user_enrolments row: the manual method's (enrollflow's), or another method's set up by a test. */
  function addEnrolment(
    user: Readonly<LmsUserRecord>,
    course: MoodleCourse,
    status: 'active' | 'suspended',
    method: string,
  ) {
    return ctx.ledger.recordEnrollment({
      id: `mdl_ue_${ctx.ledger.lmsEnrollments('moodle').length + 1}`,
      lms: 'moodle',
      email: user.email,
      name: user.name,
      course_id: course.idnumber,
      status,
      lms_state: status,
      ...(method !== 'manual' && { lms_method: method }),
      lms_user_id: user.id,
      lms_course_id: String(course.id),
      created_at: isoAt(ctx.now()),
    });
  }

  function describeUser(u: Readonly<LmsUserRecord>) {
    const firstname = u.firstname ?? u.name;
    const lastname = u.lastname ?? '';
    return {
      id: Number(u.id),
      username: u.login,
      firstname,
      lastname,
      fullname: `${firstname} ${lastname}`,
      ...(emailsVisible && { email: u.email }),
      auth: u.auth ?? 'manual',
      suspended: u.suspended ?? false,
      confirmed: true,
      lang: 'en',
      idnumber: '',
      profileimageurl: 'https://moodle.example/theme/image.php/boost/core/1/u/f1',
      profileimageurlsmall: 'https://moodle.example/theme/image.php/boost/core/1/u/f2',
    };
  }

  const describeCourse = (c: MoodleCourse) => ({
    id: c.id,
    fullname: c.fullname,
    displayname: c.fullname,
    shortname: c.shortname,
    idnumber: c.idnumber,
    categoryid: 1,
    format: 'topics',
    visible: 1,
  });

  function addUser(fields: {
    username: string;
    email: string;
    firstname: string;
    lastname: string;
    auth: string;
    suspended?: boolean;
  }) {
    return ctx.ledger.recordLmsUser({
      lms: 'moodle',
      id: String(users().length + FIRST_USER_ID),
      email: fields.email,
      login: fields.username,
      name: `${fields.firstname} ${fields.lastname}`,
      firstname: fields.firstname,
      lastname: fields.lastname,
      auth: fields.auth,
      suspended: fields.suspended ?? false,
      created_at: isoAt(ctx.now()),
    });
  }

  const functions: Record<(typeof MOODLE_SERVICE_FUNCTIONS)[number], (p: Params) => unknown> = {
    core_user_get_users_by_field(p) {
      const field = str(p.field);
      if (!field || !['id', 'idnumber', 'username', 'email'].includes(field))
        throw codingError('invalid field parameter');
      const values = list(p.values).map((v) => str(v) ?? '');
      // The value must survive Moodle's cleaning unchanged: an invalid email is an error, not a miss.
      if (field === 'email' && values.some((v) => !EMAIL.test(v))) throw invalidParameter();
      if (field === 'username' && values.some((v) => !USERNAME.test(v))) throw invalidParameter();
      if (field === 'email' && !emailsVisible) return [];
      // Plain equality, as on PostgreSQL: Moodle does not fold case when it looks users up.
      const match = (u: Readonly<LmsUserRecord>) =>
        field === 'id'
          ? values.includes(u.id)
          : field === 'email'
            ? values.includes(u.email)
            : field === 'username'
              ? values.includes(u.login)
              : false;
      return users().filter(match).map(describeUser);
    },

    core_user_create_users(p) {
      const batch = list(p.users).map((raw) => {
        const u = (raw ?? {}) as Params;
        const username = str(u.username) ?? '';
        const email = str(u.email) ?? '';
        const firstname = (str(u.firstname) ?? '').trim();
        const lastname = (str(u.lastname) ?? '').trim();
        const auth = str(u.auth) ?? 'manual';
        if (!username || !firstname || !lastname || !email) throw invalidParameter();
        if (!USERNAME.test(username) || !EMAIL.test(email) || !AUTH_PLUGINS.has(auth))
          throw invalidParameter();
        // Internal auth needs a password, or Moodle's own generated one mailed to the user.
        if (auth === 'manual' && !str(u.password) && str(u.createpassword) !== '1') throw invalidParameter();
        if (users().some((x) => x.login === username)) throw invalidParameter(); // Username already exists
        // allowaccountssameemail is off on a default site; this check folds case.
        if (users().some((x) => x.email.toLowerCase() === email.toLowerCase())) throw invalidParameter();
        return { username, email, firstname, lastname, auth };
      });
      if (batch.length === 0) throw invalidParameter();
      // Created one by one in one transaction: a later user of the batch meets the earlier ones.
      if (new Set(batch.map((u) => u.username)).size !== batch.length) throw invalidParameter();
      if (new Set(batch.map((u) => u.email.toLowerCase())).size !== batch.length) throw invalidParameter();
      // One transaction: every user is checked before any is created.
      return batch.map((u) => {
        const created = addUser(u);
        return { id: Number(created.id), username: created.login };
      });
    },

    core_course_get_courses_by_field(p) {
      const field = str(p.field) ?? '';
      const value = str(p.value) ?? '';
      const pickers: Record<string, (c: MoodleCourse) => boolean> = {
        '': () => true,
        id: (c) => c.id === int(value),
        ids: (c) => value.split(',').map(Number).includes(c.id),
        shortname: (c) => c.shortname === value,
        idnumber: (c) => c.idnumber === value,
        category: () => int(value) === 1,
      };
      const picker = pickers[field];
      if (!picker) throw invalidParameter();
      return { courses: courses.filter(picker).map(describeCourse), warnings: [] };
    },

    core_enrol_get_users_courses(p) {
      const userId = int(p.userid);
      if (!userById(userId)) throw missingRecord('user');
      // Active participation only: a course whose every enrolment is suspended is not among them.
      return courses.filter((c) => participation(userId, c.id) === 'active').map(describeCourse);
    },

    core_enrol_get_enrolled_users(p) {
      const courseId = int(p.courseid);
      if (!courseById(courseId)) throw missingRecord('course');
      const options = new Map(
        list(p.options).map((o) => [str((o as Params).name), str((o as Params).value)]),
      );
      const onlyActive = options.get('onlyactive') === '1';
      const onlySuspended = options.get('onlysuspended') === '1';
      if (onlyActive && onlySuspended)
        throw codingError('Both onlyactive and onlysuspended are set, this is probably not what you want!');
      const fields = options
        .get('userfields')
        ?.split(',')
        .map((f) => f.trim());
      const enrolled = [...new Set(enrolmentsIn(courseId).map((e) => Number(e.lms_user_id)))];
      return enrolled
        .filter((id) => {
          const state = participation(id, courseId);
          return onlyActive ? state === 'active' : onlySuspended ? state === 'suspended' : true;
        })
        .map((id) => userById(id))
        .filter((u): u is Readonly<LmsUserRecord> => u !== undefined)
        .map((u) => {
          const all = describeUser(u) as Record<string, unknown>;
          return fields ? Object.fromEntries(['id', ...fields].map((f) => [f, all[f]])) : all;
        });
    },

    enrol_manual_enrol_users(p) {
      const items = list(p.enrolments).map((raw) => {
        const e = (raw ?? {}) as Params;
        const roleId = int(e.roleid);
        const userId = int(e.userid);
        const courseId = int(e.courseid);
        const suspend = e.suspend === undefined ? false : int(e.suspend) !== 0;
        const course = courseById(courseId);
        // validate_context on a course that does not exist.
        if (!course) throw invalidParameter();
        if (!course.assignableRoles.includes(roleId)) {
          throw new MoodleError(
            'moodle_exception',
            'wsusercannotassign',
            `You don't have the permission to assign this role (${roleId}) to this user (${userId}) in this course(${courseId}).`,
          );
        }
        if (course.manual !== 'enabled') throw noInstance(courseId);
        const user = userById(userId);
        if (!user) throw codingError('User ID does not exist or is deleted!');
        const rejected = ctx.faults.rejection('lms', { email: user.email, courseId: course.idnumber });
        if (rejected === 'course') throw noInstance(courseId);
        if (rejected) {
          throw new MoodleError(
            'moodle_exception',
            'wsusercannotassign',
            `You don't have the permission to assign this role (${roleId}) to this user (${userId}) in this course(${courseId}).`,
          );
        }
        return { user, course, suspend };
      });
      // One transaction: all checked, then all written. An existing enrolment is updated, never doubled.
      for (const { user, course, suspend } of items) {
        const status = suspend ? 'suspended' : 'active';
        const existing = enrolmentOf(Number(user.id), course.id);
        if (existing) {
          if (existing.status !== status) {
            ctx.ledger.changeAccess(existing.id, { to: status, lms_state: status, at: isoAt(ctx.now()) });
          }
          continue;
        }
        addEnrolment(user, course, status, 'manual');
      }
      return null;
    },

    enrol_manual_unenrol_users(p) {
      const items = list(p.enrolments).map((raw) => {
        const e = (raw ?? {}) as Params;
        const userId = int(e.userid);
        const courseId = int(e.courseid);
        if (!courseById(courseId)) throw missingRecord('context');
        // A disabled manual method can still unenrol; a course without one cannot.
        if (courseById(courseId)!.manual === 'none') throw noInstance(courseId);
        if (!userById(userId)) throw invalidParameter();
        return { userId, courseId };
      });
      for (const { userId, courseId } of items) {
        // Not enrolled: Moodle returns quietly.
        const existing = enrolmentOf(userId, courseId);
        if (existing)
          ctx.ledger.changeAccess(existing.id, {
            to: 'revoked',
            lms_state: 'unenrolled',
            at: isoAt(ctx.now()),
          });
      }
      return null;
    },
  };

  const noInstance = (courseId: number) =>
    new MoodleError(
      'moodle_exception',
      'wsnoinstance',
      `Manual enrolment plugin instance doesn't exist or is disabled for the course (id = ${courseId})`,
    );

  const paramsOf = (req: Request): Params => ({ ...(req.query as Params), ...((req.body ?? {}) as Params) });

  /** Before faults, as Moodle checks the token before it runs anything. */
  function admit(req: Request): Reply | undefined {
    const params = paramsOf(req);
    if (str(params.moodlewsrestformat) !== 'json') {
      // XML is Moodle's default format; nobody here parses it, which is the point.
      return {
        status: 200,
        text: '<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE></RESPONSE>\n',
        headers: { 'Content-Type': 'application/xml' },
      };
    }
    if (!ctx.credentials.MOODLE_TOKEN || !safeEqual(str(params.wstoken), ctx.credentials.MOODLE_TOKEN)) {
      return answerError(
        new MoodleError('moodle_exception', 'invalidtoken', 'Invalid token - token not found'),
      );
    }
    const fn = str(params.wsfunction);
    if (!fn) return answerError(invalidParameter());
    if (!(MOODLE_SERVICE_FUNCTIONS as readonly string[]).includes(fn)) {
      return answerError(
        new MoodleError('webservice_access_exception', 'accessexception', 'Access control exception'),
      );
    }
    return undefined;
  }

  function handle(req: Request): Reply {
    const params = paramsOf(req);
    const fn = str(params.wsfunction) as (typeof MOODLE_SERVICE_FUNCTIONS)[number];
    try {
      return reply(200, functions[fn](params));
    } catch (err) {
      if (err instanceof MoodleError) return answerError(err);
      throw err;
    }
  }

  const router = express.Router();
  // extended: PHP-style nested arrays, parsed as PHP would.
  router.use(express.urlencoded({ extended: true, limit: '1mb', parameterLimit: 1000 }));
  const server = endpoint(ctx, profile, { admit, handle });
  router.post('/webservice/rest/server.php', server);
  router.get('/webservice/rest/server.php', server);
  router.use((_req, res) => send(res, profile.notFound()));

  /** `/_sandbox/moodle`: add courses (a method disabled, a role not assignable) and users (suspended). */
  const control = express.Router();
  control.use(express.json());
  control.get('/courses', (_req, res) => send(res, reply(200, courses)));
  /** The site's settings a test can get wrong: `{ emailsVisible: false }` hides emails from the token. */
  control.put('/site', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.emailsVisible !== 'boolean')
      return send(res, reply(400, { error: 'emailsVisible: boolean' }));
    emailsVisible = b.emailsVisible;
    send(res, reply(200, { emailsVisible }));
  });
  control.post('/courses', (req, res) => {
    const b = (req.body ?? {}) as Partial<MoodleCourse>;
    if (typeof b.idnumber !== 'string' || !b.idnumber)
      return send(res, reply(400, { error: 'idnumber is required' }));
    const course: MoodleCourse = {
      id: Math.max(...courses.map((c) => c.id), 1) + 1,
      idnumber: b.idnumber,
      shortname: b.shortname ?? b.idnumber.replace(/[^A-Za-z0-9]/g, ''),
      fullname: b.fullname ?? b.idnumber,
      manual: b.manual ?? 'enabled',
      assignableRoles: b.assignableRoles ?? [5],
    };
    courses.push(course);
    send(res, reply(201, course));
  });
  /** An enrolment by another method (self, cohort, meta): the manual functions do not touch it. */
  control.post('/enrolments', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const user = userById(Number(b.userid));
    const course = courseById(Number(b.courseid));
    const method = str(b.method) ?? 'self';
    if (!user || !course || method === 'manual') {
      return send(
        res,
        reply(400, { error: 'userid and courseid of existing ones, and a method other than manual' }),
      );
    }
    send(res, reply(201, addEnrolment(user, course, b.suspended === true ? 'suspended' : 'active', method)));
  });
  control.post('/users', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const email = str(b.email);
    if (!email) return send(res, reply(400, { error: 'email is required' }));
    const user = addUser({
      email,
      username: str(b.username) ?? email.toLowerCase(),
      firstname: str(b.firstname) ?? 'Existing',
      lastname: str(b.lastname) ?? 'Student',
      auth: str(b.auth) ?? 'manual',
      suspended: b.suspended === true,
    });
    send(res, reply(201, describeUser(user)));
  });

  return {
    router,
    control,
    reset: () => {
      courses = seededCourses();
      emailsVisible = true;
    },
  };
}
