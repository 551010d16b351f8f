/**
 * The Moodle adapter (LMS_PROVIDER=moodle) over real HTTP: a scripted Moodle web service answers
 * `POST /webservice/rest/server.php` with the bodies a real site sends (errors are HTTP 200 with
 * `{exception, errorcode, message}`, a void function answers `null`), dispatched on `wsfunction`.
 * Every request is asserted as Moodle reads it: the form, PHP-style array keys and all.
 */
import type { ServerResponse } from 'node:http';
import { createActivities } from '../../src/activities';
import { type MoodleFunction, moodleFailure } from '../../src/activities/lms/moodle';
import type { ChangeAccessInput, EnrollStudentInput } from '../../src/activities/types';
import { activityEnv, captureLogs, failureOf, noJitter, testConfig } from './support/fixtures';
import { type Handler, type RecordedRequest, ScriptedServer } from './support/scripted-server';

const TOKEN = 'moodle-wstoken-SECRET-5e0c1d9a7b';
const PATH = '/webservice/rest/server.php';
const NOW = Date.UTC(2026, 10, 2, 10, 0, 0);
const payment = { provider: 'razorpay', paymentId: 'pay_M00dleEnr0ll01' } as const;
const EMAIL = 'asha.rao@example.com';
const USER_ID = 42;
const COURSE_ID = 7;

/** The student as the webhook gave them: the adapter looks them up by the lower-cased email. */
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
  cause: { kind: 'dispute', id: 'dp_1Q2w3E4r5T6y7U8i' },
  reason: 'dispute opened',
  email: EMAIL,
  ...overrides,
});

// --- What a real Moodle answers ---------------------------------------------------------------

/** webservice/rest/locallib.php send_headers(): no status is ever set, errors included. */
const MOODLE_HEADERS = {
  'Content-Type': 'application/json',
  'Cache-Control': 'private, must-revalidate, pre-check=0, post-check=0, max-age=0',
  Expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
  Pragma: 'no-cache',
  'Accept-Ranges': 'none',
};

function moodleJson(res: ServerResponse, body: unknown): void {
  res.writeHead(200, MOODLE_HEADERS);
  res.end(JSON.stringify(body));
}

/** A user_description() as core_user_get_users_by_field answers it to a user with viewalldetails. */
const moodleUser = (id = USER_ID, overrides: Record<string, unknown> = {}) => ({
  id,
  username: EMAIL,
  firstname: 'Asha',
  lastname: 'Rao',
  fullname: 'Asha Rao',
  email: EMAIL,
  department: '',
  firstaccess: 1761800000,
  lastaccess: 1761900000,
  auth: 'manual',
  suspended: false,
  confirmed: true,
  lang: 'en',
  theme: '',
  timezone: '99',
  mailformat: 1,
  description: '',
  descriptionformat: 1,
  profileimageurlsmall: 'https://moodle.example.edu/theme/image.php/boost/core/1761000000/u/f2',
  profileimageurl: 'https://moodle.example.edu/theme/image.php/boost/core/1761000000/u/f1',
  ...overrides,
});

/** A course as core_course_get_courses_by_field answers it. */
const moodleCourse = (id = COURSE_ID, idnumber = 'ML-101') => ({
  id,
  fullname: 'Machine Learning 101',
  displayname: 'Machine Learning 101',
  shortname: `ML101-${id}`,
  categoryid: 1,
  categoryname: 'Category 1',
  sortorder: 10001,
  summary: '',
  summaryformat: 1,
  summaryfiles: [],
  overviewfiles: [],
  contacts: [],
  enrollmentmethods: ['manual'],
  idnumber,
  format: 'topics',
  showgrades: 1,
  newsitems: 5,
  startdate: 1761955200,
  enddate: 0,
  maxbytes: 0,
  showreports: 0,
  visible: 1,
  groupmode: 0,
  groupmodeforce: 0,
  defaultgroupingid: 0,
  enablecompletion: 1,
  completionnotify: 0,
  lang: '',
  theme: '',
  marker: 0,
  legacyfiles: 0,
  calendartype: '',
  timecreated: 1761000000,
  timemodified: 1761000000,
  requested: 0,
  cacherev: 1761000000,
  filters: [],
  courseformatoptions: [],
});

const courses = (...list: ReturnType<typeof moodleCourse>[]) => ({ courses: list, warnings: [] });

/** A course as core_enrol_get_users_courses lists it (active enrolments only). */
const userCourse = (id: number) => ({
  id,
  shortname: `C${id}`,
  fullname: `Course ${id}`,
  displayname: `Course ${id}`,
  enrolledusercount: 12,
  idnumber: `C-${id}`,
  visible: 1,
  summary: '',
  summaryformat: 1,
  format: 'topics',
  showgrades: true,
  lang: '',
  enablecompletion: true,
  completionhascriteria: false,
  completionusertracked: true,
  category: 1,
  progress: null,
  completed: false,
  startdate: 1761955200,
  enddate: 0,
  marker: 0,
  lastaccess: null,
  isfavourite: false,
  hidden: false,
  overviewfiles: [],
  showactivitydates: true,
  showcompletionconditions: true,
});

/** Moodle's error envelope (no debuginfo: a production site's `debug` is off). */
const moodleError = (exception: string, errorcode: string, message: string) => ({
  exception,
  errorcode,
  message,
});
const INVALID_TOKEN = moodleError('moodle_exception', 'invalidtoken', 'Invalid token - token not found');
const ACCESS_EXCEPTION = moodleError(
  'webservice_access_exception',
  'accessexception',
  'Access control exception',
);
const INVALID_PARAMETER = moodleError(
  'invalid_parameter_exception',
  'invalidparameter',
  'Invalid parameter value detected',
);
const NO_INSTANCE = moodleError(
  'moodle_exception',
  'wsnoinstance',
  `Manual enrolment plugin instance doesn't exist or is disabled for the course (id = ${COURSE_ID})`,
);
const CANNOT_ASSIGN = moodleError(
  'moodle_exception',
  'wsusercannotassign',
  `You don't have the permission to assign this role (5) to this user (${USER_ID}) in this course(${COURSE_ID}).`,
);
const DML_READ = moodleError('dml_read_exception', 'dmlreadexception', 'Error reading from database');
const DML_WRITE = moodleError('dml_write_exception', 'dmlwriteexception', 'Error writing to database');
const CODING_ERROR = moodleError(
  'coding_exception',
  'codingerror',
  'Coding error detected, it must be fixed by a programmer: User ID does not exist or is deleted!',
);
const MAINTENANCE = moodleError(
  'moodle_exception',
  'sitemaintenance',
  'The site is undergoing maintenance and is currently not available',
);
const NO_PERMISSIONS = moodleError(
  'required_capability_exception',
  'nopermissions',
  'Sorry, but you do not currently have permissions to do that (Enrol users).',
);

/** server.php `die`s when web services or the REST protocol are disabled: 200, empty body. */
const emptyBody: Handler = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end();
};

const status =
  (code: number, text: string, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(code, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
    res.end(text);
  };

/** Answers in order per function, the last one repeating. */
class Sequence {
  constructor(readonly answers: unknown[]) {}
}
const seq = (...answers: unknown[]) => new Sequence(answers);

/** A JSON value (sent as Moodle sends it), a Handler, or a Sequence of those, per wsfunction. */
type Script = Partial<Record<MoodleFunction, unknown>>;

// --- Reading what the adapter sent --------------------------------------------------------------

/** The form as a plain object; a key sent twice fails the test (Moodle would read only one). */
function formOf(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in out) throw new Error(`form key ${key} sent twice`);
    out[key] = value;
  }
  return out;
}

const ws = (fn: MoodleFunction, params: Record<string, string | number> = {}) => ({
  wstoken: TOKEN,
  wsfunction: fn,
  moodlewsrestformat: 'json',
  ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
});

const COURSE_LOOKUP = ws('core_course_get_courses_by_field', { field: 'idnumber', value: 'ML-101' });
const USER_LOOKUP = ws('core_user_get_users_by_field', { field: 'email', 'values[0]': EMAIL });
const usersCourses = (userid = USER_ID) => ws('core_enrol_get_users_courses', { userid, returnusercount: 0 });
const suspendedList = (courseid = COURSE_ID) =>
  ws('core_enrol_get_enrolled_users', {
    courseid,
    'options[0][name]': 'onlysuspended',
    'options[0][value]': 1,
    'options[1][name]': 'userfields',
    'options[1][value]': 'id',
  });
const enrolment = (suspend: 0 | 1, userid = USER_ID, courseid = COURSE_ID, roleid = 5) =>
  ws('enrol_manual_enrol_users', {
    'enrolments[0][roleid]': roleid,
    'enrolments[0][userid]': userid,
    'enrolments[0][courseid]': courseid,
    'enrolments[0][suspend]': suspend,
  });
const unenrolment = (userid = USER_ID, courseid = COURSE_ID) =>
  ws('enrol_manual_unenrol_users', {
    'enrolments[0][userid]': userid,
    'enrolments[0][courseid]': courseid,
  });

describe('Moodle LMS adapter', () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterEach(() => server.reset());
  afterAll(() => server.close());

  function script(answers: Script): void {
    const counts = new Map<string, number>();
    server.route('POST', PATH, async (req, res) => {
      const fn = new URLSearchParams(req.body).get('wsfunction') ?? '';
      if (!(fn in answers)) throw new Error(`unscripted wsfunction ${fn}`);
      const n = counts.get(fn) ?? 0;
      counts.set(fn, n + 1);
      let answer = answers[fn as MoodleFunction];
      if (answer instanceof Sequence) answer = answer.answers[Math.min(n, answer.answers.length - 1)];
      if (typeof answer === 'function') await (answer as Handler)(req, res);
      else moodleJson(res, answer);
    });
  }

  const sent = () => server.requests.map((r) => formOf(new URLSearchParams(r.body)));
  const functions = () => sent().map((f) => f.wsfunction);

  const activities = (overrides: Record<string, string> = {}, logs = captureLogs()) =>
    createActivities(
      testConfig(server.url, {
        LMS_PROVIDER: 'moodle',
        MOODLE_URL: server.url,
        MOODLE_TOKEN: TOKEN,
        ...overrides,
      }),
      { logger: logs.logger, now: () => NOW, random: noJitter },
    );
  const enroll = (overrides: Record<string, string> = {}, body: EnrollStudentInput = input) =>
    activityEnv().run(activities(overrides).enrollStudent, body);
  const change = (body: ChangeAccessInput, overrides: Record<string, string> = {}) =>
    activityEnv().run(activities(overrides).changeAccess, body);

  /** An existing student, enrolled elsewhere, not in ML-101; another student of ML-101 is suspended. */
  const existingStudent: Script = {
    core_course_get_courses_by_field: courses(moodleCourse()),
    core_user_get_users_by_field: [moodleUser()],
    core_enrol_get_users_courses: [userCourse(3)],
    core_enrol_get_enrolled_users: [{ id: 99 }],
    enrol_manual_enrol_users: null,
  };

  describe('enrollStudent', () => {
    it('enrols an existing user: course by idnumber, user by email, both enrolment reads, then the enrol', async () => {
      script(existingStudent);

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: `${USER_ID}:${COURSE_ID}`, alreadyEnrolled: false, attempt: 1 });
      expect(sent()).toEqual([COURSE_LOOKUP, USER_LOOKUP, usersCourses(), suspendedList(), enrolment(0)]);
    });

    it('sends every call as a form POST to server.php, the token in the body and never in the URL', async () => {
      script(existingStudent);

      await enroll();

      expect(server.requests).toHaveLength(5);
      for (const req of server.requests) {
        expect(req.method).toBe('POST');
        expect(req.url).toBe(PATH);
        expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
        expect(req.headers.accept).toBe('application/json');
        expect(req.headers.authorization).toBeUndefined();
        const form = new URLSearchParams(req.body);
        expect(form.getAll('wstoken')).toEqual([TOKEN]);
        expect(form.getAll('moodlewsrestformat')).toEqual(['json']);
      }
      // PHP-style array keys, percent-encoded as a form encodes brackets.
      expect(server.requests[4]!.body).toBe(
        `wstoken=${TOKEN}&wsfunction=enrol_manual_enrol_users&moodlewsrestformat=json` +
          '&enrolments%5B0%5D%5Broleid%5D=5&enrolments%5B0%5D%5Buserid%5D=42' +
          '&enrolments%5B0%5D%5Bcourseid%5D=7&enrolments%5B0%5D%5Bsuspend%5D=0',
      );
    });

    it('creates a missing user: username the lower-cased email, the name split, manual auth with createpassword=1', async () => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: [],
        core_user_create_users: [{ id: 43, username: EMAIL }],
        core_enrol_get_users_courses: [],
        core_enrol_get_enrolled_users: [],
      });

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: `43:${COURSE_ID}`, alreadyEnrolled: false, attempt: 1 });
      expect(sent()).toEqual([
        COURSE_LOOKUP,
        USER_LOOKUP,
        ws('core_user_create_users', {
          'users[0][username]': EMAIL,
          'users[0][auth]': 'manual',
          'users[0][firstname]': 'Asha',
          'users[0][lastname]': 'Rao',
          'users[0][email]': EMAIL,
          'users[0][createpassword]': 1,
        }),
        usersCourses(43),
        suspendedList(),
        enrolment(0, 43),
      ]);
    });

    it('asks Moodle to generate and mail a password for the other internal plugin (MOODLE_AUTH=email)', async () => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: [],
        core_user_create_users: [{ id: 43, username: EMAIL }],
        core_enrol_get_users_courses: [],
      });

      await enroll({ MOODLE_AUTH: 'email' });

      const create = sent().find((f) => f.wsfunction === 'core_user_create_users');
      expect(create).toMatchObject({ 'users[0][auth]': 'email', 'users[0][createpassword]': '1' });
    });

    it('creates the user of another auth plugin (MOODLE_AUTH=oauth2) without createpassword', async () => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: [],
        core_user_create_users: [{ id: 43, username: EMAIL }],
        core_enrol_get_users_courses: [],
      });

      await enroll({ MOODLE_AUTH: 'oauth2' });

      const create = sent().find((f) => f.wsfunction === 'core_user_create_users');
      expect(create).toEqual(
        ws('core_user_create_users', {
          'users[0][username]': EMAIL,
          'users[0][auth]': 'oauth2',
          'users[0][firstname]': 'Asha',
          'users[0][lastname]': 'Rao',
          'users[0][email]': EMAIL,
        }),
      );
    });

    it.each([
      ['Asha Devi Rao', 'Asha Devi', 'Rao'],
      ['  Asha   Rao  ', 'Asha', 'Rao'],
      ['Asha', 'Asha', '-'],
    ])('splits the name %j into firstname %j and lastname %j', async (name, firstname, lastname) => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: [],
        core_user_create_users: [{ id: 43, username: EMAIL }],
      });

      await enroll({}, { ...input, name });

      const create = sent().find((f) => f.wsfunction === 'core_user_create_users');
      expect(create).toMatchObject({ 'users[0][firstname]': firstname, 'users[0][lastname]': lastname });
    });

    it('prefixes the username (MOODLE_USERNAME_PREFIX) and turns characters Moodle refuses into _', async () => {
      const email = 'asha+ml@example.com';
      script({
        ...existingStudent,
        core_user_get_users_by_field: [],
        core_user_create_users: [{ id: 43, username: 'ef_asha_ml@example.com' }],
      });

      await enroll({ MOODLE_USERNAME_PREFIX: 'ef_' }, { ...input, email });

      const create = sent().find((f) => f.wsfunction === 'core_user_create_users');
      expect(create).toMatchObject({
        'users[0][username]': 'ef_asha_ml@example.com',
        'users[0][email]': email,
      });
      expect(sent()[1]).toEqual(ws('core_user_get_users_by_field', { field: 'email', 'values[0]': email }));
    });

    // A refund takes back only what its payment enrolled: an attempt marks the enrolment it is about
    // to write, so its retry after a lost answer does not take its own work for another payment's.
    it('marks the enrolment before writing it, and a retry that finds it active reports it as its own', async () => {
      script(existingStudent);
      const first = activityEnv(1);
      const beats: unknown[] = [];
      first.on('heartbeat', (details: unknown) => beats.push(details));
      await first.run(activities().enrollStudent, input);
      expect(beats).toEqual([{ enrolling: `${USER_ID}:${COURSE_ID}` }]);

      server.reset();
      script({ ...existingStudent, core_enrol_get_users_courses: [userCourse(3), userCourse(COURSE_ID)] });
      expect(await activityEnv(2, beats[0]).run(activities().enrollStudent, input)).toEqual({
        enrollmentId: `${USER_ID}:${COURSE_ID}`,
        alreadyEnrolled: false,
        attempt: 2,
      });
    });

    it('answers alreadyEnrolled for an active enrolment, without reading suspensions or enrolling', async () => {
      script({ ...existingStudent, core_enrol_get_users_courses: [userCourse(3), userCourse(COURSE_ID)] });

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: `${USER_ID}:${COURSE_ID}`, alreadyEnrolled: true, attempt: 1 });
      expect(functions()).toEqual([
        'core_course_get_courses_by_field',
        'core_user_get_users_by_field',
        'core_enrol_get_users_courses',
      ]);
    });

    it('refuses, for a person, a suspended enrolment: enrolling again would lift the suspension', async () => {
      script({ ...existingStudent, core_enrol_get_enrolled_users: [{ id: 99 }, { id: USER_ID }] });

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200, code: 'suspended' }],
        message: 'Moodle: the student is already in course ML-101, but the enrolment is suspended',
      });
      expect(functions()).not.toContain('enrol_manual_enrol_users');
    });

    it('refuses a user the site suspended, reading and writing nothing more', async () => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: [moodleUser(USER_ID, { suspended: true })],
      });

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200, code: 'usersuspended' }],
        message: `Moodle user ${USER_ID} is suspended: an enrolment would give no access`,
      });
      expect(functions()).toEqual(['core_course_get_courses_by_field', 'core_user_get_users_by_field']);
    });

    it('refuses two users with the email (a site allowing accounts with the same email), creating none', async () => {
      script({ ...existingStudent, core_user_get_users_by_field: [moodleUser(42), moodleUser(57)] });

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200, code: 'ambiguoususer' }],
        message: "Moodle has 2 users with the student's email",
      });
      expect(functions()).toEqual(['core_course_get_courses_by_field', 'core_user_get_users_by_field']);
    });

    it.each([
      ['no course', [], 'nocourse', 'Moodle has no course with idnumber ML-101'],
      [
        'two courses',
        [moodleCourse(7), moodleCourse(8)],
        'ambiguouscourse',
        'Moodle has 2 courses with idnumber ML-101',
      ],
    ])(
      'refuses %s with the idnumber, naming it, before touching the user',
      async (_, list, code, message) => {
        script({ ...existingStudent, core_course_get_courses_by_field: courses(...list) });

        expect(await failureOf(enroll())).toEqual({
          type: 'LmsRejected',
          nonRetryable: true,
          nextRetryDelay: undefined,
          details: [{ attempt: 1, status: 200, code }],
          message,
        });
        expect(sent()).toEqual([COURSE_LOOKUP]);
      },
    );

    it('finds the course by short name with MOODLE_COURSE_FIELD=shortname', async () => {
      script(existingStudent);

      await enroll({ MOODLE_COURSE_FIELD: 'shortname' });

      expect(sent()[0]).toEqual(
        ws('core_course_get_courses_by_field', { field: 'shortname', value: 'ML-101' }),
      );
    });

    it('takes the course id as it is with MOODLE_COURSE_FIELD=id, and enrols with MOODLE_ROLE_ID', async () => {
      script(existingStudent);

      const result = await enroll(
        { MOODLE_COURSE_FIELD: 'id', MOODLE_ROLE_ID: '9' },
        { ...input, courseId: '7' },
      );

      expect(result).toEqual({ enrollmentId: `${USER_ID}:7`, alreadyEnrolled: false, attempt: 1 });
      expect(sent()).toEqual([USER_LOOKUP, usersCourses(), suspendedList(7), enrolment(0, USER_ID, 7, 9)]);
    });

    it('refuses a course id that is no number with MOODLE_COURSE_FIELD=id, calling nothing', async () => {
      script(existingStudent);

      expect(await failureOf(enroll({ MOODLE_COURSE_FIELD: 'id' }))).toMatchObject({
        type: 'LmsRejected',
        nonRetryable: true,
        message: 'Moodle course id ML-101 is not a number (MOODLE_COURSE_FIELD=id)',
      });
      expect(server.requests).toHaveLength(0);
    });

    describe('errors Moodle answers (HTTP 200 with an error body)', () => {
      const HINT = ' (check MOODLE_TOKEN, and that its service holds every function docs/lms.md lists)';
      it.each<[string, MoodleFunction, string, boolean, ReturnType<typeof moodleError>, string]>([
        [
          'an unknown token',
          'core_course_get_courses_by_field',
          'LmsMisconfigured',
          true,
          INVALID_TOKEN,
          `Moodle invalidtoken finding course ML-101: Invalid token - token not found${HINT}`,
        ],
        [
          'a function missing from the service',
          'core_enrol_get_enrolled_users',
          'LmsMisconfigured',
          true,
          ACCESS_EXCEPTION,
          `Moodle accessexception reading course 7's suspended students: Access control exception${HINT}`,
        ],
        [
          'an expired token at the enrol',
          'enrol_manual_enrol_users',
          'LmsMisconfigured',
          true,
          ACCESS_EXCEPTION,
          `Moodle accessexception enrolling in course ML-101: Access control exception${HINT}`,
        ],
        [
          'a missing course at the enrol',
          'enrol_manual_enrol_users',
          'LmsRejected',
          true,
          INVALID_PARAMETER,
          'Moodle invalidparameter enrolling in course ML-101: Invalid parameter value detected',
        ],
        [
          'no enabled manual enrolment instance',
          'enrol_manual_enrol_users',
          'LmsRejected',
          true,
          NO_INSTANCE,
          "Moodle wsnoinstance enrolling in course ML-101: Manual enrolment plugin instance doesn't exist or is disabled for the course (id = 7)",
        ],
        [
          'a method that refuses to enrol',
          'enrol_manual_enrol_users',
          'LmsRejected',
          true,
          {
            exception: 'moodle_exception',
            errorcode: 'wscannotenrol',
            message: 'Plugin instance cannot manually enrol a user in the course id = 7',
          },
          'Moodle wscannotenrol enrolling in course ML-101: Plugin instance cannot manually enrol a user in the course id = 7',
        ],
        [
          'a course record missing (a wrong numeric id)',
          'core_enrol_get_enrolled_users',
          'LmsRejected',
          true,
          {
            exception: 'dml_missing_record_exception',
            errorcode: 'invalidrecord',
            message: 'Can not find data record in database table course.',
          },
          "Moodle invalidrecord reading course 7's suspended students: Can not find data record in database table course.",
        ],
        [
          'a role the token may not assign',
          'enrol_manual_enrol_users',
          'LmsRejected',
          true,
          CANNOT_ASSIGN,
          "Moodle wsusercannotassign enrolling in course ML-101: You don't have the permission to assign this role (5) to this user (42) in this course(7).",
        ],
        [
          'a database read error',
          'core_user_get_users_by_field',
          'DownstreamUnavailable',
          false,
          DML_READ,
          'Moodle dmlreadexception finding the student: Error reading from database',
        ],
        [
          'a database write error',
          'enrol_manual_enrol_users',
          'DownstreamUnavailable',
          false,
          DML_WRITE,
          'Moodle dmlwriteexception enrolling in course ML-101: Error writing to database',
        ],
        [
          'a coding error (a user deleted meanwhile)',
          'enrol_manual_enrol_users',
          'DownstreamUnavailable',
          false,
          CODING_ERROR,
          'Moodle codingerror enrolling in course ML-101: Coding error detected, it must be fixed by a programmer: User ID does not exist or is deleted!',
        ],
        [
          'maintenance mode',
          'core_course_get_courses_by_field',
          'DownstreamUnavailable',
          false,
          MAINTENANCE,
          'Moodle sitemaintenance finding course ML-101: The site is undergoing maintenance and is currently not available',
        ],
      ])('%s at %s is %s', async (_, fn, type, nonRetryable, error, message) => {
        script({ ...existingStudent, [fn]: error });

        expect(await failureOf(enroll())).toEqual({
          type,
          nonRetryable,
          nextRetryDelay: undefined,
          details: [{ attempt: 1, status: 200, code: error.errorcode }],
          message,
        });
        // Nothing is called after the failing step.
        expect(functions().at(-1)).toBe(fn);
      });

      // required_capability_exception / nopermissions is the token user missing a capability
      // (enrol/manual:enrol, moodle/user:create, moodle/course:enrolreview): no retry can help until an
      // operator grants it.
      it('a capability the token user lacks (nopermissions) fails for good as LmsMisconfigured', async () => {
        script({ ...existingStudent, enrol_manual_enrol_users: NO_PERMISSIONS });

        expect(await failureOf(enroll())).toMatchObject({
          type: 'LmsMisconfigured',
          nonRetryable: true,
          nextRetryDelay: undefined,
          details: [{ attempt: 1, status: 200, code: 'nopermissions' }],
        });
      });
    });

    it('fails for good when web services or REST are disabled (server.php answers an empty body)', async () => {
      script({ core_course_get_courses_by_field: emptyBody });

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200 }],
        message:
          "Moodle answered core_course_get_courses_by_field with something that is not JSON: is MOODLE_URL the site's root, and REST enabled?",
      });
      expect(server.requests).toHaveLength(1);
    });

    it('fails for good on an HTML page (MOODLE_URL is not the site root)', async () => {
      script({
        core_course_get_courses_by_field: status(200, '<!DOCTYPE html><html><body>Log in</body></html>'),
      });

      expect(await failureOf(enroll())).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
    });

    it('fails retryably on HTTP 503, honouring Retry-After', async () => {
      script({
        core_course_get_courses_by_field: status(503, 'Service Unavailable', { 'Retry-After': '30' }),
      });

      expect(await failureOf(enroll())).toEqual({
        type: 'DownstreamUnavailable',
        nonRetryable: false,
        nextRetryDelay: 30_000,
        details: [{ attempt: 1, status: 503 }],
        message: 'Moodle unavailable (HTTP 503)',
      });
    });

    it('fails retryably on HTTP 503 without Retry-After, leaving the delay to the retry policy', async () => {
      script({ ...existingStudent, enrol_manual_enrol_users: status(503, 'Service Unavailable') });

      expect(await failureOf(enroll())).toMatchObject({
        type: 'DownstreamUnavailable',
        nonRetryable: false,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 503 }],
      });
    });

    it('fails for good on HTTP 404 (no Moodle at MOODLE_URL)', async () => {
      script({ core_course_get_courses_by_field: status(404, 'Not Found') });

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 404 }],
        message:
          'Moodle answered HTTP 404 at core_course_get_courses_by_field: check MOODLE_URL and that web services and REST are enabled',
      });
    });

    it('takes the user a concurrent payment just created when the create fails (username exists)', async () => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: seq([], [moodleUser(44)]),
        core_user_create_users: INVALID_PARAMETER,
        core_enrol_get_users_courses: [],
      });

      const result = await enroll();

      expect(result).toEqual({ enrollmentId: `44:${COURSE_ID}`, alreadyEnrolled: false, attempt: 1 });
      expect(functions()).toEqual([
        'core_course_get_courses_by_field',
        'core_user_get_users_by_field',
        'core_user_create_users',
        'core_user_get_users_by_field',
        'core_enrol_get_users_courses',
        'core_enrol_get_enrolled_users',
        'enrol_manual_enrol_users',
      ]);
      expect(sent()[3]).toEqual(USER_LOOKUP);
      expect(sent()[6]).toEqual(enrolment(0, 44));
    });

    it('refuses for a person a create that fails while the lookup still finds no one', async () => {
      script({
        ...existingStudent,
        core_user_get_users_by_field: [],
        core_user_create_users: INVALID_PARAMETER,
      });

      expect(await failureOf(enroll())).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200, code: 'invalidparameter' }],
        // The username is the email: masked in the failure message.
        message:
          "Moodle invalidparameter creating the student (no user with their email is visible: the username or email is another account's, or the token may not see emails: docs/lms.md, Show user identity): Invalid parameter value detected",
      });
      expect(functions()).toEqual([
        'core_course_get_courses_by_field',
        'core_user_get_users_by_field',
        'core_user_create_users',
        'core_user_get_users_by_field',
      ]);
    });

    it('never logs the token or the student, whatever Moodle answers', async () => {
      const logs = captureLogs();
      const acts = activities({}, logs);
      script(existingStudent);
      await activityEnv().run(acts.enrollStudent, input);
      server.reset();
      script({ core_course_get_courses_by_field: INVALID_TOKEN });
      await failureOf(activityEnv().run(acts.enrollStudent, input));
      server.reset();
      script({ core_course_get_courses_by_field: status(503, 'Service Unavailable') });
      await failureOf(activityEnv().run(acts.enrollStudent, input));

      const lines = logs.lines();
      expect(lines.map((l) => [l.operation, l.status, l.outcome])).toEqual([
        ['core_course_get_courses_by_field', 200, 'ok'],
        ['core_user_get_users_by_field', 200, 'ok'],
        ['core_enrol_get_users_courses', 200, 'ok'],
        ['core_enrol_get_enrolled_users', 200, 'ok'],
        ['enrol_manual_enrol_users', 200, 'ok'],
        // Moodle's HTTP 200 error, logged as the failure it is, with its code.
        ['core_course_get_courses_by_field', 200, 'error_body'],
        ['core_course_get_courses_by_field', 503, 'retryable'],
      ]);
      expect(lines[5]).toMatchObject({ level: 40, errorCode: 'invalidtoken' });
      for (const line of lines) {
        expect(line).toMatchObject({ downstream: 'lms', method: 'POST', url: `${server.url}${PATH}` });
      }
      const text = logs.text();
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('wstoken');
      expect(decodeURIComponent(text).toLowerCase()).not.toContain(EMAIL);
    });
  });

  describe('changeAccess', () => {
    /**
     * The student's enrolment in ML-101 as Moodle holds it, changed by the writes the adapter sends,
     * so the read after a change (is access gone?) answers what Moodle would.
     */
    const enrolmentIn = (initial: 'active' | 'suspended' | 'none'): Script => {
      let state = initial;
      const courseList: Handler = (_req, res) =>
        moodleJson(res, state === 'active' ? [userCourse(3), userCourse(COURSE_ID)] : [userCourse(3)]);
      const suspendedStudents: Handler = (_req, res) =>
        moodleJson(res, state === 'suspended' ? [{ id: 99 }, { id: USER_ID }] : [{ id: 99 }]);
      const enrol: Handler = (req, res) => {
        state = new URLSearchParams(req.body).get('enrolments[0][suspend]') === '1' ? 'suspended' : 'active';
        moodleJson(res, null);
      };
      const unenrol: Handler = (_req, res) => {
        state = 'none';
        moodleJson(res, null);
      };
      return {
        core_user_get_users_by_field: [moodleUser()],
        core_course_get_courses_by_field: courses(moodleCourse()),
        core_enrol_get_users_courses: courseList,
        core_enrol_get_enrolled_users: suspendedStudents,
        enrol_manual_enrol_users: enrol,
        enrol_manual_unenrol_users: unenrol,
      };
    };
    const activeEnrolment = () => enrolmentIn('active');
    const suspendedEnrolment = () => enrolmentIn('suspended');
    /** The student exists but is not in ML-101. */
    const notEnrolled = () => enrolmentIn('none');
    /** After a suspension or revocation: is access gone? */
    const reread = [usersCourses(), suspendedList()];
    const found = (state: ChangeAccessInput['status']) => ({
      found: true,
      enrollmentId: `${USER_ID}:${COURSE_ID}`,
      status: state,
      attempt: 1,
    });

    it('suspends an active enrolment: the enrol upsert with suspend=1', async () => {
      script(activeEnrolment());

      expect(await change(access({ status: 'suspended' }))).toEqual(found('suspended'));
      expect(sent()).toEqual([USER_LOOKUP, COURSE_LOOKUP, usersCourses(), enrolment(1), ...reread]);
    });

    it('restores a suspended enrolment: the enrol upsert with suspend=0', async () => {
      script(suspendedEnrolment());

      expect(await change(access({ status: 'active', reason: 'dispute won' }))).toEqual(found('active'));
      expect(sent()).toEqual([USER_LOOKUP, COURSE_LOOKUP, usersCourses(), suspendedList(), enrolment(0)]);
    });

    it.each([
      [
        'an active',
        activeEnrolment(),
        [USER_LOOKUP, COURSE_LOOKUP, usersCourses(), unenrolment(), ...reread],
      ],
      [
        'a suspended',
        suspendedEnrolment(),
        [USER_LOOKUP, COURSE_LOOKUP, usersCourses(), suspendedList(), unenrolment(), ...reread],
      ],
    ])(
      'revokes %s enrolment with enrol_manual_unenrol_users (MOODLE_REVOKE=unenrol)',
      async (_, state, calls) => {
        script(state);

        const refund = access({ status: 'revoked', cause: { kind: 'refund', id: 'rfnd_Q1x2Y3z4A5b6C7' } });
        expect(await change(refund)).toEqual(found('revoked'));
        expect(sent()).toEqual(calls);
        expect(functions()).not.toContain('enrol_manual_enrol_users');
      },
    );

    it('revokes by suspending with MOODLE_REVOKE=suspend, unenrolling nothing', async () => {
      script(activeEnrolment());

      expect(await change(access({ status: 'revoked' }), { MOODLE_REVOKE: 'suspend' })).toEqual(
        found('revoked'),
      );
      expect(sent()).toEqual([USER_LOOKUP, COURSE_LOOKUP, usersCourses(), enrolment(1), ...reread]);
    });

    it.each<[string, ChangeAccessInput['status'], Script, Record<string, string>]>([
      ['suspending a suspended enrolment', 'suspended', suspendedEnrolment(), {}],
      ['restoring an active enrolment', 'active', activeEnrolment(), {}],
      [
        'revoking (MOODLE_REVOKE=suspend) a suspended enrolment',
        'revoked',
        suspendedEnrolment(),
        { MOODLE_REVOKE: 'suspend' },
      ],
    ])('writes nothing %s', async (_, target, state, overrides) => {
      script(state);

      expect(await change(access({ status: target }), overrides)).toEqual(found(target));
      expect(functions()).not.toContain('enrol_manual_enrol_users');
      expect(functions()).not.toContain('enrol_manual_unenrol_users');
    });

    it('answers found: false when no user has the email, reading nothing more', async () => {
      script({ ...activeEnrolment(), core_user_get_users_by_field: [] });

      expect(await change(access({ status: 'revoked' }))).toEqual({ found: false, attempt: 1 });
      expect(sent()).toEqual([USER_LOOKUP]);
    });

    it('answers found: false when the user is not in the course, writing nothing', async () => {
      script(notEnrolled());

      expect(await change(access({ status: 'revoked' }))).toEqual({ found: false, attempt: 1 });
      expect(sent()).toEqual([USER_LOOKUP, COURSE_LOOKUP, usersCourses(), suspendedList()]);
    });

    // Moodle keeps no trace of an unenrolment: the attempt records that it sent one (a heartbeat,
    // which Temporal hands to the next attempt), so a retry after a lost answer knows the work is done.
    it('answers found: true on the retry of a revoke whose unenrol Moodle did but whose answer was lost', async () => {
      let enrolled = true;
      script({
        ...activeEnrolment(),
        core_enrol_get_users_courses: (_req: RecordedRequest, res: ServerResponse) =>
          moodleJson(res, enrolled ? [userCourse(3), userCourse(COURSE_ID)] : [userCourse(3)]),
        enrol_manual_unenrol_users: seq(() => {
          enrolled = false; // done, but the answer never comes
        }, null),
      });
      const acts = activities({ HTTP_TIMEOUT_MS: '300' });
      const refund = access({ status: 'revoked', cause: { kind: 'refund', id: 'rfnd_Q1x2Y3z4A5b6C7' } });

      const first = activityEnv(1);
      const beats: unknown[] = [];
      first.on('heartbeat', (details: unknown) => beats.push(details));
      expect(await failureOf(first.run(acts.changeAccess, refund))).toMatchObject({
        type: 'DownstreamTimeout',
        nonRetryable: false,
      });
      expect(beats).toEqual([{ unenrolling: `${USER_ID}:${COURSE_ID}` }]);
      expect(await activityEnv(2, beats.at(-1)).run(acts.changeAccess, refund)).toEqual({
        ...found('revoked'),
        attempt: 2,
      });
      // Without that record, "not enrolled" means nothing was granted.
      expect(await activityEnv(2).run(acts.changeAccess, refund)).toEqual({ found: false, attempt: 2 });
    });

    it('still revokes the enrolment of a user the site suspended', async () => {
      script({
        ...activeEnrolment(),
        core_user_get_users_by_field: [moodleUser(USER_ID, { suspended: true })],
      });

      expect(await change(access({ status: 'revoked' }))).toEqual(found('revoked'));
      expect(sent().slice(-3)).toEqual([unenrolment(), ...reread]);
    });

    it('leaves a course another payment of the student enrolled first, calling nothing', async () => {
      script(activeEnrolment());

      expect(await change(access({ status: 'revoked', enrolledBefore: true }))).toEqual({
        found: false,
        attempt: 1,
      });
      expect(sent()).toEqual([]);
    });

    it('refuses a grant naming no student email, calling nothing', async () => {
      script(activeEnrolment());

      expect(await failureOf(change(access({ email: undefined })))).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1 }],
        message: 'Moodle: the grant names no student email or course to find',
      });
      expect(server.requests).toHaveLength(0);
    });

    it('names the course when the unenrol is refused (no manual instance)', async () => {
      script({ ...activeEnrolment(), enrol_manual_unenrol_users: NO_INSTANCE });

      expect(await failureOf(change(access({ status: 'revoked' })))).toEqual({
        type: 'LmsRejected',
        nonRetryable: true,
        nextRetryDelay: undefined,
        details: [{ attempt: 1, status: 200, code: 'wsnoinstance' }],
        message: `Moodle wsnoinstance unenrolling from course ML-101: ${NO_INSTANCE.message}`,
      });
    });

    it('fails for good on an unknown token before reading the enrolment', async () => {
      script({ ...activeEnrolment(), core_user_get_users_by_field: INVALID_TOKEN });

      expect(await failureOf(change(access()))).toMatchObject({
        type: 'LmsMisconfigured',
        nonRetryable: true,
        details: [{ attempt: 1, status: 200, code: 'invalidtoken' }],
      });
      expect(functions()).toEqual(['core_user_get_users_by_field']);
    });
  });
});

describe('moodleFailure', () => {
  it("keeps only the first line of Moodle's message: a site in developer debugging appends SQL and its parameters", () => {
    const failure = moodleFailure(
      {
        exception: 'dml_write_exception',
        errorcode: 'dmlwriteexception',
        message:
          'Error writing to database (Duplicate entry\nINSERT INTO mdl_user (firstname, lastname)\n[array (0 => Quillon, 1 => Vexbury)])',
      },
      'creating the student',
    );
    expect(failure.message).toBe(
      'Moodle dmlwriteexception creating the student: Error writing to database (Duplicate entry',
    );
    expect(failure.message.length).toBeLessThan(300);
  });
});
