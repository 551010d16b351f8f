/**
 * The Moodle emulation (`/moodle/webservice/rest/server.php`) over real HTTP, as a Moodle site with
 * REST web services answers them (facts: webservice/rest/locallib.php, user/externallib.php,
 * enrol/manual/externallib.php, enrol/externallib.php): form-encoded calls with PHP-style array keys,
 * every error an HTTP 200 with exactly `{exception, errorcode, message}`, void functions answering
 * `null`, and the side effects checked in the shared ledger.
 */
import type { EnrollmentRecord } from '../../src/sandbox/ledger';
import { call, credentials, FakeClock, jsonPost, useSandbox } from './harness';

const clock = new FakeClock();
const sb = useSandbox({ now: clock.now });

const SERVER = '/moodle/webservice/rest/server.php';
const STUDENT_ROLE = 5;
const ML101 = 2;
const DS301 = 3;

interface WsAnswer {
  status: number;
  headers: Headers;
  /** The raw body: `null` must be the text `null`, and XML is not JSON. */
  text: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: any;
}

type Params = Record<string, string | number>;

/** One web service call, posted as Moodle clients post it. */
async function ws(
  fn: string | undefined,
  params: Params = {},
  options: { token?: string; format?: string | null } = {},
): Promise<WsAnswer> {
  const form = new URLSearchParams({ wstoken: options.token ?? credentials.MOODLE_TOKEN });
  if (fn !== undefined) form.set('wsfunction', fn);
  if (options.format !== null) form.set('moodlewsrestformat', options.format ?? 'json');
  for (const [key, value] of Object.entries(params)) form.set(key, String(value));
  const res = await fetch(`${sb.url}${SERVER}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
}

const INVALID_PARAMETER = {
  exception: 'invalid_parameter_exception',
  errorcode: 'invalidparameter',
  message: 'Invalid parameter value detected',
};

/** HTTP 200, exactly these three keys in Moodle's order, no debuginfo. */
function expectMoodleError(
  res: WsAnswer,
  error: { exception: string; errorcode: string; message: string },
): void {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body).toEqual(error);
  expect(Object.keys(res.body as object)).toEqual(['exception', 'errorcode', 'message']);
}

interface NewUser {
  username?: string;
  email?: string;
  firstname?: string;
  lastname?: string;
  auth?: string;
  password?: string;
  createpassword?: string;
}

const userFields = (index: number, user: NewUser): Params => {
  const fields: Params = {};
  for (const [key, value] of Object.entries(user)) {
    if (value !== undefined) fields[`users[${index}][${key}]`] = value;
  }
  return fields;
};

const asha: NewUser = {
  username: 'asha.rao@example.com',
  email: 'asha.rao@example.com',
  firstname: 'Asha',
  lastname: 'Rao',
  createpassword: '1',
};
const ravi: NewUser = {
  username: 'ravi.kumar@example.com',
  email: 'ravi.kumar@example.com',
  firstname: 'Ravi',
  lastname: 'Kumar',
  createpassword: '1',
};

const createUsers = (...users: NewUser[]) =>
  ws(
    'core_user_create_users',
    users.reduce<Params>((all, user, i) => ({ ...all, ...userFields(i, user) }), {}),
  );

async function newUserId(user: NewUser = asha): Promise<number> {
  const res = await createUsers(user);
  if (!Array.isArray(res.body)) throw new Error(`user not created: ${res.text}`);
  return (res.body as Array<{ id: number }>)[0]!.id;
}

interface Enrolment {
  userid: number;
  courseid: number;
  roleid?: number;
  suspend?: number;
}

const enrolmentFields = (list: Enrolment[]): Params =>
  list.reduce<Params>(
    (all, e, i) => ({
      ...all,
      [`enrolments[${i}][roleid]`]: e.roleid ?? STUDENT_ROLE,
      [`enrolments[${i}][userid]`]: e.userid,
      [`enrolments[${i}][courseid]`]: e.courseid,
      ...(e.suspend !== undefined && { [`enrolments[${i}][suspend]`]: e.suspend }),
    }),
    {},
  );

const enrol = (...list: Enrolment[]) => ws('enrol_manual_enrol_users', enrolmentFields(list));
const unenrol = (...list: Array<{ userid: number; courseid: number }>) =>
  ws(
    'enrol_manual_unenrol_users',
    list.reduce<Params>(
      (all, e, i) => ({
        ...all,
        [`enrolments[${i}][userid]`]: e.userid,
        [`enrolments[${i}][courseid]`]: e.courseid,
      }),
      {},
    ),
  );

const enrolledUsers = (courseid: number, options: Array<[string, string]> = []) =>
  ws(
    'core_enrol_get_enrolled_users',
    options.reduce<Params>(
      (all, [name, value], i) => ({
        ...all,
        [`options[${i}][name]`]: name,
        [`options[${i}][value]`]: value,
      }),
      { courseid },
    ),
  );

const addCourse = (course: Record<string, unknown>) => jsonPost(`${sb.url}/_sandbox/moodle/courses`, course);
const addUser = (user: Record<string, unknown>) => jsonPost(`${sb.url}/_sandbox/moodle/users`, user);

const moodleRows = async (): Promise<EnrollmentRecord[]> =>
  (await sb.ledger()).enrollments.filter((e) => e.lms === 'moodle');
const moodleUsers = async () => (await sb.ledger()).lmsUsers.filter((u) => u.lms === 'moodle');
const lmsRequests = async () => (await sb.ledger()).requests.filter((r) => r.service === 'lms');

describe('sandbox Moodle web services', () => {
  describe('the error envelope', () => {
    it('refuses an unknown token with 200 invalidtoken, before running anything', async () => {
      const res = await ws('core_user_create_users', userFields(0, asha), { token: 'not-the-token' });

      expectMoodleError(res, {
        exception: 'moodle_exception',
        errorcode: 'invalidtoken',
        message: 'Invalid token - token not found',
      });
      expect(await moodleUsers()).toEqual([]);
    });

    it('refuses a function the service does not hold with an access exception', async () => {
      const res = await ws('core_webservice_get_site_info');

      expectMoodleError(res, {
        exception: 'webservice_access_exception',
        errorcode: 'accessexception',
        message: 'Access control exception',
      });
    });

    it('answers a call without wsfunction with invalidparameter', async () => {
      expectMoodleError(await ws(undefined), INVALID_PARAMETER);
    });

    it.each([
      ['xml', 'xml'],
      ['an unknown format', 'yaml'],
      ['no format at all', null],
    ])('answers XML, not JSON, when moodlewsrestformat is %s', async (_label, format) => {
      const res = await ws('core_course_get_courses_by_field', {}, { format });

      expect(res.status).toBe(200);
      expect(res.body).toBeUndefined();
      expect(res.text).toMatch(/^<\?xml /);
    });

    it('labels its XML answer application/xml, as Moodle does', async () => {
      const res = await ws('core_course_get_courses_by_field', {}, { format: 'xml' });

      expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
    });
  });

  describe('core_user_get_users_by_field', () => {
    it('finds a user by exact email, and by nothing else: case matters, as on PostgreSQL', async () => {
      const id = await newUserId();

      const exact = await ws('core_user_get_users_by_field', {
        field: 'email',
        'values[0]': 'asha.rao@example.com',
      });
      const otherCase = await ws('core_user_get_users_by_field', {
        field: 'email',
        'values[0]': 'Asha.Rao@example.com',
      });
      const unknown = await ws('core_user_get_users_by_field', {
        field: 'email',
        'values[0]': 'nobody@example.com',
      });

      expect(exact.status).toBe(200);
      expect(exact.body).toEqual([
        expect.objectContaining({
          id,
          username: 'asha.rao@example.com',
          firstname: 'Asha',
          lastname: 'Rao',
          fullname: 'Asha Rao',
          email: 'asha.rao@example.com',
          auth: 'manual',
          suspended: false,
        }),
      ]);
      expect(otherCase.body).toEqual([]);
      expect(unknown.body).toEqual([]);
    });

    it('finds users by username and by id, several values at once', async () => {
      const first = await newUserId(asha);
      const second = await newUserId(ravi);

      const byUsername = await ws('core_user_get_users_by_field', {
        field: 'username',
        'values[0]': 'ravi.kumar@example.com',
      });
      const byId = await ws('core_user_get_users_by_field', {
        field: 'id',
        'values[0]': first,
        'values[1]': second,
      });

      expect((byUsername.body as Array<{ id: number }>).map((u) => u.id)).toEqual([second]);
      expect((byId.body as Array<{ id: number }>).map((u) => u.id).sort()).toEqual([first, second]);
    });

    it('refuses an invalid email and an uppercase username (Moodle would clean them) with invalidparameter', async () => {
      await newUserId();

      expectMoodleError(
        await ws('core_user_get_users_by_field', { field: 'email', 'values[0]': 'not-an-email' }),
        INVALID_PARAMETER,
      );
      expectMoodleError(
        await ws('core_user_get_users_by_field', { field: 'username', 'values[0]': 'Asha.Rao@example.com' }),
        INVALID_PARAMETER,
      );
    });

    it('refuses a field it does not search by with a coding error', async () => {
      const res = await ws('core_user_get_users_by_field', { field: 'phone1', 'values[0]': '9876543210' });

      expectMoodleError(res, {
        exception: 'coding_exception',
        errorcode: 'codingerror',
        message: 'Coding error detected, it must be fixed by a programmer: invalid field parameter',
      });
    });
  });

  describe('core_user_create_users', () => {
    it('creates the user and answers [{id, username}]', async () => {
      const res = await createUsers(asha);

      expect(res.status).toBe(200);
      expect(res.body).toEqual([{ id: 3, username: 'asha.rao@example.com' }]);
      expect(await moodleUsers()).toEqual([
        expect.objectContaining({
          lms: 'moodle',
          id: '3',
          email: 'asha.rao@example.com',
          login: 'asha.rao@example.com',
          firstname: 'Asha',
          lastname: 'Rao',
          auth: 'manual',
          created_at: '2026-03-01T10:00:00.000Z',
        }),
      ]);
    });

    it.each<[string, NewUser]>([
      ['a taken username', { ...ravi, username: asha.username }],
      ['a taken email, in another case', { ...ravi, email: 'ASHA.Rao@Example.com' }],
      ['an uppercase username', { ...ravi, username: 'Ravi.Kumar@example.com' }],
      ['manual auth without password or createpassword', { ...ravi, createpassword: undefined }],
      ['an invalid email', { ...ravi, email: 'ravi-at-example' }],
      ['an unknown auth plugin', { ...ravi, auth: 'telepathy' }],
      ['a blank last name', { ...ravi, lastname: ' ' }],
    ])('refuses %s with invalidparameter and creates nothing', async (_label, user) => {
      await newUserId(asha);

      expectMoodleError(await createUsers(user), INVALID_PARAMETER);
      expect((await moodleUsers()).map((u) => u.login)).toEqual(['asha.rao@example.com']);
    });

    it('creates a manual user given a password, and a non-manual one given neither', async () => {
      const withPassword = await createUsers({ ...asha, createpassword: undefined, password: 'S3cret!pass' });
      const oauth = await createUsers({ ...ravi, createpassword: undefined, auth: 'oauth2' });

      expect(withPassword.body).toEqual([{ id: 3, username: 'asha.rao@example.com' }]);
      expect(oauth.body).toEqual([{ id: 4, username: 'ravi.kumar@example.com' }]);
    });

    it('creates a batch in one transaction: one bad user and none is created', async () => {
      await newUserId(asha);
      const meera = { ...ravi, username: 'meera@example.com', email: 'meera@example.com' };

      expectMoodleError(await createUsers(ravi, { ...meera, username: asha.username }), INVALID_PARAMETER);
      expect((await moodleUsers()).map((u) => u.login)).toEqual(['asha.rao@example.com']);

      const both = await createUsers(ravi, meera);
      expect(both.body).toEqual([
        { id: 4, username: 'ravi.kumar@example.com' },
        { id: 5, username: 'meera@example.com' },
      ]);
    });

    it('refuses a batch that repeats an email (in another case): Moodle checks each user against the ones before it', async () => {
      const twin = { ...ravi, username: 'ravi.two@example.com', email: 'Ravi.Kumar@Example.com' };

      expectMoodleError(await createUsers(ravi, twin), INVALID_PARAMETER);
      expect(await moodleUsers()).toEqual([]);
    });
  });

  describe('core_course_get_courses_by_field', () => {
    it.each([
      ['idnumber', 'ML-101', ML101],
      ['shortname', 'DS301', DS301],
      ['id', String(DS301), DS301],
    ])('finds a seeded course by %s', async (field, value, id) => {
      const res = await ws('core_course_get_courses_by_field', { field, value });

      expect(res.status).toBe(200);
      expect(Object.keys(res.body as object).sort()).toEqual(['courses', 'warnings']);
      expect(res.body.warnings).toEqual([]);
      expect(res.body.courses).toEqual([
        expect.objectContaining({
          id,
          idnumber: id === ML101 ? 'ML-101' : 'DS-301',
          shortname: id === ML101 ? 'ML101' : 'DS301',
        }),
      ]);
    });

    it('answers no match with empty courses and warnings, and an unknown field with invalidparameter', async () => {
      const none = await ws('core_course_get_courses_by_field', { field: 'idnumber', value: 'NOPE-1' });

      expect(none.body).toEqual({ courses: [], warnings: [] });
      expectMoodleError(
        await ws('core_course_get_courses_by_field', { field: 'colour', value: 'red' }),
        INVALID_PARAMETER,
      );
    });

    it('finds a course added through the control route', async () => {
      const added = await addCourse({ idnumber: 'GO-201', fullname: 'Go 201' });
      const res = await ws('core_course_get_courses_by_field', { field: 'idnumber', value: 'GO-201' });

      expect(added.status).toBe(201);
      expect(added.body).toMatchObject({
        id: 4,
        idnumber: 'GO-201',
        manual: 'enabled',
        assignableRoles: [5],
      });
      expect(res.body.courses).toEqual([expect.objectContaining({ id: 4, fullname: 'Go 201' })]);
    });
  });

  describe('enrol_manual_enrol_users', () => {
    it('answers JSON null and records an active enrolment', async () => {
      const userid = await newUserId();
      const res = await enrol({ userid, courseid: ML101 });

      expect(res.status).toBe(200);
      expect(res.text).toBe('null');
      expect(await moodleRows()).toEqual([
        expect.objectContaining({
          lms: 'moodle',
          email: 'asha.rao@example.com',
          course_id: 'ML-101',
          status: 'active',
          lms_state: 'active',
          lms_user_id: String(userid),
          lms_course_id: String(ML101),
          access_changes: [],
        }),
      ]);
    });

    it('is an upsert: enrolling twice leaves one enrolment, unchanged', async () => {
      const userid = await newUserId();
      await enrol({ userid, courseid: ML101 });
      const again = await enrol({ userid, courseid: ML101 });

      expect(again.text).toBe('null');
      const rows = await moodleRows();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'active', access_changes: [] });
    });

    it('suspends with suspend=1, and an enrol without suspend reactivates the same enrolment', async () => {
      const userid = await newUserId();
      await enrol({ userid, courseid: ML101 });

      expect((await enrol({ userid, courseid: ML101, suspend: 1 })).text).toBe('null');
      expect(await moodleRows()).toEqual([
        expect.objectContaining({ status: 'suspended', lms_state: 'suspended' }),
      ]);

      expect((await enrol({ userid, courseid: ML101 })).text).toBe('null');
      const rows = await moodleRows();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'active', lms_state: 'active' });
      expect(rows[0]!.access_changes.map((c) => `${c.from}>${c.to}`)).toEqual([
        'active>suspended',
        'suspended>active',
      ]);
    });

    it('enrols a new user suspended when asked to', async () => {
      const userid = await newUserId();
      await enrol({ userid, courseid: DS301, suspend: 1 });

      expect(await moodleRows()).toEqual([
        expect.objectContaining({ course_id: 'DS-301', status: 'suspended', lms_state: 'suspended' }),
      ]);
    });

    it.each(['disabled', 'none'])(
      'answers wsnoinstance for a course whose manual enrolment method is %s',
      async (manual) => {
        const userid = await newUserId();
        const { body: course } = await addCourse({ idnumber: 'NOINST-1', manual });

        const res = await enrol({ userid, courseid: course.id });

        expectMoodleError(res, {
          exception: 'moodle_exception',
          errorcode: 'wsnoinstance',
          message: `Manual enrolment plugin instance doesn't exist or is disabled for the course (id = ${course.id})`,
        });
        expect(await moodleRows()).toEqual([]);
      },
    );

    it('answers wsusercannotassign where the role is not assignable', async () => {
      const userid = await newUserId();
      const { body: course } = await addCourse({ idnumber: 'NOROLE-1', assignableRoles: [] });

      const res = await enrol({ userid, courseid: course.id });

      expectMoodleError(res, {
        exception: 'moodle_exception',
        errorcode: 'wsusercannotassign',
        message: `You don't have the permission to assign this role (5) to this user (${userid}) in this course(${course.id}).`,
      });
      expect(await moodleRows()).toEqual([]);
    });

    it('answers a missing course with invalidparameter and a missing user with the coding error', async () => {
      const userid = await newUserId();

      expectMoodleError(await enrol({ userid, courseid: 999 }), INVALID_PARAMETER);
      expectMoodleError(await enrol({ userid: 999, courseid: ML101 }), {
        exception: 'coding_exception',
        errorcode: 'codingerror',
        message:
          'Coding error detected, it must be fixed by a programmer: User ID does not exist or is deleted!',
      });
      expect(await moodleRows()).toEqual([]);
    });

    it('enrols a batch in one transaction: one bad enrolment and none is written', async () => {
      const userid = await newUserId();

      expectMoodleError(
        await enrol({ userid, courseid: ML101 }, { userid, courseid: 999 }),
        INVALID_PARAMETER,
      );
      expect(await moodleRows()).toEqual([]);

      expect((await enrol({ userid, courseid: ML101 }, { userid, courseid: DS301 })).text).toBe('null');
      expect((await moodleRows()).map((e) => e.course_id)).toEqual(['ML-101', 'DS-301']);
    });
  });

  describe('enrol_manual_unenrol_users', () => {
    it('unenrols: the enrolment is gone (revoked, unenrolled) and the answer is null', async () => {
      const userid = await newUserId();
      await enrol({ userid, courseid: ML101 });

      const res = await unenrol({ userid, courseid: ML101 });

      expect(res.status).toBe(200);
      expect(res.text).toBe('null');
      const rows = await moodleRows();
      expect(rows).toEqual([expect.objectContaining({ status: 'revoked', lms_state: 'unenrolled' })]);
      expect(rows[0]!.access_changes).toEqual([
        expect.objectContaining({ from: 'active', to: 'revoked', lms_state: 'unenrolled' }),
      ]);
    });

    it('answers null and changes nothing for a user who is not enrolled', async () => {
      const userid = await newUserId();
      await enrol({ userid, courseid: DS301 });

      const res = await unenrol({ userid, courseid: ML101 });

      expect(res.text).toBe('null');
      expect(await moodleRows()).toEqual([
        expect.objectContaining({ course_id: 'DS-301', status: 'active' }),
      ]);
    });

    it('unenrols through a disabled manual method, but answers wsnoinstance where there is none', async () => {
      const userid = await newUserId();
      const { body: disabled } = await addCourse({ idnumber: 'OFF-1', manual: 'disabled' });
      const { body: none } = await addCourse({ idnumber: 'NONE-1', manual: 'none' });

      expect((await unenrol({ userid, courseid: disabled.id })).text).toBe('null');
      expectMoodleError(await unenrol({ userid, courseid: none.id }), {
        exception: 'moodle_exception',
        errorcode: 'wsnoinstance',
        message: `Manual enrolment plugin instance doesn't exist or is disabled for the course (id = ${none.id})`,
      });
    });

    it('answers a missing user with invalidparameter and a missing course with a missing record', async () => {
      const userid = await newUserId();

      expectMoodleError(await unenrol({ userid: 999, courseid: ML101 }), INVALID_PARAMETER);
      const noCourse = await unenrol({ userid, courseid: 999 });
      expect(noCourse.status).toBe(200);
      expect(Object.keys(noCourse.body as object)).toEqual(['exception', 'errorcode', 'message']);
      expect(noCourse.body).toMatchObject({
        exception: 'dml_missing_record_exception',
        errorcode: 'invalidrecord',
      });
    });

    it('enrols anew after an unenrolment (a fresh enrolment, the old one stays gone)', async () => {
      const userid = await newUserId();
      await enrol({ userid, courseid: ML101 });
      await unenrol({ userid, courseid: ML101 });
      await enrol({ userid, courseid: ML101 });

      expect((await moodleRows()).map((e) => e.status)).toEqual(['revoked', 'active']);
    });
  });

  describe('reading enrolments', () => {
    it("core_enrol_get_users_courses lists the user's active enrolments only", async () => {
      const userid = await newUserId();
      const { body: go } = await addCourse({ idnumber: 'GO-201' });
      await enrol({ userid, courseid: ML101 });
      await enrol({ userid, courseid: DS301, suspend: 1 });
      await enrol({ userid, courseid: go.id });
      await unenrol({ userid, courseid: go.id });

      const res = await ws('core_enrol_get_users_courses', { userid });

      expect(res.status).toBe(200);
      expect(res.body).toEqual([
        expect.objectContaining({ id: ML101, idnumber: 'ML-101', shortname: 'ML101' }),
      ]);
    });

    it('answers a missing user as a missing user record (errorcode invaliduser for table user)', async () => {
      const res = await ws('core_enrol_get_users_courses', { userid: 999 });

      expect(res.status).toBe(200);
      expect(Object.keys(res.body as object)).toEqual(['exception', 'errorcode', 'message']);
      expect(res.body).toMatchObject({ exception: 'dml_missing_record_exception', errorcode: 'invaliduser' });
    });

    describe('core_enrol_get_enrolled_users', () => {
      let active: number;
      let suspended: number;
      beforeEach(async () => {
        active = await newUserId(asha);
        suspended = await newUserId(ravi);
        const gone = await newUserId({ ...ravi, username: 'meera@example.com', email: 'meera@example.com' });
        await enrol({ userid: active, courseid: ML101 });
        await enrol({ userid: suspended, courseid: ML101, suspend: 1 });
        await enrol({ userid: gone, courseid: ML101 });
        await unenrol({ userid: gone, courseid: ML101 });
      });

      const ids = (res: WsAnswer) => (res.body as Array<{ id: number }>).map((u) => u.id).sort();

      it('lists every enrolled user, active and suspended, without an option', async () => {
        const res = await enrolledUsers(ML101);

        expect(res.status).toBe(200);
        expect(ids(res)).toEqual([active, suspended]);
        expect(res.body[0]).toMatchObject({
          id: active,
          email: 'asha.rao@example.com',
          fullname: 'Asha Rao',
        });
      });

      it('lists only the suspended with onlysuspended, only the active with onlyactive', async () => {
        expect(ids(await enrolledUsers(ML101, [['onlysuspended', '1']]))).toEqual([suspended]);
        expect(ids(await enrolledUsers(ML101, [['onlyactive', '1']]))).toEqual([active]);
      });

      it('answers only the ids with userfields=id', async () => {
        const res = await enrolledUsers(ML101, [
          ['onlysuspended', '1'],
          ['userfields', 'id'],
        ]);

        expect(res.body).toEqual([{ id: suspended }]);
      });

      it('refuses onlyactive and onlysuspended together with an error', async () => {
        const res = await enrolledUsers(ML101, [
          ['onlyactive', '1'],
          ['onlysuspended', '1'],
        ]);

        expect(res.status).toBe(200);
        expect(Object.keys(res.body as object)).toEqual(['exception', 'errorcode', 'message']);
        expect(res.body.errorcode).toEqual(expect.any(String));
      });
    });
  });

  describe('injected faults (shared with the generic LMS under `lms`)', () => {
    it('answers failNext with a 200 dml_read_exception before any side effect, recorded as a fault', async () => {
      const userid = await newUserId();
      await sb.patchFaults({ lms: { failNext: 1 } });

      const failed = await enrol({ userid, courseid: ML101 });

      expectMoodleError(failed, {
        exception: 'dml_read_exception',
        errorcode: 'dmlreadexception',
        message: 'Error reading from database',
      });
      expect(await moodleRows()).toEqual([]);

      expect((await enrol({ userid, courseid: ML101 })).text).toBe('null');
      expect(await moodleRows()).toHaveLength(1);
      const requests = (await lmsRequests()).slice(-2);
      expect(requests).toEqual([
        expect.objectContaining({
          service: 'lms',
          method: 'POST',
          path: SERVER,
          status: 200,
          fault: 'unavailable',
        }),
        expect.objectContaining({ service: 'lms', method: 'POST', path: SERVER, status: 200 }),
      ]);
      expect(requests[1]).not.toHaveProperty('fault');
    });

    it('answers rateLimitRate 1 with 429 and Retry-After, creating nothing, recorded as a fault', async () => {
      await sb.putFaults({ lms: { rateLimitRate: 1, retryAfter: { seconds: 7 } } });

      const res = await createUsers(asha);

      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await moodleUsers()).toEqual([]);
      expect(await lmsRequests()).toEqual([
        expect.objectContaining({ service: 'lms', path: SERVER, status: 429, fault: 'rateLimited' }),
      ]);
    });

    it('checks the token before faults: a wrong token is answered as such and leaves failNext armed', async () => {
      await sb.patchFaults({ lms: { failNext: 1 } });

      const res = await ws('core_user_create_users', userFields(0, asha), { token: 'wrong' });

      expect(res.body).toMatchObject({ errorcode: 'invalidtoken' });
      expect(sb.state.faults.current().lms?.failNext).toBe(1);
      expect((await lmsRequests())[0]).not.toHaveProperty('fault');
    });

    it('refuses a failCourses course with wsnoinstance and a failEmails student with wsusercannotassign', async () => {
      const userid = await newUserId();
      await sb.putFaults({ lms: { failCourses: ['ML-101'], failEmails: ['ASHA.RAO@example.com'] } });

      expect((await enrol({ userid, courseid: DS301 })).body).toMatchObject({
        errorcode: 'wsusercannotassign',
      });
      await sb.putFaults({ lms: { failCourses: ['ML-101'] } });
      expect((await enrol({ userid, courseid: ML101 })).body).toMatchObject({ errorcode: 'wsnoinstance' });
      expect(await moodleRows()).toEqual([]);
    });
  });

  describe('control routes and reset', () => {
    it('adds a suspended user through the control route, found by email like any other', async () => {
      const added = await addUser({ email: 'old.student@example.com', suspended: true });
      const found = await ws('core_user_get_users_by_field', {
        field: 'email',
        'values[0]': 'old.student@example.com',
      });

      expect(added.status).toBe(201);
      expect(found.body).toEqual([
        expect.objectContaining({ id: added.body.id, username: 'old.student@example.com', suspended: true }),
      ]);
    });

    it('refuses a course without an idnumber', async () => {
      const res = await addCourse({ shortname: 'X' });
      expect(res.status).toBe(400);
    });

    it('restores the seeded courses on reset (ML-101 id 2, DS-301 id 3)', async () => {
      await addCourse({ idnumber: 'GO-201' });
      expect((await call(`${sb.url}/_sandbox/moodle/courses`)).body).toHaveLength(3);

      expect((await call(`${sb.url}/_sandbox/reset`, { method: 'POST' })).status).toBe(200);

      const courses = (await call(`${sb.url}/_sandbox/moodle/courses`)).body as Array<
        Record<string, unknown>
      >;
      expect(courses.map((c) => [c.id, c.idnumber, c.manual])).toEqual([
        [ML101, 'ML-101', 'enabled'],
        [DS301, 'DS-301', 'enabled'],
      ]);
      const gone = await ws('core_course_get_courses_by_field', { field: 'idnumber', value: 'GO-201' });
      expect(gone.body).toEqual({ courses: [], warnings: [] });
      // A course added after the reset gets the next id again.
      expect((await addCourse({ idnumber: 'GO-201' })).body.id).toBe(4);
    });
  });
});
