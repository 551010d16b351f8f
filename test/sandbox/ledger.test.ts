import {
  accessToken,
  call,
  contactInput,
  enroll,
  sendWhatsApp,
  student,
  upsertContacts,
  useSandbox,
  welcomeTemplate,
} from './harness';

const sb = useSandbox();

describe('sandbox ledger and control routes', () => {
  it('starts empty', async () => {
    expect(await sb.ledger()).toEqual({
      enrollments: [],
      lmsUsers: [],
      messages: [],
      contacts: [],
      contactUpserts: [],
      tokensIssued: 0,
      requests: [],
    });
  });

  it('logs every request to the three services, failed and faulted ones included', async () => {
    await sb.putFaults({ whatsapp: { failNext: 1 } });
    await enroll(sb, student, 'key-1');
    await enroll(sb, student); // 400: no key
    await sendWhatsApp(sb, welcomeTemplate()); // 503: injected
    await sendWhatsApp(sb, welcomeTemplate(), { token: 'wrong' }); // 401
    const token = await accessToken(sb);
    await upsertContacts(sb, token, [contactInput('a@example.com')]);
    await call(`${sb.url}/lms/nope`);
    await call(`${sb.url}/healthz`);

    const { requests } = await sb.ledger();

    expect(
      requests.map(({ service, method, path, status, idempotencyKey }) => ({
        service,
        method,
        path,
        status,
        idempotencyKey,
      })),
    ).toEqual([
      { service: 'lms', method: 'POST', path: '/lms/api/enrollments', status: 201, idempotencyKey: 'key-1' },
      {
        service: 'lms',
        method: 'POST',
        path: '/lms/api/enrollments',
        status: 400,
        idempotencyKey: undefined,
      },
      {
        service: 'whatsapp',
        method: 'POST',
        path: '/whatsapp/v21.0/106540352242922/messages',
        status: 503,
        idempotencyKey: undefined,
      },
      {
        service: 'whatsapp',
        method: 'POST',
        path: '/whatsapp/v21.0/106540352242922/messages',
        status: 401,
        idempotencyKey: undefined,
      },
      {
        service: 'hubspot',
        method: 'POST',
        path: '/hubspot/oauth/v1/token',
        status: 200,
        idempotencyKey: undefined,
      },
      {
        service: 'hubspot',
        method: 'POST',
        path: '/hubspot/crm/v3/objects/contacts/batch/upsert',
        status: 200,
        idempotencyKey: undefined,
      },
      { service: 'lms', method: 'GET', path: '/lms/nope', status: 404, idempotencyKey: undefined },
    ]);
    expect(requests.every((r) => typeof r.at === 'string' && typeof r.ms === 'number')).toBe(true);
    expect('idempotencyKey' in requests[1]!).toBe(false);
  });

  it('drops the query string from logged paths', async () => {
    await call(`${sb.url}/lms/api/enrollments?external_ref=secret-ish`, { headers: { 'x-api-key': 'x' } });

    expect((await sb.ledger()).requests[0]!.path).toBe('/lms/api/enrollments');
  });

  it('reset clears the ledger, the faults and the LMS idempotency memory', async () => {
    await sb.putFaults({ hubspot: { errorRate: 0.5 } });
    await enroll(sb, student, 'key-1');
    await sendWhatsApp(sb, welcomeTemplate());
    await upsertContacts(sb, await accessToken(sb), [contactInput('a@example.com')]);

    const reset = await call(`${sb.url}/_sandbox/reset`, { method: 'POST' });
    const faults = await call(`${sb.url}/_sandbox/faults`);
    const afterReset = await sb.ledger();
    const again = await enroll(sb, student, 'key-1');

    expect(reset.status).toBe(200);
    expect(faults.body).toEqual({});
    expect(afterReset).toEqual({
      enrollments: [],
      lmsUsers: [],
      messages: [],
      contacts: [],
      contactUpserts: [],
      tokensIssued: 0,
      requests: [],
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.id).toBe('enr_1');
  });

  it('keeps issued HubSpot tokens valid across a reset (a running worker caches one)', async () => {
    const token = await accessToken(sb);
    await call(`${sb.url}/_sandbox/reset`, { method: 'POST' });

    expect((await upsertContacts(sb, token, [contactInput('a@example.com')])).status).toBe(200);
  });

  it('returns a copy: editing a snapshot does not change the ledger', async () => {
    await enroll(sb, student, 'key-1');
    const snapshot = sb.state.snapshot();
    snapshot.enrollments.pop();

    expect(sb.state.snapshot().enrollments).toHaveLength(1);
  });

  it('answers /healthz with 200', async () => {
    const res = await call(`${sb.url}/healthz`);

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers 404 outside the known prefixes and 400 for malformed control JSON', async () => {
    const unknown = await call(`${sb.url}/stripe/v1/charges`);
    const malformed = await call(`${sb.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });

    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toBe('invalid_json');
  });
});
