/**
 * The Moodle and Canvas adapters against the sandbox's Moodle and Canvas emulations, both real, over
 * real HTTP: what a student ends up with in the LMS (the ledger's accounts and enrollments) when
 * payments enroll them, concurrently, repeatedly, or into courses the LMS refuses; every failure class
 * as the adapter reads the emulation's answers; and suspend, restore and revoke.
 */
import { createActivities } from '../../src/activities';
import { canvasConfig, createCanvasLms, THROTTLE_DELAY_MS } from '../../src/activities/lms/canvas';
import { createMoodleLms, moodleConfig } from '../../src/activities/lms/moodle';
import type { ChangeAccessInput, EnrollStudentInput } from '../../src/activities/types';
import type { EnrollmentRecord } from '../../src/sandbox/ledger';
import { credentials, jsonPost, useSandbox } from '../sandbox/harness';
import { activityEnv, captureLogs, failureOf, noJitter, testConfig } from './support/fixtures';

const sandbox = useSandbox();
const logs = captureLogs();

/** Every Moodle user creation the adapters sent, by email: proof that both lookups missed. */
const moodleCreatesSent: string[] = [];
const countingFetch: typeof fetch = (input, init) => {
  if (typeof init?.body === 'string') {
    const form = new URLSearchParams(init.body);
    if (form.get('wsfunction') === 'core_user_create_users')
      moodleCreatesSent.push(form.get('users[0][email]') ?? '');
  }
  return fetch(input, init);
};
const deps = { fetch: countingFetch, logger: logs.logger, timeoutMs: 2_000, now: Date.now, random: noJitter };

const moodleSettings = (overrides: Record<string, string> = {}) =>
  testConfig(sandbox.url, {
    LMS_PROVIDER: 'moodle',
    MOODLE_URL: `${sandbox.url}/moodle`,
    MOODLE_TOKEN: credentials.MOODLE_TOKEN,
    ...overrides,
  });
const canvasSettings = (overrides: Record<string, string> = {}) =>
  testConfig(sandbox.url, {
    LMS_PROVIDER: 'canvas',
    CANVAS_URL: `${sandbox.url}/canvas`,
    CANVAS_TOKEN: credentials.CANVAS_TOKEN,
    ...overrides,
  });
const activities = (config: ReturnType<typeof testConfig>) =>
  createActivities(config, { fetch: countingFetch, logger: logs.logger, random: noJitter });

const payment = (paymentId: string) => ({ provider: 'razorpay' as const, paymentId });
const EMAIL = 'asha.rao@example.com';
const student = (
  paymentId: string,
  courseId = 'ML-101',
  email = EMAIL,
): EnrollStudentInput & { grantKey: string } => ({
  payment: payment(paymentId),
  email,
  name: 'Asha Rao',
  courseId,
  grantKey: courseId === 'DS-301' ? 'course-ds-301' : 'course-ml-101',
});
const access = (
  status: ChangeAccessInput['status'],
  grantKey = 'course-ml-101',
  email = EMAIL,
): ChangeAccessInput => ({
  payment: payment('pay_Acc3ssEmul0001'),
  grantKey,
  status,
  cause:
    status === 'revoked'
      ? { kind: 'refund', id: 'rfnd_Emul4tion0001' }
      : { kind: 'dispute', id: 'disp_Emul4tion0001' },
  reason: status === 'revoked' ? 'full refund' : status === 'suspended' ? 'dispute opened' : 'dispute won',
  email,
});

const ledger = () => sandbox.state.snapshot();
const rows = (lms: 'moodle' | 'canvas', email?: string): EnrollmentRecord[] =>
  ledger().enrollments.filter((e) => e.lms === lms && (email === undefined || e.email === email));
const accounts = (lms: 'moodle' | 'canvas', email?: string) =>
  ledger().lmsUsers.filter((u) => u.lms === lms && (email === undefined || u.email.toLowerCase() === email));
const faults = (spec: Record<string, unknown>) => sandbox.putFaults({ lms: spec });
const userCreationsAtCanvas = () =>
  ledger().requests.filter((r) => r.method === 'POST' && r.path === '/canvas/api/v1/accounts/self/users');

beforeEach(() => {
  moodleCreatesSent.length = 0;
});

const ROUNDS = 10;

describe('the Moodle adapter against the Moodle emulation', () => {
  const lms = (overrides: Record<string, string> = {}) =>
    createMoodleLms(moodleConfig(moodleSettings(overrides)), deps);
  const addCourse = (course: Record<string, unknown>) =>
    jsonPost(`${sandbox.url}/_sandbox/moodle/courses`, course);

  describe('the user-creation race', () => {
    it.each([
      ['two different courses', 'ML-101', 'DS-301'],
      ['the same course', 'ML-101', 'ML-101'],
    ])(
      'two payments of a new student enrolling at once into %s make one Moodle user',
      async (_label, first, second) => {
        const adapter = lms();
        let bothCreated = 0;
        for (let round = 0; round < ROUNDS; round += 1) {
          const email = `race${round}.student@example.com`;
          const [a, b] = await Promise.all([
            adapter.enroll(student(`pay_RaceA${round}`, first, email)),
            adapter.enroll(student(`pay_RaceB${round}`, second, email)),
          ]);
          if (moodleCreatesSent.filter((e) => e === email).length === 2) bothCreated += 1;

          const users = accounts('moodle', email);
          expect(users).toHaveLength(1);
          const userId = users[0]!.id;
          const enrolments = rows('moodle', email);
          const courses = [...new Set([first, second])];
          expect(enrolments.map((e) => e.course_id).sort()).toEqual(courses.sort());
          expect(enrolments.every((e) => e.lms_user_id === userId && e.status === 'active')).toBe(true);
          const courseIds = { 'ML-101': 2, 'DS-301': 3 } as Record<string, number>;
          expect(a.enrollmentId).toBe(`${userId}:${courseIds[first]}`);
          expect(b.enrollmentId).toBe(`${userId}:${courseIds[second]}`);
        }
        // The interleaving the race is about: both payments looked the student up, missed, and created.
        expect(bothCreated).toBeGreaterThan(0);
        expect(accounts('moodle')).toHaveLength(ROUNDS);
      },
    );
  });

  it('enrolls a bundle (ML-101 and DS-301) under one user', async () => {
    const acts = activities(moodleSettings());
    const ml = await acts.enrollStudent(student('pay_Bundl3000001', 'ML-101'));
    const ds = await acts.enrollStudent(student('pay_Bundl3000001', 'DS-301'));

    const [user] = accounts('moodle');
    expect(accounts('moodle')).toHaveLength(1);
    expect(user).toMatchObject({ email: EMAIL, login: EMAIL, firstname: 'Asha', lastname: 'Rao' });
    expect(ml).toEqual({ enrollmentId: `${user!.id}:2`, alreadyEnrolled: false, attempt: 1 });
    expect(ds).toEqual({ enrollmentId: `${user!.id}:3`, alreadyEnrolled: false, attempt: 1 });
    expect(rows('moodle').map((e) => [e.course_id, e.status])).toEqual([
      ['ML-101', 'active'],
      ['DS-301', 'active'],
    ]);
  });

  it('is safe to retry: a second enroll finds the active enrolment, one row', async () => {
    const acts = activities(moodleSettings());
    const first = await acts.enrollStudent(student('pay_R3try000001'));
    const again = await acts.enrollStudent(student('pay_R3try000001'));

    expect(again).toEqual({ enrollmentId: first.enrollmentId, alreadyEnrolled: true, attempt: 1 });
    expect(rows('moodle')).toHaveLength(1);
    expect(rows('moodle')[0]!.access_changes).toEqual([]);
    expect(moodleCreatesSent).toEqual([EMAIL]);
  });

  it('finds a student whose email arrives in another case', async () => {
    const acts = activities(moodleSettings());
    await acts.enrollStudent(student('pay_Cas3000001'));
    const upper = await acts.enrollStudent({ ...student('pay_Cas3000002'), email: 'Asha.Rao@Example.COM' });

    expect(upper.alreadyEnrolled).toBe(true);
    expect(accounts('moodle')).toHaveLength(1);
  });

  it('refuses to enroll over a suspended enrolment (LmsRejected), leaving it suspended', async () => {
    const acts = activities(moodleSettings());
    await acts.enrollStudent(student('pay_Susp3nd0001'));
    await acts.changeAccess(access('suspended'));

    const failure = await failureOf(acts.enrollStudent(student('pay_Susp3nd0002')));

    expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
    expect(failure.details?.[0]).toMatchObject({ code: 'suspended' });
    expect(failure.message).toContain('ML-101');
    expect(rows('moodle')).toEqual([
      expect.objectContaining({ status: 'suspended', lms_state: 'suspended' }),
    ]);
  });

  it('refuses a user the site suspended (LmsRejected), enrolling nothing', async () => {
    await jsonPost(`${sandbox.url}/_sandbox/moodle/users`, { email: EMAIL, suspended: true });

    const failure = await failureOf(activities(moodleSettings()).enrollStudent(student('pay_Us3rSusp0001')));

    expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
    expect(failure.details?.[0]).toMatchObject({ code: 'usersuspended' });
    expect(rows('moodle')).toEqual([]);
  });

  describe('every error class, as the emulation answers it', () => {
    it('a wrong token is LmsMisconfigured, and nothing is created', async () => {
      const failure = await failureOf(
        activities(moodleSettings({ MOODLE_TOKEN: 'wrong-token' })).enrollStudent(student('pay_W0ngT0k3n01')),
      );

      expect(failure).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
      expect(failure.details?.[0]).toMatchObject({ code: 'invalidtoken' });
      expect(failure.message).toContain('MOODLE_TOKEN');
      expect(accounts('moodle')).toEqual([]);
    });

    it.each(['disabled', 'none'])(
      'a course whose manual enrolment is %s is LmsRejected (wsnoinstance), naming the course',
      async (manual) => {
        await addCourse({ idnumber: 'NOINST-1', manual });

        const failure = await failureOf(
          activities(moodleSettings()).enrollStudent({ ...student('pay_N0Inst0001'), courseId: 'NOINST-1' }),
        );

        expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
        expect(failure.details?.[0]).toMatchObject({ code: 'wsnoinstance' });
        expect(failure.message).toContain('NOINST-1');
        expect(rows('moodle')).toEqual([]);
      },
    );

    it('a course where the role cannot be assigned is LmsRejected (wsusercannotassign), naming the course', async () => {
      await addCourse({ idnumber: 'NOROLE-1', assignableRoles: [] });

      const failure = await failureOf(
        activities(moodleSettings()).enrollStudent({ ...student('pay_N0R0le0001'), courseId: 'NOROLE-1' }),
      );

      expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
      expect(failure.details?.[0]).toMatchObject({ code: 'wsusercannotassign' });
      expect(failure.message).toContain('NOROLE-1');
      expect(rows('moodle')).toEqual([]);
    });

    it('a course Moodle does not have is LmsRejected (nocourse)', async () => {
      const failure = await failureOf(
        activities(moodleSettings()).enrollStudent({ ...student('pay_N0C0urse001'), courseId: 'NOPE-1' }),
      );

      expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
      expect(failure.details?.[0]).toMatchObject({ code: 'nocourse' });
      expect(failure.message).toContain('NOPE-1');
    });

    it('an injected failNext (a 200 dml_read_exception) is a retryable DownstreamUnavailable; the retry enrolls once', async () => {
      const acts = activities(moodleSettings());
      await faults({ failNext: 1 });

      const failure = await failureOf(acts.enrollStudent(student('pay_Fa1lN3xt0001')));

      expect(failure).toMatchObject({ type: 'DownstreamUnavailable', nonRetryable: false });
      expect(failure.details?.[0]).toMatchObject({ status: 200, code: 'dmlreadexception' });
      expect(rows('moodle')).toEqual([]);
      expect(ledger().requests.at(-1)).toMatchObject({ service: 'lms', status: 200, fault: 'unavailable' });

      expect(await acts.enrollStudent(student('pay_Fa1lN3xt0001'))).toMatchObject({ alreadyEnrolled: false });
      expect(rows('moodle')).toHaveLength(1);
      expect(accounts('moodle')).toHaveLength(1);
    });

    it('a failNext at the enrolment itself leaves the user created, and the retry finds and enrolls them', async () => {
      // For a new student the enrol call is the sixth: course, lookup, create, own courses, suspended list.
      let calls = 0;
      const failingAtEnrol = createActivities(moodleSettings(), {
        logger: logs.logger,
        random: noJitter,
        fetch: (input, init) => {
          calls += 1;
          if (calls === 6) sandbox.state.faults.replace({ lms: { failNext: 1 } });
          return fetch(input, init);
        },
      });

      const failure = await failureOf(failingAtEnrol.enrollStudent(student('pay_M1dFa1l00001')));

      expect(failure).toMatchObject({ type: 'DownstreamUnavailable', nonRetryable: false });
      expect(ledger().requests.filter((r) => r.service === 'lms')).toHaveLength(6);
      expect(ledger().requests.at(-1)).toMatchObject({ fault: 'unavailable' });
      expect(accounts('moodle', EMAIL)).toHaveLength(1);
      expect(rows('moodle', EMAIL)).toEqual([]);

      const retry = await activities(moodleSettings()).enrollStudent(student('pay_M1dFa1l00001'));
      expect(retry).toMatchObject({ alreadyEnrolled: false });
      expect(accounts('moodle', EMAIL)).toHaveLength(1);
      expect(rows('moodle', EMAIL)).toEqual([expect.objectContaining({ status: 'active' })]);
    });

    it("a proxy's 429 is RateLimited after its Retry-After", async () => {
      await faults({ rateLimitRate: 1, retryAfter: { seconds: 7 } });

      const failure = await failureOf(activities(moodleSettings()).enrollStudent(student('pay_Thr0ttl3001')));

      expect(failure).toMatchObject({ type: 'RateLimited', nonRetryable: false, nextRetryDelay: 7_000 });
      expect(accounts('moodle')).toEqual([]);
    });
  });

  describe('changeAccess', () => {
    it('suspends, restores and unenrols (MOODLE_REVOKE=unenrol), the ledger following each step', async () => {
      const acts = activities(moodleSettings({ MOODLE_REVOKE: 'unenrol' }));
      const { enrollmentId } = await acts.enrollStudent(student('pay_Chang3000001'));
      await acts.enrollStudent(student('pay_Chang3000001', 'DS-301'));

      expect(await acts.changeAccess(access('suspended'))).toEqual({
        found: true,
        enrollmentId,
        status: 'suspended',
        attempt: 1,
      });
      expect(rows('moodle')[0]).toMatchObject({
        course_id: 'ML-101',
        status: 'suspended',
        lms_state: 'suspended',
      });

      expect(await acts.changeAccess(access('active'))).toMatchObject({ found: true, status: 'active' });
      expect(rows('moodle')[0]).toMatchObject({ status: 'active', lms_state: 'active' });

      expect(await acts.changeAccess(access('revoked'))).toMatchObject({
        found: true,
        enrollmentId,
        status: 'revoked',
      });
      const [ml, ds] = rows('moodle');
      expect(ml).toMatchObject({ status: 'revoked', lms_state: 'unenrolled' });
      expect(ml!.access_changes.map((c) => `${c.from}>${c.to}`)).toEqual([
        'active>suspended',
        'suspended>active',
        'active>revoked',
      ]);
      // The other course of the bundle is untouched.
      expect(ds).toMatchObject({ course_id: 'DS-301', status: 'active', access_changes: [] });

      // Unenrolled: a repeat finds nothing to change, and changes nothing.
      expect(await acts.changeAccess(access('revoked'))).toEqual({ found: false, attempt: 1 });
      expect(rows('moodle')[0]!.access_changes).toHaveLength(3);
    });

    it('revokes by suspending with MOODLE_REVOKE=suspend, once', async () => {
      const acts = activities(moodleSettings({ MOODLE_REVOKE: 'suspend' }));
      const { enrollmentId } = await acts.enrollStudent(student('pay_Rev0keSusp01'));

      expect(await acts.changeAccess(access('revoked'))).toMatchObject({
        found: true,
        enrollmentId,
        status: 'revoked',
      });
      expect(await acts.changeAccess(access('revoked'))).toMatchObject({ found: true, status: 'revoked' });

      expect(rows('moodle')).toEqual([
        expect.objectContaining({ status: 'suspended', lms_state: 'suspended' }),
      ]);
      expect(rows('moodle')[0]!.access_changes).toHaveLength(1);
    });

    it('says found: false for a student Moodle does not know', async () => {
      expect(await activities(moodleSettings()).changeAccess(access('revoked'))).toEqual({
        found: false,
        attempt: 1,
      });
    });

    it('enrolls again after an unenrolment (bought again): a fresh active enrolment', async () => {
      const acts = activities(moodleSettings());
      await acts.enrollStudent(student('pay_Ag4in000001'));
      await acts.changeAccess(access('revoked'));

      expect(await acts.enrollStudent(student('pay_Ag4in000002'))).toMatchObject({ alreadyEnrolled: false });
      expect(rows('moodle').map((e) => e.status)).toEqual(['revoked', 'active']);
      expect(accounts('moodle')).toHaveLength(1);
    });

    it.each(['suspended', 'revoked'] as const)(
      'never reports access %s while the student is also enrolled by another method: a person takes it away there',
      async (status) => {
        const acts = activities(moodleSettings());
        await acts.enrollStudent(student('pay_0therMeth0d1'));
        const user = accounts('moodle', EMAIL)[0]!;
        const selfEnrolment = await jsonPost(`${sandbox.url}/_sandbox/moodle/enrolments`, {
          userid: Number(user.id),
          courseid: 2,
          method: 'self',
        });
        expect(selfEnrolment.status).toBe(201);

        const failure = await failureOf(activityEnv().run(acts.changeAccess, access(status)));
        expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
        expect(failure.message).toContain('keeps access to course ML-101 through another enrolment method');
        // The manual enrolment was changed; the self one still gives access, and Moodle says so.
        const [manual, self] = rows('moodle', EMAIL);
        expect(manual).toMatchObject({ status: status === 'revoked' ? 'revoked' : 'suspended' });
        expect(self).toMatchObject({ lms_method: 'self', status: 'active' });
      },
    );
  });

  describe('a site that hides emails from the token (email not in Show user identity)', () => {
    const hideEmails = () =>
      fetch(`${sandbox.url}/_sandbox/moodle/site`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ emailsVisible: false }),
      });

    it('sends a returning student to review with the setting to check, and makes no second account', async () => {
      const acts = activities(moodleSettings());
      await acts.enrollStudent(student('pay_Hidd3nMail01'));
      await hideEmails();

      const failure = await failureOf(
        activityEnv().run(acts.enrollStudent, student('pay_Hidd3nMail02', 'DS-301')),
      );
      expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
      expect(failure.message).toContain('Show user identity');
      expect(accounts('moodle', EMAIL)).toHaveLength(1);
      // And a refund finds no one: why docs/lms.md makes the setting a step of the set-up.
      expect(await acts.changeAccess(access('revoked'))).toEqual({ found: false, attempt: 1 });
    });
  });
});

describe('the Canvas adapter against the Canvas emulation', () => {
  const lms = (overrides: Record<string, string> = {}) =>
    createCanvasLms(canvasConfig(canvasSettings(overrides)), deps);
  const addCourse = (course: Record<string, unknown>) =>
    jsonPost(`${sandbox.url}/_sandbox/canvas/courses`, course);

  describe('the user-creation race', () => {
    it.each([
      ['two different courses', 'ML-101', 'DS-301', 'login'],
      ['the same course', 'ML-101', 'ML-101', 'login'],
      ['the same course, users by SIS id', 'ML-101', 'ML-101', 'sis'],
    ])(
      'two payments of a new student enrolling at once into %s make one Canvas user',
      async (_label, first, second, userField) => {
        const adapter = lms({ CANVAS_USER_FIELD: userField });
        let bothCreated = 0;
        for (let round = 0; round < ROUNDS; round += 1) {
          const email = `race${round}.student@example.com`;
          const creationsBefore = userCreationsAtCanvas().length;
          const [a, b] = await Promise.all([
            adapter.enroll(student(`pay_RaceA${round}`, first, email)),
            adapter.enroll(student(`pay_RaceB${round}`, second, email)),
          ]);
          const creations = userCreationsAtCanvas().slice(creationsBefore);
          if (creations.length === 2) {
            bothCreated += 1;
            // One created the login, the other found it taken.
            expect(creations.map((r) => r.status).sort()).toEqual([200, 400]);
          }

          const users = accounts('canvas', email);
          expect(users).toHaveLength(1);
          const enrollments = rows('canvas', email);
          expect(enrollments.map((e) => e.course_id).sort()).toEqual([...new Set([first, second])].sort());
          expect(enrollments.every((e) => e.lms_user_id === users[0]!.id && e.lms_state === 'active')).toBe(
            true,
          );
          if (first === second) expect(a.enrollmentId).toBe(b.enrollmentId);
          else expect(a.enrollmentId).not.toBe(b.enrollmentId);
        }
        expect(bothCreated).toBeGreaterThan(0);
        expect(accounts('canvas')).toHaveLength(ROUNDS);
      },
    );
  });

  it('enrolls a bundle (ML-101 and DS-301) under one user, active', async () => {
    const acts = activities(canvasSettings());
    const ml = await acts.enrollStudent(student('pay_Bundl3000001', 'ML-101'));
    const ds = await acts.enrollStudent(student('pay_Bundl3000001', 'DS-301'));

    expect(accounts('canvas')).toEqual([expect.objectContaining({ login: EMAIL, name: 'Asha Rao' })]);
    expect(ml).toMatchObject({ alreadyEnrolled: false, attempt: 1 });
    expect(ds).toMatchObject({ alreadyEnrolled: false, attempt: 1 });
    expect(rows('canvas').map((e) => [e.id, e.course_id, e.status, e.lms_state])).toEqual([
      [ml.enrollmentId, 'ML-101', 'active', 'active'],
      [ds.enrollmentId, 'DS-301', 'active', 'active'],
    ]);
  });

  it('is safe to retry: a second enroll finds the active enrollment, one row', async () => {
    const acts = activities(canvasSettings());
    const first = await acts.enrollStudent(student('pay_R3try000001'));
    const again = await acts.enrollStudent(student('pay_R3try000001'));

    expect(again).toEqual({ enrollmentId: first.enrollmentId, alreadyEnrolled: true, attempt: 1 });
    expect(rows('canvas')).toHaveLength(1);
    expect(userCreationsAtCanvas()).toHaveLength(1);
  });

  it('makes an invitation someone else sent active, under the same id', async () => {
    const { body: user } = await jsonPost(`${sandbox.url}/_sandbox/canvas/users`, {
      login: EMAIL,
      name: 'Asha Rao',
    });
    const invited = await fetch(`${sandbox.url}/canvas/api/v1/courses/101/enrollments`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${credentials.CANVAS_TOKEN}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ 'enrollment[user_id]': String(user.id) }).toString(),
    }).then((r) => r.json() as Promise<{ id: number; enrollment_state: string }>);
    expect(invited.enrollment_state).toBe('invited');

    const result = await activities(canvasSettings()).enrollStudent(student('pay_Inv1t3d00001'));

    expect(result).toMatchObject({ enrollmentId: String(invited.id), alreadyEnrolled: false });
    expect(rows('canvas')).toEqual([expect.objectContaining({ status: 'active', lms_state: 'active' })]);
  });

  it('refuses to enroll over an inactive (suspended) enrollment: LmsRejected', async () => {
    const acts = activities(canvasSettings());
    await acts.enrollStudent(student('pay_Susp3nd0001'));
    await acts.changeAccess(access('suspended'));

    const failure = await failureOf(acts.enrollStudent(student('pay_Susp3nd0002')));

    expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
    expect(failure.details?.[0]).toMatchObject({ code: 'inactive' });
    expect(failure.message).toContain('ML-101');
    expect(rows('canvas')).toEqual([expect.objectContaining({ status: 'suspended', lms_state: 'inactive' })]);
  });

  describe('every error class, as the emulation answers it', () => {
    it('a wrong token is LmsMisconfigured (401), and nothing is created', async () => {
      const failure = await failureOf(
        activities(canvasSettings({ CANVAS_TOKEN: 'wrong-token' })).enrollStudent(student('pay_W0ngT0k3n01')),
      );

      expect(failure).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
      expect(failure.details?.[0]).toMatchObject({ status: 401 });
      expect(failure.message).toContain('CANVAS_TOKEN');
      expect(accounts('canvas')).toEqual([]);
    });

    it('an injected failNext (500) is retryable; the retry enrolls once', async () => {
      const acts = activities(canvasSettings());
      await faults({ failNext: 1 });

      const failure = await failureOf(acts.enrollStudent(student('pay_Fa1lN3xt0001')));

      expect(failure).toMatchObject({ type: 'DownstreamUnavailable', nonRetryable: false });
      expect(failure.details?.[0]).toMatchObject({ status: 500 });
      expect(ledger().requests.at(-1)).toMatchObject({ service: 'lms', status: 500, fault: 'unavailable' });

      await acts.enrollStudent(student('pay_Fa1lN3xt0001'));
      expect(rows('canvas')).toHaveLength(1);
      expect(accounts('canvas')).toHaveLength(1);
    });

    it('the throttle (403 Rate Limit Exceeded, no Retry-After) is RateLimited after THROTTLE_DELAY_MS', async () => {
      await faults({ rateLimitRate: 1 });

      const failure = await failureOf(activities(canvasSettings()).enrollStudent(student('pay_Thr0ttl3001')));

      expect(failure).toMatchObject({
        type: 'RateLimited',
        nonRetryable: false,
        nextRetryDelay: THROTTLE_DELAY_MS,
      });
      expect(failure.details?.[0]).toMatchObject({ status: 403, code: 'rate_limit_exceeded' });
      expect(accounts('canvas')).toEqual([]);
    });

    it('a concluded course is LmsRejected, naming the refusal', async () => {
      await addCourse({ sis_course_id: 'OLD-100', concluded: true });

      const failure = await failureOf(
        activities(canvasSettings()).enrollStudent({ ...student('pay_C0nclud3d01'), courseId: 'OLD-100' }),
      );

      expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
      expect(failure.message).toContain('OLD-100');
      expect(failure.message).toContain('concluded course');
      expect(rows('canvas')).toEqual([]);
    });

    it('a course Canvas does not have is LmsRejected, naming it', async () => {
      const failure = await failureOf(
        activities(canvasSettings()).enrollStudent({ ...student('pay_N0C0urse001'), courseId: 'NOPE-1' }),
      );

      expect(failure).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
      expect(failure.message).toContain('Canvas has no course sis_course_id:NOPE-1');
    });

    it('an unknown account is LmsMisconfigured', async () => {
      const failure = await failureOf(
        activities(canvasSettings({ CANVAS_ACCOUNT_ID: '42' })).enrollStudent(student('pay_N0Acc0unt01')),
      );

      expect(failure).toMatchObject({ type: 'LmsMisconfigured', nonRetryable: true });
      expect(failure.message).toContain('CANVAS_ACCOUNT_ID');
    });
  });

  describe('changeAccess', () => {
    it('deactivates, reactivates and deletes (CANVAS_REVOKE=delete), the ledger following each step', async () => {
      const acts = activities(canvasSettings({ CANVAS_REVOKE: 'delete' }));
      const { enrollmentId } = await acts.enrollStudent(student('pay_Chang3000001'));
      await acts.enrollStudent(student('pay_Chang3000001', 'DS-301'));

      expect(await acts.changeAccess(access('suspended'))).toEqual({
        found: true,
        enrollmentId,
        status: 'suspended',
        attempt: 1,
      });
      expect(rows('canvas')[0]).toMatchObject({ status: 'suspended', lms_state: 'inactive' });

      expect(await acts.changeAccess(access('active'))).toMatchObject({
        found: true,
        enrollmentId,
        status: 'active',
      });
      expect(rows('canvas')[0]).toMatchObject({ status: 'active', lms_state: 'active' });

      expect(await acts.changeAccess(access('revoked'))).toMatchObject({
        found: true,
        enrollmentId,
        status: 'revoked',
      });
      expect(rows('canvas')[0]).toMatchObject({ status: 'revoked', lms_state: 'deleted' });

      // A repeat finds its own work done and changes nothing.
      expect(await acts.changeAccess(access('revoked'))).toMatchObject({
        found: true,
        enrollmentId,
        status: 'revoked',
      });
      const [ml, ds] = rows('canvas');
      expect(ml!.access_changes.map((c) => c.lms_state)).toEqual(['inactive', 'active', 'deleted']);
      expect(ds).toMatchObject({ course_id: 'DS-301', status: 'active', access_changes: [] });
    });

    it('concludes with CANVAS_REVOKE=conclude, once, and refuses to restore a concluded enrollment', async () => {
      const acts = activities(canvasSettings({ CANVAS_REVOKE: 'conclude' }));
      const { enrollmentId } = await acts.enrollStudent(student('pay_C0nclud30001'));

      expect(await acts.changeAccess(access('revoked'))).toMatchObject({ found: true, enrollmentId });
      expect(await acts.changeAccess(access('revoked'))).toMatchObject({ found: true, enrollmentId });
      expect(rows('canvas')).toEqual([
        expect.objectContaining({ status: 'revoked', lms_state: 'completed' }),
      ]);
      expect(rows('canvas')[0]!.access_changes).toHaveLength(1);

      const restore = await failureOf(acts.changeAccess(access('active')));
      expect(restore).toMatchObject({ type: 'LmsRejected', nonRetryable: true });
      expect(restore.details?.[0]).toMatchObject({ code: 'completed' });
      expect(rows('canvas')[0]).toMatchObject({ lms_state: 'completed' });
    });

    it('brings a concluded enrollment back, same id, when the student buys again', async () => {
      const acts = activities(canvasSettings({ CANVAS_REVOKE: 'conclude' }));
      const { enrollmentId } = await acts.enrollStudent(student('pay_Ag4in000001'));
      await acts.changeAccess(access('revoked'));

      expect(await acts.enrollStudent(student('pay_Ag4in000002'))).toMatchObject({
        enrollmentId,
        alreadyEnrolled: false,
      });
      expect(rows('canvas')).toEqual([expect.objectContaining({ status: 'active', lms_state: 'active' })]);
    });

    it('says found: false for a student Canvas does not know', async () => {
      expect(await activities(canvasSettings()).changeAccess(access('revoked'))).toEqual({
        found: false,
        attempt: 1,
      });
    });
  });
});
