/**
 * The Canvas emulation (`/canvas/api/v1`) over real HTTP, as Canvas answers an admin token (facts:
 * users_controller.rb, enrollments_api_controller.rb, course.rb `enroll_user`, enrollment.rb,
 * request_throttle.rb): users by `sis_login_id:`, created under an account; StudentEnrollments
 * created (re-POST returns the same one), listed, concluded, deleted, deactivated and reactivated;
 * Canvas's own error bodies and throttling; side effects checked in the shared ledger.
 */
import type { EnrollmentRecord } from '../../src/sandbox/ledger';
import { call, credentials, FakeClock, jsonPost, useSandbox, type HttpResult } from './harness';

const clock = new FakeClock();
const sb = useSandbox({ now: clock.now });

const api = () => `${sb.url}/canvas/api/v1`;
const AUTH = { authorization: `Bearer ${credentials.CANVAS_TOKEN}` };
const NOT_FOUND = { errors: [{ message: 'The specified resource does not exist.' }] };
const ML101 = 101;
const DS301 = 102;

/** `sis_login_id:<email>` as Canvas documents it: periods as %2E, `@` as %40. */
const sisLogin = (email: string) => `sis_login_id:${encodeURIComponent(email).replace(/\./g, '%2E')}`;

const send = (
  method: string,
  path: string,
  fields?: Record<string, string>,
  headers: Record<string, string> = AUTH,
) =>
  call(`${api()}${path}`, {
    method,
    headers: { ...headers, ...(fields && { 'content-type': 'application/x-www-form-urlencoded' }) },
    ...(fields && { body: new URLSearchParams(fields).toString() }),
  });
const get = (path: string, headers: Record<string, string> = AUTH) => send('GET', path, undefined, headers);

const createUser = (email: string, extra: Record<string, string> = {}, account = 'self') =>
  send('POST', `/accounts/${account}/users`, {
    'user[name]': 'Asha Rao',
    'pseudonym[unique_id]': email,
    ...extra,
  });

async function newUserId(email = 'asha.rao@example.com'): Promise<number> {
  const res = await createUser(email);
  if (res.status !== 200) throw new Error(`user not created: ${JSON.stringify(res.body)}`);
  return res.body.id as number;
}

const enroll = (course: string | number, userId: number | string, state?: string) =>
  send('POST', `/courses/${course}/enrollments`, {
    'enrollment[user_id]': String(userId),
    'enrollment[type]': 'StudentEnrollment',
    ...(state !== undefined && { 'enrollment[enrollment_state]': state }),
  });
const end = (course: string | number, id: number, task?: string) =>
  send('DELETE', `/courses/${course}/enrollments/${id}${task === undefined ? '' : `?task=${task}`}`);
const reactivate = (course: string | number, id: number) =>
  send('PUT', `/courses/${course}/enrollments/${id}/reactivate`);
const list = (course: string | number, query: string) => get(`/courses/${course}/enrollments?${query}`);
const stateIds = (res: HttpResult) =>
  (res.body as Array<{ id: number; enrollment_state: string }>).map((e) => `${e.id}:${e.enrollment_state}`);

const addCourse = (course: Record<string, unknown>) => jsonPost(`${sb.url}/_sandbox/canvas/courses`, course);
const canvasRows = async (): Promise<EnrollmentRecord[]> =>
  (await sb.ledger()).enrollments.filter((e) => e.lms === 'canvas');
const canvasUsers = async () => (await sb.ledger()).lmsUsers.filter((u) => u.lms === 'canvas');
const lmsRequests = async () => (await sb.ledger()).requests.filter((r) => r.service === 'lms');

describe('sandbox Canvas API', () => {
  describe('authentication', () => {
    it('answers no credentials with 401 unauthenticated and WWW-Authenticate', async () => {
      const res = await get(`/users/${sisLogin('asha.rao@example.com')}`, {});

      expect(res.status).toBe(401);
      expect(res.body).toEqual({
        status: 'unauthenticated',
        errors: [{ message: 'user authorization required' }],
      });
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="canvas-lms"');
    });

    it('answers a wrong token with 401 "Invalid access token." and creates nothing', async () => {
      const res = await send(
        'POST',
        '/accounts/self/users',
        { 'pseudonym[unique_id]': 'asha.rao@example.com' },
        { authorization: 'Bearer not-the-token' },
      );

      expect(res.status).toBe(401);
      expect(res.body).toEqual({ errors: [{ message: 'Invalid access token.' }] });
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="canvas-lms"');
      expect(await canvasUsers()).toEqual([]);
    });
  });

  describe('users', () => {
    it('creates a user under the account with 200 and the user json', async () => {
      const res = await createUser('asha.rao@example.com');

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: 2,
        name: 'Asha Rao',
        login_id: 'asha.rao@example.com',
        sis_user_id: null,
        created_at: '2026-03-01T10:00:00.000Z',
      });
      expect(res.body).toHaveProperty('locale');
      expect(res.body).toHaveProperty('uuid');
      expect(await canvasUsers()).toEqual([
        expect.objectContaining({ lms: 'canvas', id: '2', login: 'asha.rao@example.com', name: 'Asha Rao' }),
      ]);
    });

    it('finds a user by percent-encoded sis_login_id (%2E, %40), without case', async () => {
      const id = await newUserId('asha.rao@example.com');
      const path = `/users/${sisLogin('ASHA.Rao@Example.COM')}`;

      expect(path).toContain('%2E');
      expect(path).toContain('%40');
      const res = await get(path);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, login_id: 'asha.rao@example.com' });
    });

    it('answers an unknown user with 404 and the standard body', async () => {
      await newUserId('asha.rao@example.com');
      const res = await get(`/users/${sisLogin('nobody@example.com')}`);

      expect(res.status).toBe(404);
      expect(res.body).toEqual(NOT_FOUND);
    });

    it('finds a user by sis_user_id and by id', async () => {
      const res = await createUser('asha.rao@example.com', { 'pseudonym[sis_user_id]': 'S-0001' });

      expect((await get('/users/sis_user_id:S-0001')).body).toMatchObject({
        id: res.body.id,
        sis_user_id: 'S-0001',
      });
      expect((await get(`/users/${res.body.id}`)).body).toMatchObject({ id: res.body.id });
    });

    it('refuses a taken login (in another case) with 400 and the nested "taken" body', async () => {
      await newUserId('asha.rao@example.com');
      const res = await createUser('Asha.Rao@EXAMPLE.com');

      expect(res.status).toBe(400);
      expect(res.body).toEqual({
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
      });
      expect(await canvasUsers()).toHaveLength(1);
    });

    it('refuses a taken sis_user_id with 400 "SIS ID ... is already in use"', async () => {
      await createUser('asha.rao@example.com', { 'pseudonym[sis_user_id]': 'S-0001' });
      const res = await createUser('ravi.kumar@example.com', { 'pseudonym[sis_user_id]': 'S-0001' });

      expect(res.status).toBe(400);
      expect(res.body.errors.pseudonym).toEqual({
        sis_user_id: [
          { attribute: 'sis_user_id', type: 'taken', message: 'SIS ID "S-0001" is already in use' },
        ],
      });
      expect(await canvasUsers()).toHaveLength(1);
    });

    it('takes the same login under another authentication provider', async () => {
      await newUserId('asha.rao@example.com');
      const saml = await createUser('asha.rao@example.com', {
        'pseudonym[authentication_provider_id]': 'saml',
      });

      expect(saml.status).toBe(200);
      expect(await canvasUsers()).toHaveLength(2);
    });

    it('answers 404 for an unknown authentication provider or account, creating nothing', async () => {
      const provider = await createUser('asha.rao@example.com', {
        'pseudonym[authentication_provider_id]': '99',
      });
      const account = await createUser('asha.rao@example.com', {}, '42');

      expect(provider.status).toBe(404);
      expect(provider.body).toEqual(NOT_FOUND);
      expect(account.status).toBe(404);
      expect(account.body).toEqual(NOT_FOUND);
      expect(await canvasUsers()).toEqual([]);
      // The root account by its number works like self.
      expect((await createUser('asha.rao@example.com', {}, '1')).status).toBe(200);
    });
  });

  describe('creating enrollments', () => {
    it('creates an invited StudentEnrollment by default', async () => {
      const userId = await newUserId();
      const res = await enroll(ML101, userId);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        course_id: ML101,
        sis_course_id: 'ML-101',
        user_id: userId,
        type: 'StudentEnrollment',
        enrollment_state: 'invited',
      });
      expect(await canvasRows()).toEqual([
        expect.objectContaining({
          id: String(res.body.id),
          lms: 'canvas',
          course_id: 'ML-101',
          status: 'pending',
          lms_state: 'invited',
          lms_user_id: String(userId),
          lms_course_id: String(ML101),
        }),
      ]);
    });

    it('creates an active one with enrollment_state=active', async () => {
      const userId = await newUserId();
      const res = await enroll(ML101, userId, 'active');

      expect(res.body.enrollment_state).toBe('active');
      expect(await canvasRows()).toEqual([
        expect.objectContaining({ status: 'active', lms_state: 'active' }),
      ]);
    });

    it('answers a second POST for the same user with the same enrollment, no second row', async () => {
      const userId = await newUserId();
      const first = await enroll(ML101, userId);
      const activated = await enroll(ML101, userId, 'active');
      const again = await enroll(ML101, userId);

      expect(activated.body.id).toBe(first.body.id);
      expect(activated.body.enrollment_state).toBe('active');
      // Active already: returned as it is, not set back to invited.
      expect(again.body).toMatchObject({ id: first.body.id, enrollment_state: 'active' });
      expect(await canvasRows()).toHaveLength(1);
    });

    it('brings a deleted enrollment back, same id, active, on a re-POST', async () => {
      const userId = await newUserId();
      const { body: first } = await enroll(ML101, userId, 'active');
      expect((await end(ML101, first.id, 'delete')).body.enrollment_state).toBe('deleted');

      const back = await enroll(ML101, userId, 'active');

      expect(back.status).toBe(200);
      expect(back.body).toMatchObject({ id: first.id, enrollment_state: 'active' });
      const rows = await canvasRows();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.access_changes.map((c) => `${c.from}>${c.to}`)).toEqual([
        'active>revoked',
        'revoked>active',
      ]);
    });

    it('refuses a concluded course with 400', async () => {
      const userId = await newUserId();
      const { body: course } = await addCourse({ sis_course_id: 'OLD-100', concluded: true });

      const res = await enroll(course.id, userId, 'active');

      expect(res.status).toBe(400);
      expect(res.body).toEqual({ message: "Can't add an enrollment to a concluded course." });
      expect(await canvasRows()).toEqual([]);
    });

    it('creates creation_pending in an unpublished course by default', async () => {
      const userId = await newUserId();
      const { body: course } = await addCourse({ sis_course_id: 'NEW-100', published: false });

      expect((await enroll(course.id, userId)).body.enrollment_state).toBe('creation_pending');
    });

    it('answers an unknown user with 404, a missing user_id and no parameters with 400', async () => {
      const unknown = await enroll(ML101, 999, 'active');
      const noUser = await send('POST', `/courses/${ML101}/enrollments`, {
        'enrollment[type]': 'StudentEnrollment',
      });
      const nothing = await send('POST', `/courses/${ML101}/enrollments`, {});

      expect(unknown.status).toBe(404);
      expect(unknown.body).toEqual(NOT_FOUND);
      expect(noUser.status).toBe(400);
      expect(noUser.body.message).toMatch(/^Can't create an enrollment without a user/);
      expect(nothing.status).toBe(400);
      expect(nothing.body).toEqual({ message: 'No parameters given' });
    });
  });

  describe('listing enrollments', () => {
    let active: number;
    let invited: number;
    let inactive: number;
    let completed: number;
    let ids: Record<string, number>;
    beforeEach(async () => {
      active = await newUserId('active@example.com');
      invited = await newUserId('invited@example.com');
      inactive = await newUserId('inactive@example.com');
      completed = await newUserId('completed@example.com');
      ids = {
        active: (await enroll(ML101, active, 'active')).body.id,
        invited: (await enroll(ML101, invited)).body.id,
        inactive: (await enroll(ML101, inactive, 'active')).body.id,
        completed: (await enroll(ML101, completed, 'active')).body.id,
      };
      await end(ML101, ids.inactive!, 'deactivate');
      await end(ML101, ids.completed!, 'conclude');
    });

    it("lists another user's enrollments as active and invited only when state[] is omitted", async () => {
      expect(stateIds(await list(ML101, `user_id=${active}`))).toEqual([`${ids.active}:active`]);
      expect(stateIds(await list(ML101, `user_id=${invited}`))).toEqual([`${ids.invited}:invited`]);
      expect(stateIds(await list(ML101, `user_id=${inactive}`))).toEqual([]);
      expect(stateIds(await list(ML101, `user_id=${completed}`))).toEqual([]);
    });

    it('filters by state[]', async () => {
      expect(stateIds(await list(ML101, `user_id=${inactive}&state[]=inactive`))).toEqual([
        `${ids.inactive}:inactive`,
      ]);
      expect(stateIds(await list(ML101, 'state[]=completed'))).toEqual([`${ids.completed}:completed`]);
      expect(stateIds(await list(ML101, 'state[]=active&state[]=inactive')).sort()).toEqual(
        [`${ids.active}:active`, `${ids.inactive}:inactive`].sort(),
      );
    });

    it('lists the roster of every live state to an admin when neither user_id nor state[] is given (all_active_or_pending)', async () => {
      expect(stateIds(await list(ML101, 'per_page=100')).sort()).toEqual(
        [`${ids.active}:active`, `${ids.invited}:invited`, `${ids.inactive}:inactive`].sort(),
      );
    });

    it('answers the list with pagination links, 404 for an unknown course', async () => {
      const res = await list(ML101, 'per_page=100');

      expect(res.status).toBe(200);
      expect(res.headers.get('link')).toMatch(/rel="current"/);
      expect((await list('sis_course_id:NOPE-1', 'per_page=10')).status).toBe(404);
    });
  });

  describe('ending and reactivating enrollments', () => {
    let userId: number;
    let enrollmentId: number;
    beforeEach(async () => {
      userId = await newUserId();
      enrollmentId = (await enroll(ML101, userId, 'active')).body.id;
    });
    const row = async () => (await canvasRows())[0]!;

    it('deactivates (inactive, suspended) and reactivates (active)', async () => {
      const deactivated = await end(ML101, enrollmentId, 'deactivate');

      expect(deactivated.status).toBe(200);
      expect(deactivated.body).toMatchObject({ id: enrollmentId, enrollment_state: 'inactive' });
      expect(await row()).toMatchObject({ status: 'suspended', lms_state: 'inactive' });

      const reactivated = await reactivate(ML101, enrollmentId);

      expect(reactivated.status).toBe(200);
      expect(reactivated.body).toMatchObject({ id: enrollmentId, enrollment_state: 'active' });
      expect(await row()).toMatchObject({ status: 'active', lms_state: 'active' });
    });

    it('concludes by default (completed, revoked)', async () => {
      const res = await end(ML101, enrollmentId);

      expect(res.status).toBe(200);
      expect(res.body.enrollment_state).toBe('completed');
      expect(await row()).toMatchObject({ status: 'revoked', lms_state: 'completed' });
    });

    it('concludes with task=conclude and deletes with task=delete (deleted, revoked)', async () => {
      expect((await end(ML101, enrollmentId, 'conclude')).body.enrollment_state).toBe('completed');
      const deleted = await end(ML101, enrollmentId, 'delete');

      expect(deleted.body.enrollment_state).toBe('deleted');
      expect(await row()).toMatchObject({ status: 'revoked', lms_state: 'deleted' });
    });

    it('reactivates only from inactive: 400 {"error":"enrollment not inactive"} otherwise', async () => {
      const fromActive = await reactivate(ML101, enrollmentId);
      await end(ML101, enrollmentId, 'conclude');
      const fromCompleted = await reactivate(ML101, enrollmentId);

      expect(fromActive.status).toBe(400);
      expect(fromActive.body).toEqual({ error: 'enrollment not inactive' });
      expect(fromCompleted.status).toBe(400);
      expect(fromCompleted.body).toEqual({ error: 'enrollment not inactive' });
      expect(await row()).toMatchObject({ lms_state: 'completed' });
    });

    it('answers 404 for a deleted enrollment, and for one of another course', async () => {
      await end(ML101, enrollmentId, 'delete');

      const again = await end(ML101, enrollmentId, 'conclude');
      const reactivated = await reactivate(ML101, enrollmentId);
      const elsewhere = await end(DS301, enrollmentId, 'delete');

      expect(again.status).toBe(404);
      expect(again.body).toEqual(NOT_FOUND);
      expect(reactivated.status).toBe(404);
      expect(elsewhere.status).toBe(404);
      expect(await row()).toMatchObject({ lms_state: 'deleted' });
    });
  });

  describe('courses by SIS id', () => {
    it('takes sis_course_id:<id> wherever a course id goes', async () => {
      const userId = await newUserId();
      const created = await enroll('sis_course_id:DS-301', userId, 'active');

      expect(created.body).toMatchObject({ course_id: DS301, sis_course_id: 'DS-301' });
      expect(stateIds(await list('sis_course_id:DS-301', `user_id=${userId}`))).toEqual([
        `${created.body.id}:active`,
      ]);
      expect((await end('sis_course_id:DS-301', created.body.id, 'deactivate')).body.enrollment_state).toBe(
        'inactive',
      );
      expect((await reactivate('sis_course_id:DS-301', created.body.id)).body.enrollment_state).toBe(
        'active',
      );
      expect((await enroll('sis_course_id:NOPE-1', userId)).status).toBe(404);
    });

    it('decodes a percent-encoded period in the SIS id', async () => {
      const userId = await newUserId();
      const { body: course } = await addCourse({ sis_course_id: 'CS.101' });

      const res = await enroll('sis_course_id:CS%2E101', userId, 'active');

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ course_id: course.id, sis_course_id: 'CS.101' });
    });

    it('restores the seeded courses on reset', async () => {
      await addCourse({ sis_course_id: 'CS.101' });
      await call(`${sb.url}/_sandbox/reset`, { method: 'POST' });

      const courses = (await call(`${sb.url}/_sandbox/canvas/courses`)).body as Array<
        Record<string, unknown>
      >;
      expect(courses.map((c) => [c.id, c.sis_course_id])).toEqual([
        [ML101, 'ML-101'],
        [DS301, 'DS-301'],
      ]);
    });
  });

  describe('rate headers, throttling and injected faults', () => {
    it('sends X-Request-Cost and X-Rate-Limit-Remaining on normal answers, errors included', async () => {
      const ok = await createUser('asha.rao@example.com');
      const missing = await get(`/users/${sisLogin('nobody@example.com')}`);

      for (const res of [ok, missing]) {
        expect(res.headers.get('x-request-cost')).toMatch(/^\d+\.\d+$/);
        expect(res.headers.get('x-rate-limit-remaining')).toMatch(/^\d+\.\d+$/);
      }
    });

    it('throttles with 403 text/plain "403 Forbidden (Rate Limit Exceeded)", Remaining 0.0, no Retry-After', async () => {
      // Even with a Retry-After configured: Canvas never sends one.
      await sb.putFaults({ lms: { rateLimitRate: 1, retryAfter: { seconds: 30 } } });

      const res = await fetch(`${api()}/accounts/self/users`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ 'pseudonym[unique_id]': 'asha.rao@example.com' }).toString(),
      });

      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await res.text()).toBe('403 Forbidden (Rate Limit Exceeded)\n');
      expect(res.headers.get('x-rate-limit-remaining')).toBe('0.0');
      expect(res.headers.get('retry-after')).toBeNull();
      expect(res.headers.get('x-request-cost')).toBeNull();
      expect(await canvasUsers()).toEqual([]);
      expect(await lmsRequests()).toEqual([
        expect.objectContaining({
          service: 'lms',
          method: 'POST',
          path: '/canvas/api/v1/accounts/self/users',
          status: 403,
          fault: 'rateLimited',
        }),
      ]);
    });

    it('answers failNext with a 500 before any side effect, recorded as a fault', async () => {
      const userId = await newUserId();
      await sb.patchFaults({ lms: { failNext: 1 } });

      const failed = await enroll(ML101, userId, 'active');

      expect(failed.status).toBe(500);
      expect(failed.body).toEqual({
        errors: [{ message: 'An error occurred.', error_code: 'internal_server_error' }],
      });
      expect(await canvasRows()).toEqual([]);
      expect((await lmsRequests()).at(-1)).toMatchObject({ status: 500, fault: 'unavailable' });
      expect((await enroll(ML101, userId, 'active')).status).toBe(200);
      expect(await canvasRows()).toHaveLength(1);
    });

    it('answers the credentials before faults: a wrong token gets its 401 even when throttling', async () => {
      await sb.putFaults({ lms: { rateLimitRate: 1 } });

      const res = await get(`/users/${sisLogin('asha.rao@example.com')}`, { authorization: 'Bearer wrong' });

      expect(res.status).toBe(401);
    });
  });
});
