/**
 * Shared test plumbing: credentials, a fake clock and thin fetch helpers. Every suite talks to a
 * real `startSandbox()` over HTTP, exactly as the worker will.
 */
import { startSandbox, type RunningSandbox, type StartSandboxOptions } from '../../src/sandbox/start';
import type { SandboxFaults } from '../../src/sandbox/faults';
import type { LedgerSnapshot } from '../../src/sandbox/ledger';

export const credentials = {
  LMS_API_KEY: 'lms-test-key-0001',
  WHATSAPP_ACCESS_TOKEN: 'wa-test-token-0001',
  WHATSAPP_PHONE_NUMBER_ID: '106540352242922',
  HUBSPOT_CLIENT_ID: 'hs-client-id-0001',
  HUBSPOT_CLIENT_SECRET: 'hs-client-secret-0001',
  HUBSPOT_REFRESH_TOKEN: 'hs-refresh-token-0001',
  RAZORPAY_KEY_ID: 'rzp_test_sandbox0001',
  RAZORPAY_KEY_SECRET: 'rzp-key-secret-0001',
  STRIPE_API_KEY: 'sk_test_sandbox0001',
  MOODLE_TOKEN: '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
  CANVAS_TOKEN: 'canvas-test-token-0001',
};

/** A settable clock in epoch ms, starting at a whole second so HTTP-dates compare exactly. */
export class FakeClock {
  constructor(public ms = Date.parse('2026-03-01T10:00:00.000Z')) {}
  now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  iso(): string {
    return new Date(this.ms).toISOString();
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  /** Asserted field by field with exact values; typing every body would add noise, not safety. */
  body: any;
}

export async function call(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export const jsonPost = (
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  init: RequestInit = {},
) =>
  call(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });

/** Starts one sandbox for the file and resets it before each test. */
export function useSandbox(options: Partial<StartSandboxOptions> = {}) {
  let sandbox: RunningSandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox({ credentials, ...options });
  });
  afterAll(async () => {
    await sandbox?.close();
  });
  beforeEach(() => sandbox?.state.reset());

  const running = () => {
    if (!sandbox) throw new Error('sandbox not started');
    return sandbox;
  };
  return {
    get url() {
      return running().url;
    },
    get state() {
      return running().state;
    },
    ledger: async (): Promise<LedgerSnapshot> =>
      (await call(`${running().url}/_sandbox/ledger`)).body as LedgerSnapshot,
    putFaults: (faults: SandboxFaults | Record<string, unknown>) =>
      call(`${running().url}/_sandbox/faults`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(faults),
      }),
    patchFaults: (patch: Record<string, unknown>) =>
      call(`${running().url}/_sandbox/faults`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(patch),
      }),
  };
}

/** Helpers only need the base URL, so they work with `useSandbox()` and a bare `startSandbox()` alike. */
export interface Target {
  url: string;
}

export const student = {
  email: 'asha.verma@example.com',
  name: 'Asha Verma',
  course_id: 'course_ts_101',
  external_ref: 'razorpay:pay_29QQoUBi66xm2f',
};

export const lmsHeaders = (idempotencyKey?: string, apiKey = credentials.LMS_API_KEY) => ({
  'x-api-key': apiKey,
  ...(idempotencyKey !== undefined && { 'idempotency-key': idempotencyKey }),
});

export const enroll = (sb: Target, body: unknown, key?: string, init: RequestInit = {}) =>
  jsonPost(`${sb.url}/lms/api/enrollments`, body, lmsHeaders(key), init);

export const welcomeTemplate = (to = '919876543210') => ({
  messaging_product: 'whatsapp',
  recipient_type: 'individual',
  to,
  type: 'template',
  template: {
    name: 'course_welcome',
    language: { code: 'en_US' },
    components: [
      {
        type: 'body',
        parameters: [
          { type: 'text', text: 'Asha' },
          { type: 'text', text: 'TypeScript 101' },
        ],
      },
    ],
  },
});

export const sendWhatsApp = (
  sb: Target,
  body: unknown,
  opts: { token?: string; phoneNumberId?: string; version?: string } = {},
) =>
  jsonPost(
    `${sb.url}/whatsapp/${opts.version ?? 'v21.0'}/${opts.phoneNumberId ?? credentials.WHATSAPP_PHONE_NUMBER_ID}/messages`,
    body,
    { authorization: `Bearer ${opts.token ?? credentials.WHATSAPP_ACCESS_TOKEN}` },
  );

export const hubspotToken = (sb: Target, overrides: Record<string, string> = {}) =>
  call(`${sb.url}/hubspot/oauth/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: credentials.HUBSPOT_CLIENT_ID,
      client_secret: credentials.HUBSPOT_CLIENT_SECRET,
      refresh_token: credentials.HUBSPOT_REFRESH_TOKEN,
      ...overrides,
    }).toString(),
  });

export async function accessToken(sb: Target): Promise<string> {
  const res = await hubspotToken(sb);
  if (res.status !== 200) throw new Error(`token grant failed: ${res.status}`);
  return res.body.access_token as string;
}

export const contactInput = (email: string, properties: Record<string, string> = {}) => ({
  idProperty: 'email',
  id: email,
  properties: { email, ...properties },
});

export const upsertContacts = (sb: Target, token: string | undefined, inputs: unknown[]) =>
  jsonPost(
    `${sb.url}/hubspot/crm/v3/objects/contacts/batch/upsert`,
    { inputs },
    token === undefined ? {} : { authorization: `Bearer ${token}` },
  );

/** Polls until `check` passes: for effects of an abandoned request that land a moment later. */
export async function eventually<T>(
  read: () => Promise<T>,
  check: (value: T) => boolean,
  ms = 3000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}
