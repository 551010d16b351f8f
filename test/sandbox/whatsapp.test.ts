import { credentials, FakeClock, sendWhatsApp, useSandbox, welcomeTemplate } from './harness';

const clock = new FakeClock();
const sb = useSandbox({ now: clock.now });

/** Meta's envelope, checked field by field so a drifting shape fails here and not in production. */
function expectMetaError(body: unknown, code: number, subcode?: number) {
  expect(Object.keys(body as object)).toEqual(['error']);
  expect((body as { error: unknown }).error).toEqual({
    message: expect.any(String),
    type: 'OAuthException',
    code,
    ...(subcode !== undefined && { error_subcode: subcode }),
    error_data: { messaging_product: 'whatsapp', details: expect.any(String) },
    fbtrace_id: expect.stringMatching(/^A\S+$/),
  });
}

describe('sandbox WhatsApp Cloud API', () => {
  it('accepts a template message with 200 in the Cloud API shape and records it', async () => {
    const res = await sendWhatsApp(sb, welcomeTemplate());

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      messaging_product: 'whatsapp',
      contacts: [{ input: '919876543210', wa_id: '919876543210' }],
      messages: [{ id: expect.stringMatching(/^wamid\.[A-Za-z0-9_-]+$/) }],
    });
    const ledger = await sb.ledger();
    expect(ledger.messages).toEqual([
      {
        id: res.body.messages[0].id,
        phoneNumberId: credentials.WHATSAPP_PHONE_NUMBER_ID,
        to: '919876543210',
        template: 'course_welcome',
        language: 'en_US',
        parameters: ['Asha', 'TypeScript 101'],
        at: '2026-03-01T10:00:00.000Z',
      },
    ]);
  });

  it('is not idempotent: the same request twice is two messages with two ids', async () => {
    const first = await sendWhatsApp(sb, welcomeTemplate());
    const second = await sendWhatsApp(sb, welcomeTemplate());

    expect(first.body.messages[0].id).not.toBe(second.body.messages[0].id);
    const { messages } = await sb.ledger();
    expect(messages.map((m) => m.id)).toEqual([first.body.messages[0].id, second.body.messages[0].id]);
  });

  it('answers HTTP 401 code 190 for a missing or wrong access token', async () => {
    const wrong = await sendWhatsApp(sb, welcomeTemplate(), { token: 'not-the-token' });
    const missing = await fetch(`${sb.url}/whatsapp/v21.0/${credentials.WHATSAPP_PHONE_NUMBER_ID}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(welcomeTemplate()),
    });

    expect(wrong.status).toBe(401);
    expectMetaError(wrong.body, 190);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: number } }).error.code).toBe(190);
    expect((await sb.ledger()).messages).toEqual([]);
  });

  it('answers code 100 (subcode 33) for an unknown phone number id', async () => {
    const res = await sendWhatsApp(sb, welcomeTemplate(), { phoneNumberId: '999' });

    expect(res.status).toBe(400);
    expectMetaError(res.body, 100, 33);
  });

  it('answers code 100 for a malformed API version', async () => {
    const res = await sendWhatsApp(sb, welcomeTemplate(), { version: 'latest' });

    expect(res.status).toBe(400);
    expectMetaError(res.body, 100);
  });

  it.each([
    ['a + in to', { ...welcomeTemplate(), to: '+919876543210' }, 'to'],
    ['spaces in to', { ...welcomeTemplate(), to: '91 98765 43210' }, 'to'],
    ['a non-template type', { ...welcomeTemplate(), type: 'text' }, 'type'],
    ['a wrong messaging_product', { ...welcomeTemplate(), messaging_product: 'sms' }, 'messaging_product'],
    [
      'a missing language code',
      { ...welcomeTemplate(), template: { name: 'course_welcome', language: {} } },
      'template.language.code',
    ],
    [
      'a missing template name',
      { ...welcomeTemplate(), template: { language: { code: 'en_US' } } },
      'template.name',
    ],
  ])('answers HTTP 400 code 100 for %s and sends nothing', async (_case, body, field) => {
    const res = await sendWhatsApp(sb, body);

    expect(res.status).toBe(400);
    expectMetaError(res.body, 100);
    expect(res.body.error.error_data.details).toContain(`${field}:`);
    expect((await sb.ledger()).messages).toEqual([]);
  });

  it('answers HTTP 400 code 131026 (undeliverable) for a phone in failPhones, in any notation', async () => {
    await sb.putFaults({ whatsapp: { failPhones: ['+91 98765 43210'] } });

    const res = await sendWhatsApp(sb, welcomeTemplate('919876543210'));
    const other = await sendWhatsApp(sb, welcomeTemplate('14155550100'));

    expect(res.status).toBe(400);
    expectMetaError(res.body, 131026);
    expect(other.status).toBe(200);
    expect((await sb.ledger()).messages.map((m) => m.to)).toEqual(['14155550100']);
  });

  it('answers HTTP 429 code 130429 with Retry-After for a rate-limit fault', async () => {
    await sb.putFaults({ whatsapp: { rateLimitRate: 1, retryAfter: { seconds: 7 } } });

    const res = await sendWhatsApp(sb, welcomeTemplate());

    expect(res.status).toBe(429);
    expectMetaError(res.body, 130429);
    expect(res.headers.get('retry-after')).toBe('7');
    expect((await sb.ledger()).messages).toEqual([]);
  });

  it('omits Retry-After on a 429 when the fault does not ask for one', async () => {
    await sb.putFaults({ whatsapp: { rateLimitRate: 1 } });

    const res = await sendWhatsApp(sb, welcomeTemplate());

    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('answers HTTP 503 alternating codes 131000 and 2 for injected 5xx, then recovers', async () => {
    await sb.putFaults({ whatsapp: { failNext: 3 } });

    const statuses: number[] = [];
    const codes: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await sendWhatsApp(sb, welcomeTemplate());
      statuses.push(res.status);
      if (res.status !== 200) {
        const code = res.body.error.code as number;
        expectMetaError(res.body, code);
        codes.push(code);
      }
    }

    expect(statuses).toEqual([503, 503, 503, 200]);
    expect(codes).toEqual([131000, 2, 131000]);
    expect((await sb.ledger()).messages).toHaveLength(1);
  });
});
