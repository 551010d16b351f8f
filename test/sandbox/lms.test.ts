import { call, enroll, FakeClock, jsonPost, lmsHeaders, student, useSandbox } from './harness';

const access = (id: string, body: unknown, key?: string) =>
  jsonPost(`${sb.url}/lms/api/enrollments/${id}/access`, body, lmsHeaders(key));
const refund = { reason: 'full refund', external_ref: 'razorpay:rfnd_Q1' };

const clock = new FakeClock();
const sb = useSandbox({ now: clock.now });

describe('sandbox LMS', () => {
  it('enrolls a new student in a course with 201 and records it in the ledger', async () => {
    const res = await enroll(sb, student, 'key-1');

    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: 'enr_1',
      email: student.email,
      course_id: student.course_id,
      external_ref: student.external_ref,
      status: 'active',
      created_at: '2026-03-01T10:00:00.000Z',
      status_changed_at: null,
      status_reason: null,
    });
    const ledger = await sb.ledger();
    const { status_changed_at: _changed, status_reason: _reason, ...stored } = res.body;
    expect(ledger.enrollments).toEqual([
      { ...stored, lms: 'generic', name: student.name, idempotencyKey: 'key-1', access_changes: [] },
    ]);
  });

  it('answers 409 with the existing enrollment for an enrolled pair, without recording another', async () => {
    const first = await enroll(sb, student, 'key-1');
    const again = await enroll(
      sb,
      { ...student, email: student.email.toUpperCase(), external_ref: 'other' },
      'key-2',
    );

    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: 'already_enrolled', enrollment: first.body });
    expect((await sb.ledger()).enrollments).toHaveLength(1);
  });

  it('enrolls the same student in a different course', async () => {
    await enroll(sb, student, 'key-1');
    const other = await enroll(sb, { ...student, course_id: 'course_go_201' }, 'key-2');

    expect(other.status).toBe(201);
    expect(other.body.id).toBe('enr_2');
  });

  it('replays the original response for the same key and body, with no new side effect', async () => {
    const first = await enroll(sb, student, 'key-1');
    // Same content, different key order and whitespace: still the same request.
    const reordered = JSON.stringify({
      external_ref: student.external_ref,
      course_id: student.course_id,
      name: student.name,
      email: student.email,
    });
    const replay = await enroll(sb, reordered, 'key-1');

    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect((await sb.ledger()).enrollments).toHaveLength(1);
  });

  it('replays a 409 as a 409 for the key that got it', async () => {
    await enroll(sb, student, 'key-1');
    const conflict = await enroll(sb, student, 'key-2');
    const replay = await enroll(sb, student, 'key-2');

    expect(conflict.status).toBe(409);
    expect(replay.status).toBe(409);
    expect(replay.body).toEqual(conflict.body);
  });

  it('refuses a reused key with a different body with 422 idempotency_key_reused', async () => {
    await enroll(sb, student, 'key-1');
    const reused = await enroll(sb, { ...student, course_id: 'course_go_201' }, 'key-1');

    expect(reused.status).toBe(422);
    expect(reused.body).toEqual({
      error: 'idempotency_key_reused',
      message: 'This Idempotency-Key was already used with a different request body',
    });
    expect((await sb.ledger()).enrollments).toHaveLength(1);
  });

  it('answers 401 without the right API key and records nothing', async () => {
    const missing = await jsonPost(`${sb.url}/lms/api/enrollments`, student, { 'idempotency-key': 'k' });
    const wrong = await jsonPost(`${sb.url}/lms/api/enrollments`, student, lmsHeaders('k', 'nope'));

    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'unauthorized' });
    expect(wrong.status).toBe(401);
    expect((await sb.ledger()).enrollments).toEqual([]);
  });

  it('answers 400 when the Idempotency-Key header is missing', async () => {
    const res = await enroll(sb, student);

    expect(res.status).toBe(400);
    expect(res.body.error).toBe('idempotency_key_required');
    expect((await sb.ledger()).enrollments).toEqual([]);
  });

  it('answers 422 invalid_request with per-field details for a bad body', async () => {
    const res = await enroll(sb, { email: 'not-an-email', name: 'Asha', external_ref: 'x' }, 'key-1');

    expect(res.status).toBe(422);
    expect(res.body.error).toBe('invalid_request');
    expect((res.body.details as Array<{ field: string }>).map((d) => d.field).sort()).toEqual([
      'course_id',
      'email',
    ]);
  });

  it('lets a corrected retry with the same key succeed after a validation error', async () => {
    await enroll(sb, { ...student, email: 'broken' }, 'key-1');
    const fixed = await enroll(sb, student, 'key-1');

    expect(fixed.status).toBe(201);
  });

  it('answers 400 invalid_request for malformed JSON', async () => {
    const res = await enroll(sb, '{"email":', 'key-1');

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', message: 'Request body is not valid JSON' });
  });

  it('lists enrollments by external_ref for check-then-create', async () => {
    await enroll(sb, student, 'key-1');
    await enroll(sb, { ...student, email: 'ravi@example.com', external_ref: 'stripe:pi_1' }, 'key-2');

    const found = await call(
      `${sb.url}/lms/api/enrollments?external_ref=${encodeURIComponent(student.external_ref)}`,
      {
        headers: lmsHeaders(),
      },
    );
    const none = await call(`${sb.url}/lms/api/enrollments?external_ref=unknown`, { headers: lmsHeaders() });
    const unauthorized = await call(`${sb.url}/lms/api/enrollments?external_ref=x`);

    expect(found.status).toBe(200);
    expect(found.body.data).toHaveLength(1);
    expect(found.body.data[0]).toMatchObject({ id: 'enr_1', external_ref: student.external_ref });
    expect(none.body).toEqual({ data: [] });
    expect(unauthorized.status).toBe(401);
  });

  describe('access: suspend, restore, revoke', () => {
    it('suspends, restores and revokes, recording each change once with its cause', async () => {
      const { body: e } = await enroll(sb, student, 'key-1');
      const suspended = await access(
        e.id,
        { status: 'suspended', reason: 'dispute opened', external_ref: 'razorpay:disp_1' },
        'k-s',
      );
      expect(suspended.status).toBe(200);
      expect(suspended.body).toMatchObject({
        id: e.id,
        status: 'suspended',
        status_reason: 'dispute opened',
      });
      const restored = await access(
        e.id,
        { status: 'active', reason: 'dispute won', external_ref: 'razorpay:disp_1' },
        'k-a',
      );
      expect(restored.body.status).toBe('active');
      const revoked = await access(e.id, { status: 'revoked', ...refund }, 'k-r');
      expect(revoked.body.status).toBe('revoked');
      const [stored] = (await sb.ledger()).enrollments;
      expect(stored!.access_changes.map((c: { from: string; to: string }) => `${c.from}>${c.to}`)).toEqual([
        'active>suspended',
        'suspended>active',
        'active>revoked',
      ]);
      expect(stored!.access_changes[2]).toMatchObject({
        external_ref: 'razorpay:rfnd_Q1',
        idempotencyKey: 'k-r',
      });
    });

    it('answers a repeat with the same key by replaying, and a second revoke with another key as a no-op', async () => {
      const { body: e } = await enroll(sb, student, 'key-1');
      const first = await access(e.id, { status: 'revoked', ...refund }, 'k-r');
      const replay = await access(e.id, { status: 'revoked', ...refund }, 'k-r');
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
      const again = await access(
        e.id,
        { status: 'revoked', reason: 'second refund', external_ref: 'razorpay:rfnd_Q2' },
        'k-r2',
      );
      expect(again.status).toBe(200);
      expect((await sb.ledger()).enrollments[0]!.access_changes).toHaveLength(1);
    });

    it('refuses to restore a revoked enrollment with 409 enrollment_revoked', async () => {
      const { body: e } = await enroll(sb, student, 'key-1');
      await access(e.id, { status: 'revoked', ...refund }, 'k-r');
      const restore = await access(e.id, { status: 'active', reason: 'oops', external_ref: 'x' }, 'k-a');
      expect(restore.status).toBe(409);
      expect(restore.body).toMatchObject({ error: 'enrollment_revoked', enrollment: { status: 'revoked' } });
    });

    it('enrolls a student again after a revocation (bought again), and answers 409 with a suspended one', async () => {
      const { body: first } = await enroll(sb, student, 'key-1');
      await access(first.id, { status: 'revoked', ...refund }, 'k-r');
      const again = await enroll(sb, { ...student, external_ref: 'razorpay:pay_again' }, 'key-2');
      expect(again.status).toBe(201);
      expect(again.body).toMatchObject({ status: 'active', external_ref: 'razorpay:pay_again' });
      expect(again.body.id).not.toBe(first.id);
      await access(again.body.id, { status: 'suspended', ...refund }, 'k-s');
      const third = await enroll(sb, { ...student, external_ref: 'razorpay:pay_third' }, 'key-3');
      expect(third.status).toBe(409);
      expect(third.body).toMatchObject({ error: 'already_enrolled', enrollment: { status: 'suspended' } });
    });

    it('answers 404 for an unknown enrollment, 422 for a bad status, 400 without a key, 401 without the API key', async () => {
      const { body: e } = await enroll(sb, student, 'key-1');
      expect((await access('enr_999', { status: 'revoked', ...refund }, 'k-1')).status).toBe(404);
      const bad = await access(e.id, { status: 'deleted', ...refund }, 'k-2');
      expect(bad.status).toBe(422);
      expect(bad.body.error).toBe('invalid_request');
      expect((await access(e.id, { status: 'revoked', ...refund })).status).toBe(400);
      const anonymous = await jsonPost(
        `${sb.url}/lms/api/enrollments/${e.id}/access`,
        { status: 'revoked', ...refund },
        lmsHeaders('k-3', 'wrong'),
      );
      expect(anonymous.status).toBe(401);
      expect((await sb.ledger()).enrollments[0]!.status).toBe('active');
    });

    it('refuses a key first used to enroll when it comes back to change access (422)', async () => {
      const { body: e } = await enroll(sb, student, 'key-1');
      const reused = await access(e.id, { status: 'revoked', ...refund }, 'key-1');
      expect(reused.status).toBe(422);
      expect(reused.body.error).toBe('idempotency_key_reused');
    });
  });
});
