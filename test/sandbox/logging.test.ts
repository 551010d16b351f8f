import pino from 'pino';
import { faultsForLog } from '../../src/sandbox/faults';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { credentials, enroll, hubspotToken, sendWhatsApp, student, welcomeTemplate } from './harness';

describe('sandbox request logging', () => {
  const lines: string[] = [];
  let sandbox: RunningSandbox;

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (chunk: string) => lines.push(chunk) });
    sandbox = await startSandbox({ credentials, logger });
  });
  afterAll(() => sandbox.close());

  it('writes one JSON line per request with downstream, method, path, status and ms, and no credentials', async () => {
    const sb = sandbox;
    await enroll(sb, student, 'key-1');
    await sendWhatsApp(sb, welcomeTemplate());
    const token = await hubspotToken(sb);
    await fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lms: { failEmails: [student.email] } }),
    });

    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = records.filter((r) => r.msg === 'request');
    expect(
      requests.map(({ downstream, method, path, status }) => [downstream, method, path, status]),
    ).toEqual([
      ['lms', 'POST', '/lms/api/enrollments', 201],
      ['whatsapp', 'POST', `/whatsapp/v21.0/${credentials.WHATSAPP_PHONE_NUMBER_ID}/messages`, 200],
      ['hubspot', 'POST', '/hubspot/oauth/v1/token', 200],
      ['sandbox', 'PUT', '/_sandbox/faults', 200],
    ]);
    expect(requests.every((r) => typeof r.ms === 'number')).toBe(true);

    const all = lines.join('');
    const { WHATSAPP_PHONE_NUMBER_ID: _notSecret, ...secrets } = credentials;
    for (const secret of [...Object.values(secrets), token.body.access_token as string]) {
      expect(all).not.toContain(secret);
    }
    // The fault spec is logged with the student's email masked.
    expect(all).not.toContain(student.email);
    expect(all).toContain('a***@example.com');
  });
});

describe('faultsForLog', () => {
  it('masks per-student emails and phones and keeps everything else', () => {
    expect(
      faultsForLog({
        whatsapp: { failPhones: ['+919876543210'], failNext: 1 },
        hubspot: { failEmails: ['asha@example.com'] },
        hubspotTokenTtlSeconds: 5,
      }),
    ).toEqual({
      whatsapp: { failPhones: ['+91******3210'], failNext: 1 },
      hubspot: { failEmails: ['a***@example.com'] },
      hubspotTokenTtlSeconds: 5,
    });
  });
});
