/**
 * The Canvas adapter (LMS_PROVIDER=canvas) over real HTTP: a scripted Canvas answers /api/v1/... with
 * the bodies, statuses and headers a real instance sends (404 `{errors:[{message}]}`, the 400 of a
 * taken login, the plain-text 403 of its throttle). Paths are asserted as received, SIS ids encoded.
 */
import type { ServerResponse } from 'node:http';
import { createActivities } from '../../src/activities';
import { THROTTLE_DELAY_MS } from '../../src/activities/lms/canvas';
import type { ChangeAccessInput, EnrollStudentInput } from '../../src/activities/types';
import { createLogger } from '../../src/runtime/logger';
import type { Logger } from '../../src/runtime/logger';
import { activityEnv, captureLogs, failureOf, noJitter, testConfig } from './support/fixtures';
import {
  type Handler,
  type RecordedRequest,
  reply,
  ScriptedServer,
  sendJson,
} from './support/scripted-server';

const TOKEN = '7~canvasTokenSECRET4f9aQ2wE3rT5yU';
const NOW = Date.UTC(2026, 10, 2, 10, 0, 0);
const payment = { provider: 'stripe', paymentId: 'pi_3Q1w2E3r4T5y6U7i' } as const;
const EMAIL = 'asha.rao@example.com';

/** `sis_login_id:<email>` with `.` and `@` escaped, as canvas.ts sisSegment writes it. */
const USER_PATH = '/api/v1/users/sis_login_id:asha%2Erao%40example%2Ecom';
const SIS_USER_PATH = '/api/v1/users/sis_user_id:asha%2Erao%40example%2Ecom';
const CREATE_PATH = '/api/v1/accounts/self/users';
const ENROLLMENTS = '/api/v1/courses/sis_course_id:ML-101/enrollments';
const enrollmentPath = (id: string | number) => `${ENROLLMENTS}/${id}`;

const input: EnrollStudentInput = {
  payment,
  email: 'Asha.Rao@Example.com',
  name: 'Asha Rao',
  courseId: 'ML-101',
  grantKey: 'course-ml-101',
};

/** A dispute on the payment; the catalog maps course-ml-101 to lmsCourseId ML-101. */
const access = (overrides: Partial<ChangeAccessInput> = {}): ChangeAccessInput => ({
  payment,
  grantKey: 'course-ml-101',
  status: 'suspended',
  cause: { kind: 'dispute', id: 'du_1Q2w3E4r5T6y7U8i' },
  reason: 'dispute opened',
  email: EMAIL,
  ...overrides,
});

// --- What a real Canvas answers ---------------------------------------------------------------

const canvasUser = (id: number) => ({
  id,
  name: 'Asha Rao',
  created_at: '2026-10-01T09:00:00+00:00',
  sortable_name: 'Rao, Asha',
  short_name: 'Asha Rao',
  sis_user_id: null,
  integration_id: null,
  sis_import_id: null,
  login_id: EMAIL,
});

const createdUser = (id: number) => ({
  ...canvasUser(id),
  locale: null,
  uuid: 'Lq2bZ4kE0aVh7yXn1cWd3fGp9sTr6uMi5oJ8eKlQ',
});

const enrollment = (id: number, state: string) => ({
  id,
  user_id: 501,
  course_id: 1201,
  type: 'StudentEnrollment',
  created_at: '2026-10-02T09:00:00Z',
  updated_at: '2026-10-02T09:00:00Z',
  associated_user_id: null,
  start_at: null,
  end_at: null,
  course_section_id: 1301,
  root_account_id: 1,
  limit_privileges_to_course_section: false,
  enrollment_state: state,
  role: 'StudentEnrollment',
  role_id: 3,
  last_activity_at: null,
  last_attended_at: null,
  total_activity_time: 0,
  sis_import_id: null,
  grades: {
    html_url: 'https://canvas.example.edu/courses/1201/grades/501',
    current_grade: null,
    current_score: null,
    final_grade: null,
    final_score: null,
  },
  sis_account_id: null,
  sis_course_id: 'ML-101',
  course_integration_id: null,
  sis_section_id: null,
  section_integration_id: null,
  sis_user_id: null,
  html_url: 'https://canvas.example.edu/courses/1201/users/501',
  user: {
    id: 501,
    name: 'Asha Rao',
    created_at: '2026-10-01T09:00:00+00:00',
    sortable_name: 'Rao, Asha',
    short_name: 'Asha Rao',
    sis_user_id: null,
    integration_id: null,
    login_id: EMAIL,
  },
});

const NOT_FOUND = { errors: [{ message: 'The specified resource does not exist.' }] };
const notFound = reply(404, NOT_FOUND);
const INVALID_TOKEN = reply(
  401,
  { errors: [{ message: 'Invalid access token.' }] },
  { 'WWW-Authenticate': 'Bearer realm="canvas-lms"' },
);
const UNAUTHORIZED = {
  status: 'unauthorized',
  errors: [{ message: 'user not authorized to perform that action' }],
};
const SERVER_ERROR = reply(500, {
  errors: [{ message: 'An error occurred.', error_code: 'internal_server_error' }],
  error_report_id: 70023,
});

/** The unique_id of a login is taken (users_controller create_user, pseudonym.rb). */
const LOGIN_TAKEN = {
  errors: {
    user: { pseudonyms: [{ attribute: 'pseudonyms', type: 'invalid', message: 'is invalid' }] },
    pseudonym: {
      unique_id: [
        {
          attribute: 'unique_id',
          type: 'taken',
          message: 'ID already in use for this account and authentication provider',
        },
      ],
    },
    observee: {},
    pairing_code: {},
    recaptcha: null,
  },
};

function plainText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** app/middleware/request_throttle.rb: no Retry-After, the bucket's remainder 0.0. */
const throttled: Handler = (_req, res) =>
  plainText(res, 403, '403 Forbidden (Rate Limit Exceeded)\n', { 'X-Rate-Limit-Remaining': '0.0' });

const tooManyRequests =
  (headers: Record<string, string> = {}): Handler =>
  (_req, res) =>
    plainText(res, 429, '429 Too Many Requests (Rate Limit Exceeded)\n', {
      'X-Rate-Limit-Remaining': '0.0',
      ...headers,
    });

// --- Reading what the adapter sent --------------------------------------------------------------

/** The form as a plain object; a key sent twice fails the test. */
function formOf(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (key in out) throw new Error(`form key ${key} sent twice`);
    out[key] = value;
  }
  return out;
}

const pathOf = (req: RecordedRequest) => req.url.split('?')[0];
const queryOf = (req: RecordedRequest) => [...new URL(req.url, 'http://canvas.test').searchParams];
const listQuery = (userId: string, states: string[]) => [
  ['user_id', userId],
  ['per_page', '100'],
  ['type[]', 'StudentEnrollment'],
  ...states.map((s) => ['state[]', s]),
];
const ENROLL_STATES = ['active', 'invited', 'creation_pending', 'inactive'];
const HELD_STATES = ['active', 'invited', 'creation_pending', 'inactive', 'completed'];

const LOGIN_FORM = {
  'user[name]': 'Asha Rao',
  'user[terms_of_use]': 'true',
  'pseudonym[unique_id]': EMAIL,
  'communication_channel[type]': 'email',
  'communication_channel[address]': EMAIL,
  'communication_channel[skip_confirmation]': 'true',
};

describe('Canvas LMS adapter', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  const activities = (
    overrides: Record<string, string> = {},
    logger: Logger = captureLogs().logger,
    random = noJitter,
  ) =>
    createActivities(
      testConfig(server.url, {
        LMS_PROVIDER: 'canvas',
        CANVAS_URL: server.url,
        CANVAS_TOKEN: TOKEN,
        ...overrides,
      }),
      { logger, now: () => NOW, random },
    );
  const enroll = (overrides: Record<string, string> = {}, body: EnrollStudentInput = input) =>
    activityEnv().run(activities(overrides).enrollStudent, body);
  const change = (body: ChangeAccessInput, overrides: Record<string, string> = {}) =>
    activityEnv().run(activities(overrides).changeAccess, body);

  const calls = () => server.requests.map((r) => `${r.method} ${pathOf(r)}`);
  const only = (method: string, path: string) =>
    server.requests.filter((r) => r.method === method && pathOf(r) === path);

  /** An existing user (501) without an enrollment in ML-101; the POST makes an active one. */
  function existingStudent(): void {
    server
      .route('GET', USER_PATH, reply(200, canvasUser(501)))
      .route('GET', ENROLLMENTS, reply(200, []))
      .route('POST', ENROLLMENTS, reply(200, enrollment(9001, 'active')));
  }

  describe('enrollStudent', () => {
    it('finds the user by login, reads their enrollments and creates an active StudentEnrollment', async () => {
      existingStudent();

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: '9001', alreadyEnrolled: false, attempt: 1 });
      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${ENROLLMENTS}`, `POST ${ENROLLMENTS}`]);
      const [lookup, list, create] = server.requests;
      expect(lookup!.url).toBe(USER_PATH);
      expect(lookup!.body).toBe('');
      expect(queryOf(list!)).toEqual(listQuery('501', ENROLL_STATES));
      expect(create!.url).toBe(ENROLLMENTS);
      expect(create!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(formOf(create!.body)).toEqual({
        'enrollment[user_id]': '501',
        'enrollment[type]': 'StudentEnrollment',
        'enrollment[enrollment_state]': 'active',
      });
    });

    it('sends the token as a Bearer header on every call, never in a URL', async () => {
      server.route('GET', USER_PATH, notFound).route('POST', CREATE_PATH, reply(200, createdUser(502)));
      server
        .route('GET', ENROLLMENTS, reply(200, []))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9001, 'active')));

      await enroll();

      expect(server.requests).toHaveLength(4);
      for (const req of server.requests) {
        expect(req.headers.authorization).toBe(`Bearer ${TOKEN}`);
        expect(req.headers.accept).toBe('application/json');
        expect(req.url).not.toContain(TOKEN);
        expect(req.url).not.toContain('access_token');
        expect(req.body).not.toContain(TOKEN);
      }
    });

    it('creates a user Canvas does not know (404) with a Canvas login, then enrolls them', async () => {
      server
        .route('GET', USER_PATH, notFound)
        .route('POST', CREATE_PATH, reply(200, createdUser(502)))
        .route('GET', ENROLLMENTS, reply(200, []))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9002, 'active')));

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: '9002', alreadyEnrolled: false, attempt: 1 });
      expect(calls()).toEqual([
        `GET ${USER_PATH}`,
        `POST ${CREATE_PATH}`,
        `GET ${ENROLLMENTS}`,
        `POST ${ENROLLMENTS}`,
      ]);
      const create = server.requests[1]!;
      expect(create.url).toBe(CREATE_PATH);
      expect(create.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(formOf(create.body)).toEqual({ ...LOGIN_FORM, 'pseudonym[send_confirmation]': 'true' });
      expect(queryOf(server.requests[2]!)).toEqual(listQuery('502', ENROLL_STATES));
      expect(formOf(server.requests[3]!.body)).toMatchObject({ 'enrollment[user_id]': '502' });
    });

    it('creates the login under the school identity provider with CANVAS_AUTH_PROVIDER_ID: no confirmation email', async () => {
      server
        .route('GET', USER_PATH, notFound)
        .route('POST', CREATE_PATH, reply(200, createdUser(502)))
        .route('GET', ENROLLMENTS, reply(200, []))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9002, 'active')));

      await enroll({ CANVAS_AUTH_PROVIDER_ID: 'saml' });

      expect(formOf(only('POST', CREATE_PATH)[0]!.body)).toEqual({
        ...LOGIN_FORM,
        'pseudonym[authentication_provider_id]': 'saml',
        'user[skip_registration]': 'true',
      });
    });

    it('finds and creates by SIS user id with CANVAS_USER_FIELD=sis', async () => {
      server
        .route('GET', SIS_USER_PATH, notFound)
        .route('POST', CREATE_PATH, reply(200, { ...createdUser(502), sis_user_id: EMAIL }))
        .route('GET', ENROLLMENTS, reply(200, []))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9002, 'active')));

      await enroll({ CANVAS_USER_FIELD: 'sis' });

      expect(server.requests[0]!.url).toBe(SIS_USER_PATH);
      expect(formOf(only('POST', CREATE_PATH)[0]!.body)).toEqual({
        ...LOGIN_FORM,
        'pseudonym[sis_user_id]': EMAIL,
        enable_sis_reactivation: 'true',
        'pseudonym[send_confirmation]': 'true',
      });
      expect(only('GET', USER_PATH)).toHaveLength(0);
    });

    it('fails as LmsMisconfigured when Canvas created the user without the SIS id (the token may not manage SIS data)', async () => {
      server.route('GET', SIS_USER_PATH, notFound).route('POST', CREATE_PATH, reply(200, createdUser(502)));

      const failure = await failureOf(enroll({ CANVAS_USER_FIELD: 'sis' }));
      expect(failure).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
      expect(failure.message).toContain('may not manage SIS data');
      expect(calls()).toEqual([`GET ${SIS_USER_PATH}`, `POST ${CREATE_PATH}`]);
    });

    it("reads a 404 not in Canvas's error shape as a wrong CANVAS_URL, never as a student Canvas does not know", async () => {
      server.route('GET', USER_PATH, (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html' });
        res.end('<html><body>Not Found</body></html>');
      });

      expect(await failureOf(enroll())).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
      expect(await failureOf(change(access({ status: 'revoked' })))).toMatchObject({
        type: 'LmsMisconfigured',
      });
      expect(only('POST', CREATE_PATH)).toHaveLength(0);
    });

    it('reads a redirect (a login page, another host) as LmsMisconfigured', async () => {
      server.route('GET', USER_PATH, reply(302, {}, { location: 'https://canvas.example.edu/login' }));

      expect(await failureOf(enroll())).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
    });

    it('creates users under CANVAS_ACCOUNT_ID', async () => {
      server
        .route('GET', USER_PATH, notFound)
        .route('POST', '/api/v1/accounts/sis_account_id:SCHOOL-1/users', reply(200, createdUser(502)))
        .route('GET', ENROLLMENTS, reply(200, []))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9002, 'active')));

      await enroll({ CANVAS_ACCOUNT_ID: 'sis_account_id:SCHOOL-1' });

      expect(calls()[1]).toBe('POST /api/v1/accounts/sis_account_id:SCHOOL-1/users');
    });

    it('takes the user a concurrent payment created when the create answers 400 taken', async () => {
      server
        .sequence('GET', USER_PATH, notFound, reply(200, canvasUser(503)))
        .route('POST', CREATE_PATH, reply(400, LOGIN_TAKEN))
        .route('GET', ENROLLMENTS, reply(200, []))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9003, 'active')));

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: '9003', alreadyEnrolled: false, attempt: 1 });
      expect(calls()).toEqual([
        `GET ${USER_PATH}`,
        `POST ${CREATE_PATH}`,
        `GET ${USER_PATH}`,
        `GET ${ENROLLMENTS}`,
        `POST ${ENROLLMENTS}`,
      ]);
      expect(queryOf(server.requests[3]!)).toEqual(listQuery('503', ENROLL_STATES));
      expect(formOf(server.requests[4]!.body)).toMatchObject({ 'enrollment[user_id]': '503' });
    });

    it('refuses for a person a taken login that the lookup still does not find', async () => {
      server.route('GET', USER_PATH, notFound).route('POST', CREATE_PATH, reply(400, LOGIN_TAKEN));

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 400 }],
        message:
          'Canvas: the login for the student is taken, but no user is found by sis_login_id (another authentication provider?)',
      });
      expect(calls()).toEqual([`GET ${USER_PATH}`, `POST ${CREATE_PATH}`, `GET ${USER_PATH}`]);
    });

    it('refuses a create Canvas rejects for another reason, quoting Canvas', async () => {
      server.route('GET', USER_PATH, notFound).route(
        'POST',
        CREATE_PATH,
        reply(400, {
          errors: {
            user: {},
            pseudonym: {
              unique_id: [{ attribute: 'unique_id', type: 'invalid', message: 'is invalid' }],
            },
            observee: {},
            pairing_code: {},
            recaptcha: null,
          },
        }),
      );

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 400 }],
        message: 'Canvas refused creating the student (HTTP 400: pseudonym: unique_id: is invalid)',
      });
      expect(calls()).toEqual([`GET ${USER_PATH}`, `POST ${CREATE_PATH}`]);
    });

    it('marks the enrollment before creating it, and a retry that finds it active reports it as its own', async () => {
      existingStudent();
      const first = activityEnv(1);
      const beats: unknown[] = [];
      first.on('heartbeat', (details: unknown) => beats.push(details));
      await first.run(activities().enrollStudent, input);
      expect(beats).toEqual([{ enrolling: '501:sis_course_id:ML-101' }]);

      server.reset();
      existingStudent();
      server.route('GET', ENROLLMENTS, reply(200, [enrollment(9001, 'active')]));
      expect(await activityEnv(2, beats[0]).run(activities().enrollStudent, input)).toEqual({
        enrollmentId: '9001',
        alreadyEnrolled: false,
        attempt: 2,
      });
    });

    it('answers alreadyEnrolled for an active enrollment, creating nothing', async () => {
      existingStudent();
      server.route('GET', ENROLLMENTS, reply(200, [enrollment(9001, 'active')]));

      expect(await enroll()).toEqual({ enrollmentId: '9001', alreadyEnrolled: true, attempt: 1 });
      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${ENROLLMENTS}`]);
    });

    it('prefers the active enrollment when sections hold several', async () => {
      existingStudent();
      server.route(
        'GET',
        ENROLLMENTS,
        reply(200, [enrollment(9005, 'invited'), enrollment(9006, 'inactive'), enrollment(9001, 'active')]),
      );

      expect(await enroll()).toEqual({ enrollmentId: '9001', alreadyEnrolled: true, attempt: 1 });
      expect(only('POST', ENROLLMENTS)).toHaveLength(0);
    });

    it('refuses, for a person, an inactive (deactivated) enrollment without creating one', async () => {
      existingStudent();
      server.route('GET', ENROLLMENTS, reply(200, [enrollment(9001, 'inactive')]));

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200, code: 'inactive' }],
        message: 'Canvas: the student is already in course ML-101, but enrollment 9001 is inactive',
      });
      expect(only('POST', ENROLLMENTS)).toHaveLength(0);
    });

    it('makes a pending invitation active by enrolling again', async () => {
      existingStudent();
      server
        .route('GET', ENROLLMENTS, reply(200, [enrollment(9001, 'invited')]))
        .route('POST', ENROLLMENTS, reply(200, enrollment(9001, 'active')));

      expect(await enroll()).toEqual({ enrollmentId: '9001', alreadyEnrolled: false, attempt: 1 });
      expect(formOf(only('POST', ENROLLMENTS)[0]!.body)).toEqual({
        'enrollment[user_id]': '501',
        'enrollment[type]': 'StudentEnrollment',
        'enrollment[enrollment_state]': 'active',
      });
    });

    it.each(['invited', 'creation_pending'])(
      'refuses an enrollment Canvas made %s, not active',
      async (state) => {
        existingStudent();
        server.route('POST', ENROLLMENTS, reply(200, enrollment(9002, state)));

        expect(await failureOf(enroll())).toEqual({
          type: 'LmsRejected',
          nonRetryable: true,
          nextRetryDelay: undefined,
          details: [{ attempt: 1, status: 200, code: state }],
          message: `Canvas made enrollment 9002 in course ML-101 ${state}, not active (is the course published?)`,
        });
      },
    );

    it('escapes a course SIS id in the path: / as %2F and . as %2E', async () => {
      const path = '/api/v1/courses/sis_course_id:CS%2F101%2E11/enrollments';
      server
        .route('GET', USER_PATH, reply(200, canvasUser(501)))
        .route('GET', path, reply(200, []))
        .route('POST', path, reply(200, enrollment(9001, 'active')));

      await enroll({}, { ...input, courseId: 'CS/101.11' });

      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${path}`, `POST ${path}`]);
    });

    it('takes the course id as it is with CANVAS_COURSE_FIELD=id', async () => {
      const path = '/api/v1/courses/1201/enrollments';
      server
        .route('GET', USER_PATH, reply(200, canvasUser(501)))
        .route('GET', path, reply(200, []))
        .route('POST', path, reply(200, enrollment(9001, 'active')));

      await enroll({ CANVAS_COURSE_FIELD: 'id' }, { ...input, courseId: '1201' });

      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${path}`, `POST ${path}`]);
    });

    it('refuses a course Canvas does not have (404), naming it', async () => {
      existingStudent();
      server.route('GET', ENROLLMENTS, notFound);

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 404 }],
        message: 'Canvas has no course sis_course_id:ML-101 (HTTP 404)',
      });
      expect(only('POST', ENROLLMENTS)).toHaveLength(0);
    });

    it('fails for good on an invalid token (401), creating nothing', async () => {
      server.route('GET', USER_PATH, INVALID_TOKEN);

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 401 }],
        message:
          "Canvas refused enrollflow's token finding the student (HTTP 401: Invalid access token.): check CANVAS_TOKEN and its user's permissions",
      });
      expect(calls()).toEqual([`GET ${USER_PATH}`]);
    });

    it.each([401, 403])('fails for good when the token may not enroll (%i unauthorized)', async (code) => {
      existingStudent();
      server.route('POST', ENROLLMENTS, reply(code, UNAUTHORIZED));

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: code }],
        message: `Canvas refused enrollflow's token enrolling in course ML-101 (HTTP ${code}: user not authorized to perform that action): check CANVAS_TOKEN and its user's permissions`,
      });
    });

    it.each<[string, string, string, string]>([
      ['the lookup', 'GET', USER_PATH, 'finding the student'],
      ['the create', 'POST', CREATE_PATH, 'creating the student'],
      ['the enrollment read', 'GET', ENROLLMENTS, 'reading the enrollment'],
      ['the enrollment', 'POST', ENROLLMENTS, 'enrolling in course ML-101'],
    ])(
      'retries a throttled %s (403 Rate Limit Exceeded) after THROTTLE_DELAY_MS',
      async (_, method, path, doing) => {
        server
          .route('GET', USER_PATH, notFound)
          .route('POST', CREATE_PATH, reply(200, createdUser(502)))
          .route('GET', ENROLLMENTS, reply(200, []))
          .route('POST', ENROLLMENTS, reply(200, enrollment(9002, 'active')))
          .route(method, path, throttled);

        expect(await failureOf(enroll())).toEqual({
          type: 'RateLimited',
          nonRetryable: false,
          nextRetryDelay: THROTTLE_DELAY_MS,
          details: [{ attempt: 1, status: 403, code: 'rate_limit_exceeded' }],
          message: `Canvas throttled ${doing} (HTTP 403)`,
        });
        expect(calls().at(-1)).toBe(`${method} ${path}`);
      },
    );

    it('adds jitter to the throttle delay', async () => {
      server.route('GET', USER_PATH, throttled);

      const failure = await failureOf(
        activityEnv().run(activities({}, captureLogs().logger, () => 0.5).enrollStudent, input),
      );

      expect(failure.nextRetryDelay).toBe(THROTTLE_DELAY_MS + 500);
    });

    it('honours Retry-After on a 429', async () => {
      server.route('GET', USER_PATH, tooManyRequests({ 'Retry-After': '7' }));

      expect(await failureOf(enroll())).toEqual({
        type: 'RateLimited',
        nonRetryable: false,
        nextRetryDelay: 7_000,
        details: [{ attempt: 1, status: 429, code: 'rate_limit_exceeded' }],
        message: 'Canvas throttled finding the student (HTTP 429)',
      });
    });

    it('waits THROTTLE_DELAY_MS after a 429 without Retry-After', async () => {
      server.route('GET', USER_PATH, tooManyRequests());

      expect(await failureOf(enroll())).toMatchObject({
        type: 'RateLimited',
        nonRetryable: false,
        nextRetryDelay: THROTTLE_DELAY_MS,
      });
    });

    it('refuses for a person an enrollment Canvas refuses (400), quoting Canvas', async () => {
      existingStudent();
      server.route(
        'POST',
        ENROLLMENTS,
        reply(400, { message: "Can't add an enrollment to a concluded course." }),
      );

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 400 }],
        message:
          "Canvas refused enrolling in course ML-101 (HTTP 400: Can't add an enrollment to a concluded course.)",
      });
    });

    it('fails retryably on a 500, quoting Canvas', async () => {
      existingStudent();
      server.route('POST', ENROLLMENTS, SERVER_ERROR);

      expect(await failureOf(enroll())).toEqual({
        type: 'DownstreamUnavailable',
        nonRetryable: false,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 500, code: 'An error occurred.' }],
        message: 'Canvas unavailable (HTTP 500, An error occurred.)',
      });
    });

    // a 404 on POST /accounts/:account_id/users never concerns the student:
    // CANVAS_ACCOUNT_ID names no account, CANVAS_AUTH_PROVIDER_ID no active provider (`.find` raises
    // RecordNotFound), or CANVAS_URL is not Canvas (the lookup's 404 was read as "no such user"). The
    // adapter makes it LmsRejected, one review per payment, instead of LmsMisconfigured.
    it('fails as LmsMisconfigured when the create answers 404 (account or auth provider not found)', async () => {
      server.route('GET', USER_PATH, notFound).route('POST', CREATE_PATH, notFound);

      expect(await failureOf(enroll({ CANVAS_AUTH_PROVIDER_ID: 'saml' }))).toMatchObject({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        details: [{ attempt: 1, status: 404 }],
      });
    });

    it('never logs the token', async () => {
      const logs = captureLogs();
      existingStudent();
      await activityEnv().run(activities({}, logs.logger).enrollStudent, input);
      server.reset();
      server.route('GET', USER_PATH, INVALID_TOKEN);
      await failureOf(activityEnv().run(activities({}, logs.logger).enrollStudent, input));

      expect(logs.lines().map((l) => [l.operation, l.status, l.outcome])).toEqual([
        ['find_user', 200, 'ok'],
        ['find_enrollment', 200, 'ok'],
        ['create_enrollment', 200, 'ok'],
        ['find_user', 401, 'non_retryable'],
      ]);
      expect(logs.text()).not.toContain(TOKEN);
      expect(logs.text()).not.toContain('Bearer');
    });

    // the lookup's URL path carries the student's email (`sis_login_id:
    // asha%2Erao%40example%2Ecom`); httpRequest logs origin + path, and the production logger's PII
    // masking looks for a literal `@`, so the email reaches every log line of the lookup.
    it("never logs the student's email, not even percent-encoded in the lookup's path", async () => {
      const chunks: string[] = [];
      const logger = createLogger('enrollflow-activities', 'debug', {
        write: (s: string) => void chunks.push(s),
      });
      existingStudent();

      await activityEnv().run(activities({}, logger).enrollStudent, input);

      expect(chunks).toHaveLength(3);
      expect(decodeURIComponent(chunks.join('')).toLowerCase()).not.toContain(EMAIL);
    });
  });

  describe('changeAccess', () => {
    function holding(...enrollments: ReturnType<typeof enrollment>[]): void {
      server
        .route('GET', USER_PATH, reply(200, canvasUser(501)))
        .route('GET', ENROLLMENTS, reply(200, enrollments));
    }
    const found = (status: ChangeAccessInput['status'], enrollmentId = '9001') => ({
      found: true,
      enrollmentId,
      status,
      attempt: 1,
    });

    it('leaves a course another payment of the student enrolled first, calling nothing', async () => {
      holding(enrollment(9001, 'active'));

      expect(await change(access({ status: 'revoked', enrolledBefore: true }))).toEqual({
        found: false,
        attempt: 1,
      });
      expect(calls()).toEqual([]);
    });

    it('suspends an active enrollment: DELETE ?task=deactivate', async () => {
      holding(enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), reply(200, enrollment(9001, 'inactive')));

      expect(await change(access({ status: 'suspended' }))).toEqual(found('suspended'));
      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${ENROLLMENTS}`, `DELETE ${enrollmentPath(9001)}`]);
      expect(queryOf(server.requests[1]!)).toEqual(listQuery('501', HELD_STATES));
      const write = server.requests[2]!;
      expect(write.url).toBe(`${enrollmentPath(9001)}?task=deactivate`);
      expect(write.headers.authorization).toBe(`Bearer ${TOKEN}`);
      expect(write.body).toBe('');
    });

    it('restores an inactive enrollment: PUT .../reactivate', async () => {
      holding(enrollment(9001, 'inactive'));
      server.route('PUT', `${enrollmentPath(9001)}/reactivate`, reply(200, enrollment(9001, 'active')));

      expect(await change(access({ status: 'active', reason: 'dispute won' }))).toEqual(found('active'));
      expect(calls()).toEqual([
        `GET ${USER_PATH}`,
        `GET ${ENROLLMENTS}`,
        `PUT ${enrollmentPath(9001)}/reactivate`,
      ]);
      expect(server.requests[2]!.url).toBe(`${enrollmentPath(9001)}/reactivate`);
    });

    it.each<[string, Record<string, string>, string]>([
      ['delete', {}, 'deleted'],
      ['conclude', { CANVAS_REVOKE: 'conclude' }, 'completed'],
    ])('revokes with DELETE ?task=%s', async (task, overrides, state) => {
      holding(enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), reply(200, enrollment(9001, state)));

      const refund = access({ status: 'revoked', cause: { kind: 'refund', id: 're_3Q1w2E3r4T5y6U7i' } });
      expect(await change(refund, overrides)).toEqual(found('revoked'));
      expect(server.requests.map((r) => `${r.method} ${r.url}`).at(-1)).toBe(
        `DELETE ${enrollmentPath(9001)}?task=${task}`,
      );
      expect(server.requests).toHaveLength(3);
    });

    it('revokes an inactive (suspended) enrollment too', async () => {
      holding(enrollment(9001, 'inactive'));
      server.route('DELETE', enrollmentPath(9001), reply(200, enrollment(9001, 'deleted')));

      expect(await change(access({ status: 'revoked' }))).toEqual(found('revoked'));
      expect(server.requests.at(-1)!.url).toBe(`${enrollmentPath(9001)}?task=delete`);
    });

    it.each<[string, ChangeAccessInput['status'], string, Record<string, string>]>([
      ['suspending an inactive enrollment', 'suspended', 'inactive', {}],
      ['restoring an active enrollment', 'active', 'active', {}],
      [
        'revoking a concluded enrollment (CANVAS_REVOKE=conclude)',
        'revoked',
        'completed',
        { CANVAS_REVOKE: 'conclude' },
      ],
    ])('writes nothing %s', async (_, target, state, overrides) => {
      holding(enrollment(9001, state));

      expect(await change(access({ status: target }), overrides)).toEqual(found(target));
      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${ENROLLMENTS}`]);
    });

    it.each<ChangeAccessInput['status']>(['active', 'suspended'])(
      'refuses for a person to make a concluded enrollment %s, writing nothing',
      async (target) => {
        holding(enrollment(9001, 'completed'));

        expect(await failureOf(change(access({ status: target })))).toEqual({
          type: 'LmsRejected',
          nonRetryable: true,
          nextRetryDelay: undefined,
          details: [{ attempt: 1, status: 200, code: 'completed' }],
          message: 'Canvas: enrollment 9001 is concluded; it was revoked',
        });
        expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${ENROLLMENTS}`]);
      },
    );

    // a deleted enrollment is not among the states read, so when the answer to
    // DELETE ?task=delete is lost (a timeout after Canvas deleted it) the retry answers found: false.
    it('answers found: true on the retry of a revoke whose delete Canvas did but whose answer was lost', async () => {
      let state = 'active';
      server
        .route('GET', USER_PATH, reply(200, canvasUser(501)))
        // Canvas matches state[] against workflow_state when listing another user's enrollments.
        .route('GET', ENROLLMENTS, (req, res) => {
          const asked = new URL(req.url, 'http://canvas.test').searchParams.getAll('state[]');
          sendJson(res, 200, asked.includes(state) ? [enrollment(9001, state)] : []);
        })
        .sequence(
          'DELETE',
          enrollmentPath(9001),
          () => {
            state = 'deleted'; // done, but the answer never comes
          },
          reply(200, enrollment(9001, 'deleted')),
        );
      const acts = activities({ HTTP_TIMEOUT_MS: '300' });
      const refund = access({ status: 'revoked', cause: { kind: 'refund', id: 're_3Q1w2E3r4T5y6U7i' } });

      expect(await failureOf(activityEnv(1).run(acts.changeAccess, refund))).toMatchObject({
        type: 'DownstreamTimeout',
        nonRetryable: false,
      });
      expect(await activityEnv(2).run(acts.changeAccess, refund)).toEqual({
        ...found('revoked'),
        attempt: 2,
      });
    });

    it('acts on the live enrollment when several sections hold one', async () => {
      holding(enrollment(9003, 'completed'), enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), reply(200, enrollment(9001, 'inactive')));

      expect(await change(access({ status: 'suspended' }))).toEqual(found('suspended'));
      expect(server.requests.at(-1)!.url).toBe(`${enrollmentPath(9001)}?task=deactivate`);
    });

    it('answers found: false when Canvas has no such user, reading nothing more', async () => {
      server.route('GET', USER_PATH, notFound);

      expect(await change(access({ status: 'revoked' }))).toEqual({ found: false, attempt: 1 });
      expect(calls()).toEqual([`GET ${USER_PATH}`]);
    });

    it('answers found: false when the user holds no enrollment in the course', async () => {
      holding();

      expect(await change(access({ status: 'revoked' }))).toEqual({ found: false, attempt: 1 });
      expect(calls()).toEqual([`GET ${USER_PATH}`, `GET ${ENROLLMENTS}`]);
    });

    it('answers found: false when the enrollment went away between the read and the write (404)', async () => {
      holding(enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), notFound);

      expect(await change(access({ status: 'revoked' }))).toEqual({ found: false, attempt: 1 });
    });

    it('fails retryably when Canvas answers the change in another state than asked', async () => {
      holding(enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), reply(200, enrollment(9001, 'active')));

      expect(await failureOf(change(access({ status: 'suspended' })))).toEqual({
        type: 'DownstreamBadResponse',
        nonRetryable: false,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200 }],
        message: 'Canvas answered enrollment 9001 active for a change to inactive',
      });
    });

    it('retries a throttled change after THROTTLE_DELAY_MS', async () => {
      holding(enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), throttled);

      expect(await failureOf(change(access({ status: 'revoked' })))).toEqual({
        type: 'RateLimited',
        nonRetryable: false,
        nextRetryDelay: THROTTLE_DELAY_MS,
        details: [{ attempt: 1, status: 403, code: 'rate_limit_exceeded' }],
        message: 'Canvas throttled changing enrollment 9001 (HTTP 403)',
      });
    });

    it('fails for good when the token may not change enrollments (403 unauthorized)', async () => {
      holding(enrollment(9001, 'active'));
      server.route('DELETE', enrollmentPath(9001), reply(403, UNAUTHORIZED));

      expect(await failureOf(change(access({ status: 'suspended' })))).toMatchObject({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        details: [{ attempt: 1, status: 403 }],
      });
    });

    it('refuses a grant naming no student email, calling nothing', async () => {
      holding(enrollment(9001, 'active'));

      expect(await failureOf(change(access({ email: undefined })))).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1 }],
        message: 'Canvas: the grant names no student email or course to find',
      });
      expect(server.requests).toHaveLength(0);
    });
  });
});
