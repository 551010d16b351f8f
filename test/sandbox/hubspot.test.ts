import {
  accessToken,
  call,
  contactInput,
  credentials,
  FakeClock,
  hubspotToken,
  upsertContacts,
  useSandbox,
} from './harness';

const clock = new FakeClock();
const sb = useSandbox({ now: clock.now });

beforeEach(() => {
  clock.ms = Date.parse('2026-03-01T10:00:00.000Z');
});

describe('sandbox HubSpot OAuth token endpoint', () => {
  it('issues a new bearer token per refresh grant and counts each issue', async () => {
    const first = await hubspotToken(sb);
    const second = await hubspotToken(sb);

    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      access_token: expect.any(String),
      refresh_token: credentials.HUBSPOT_REFRESH_TOKEN,
      expires_in: 1800,
      token_type: 'bearer',
    });
    expect(second.body.access_token).not.toBe(first.body.access_token);
    expect((await sb.ledger()).tokensIssued).toBe(2);
    // The older token stays valid until its own expiry.
    const withOld = await upsertContacts(sb, first.body.access_token as string, [
      contactInput('a@example.com'),
    ]);
    expect(withOld.status).toBe(200);
  });

  it.each([
    ['refresh_token', 'missing or invalid refresh token'],
    ['client_id', 'missing or unknown client id'],
    ['client_secret', 'missing or invalid client secret'],
  ])('answers 400 BAD_REFRESH_TOKEN for a wrong %s without echoing any secret', async (field, message) => {
    const res = await hubspotToken(sb, { [field]: 'wrong-value' });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 'BAD_REFRESH_TOKEN', message });
    expect(JSON.stringify(res.body)).not.toContain('hs-');
    expect((await sb.ledger()).tokensIssued).toBe(0);
  });

  it('answers 400 for a grant type other than refresh_token', async () => {
    const res = await hubspotToken(sb, { grant_type: 'authorization_code' });

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ status: 'BAD_GRANT_TYPE', message: 'grant_type must be refresh_token' });
  });

  it('expires a token after its TTL with 401 EXPIRED_AUTHENTICATION', async () => {
    const token = await accessToken(sb);

    clock.advance(1799);
    const stillValid = await upsertContacts(sb, token, [contactInput('a@example.com')]);
    clock.advance(1);
    const expired = await upsertContacts(sb, token, [contactInput('a@example.com')]);
    clock.advance(41);
    const later = await upsertContacts(sb, token, [contactInput('a@example.com')]);

    expect(stillValid.status).toBe(200);
    expect(expired.status).toBe(401);
    expect(expired.body).toEqual({
      status: 'error',
      message: 'The OAuth token used to make this call expired 1 second(s) ago.',
      category: 'EXPIRED_AUTHENTICATION',
      correlationId: expect.any(String),
    });
    expect(later.body.message).toBe('The OAuth token used to make this call expired 41 second(s) ago.');
    expect((await sb.ledger()).contacts[0]!.upserts).toBe(1);
  });

  it('uses the fault spec TTL override for tokens issued after it is set', async () => {
    const before = await accessToken(sb);
    await sb.patchFaults({ hubspotTokenTtlSeconds: 1 });
    const short = await hubspotToken(sb);

    clock.advance(1);

    expect(short.body.expires_in).toBe(1);
    expect(
      (await upsertContacts(sb, short.body.access_token as string, [contactInput('a@example.com')])).body
        .category,
    ).toBe('EXPIRED_AUTHENTICATION');
    expect((await upsertContacts(sb, before, [contactInput('a@example.com')])).status).toBe(200);
  });

  it('answers 401 INVALID_AUTHENTICATION for an unknown or missing token', async () => {
    const unknown = await upsertContacts(sb, 'made-up', [contactInput('a@example.com')]);
    const missing = await upsertContacts(sb, undefined, [contactInput('a@example.com')]);

    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual({
      status: 'error',
      message: expect.stringMatching(/^Authentication credentials not found\./),
      category: 'INVALID_AUTHENTICATION',
      correlationId: expect.any(String),
    });
    expect(missing.status).toBe(401);
    expect(missing.body.category).toBe('INVALID_AUTHENTICATION');
  });
});

describe('sandbox HubSpot contacts batch upsert', () => {
  it('creates a contact first and updates the same id later, matching email case-insensitively', async () => {
    const token = await accessToken(sb);

    const created = await upsertContacts(sb, token, [
      contactInput('Asha@Example.com', { firstname: 'Asha' }),
    ]);
    clock.advance(60);
    const updated = await upsertContacts(sb, token, [
      contactInput('asha@example.com', { lastname: 'Verma', phone: '+919876543210' }),
    ]);
    const other = await upsertContacts(sb, token, [contactInput('ravi@example.com')]);

    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      status: 'COMPLETE',
      results: [
        {
          id: '1',
          new: true,
          properties: {
            email: 'asha@example.com',
            firstname: 'Asha',
            hs_object_id: '1',
            createdate: '2026-03-01T10:00:00.000Z',
            lastmodifieddate: '2026-03-01T10:00:00.000Z',
          },
          createdAt: '2026-03-01T10:00:00.000Z',
          updatedAt: '2026-03-01T10:00:00.000Z',
          archived: false,
        },
      ],
      startedAt: '2026-03-01T10:00:00.000Z',
      completedAt: '2026-03-01T10:00:00.000Z',
    });
    expect(updated.body.results[0]).toMatchObject({
      id: '1',
      new: false,
      properties: { email: 'asha@example.com', firstname: 'Asha', lastname: 'Verma', phone: '+919876543210' },
      updatedAt: '2026-03-01T10:01:00.000Z',
    });
    expect(other.body.results[0]).toMatchObject({ id: '2', new: true });

    const ledger = await sb.ledger();
    expect(ledger.contacts.map((c) => [c.id, c.email, c.upserts])).toEqual([
      ['1', 'asha@example.com', 2],
      ['2', 'ravi@example.com', 1],
    ]);
    expect(ledger.contactUpserts.map((u) => [u.call, u.contactId, u.new])).toEqual([
      [1, '1', true],
      [2, '1', false],
      [3, '2', true],
    ]);
  });

  it('upserts every input of a batch under one call number', async () => {
    const token = await accessToken(sb);

    const res = await upsertContacts(sb, token, [
      contactInput('a@example.com'),
      contactInput('b@example.com'),
    ]);

    expect((res.body.results as Array<{ id: string }>).map((r) => r.id)).toEqual(['1', '2']);
    expect((await sb.ledger()).contactUpserts.map((u) => u.call)).toEqual([1, 1]);
  });

  it('answers 400 VALIDATION_ERROR for an invalid email and records nothing', async () => {
    const token = await accessToken(sb);

    const res = await upsertContacts(sb, token, [
      contactInput('a@example.com'),
      contactInput('not-an-email'),
    ]);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      status: 'error',
      message: expect.stringContaining('INVALID_EMAIL'),
      category: 'VALIDATION_ERROR',
      correlationId: expect.any(String),
    });
    const ledger = await sb.ledger();
    expect(ledger.contacts).toEqual([]);
    expect(ledger.contactUpserts).toEqual([]);
  });

  it('answers 400 VALIDATION_ERROR for a malformed body or duplicate emails in one batch', async () => {
    const token = await accessToken(sb);

    const malformed = await upsertContacts(sb, token, [
      { idProperty: 'hs_object_id', id: '1', properties: {} },
    ]);
    const duplicates = await upsertContacts(sb, token, [
      contactInput('a@example.com'),
      contactInput('A@example.com'),
    ]);

    expect(malformed.status).toBe(400);
    expect(malformed.body.category).toBe('VALIDATION_ERROR');
    expect(duplicates.status).toBe(400);
    expect(duplicates.body.message).toMatch(/^Duplicate IDs found in batch input/);
    expect((await sb.ledger()).contacts).toEqual([]);
  });

  it('answers 400 VALIDATION_ERROR for a student in failEmails or failPhones', async () => {
    await sb.putFaults({ hubspot: { failEmails: ['BLOCKED@example.com'], failPhones: ['919000000000'] } });
    const token = await accessToken(sb);

    const byEmail = await upsertContacts(sb, token, [contactInput('blocked@example.com')]);
    const byPhone = await upsertContacts(sb, token, [
      contactInput('ok@example.com', { phone: '+91 9000000000' }),
    ]);

    expect(byEmail.status).toBe(400);
    expect(byEmail.body.category).toBe('VALIDATION_ERROR');
    expect(byPhone.status).toBe(400);
    expect((await sb.ledger()).contacts).toEqual([]);
  });

  it('answers 429 RATE_LIMIT with the X-HubSpot-RateLimit headers for a rate-limit fault', async () => {
    const token = await accessToken(sb);
    await sb.putFaults({ hubspot: { rateLimitRate: 1 } });

    const res = await upsertContacts(sb, token, [contactInput('a@example.com')]);

    expect(res.status).toBe(429);
    expect(res.body).toEqual({
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
      correlationId: expect.any(String),
    });
    expect(res.headers.get('x-hubspot-ratelimit-max')).toBe('190');
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).toBe('0');
    expect(res.headers.get('x-hubspot-ratelimit-interval-milliseconds')).toBe('10000');
    expect((await sb.ledger()).contacts).toEqual([]);
  });

  it('keeps the token endpoint out of fault injection so failNext hits the upsert', async () => {
    await sb.putFaults({ hubspot: { failNext: 1 } });

    const token = await hubspotToken(sb);
    const failed = await upsertContacts(sb, token.body.access_token as string, [
      contactInput('a@example.com'),
    ]);
    const retried = await upsertContacts(sb, token.body.access_token as string, [
      contactInput('a@example.com'),
    ]);

    expect(token.status).toBe(200);
    expect(failed.status).toBe(503);
    expect(retried.status).toBe(200);
    expect((await sb.ledger()).contacts.map((c) => c.upserts)).toEqual([1]);
  });

  it('answers 404 in HubSpot shape for an unknown path', async () => {
    const res = await call(`${sb.url}/hubspot/crm/v3/objects/deals`);

    expect(res.status).toBe(404);
    expect(res.body.category).toBe('OBJECT_NOT_FOUND');
  });
});
