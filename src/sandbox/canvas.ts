/**
 * Canvas's REST API as an admin token sees it, at `/canvas/api/v1`: users found by `sis_login_id:` or
 * `sis_user_id:` (a login compares without case), created under an account; StudentEnrollments
 * listed, created, concluded, deleted, deactivated and reactivated. Canvas's own rules, errors and
 * headers: `POST .../enrollments` for a user already in the section returns that enrollment (any
 * state but active is set to the one asked for: an inactive, concluded or deleted enrollment comes
 * back under the same id), the default state is `invited`, reactivate works only from inactive, and
 * throttling answers 403 with the plain text "403 Forbidden (Rate Limit Exceeded)".
 *
 * Users and enrollments live in the ledger; courses are the sample catalog's (SIS ids ML-101 and
 * DS-301), plus any a test adds through `/_sandbox/canvas/courses`.
 */
import express, { type Request } from 'express';
import type { SandboxService, ServiceContext } from './context';
import { isoAt } from './context';
import { bearerToken, endpoint, reply, safeEqual, send, type Reply, type ServiceProfile } from './http';
import type { AccessStatus, EnrollmentRecord, LmsUserRecord } from './ledger';

export interface CanvasCourse {
  id: number;
  sis_course_id: string;
  name: string;
  /** Unpublished: a new enrollment defaults to creation_pending. */
  published: boolean;
  /** Concluded: Canvas refuses new enrollments. */
  concluded: boolean;
}

const seededCourses = (): CanvasCourse[] => [
  { id: 101, sis_course_id: 'ML-101', name: 'Machine Learning 101', published: true, concluded: false },
  { id: 102, sis_course_id: 'DS-301', name: 'Data Science 301', published: true, concluded: false },
];

/** The root account's authentication providers: Canvas's own logins, and a school's SAML. */
const AUTH_PROVIDERS = [
  { id: '1', auth_type: 'canvas' },
  { id: '2', auth_type: 'saml' },
];
const ROOT_ACCOUNT_ID = '1';
/** User 1 is the admin whose token the worker holds. */
const FIRST_USER_ID = 2;

const ENROLLMENT_TYPES = [
  'StudentEnrollment',
  'TeacherEnrollment',
  'TaEnrollment',
  'ObserverEnrollment',
  'DesignerEnrollment',
];
const STATES = ['active', 'invited', 'creation_pending', 'deleted', 'rejected', 'completed', 'inactive'];

/** What each Canvas state means for access, in the ledger's common terms. */
const ACCESS_OF: Record<string, AccessStatus> = {
  active: 'active',
  invited: 'pending',
  creation_pending: 'pending',
  inactive: 'suspended',
  completed: 'revoked',
  deleted: 'revoked',
  rejected: 'revoked',
};

const notFoundBody = { errors: [{ message: 'The specified resource does not exist.' }] };
const missing = (): Reply => reply(404, notFoundBody);
/** Canvas sends its bucket's state on every API answer. */
const RATE_HEADERS = { 'X-Request-Cost': '0.0123', 'X-Rate-Limit-Remaining': '598.5' };

const profile: ServiceProfile = {
  service: 'lms',
  faultReply: (fault) =>
    fault.kind === 'rateLimited'
      ? // No Retry-After: Canvas never sends one.
        {
          status: 403,
          text: '403 Forbidden (Rate Limit Exceeded)\n',
          headers: { 'X-Rate-Limit-Remaining': '0.0' },
        }
      : reply(500, { errors: [{ message: 'An error occurred.', error_code: 'internal_server_error' }] }),
  unreadableBody: (status) =>
    reply(status, { errors: [{ message: 'An error occurred.', error_code: 'bad_request' }] }),
  notFound: missing,
};

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
const taken = (attribute: string, message: string): Reply =>
  reply(400, {
    errors: {
      user: { pseudonyms: [{ attribute: 'pseudonyms', type: 'invalid', message: 'is invalid' }] },
      pseudonym: { [attribute]: [{ attribute, type: 'taken', message }] },
      observee: {},
      pairing_code: {},
      recaptcha: null,
    },
  });

export function createCanvasService(ctx: ServiceContext): SandboxService & { control: express.Router } {
  let courses = seededCourses();
  const users = () => ctx.ledger.lmsUserList('canvas');
  const enrollments = () => ctx.ledger.lmsEnrollments('canvas');

  /** `123`, `sis_login_id:<login>` (no case), `sis_user_id:<id>`; express has already decoded %2E and %40. */
  function findUser(ref: string): Readonly<LmsUserRecord> | undefined {
    if (/^\d+$/.test(ref)) return users().find((u) => u.id === ref);
    if (ref.startsWith('sis_login_id:')) {
      const login = ref.slice('sis_login_id:'.length).toLowerCase();
      return users().find((u) => u.login.toLowerCase() === login);
    }
    if (ref.startsWith('sis_user_id:')) {
      const sis = ref.slice('sis_user_id:'.length);
      return users().find((u) => u.sis_user_id === sis);
    }
    return undefined;
  }

  function findCourse(ref: string): CanvasCourse | undefined {
    if (/^\d+$/.test(ref)) return courses.find((c) => c.id === Number(ref));
    if (ref.startsWith('sis_course_id:'))
      return courses.find((c) => c.sis_course_id === ref.slice('sis_course_id:'.length));
    return undefined;
  }

  const userJson = (u: Readonly<LmsUserRecord>) => ({
    id: Number(u.id),
    name: u.name,
    sortable_name: u.name.split(' ').reverse().join(', '),
    short_name: u.name,
    sis_user_id: u.sis_user_id ?? null,
    login_id: u.login,
    created_at: u.created_at,
  });

  const enrollmentJson = (e: Readonly<EnrollmentRecord>) => {
    const course = courses.find((c) => String(c.id) === e.lms_course_id);
    return {
      id: Number(e.id),
      course_id: Number(e.lms_course_id),
      sis_course_id: course?.sis_course_id ?? null,
      course_section_id: Number(e.lms_course_id) * 10,
      user_id: Number(e.lms_user_id),
      type: 'StudentEnrollment',
      role: 'StudentEnrollment',
      role_id: 3,
      enrollment_state: e.lms_state,
      root_account_id: Number(ROOT_ACCOUNT_ID),
      created_at: e.created_at,
      updated_at: e.access_changes.at(-1)?.at ?? e.created_at,
      html_url: `https://canvas.example/courses/${e.lms_course_id}/users/${e.lms_user_id}`,
    };
  };

  function setState(e: Readonly<EnrollmentRecord>, state: string): Readonly<EnrollmentRecord> {
    if (e.lms_state === state) return e;
    return ctx.ledger.changeAccess(e.id, { to: ACCESS_OF[state]!, lms_state: state, at: isoAt(ctx.now()) })!;
  }

  const authorize = (req: Request): Reply | undefined => {
    const token = bearerToken(req);
    if (!token) {
      return reply(
        401,
        { status: 'unauthenticated', errors: [{ message: 'user authorization required' }] },
        {
          'WWW-Authenticate': 'Bearer realm="canvas-lms"',
        },
      );
    }
    if (!ctx.credentials.CANVAS_TOKEN || !safeEqual(token, ctx.credentials.CANVAS_TOKEN)) {
      return reply(
        401,
        { errors: [{ message: 'Invalid access token.' }] },
        { 'WWW-Authenticate': 'Bearer realm="canvas-lms"' },
      );
    }
    return undefined;
  };

  const withRate = (answer: Reply): Reply => ({ ...answer, headers: { ...RATE_HEADERS, ...answer.headers } });

  function getUser(req: Request): Reply {
    const user = findUser(String(req.params.id));
    return user ? reply(200, userJson(user)) : missing();
  }

  function createUser(req: Request): Reply {
    const account = String(req.params.account);
    if (!['self', ROOT_ACCOUNT_ID].includes(account)) return missing();
    const body = (req.body ?? {}) as Record<string, Record<string, unknown> | string | undefined>;
    const userParams = typeof body.user === 'object' ? body.user : {};
    const pseudonym = typeof body.pseudonym === 'object' ? body.pseudonym : {};
    const uniqueId = str(pseudonym.unique_id)?.trim();
    if (!uniqueId) {
      return reply(400, {
        errors: { pseudonym: { unique_id: [{ attribute: 'unique_id', type: 'blank', message: 'blank' }] } },
      });
    }
    const providerRef = str(pseudonym.authentication_provider_id);
    const provider =
      providerRef === undefined
        ? AUTH_PROVIDERS[0]!
        : AUTH_PROVIDERS.find((p) => p.id === providerRef || p.auth_type === providerRef);
    if (!provider) return missing();
    // Logins are unique per account and authentication provider, without case.
    if (
      users().some((u) => u.login.toLowerCase() === uniqueId.toLowerCase() && (u.auth ?? '1') === provider.id)
    ) {
      return taken('unique_id', 'ID already in use for this account and authentication provider');
    }
    const sisUserId = str(pseudonym.sis_user_id);
    if (sisUserId !== undefined && users().some((u) => u.sis_user_id === sisUserId)) {
      return taken('sis_user_id', `SIS ID "${sisUserId}" is already in use`);
    }
    const created = ctx.ledger.recordLmsUser({
      lms: 'canvas',
      id: String(users().length + FIRST_USER_ID),
      email: uniqueId,
      login: uniqueId,
      name: str(userParams.name) ?? uniqueId,
      auth: provider.id,
      ...(sisUserId !== undefined && { sis_user_id: sisUserId }),
      created_at: isoAt(ctx.now()),
    });
    return reply(200, { ...userJson(created), locale: null, uuid: `uuid-${created.id}` });
  }

  function listEnrollments(req: Request): Reply {
    const course = findCourse(String(req.params.course));
    if (!course) return missing();
    const userId = str(req.query.user_id);
    const wanted = (k: string) => {
      const v = req.query[k] ?? req.query[`${k}[]`];
      return (Array.isArray(v) ? v : v === undefined ? [] : [v]).map(String);
    };
    const types = wanted('type');
    let states = wanted('state');
    if (states.some((s) => !STATES.includes(s))) {
      return reply(400, {
        errors: [{ message: `Invalid state ${states.find((s) => !STATES.includes(s))}` }],
      });
    }
    // Another user's enrollments default to active and invited; the whole roster, to an admin, to
    // every live state.
    if (states.length === 0)
      states = userId ? ['active', 'invited'] : ['active', 'invited', 'creation_pending', 'inactive'];
    const perPage = Math.min(Math.max(Number(str(req.query.per_page) ?? 10) || 10, 1), 100);
    const found = enrollments()
      .filter((e) => e.lms_course_id === String(course.id))
      .filter((e) => userId === undefined || e.lms_user_id === userId)
      // Every enrollment here is a StudentEnrollment.
      .filter(() => types.length === 0 || types.includes('StudentEnrollment'))
      .filter((e) => states.includes(e.lms_state ?? ''));
    const page = found.slice(0, perPage).map(enrollmentJson);
    const self = `https://canvas.example/api/v1/courses/${course.id}/enrollments?page=1&per_page=${perPage}`;
    return reply(200, page, { Link: `<${self}>; rel="current",<${self}>; rel="first"` });
  }

  function createEnrollment(req: Request): Reply {
    const course = findCourse(String(req.params.course));
    if (!course) return missing();
    const params = ((req.body ?? {}) as { enrollment?: Record<string, unknown> }).enrollment ?? {};
    if (Object.keys(params).length === 0) return reply(400, { message: 'No parameters given' });
    const userRef = str(params.user_id);
    if (!userRef) {
      return reply(400, {
        message:
          "Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment",
      });
    }
    const type = str(params.type) ?? 'StudentEnrollment';
    if (!ENROLLMENT_TYPES.includes(type)) return reply(400, { message: 'Invalid type' });
    const user = findUser(userRef);
    if (!user) return reply(404, notFoundBody);
    if (course.concluded) return reply(400, { message: "Can't add an enrollment to a concluded course." });
    const requested = str(params.enrollment_state);
    if (requested !== undefined && !['active', 'invited', 'inactive'].includes(requested)) {
      return reply(400, { message: 'Invalid enrollment_state' });
    }
    const rejected = ctx.faults.rejection('lms', { email: user.email, courseId: course.sis_course_id });
    if (rejected === 'course')
      return reply(400, { message: "Can't add an enrollment to a concluded course." });
    if (rejected) return reply(400, { message: 'Invalid user' });
    const state = requested ?? (course.published ? 'invited' : 'creation_pending');

    // One enrollment per user, type and section (the course's default section here): asked again,
    // Canvas returns it, set to the state asked for unless it is active already.
    const existing = enrollments().find(
      (e) => e.lms_course_id === String(course.id) && e.lms_user_id === user.id,
    );
    if (existing) {
      return reply(
        200,
        enrollmentJson(existing.lms_state === 'active' ? existing : setState(existing, state)),
      );
    }
    const record = ctx.ledger.recordEnrollment({
      id: String(enrollments().length + 1),
      lms: 'canvas',
      email: user.email,
      name: user.name,
      course_id: course.sis_course_id,
      status: ACCESS_OF[state]!,
      lms_state: state,
      lms_user_id: user.id,
      lms_course_id: String(course.id),
      created_at: isoAt(ctx.now()),
    });
    return reply(200, enrollmentJson(record));
  }

  /** An enrollment of the course that is not deleted (Canvas's `course.enrollments`). */
  function enrollmentIn(req: Request): Readonly<EnrollmentRecord> | undefined {
    const course = findCourse(String(req.params.course));
    return enrollments().find(
      (e) =>
        course &&
        e.lms_course_id === String(course.id) &&
        e.id === String(req.params.id) &&
        e.lms_state !== 'deleted',
    );
  }

  function endEnrollment(req: Request): Reply {
    const enrollment = enrollmentIn(req);
    if (!enrollment) return missing();
    const task = str(req.query.task) ?? 'conclude';
    const state = {
      conclude: 'completed',
      delete: 'deleted',
      deactivate: 'inactive',
      inactivate: 'inactive',
    }[task];
    if (!state) return reply(400, { errors: [{ message: `${task} is not a valid task` }] });
    return reply(200, enrollmentJson(setState(enrollment, state)));
  }

  function reactivate(req: Request): Reply {
    const enrollment = enrollmentIn(req);
    if (!enrollment) return missing();
    if (enrollment.lms_state !== 'inactive') return reply(400, { error: 'enrollment not inactive' });
    return reply(200, enrollmentJson(setState(enrollment, 'active')));
  }

  const api = (handle: (req: Request) => Reply) =>
    endpoint(ctx, profile, { admit: authorize, handle: (req) => withRate(handle(req)) });

  const router = express.Router();
  router.use(express.urlencoded({ extended: true, limit: '1mb' }));
  router.use(express.json({ limit: '1mb' }));
  router.get('/api/v1/users/:id', api(getUser));
  router.post('/api/v1/accounts/:account/users', api(createUser));
  router.get('/api/v1/courses/:course/enrollments', api(listEnrollments));
  router.post('/api/v1/courses/:course/enrollments', api(createEnrollment));
  router.delete('/api/v1/courses/:course/enrollments/:id', api(endEnrollment));
  router.put('/api/v1/courses/:course/enrollments/:id/reactivate', api(reactivate));
  router.use((_req, res) => send(res, missing()));

  /** `/_sandbox/canvas`: add courses (unpublished, concluded) and users (an existing login). */
  const control = express.Router();
  control.use(express.json());
  control.get('/courses', (_req, res) => send(res, reply(200, courses)));
  control.post('/courses', (req, res) => {
    const b = (req.body ?? {}) as Partial<CanvasCourse>;
    if (typeof b.sis_course_id !== 'string' || !b.sis_course_id)
      return send(res, reply(400, { error: 'sis_course_id is required' }));
    const course: CanvasCourse = {
      id: Math.max(...courses.map((c) => c.id), 100) + 1,
      sis_course_id: b.sis_course_id,
      name: b.name ?? b.sis_course_id,
      published: b.published ?? true,
      concluded: b.concluded ?? false,
    };
    courses.push(course);
    send(res, reply(201, course));
  });
  control.post('/users', (req, res) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    const login = str(b.login);
    if (!login) return send(res, reply(400, { error: 'login is required' }));
    const user = ctx.ledger.recordLmsUser({
      lms: 'canvas',
      id: String(users().length + FIRST_USER_ID),
      email: login,
      login,
      name: str(b.name) ?? 'Existing Student',
      auth: str(b.auth) ?? '1',
      ...(str(b.sis_user_id) !== undefined && { sis_user_id: str(b.sis_user_id) }),
      created_at: isoAt(ctx.now()),
    });
    send(res, reply(201, userJson(user)));
  });

  return {
    router,
    control,
    reset: () => {
      courses = seededCourses();
    },
  };
}
