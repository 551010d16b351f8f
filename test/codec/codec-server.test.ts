import { randomBytes } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import { ConfigError, loadCodecServerConfig } from '../../src/config';
import { createCodecApp } from '../../src/codec-server/app';
import { type RunningCodecServer, startCodecServer } from '../../src/codec-server/main';
import { createLogger } from '../../src/runtime/logger';
import { AesGcmPayloadCodec, newPayloadKey, parsePayloadKeys } from '../../src/temporal/payload-codec';
import { captureLines, type CapturedLines } from '../observability/log-capture';

/**
 * The codec server over real HTTP, as the Web UI and the `temporal` CLI call it: Temporal's remote
 * codec protocol (proto3 JSON, last path segment decides), its token and origin checks, and that what
 * it decodes (student PII) and the token never reach a log line.
 */
const TOKEN = randomBytes(24).toString('hex');
const UI_ORIGIN = 'http://localhost:8080';
const KEY_ID = 'k1';
const env = {
  PAYLOAD_KEYS: `${KEY_ID}:${newPayloadKey()}`,
  CODEC_AUTH: TOKEN,
  CODEC_CORS_ORIGINS: `${UI_ORIGIN},http://127.0.0.1:8080`,
  CODEC_PORT: '0',
  LOG_LEVEL: 'debug',
};

const b64 = (text: string) => Buffer.from(text).toString('base64');
const fromB64 = (text: string | undefined) => Buffer.from(text ?? '', 'base64').toString();

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const PLAINTEXT = '{"email":"priya.student@example.com","phone":"+919812345678"}';
const jsonPayload = (json: string): JsonPayload => ({
  metadata: { encoding: b64('json/plain') },
  data: b64(json),
});
/** Empty data (binary/null) and a payload with no metadata at all must survive the round trip. */
const ORIGINALS: JsonPayload[] = [
  jsonPayload(PLAINTEXT),
  { metadata: { encoding: b64('binary/null') }, data: '' },
  { data: b64('raw bytes') },
];
/** proto3 JSON omits empty fields; compare what a payload means, not how it was spelled. */
const normalize = (payloads: JsonPayload[]) =>
  payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, fromB64(v)])),
    data: fromB64(p.data),
  }));

let logs: CapturedLines;
let running: RunningCodecServer;
let base: string;

beforeAll(async () => {
  logs = captureLines('codec-server');
  running = await startCodecServer(loadCodecServerConfig(env), logs.logger);
  base = running.url;
});
afterAll(() => running.close());

const bearer = { authorization: `Bearer ${TOKEN}` };
function post(path: string, body: unknown, headers: Record<string, string> = bearer) {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}
async function payloadsOf(res: Response): Promise<JsonPayload[]> {
  expect(res.status).toBe(200);
  return ((await res.json()) as { payloads: JsonPayload[] }).payloads;
}
const encode = async (payloads: JsonPayload[]) => payloadsOf(await post('/encode', { payloads }));

describe('codec protocol', () => {
  it('encodes to binary/encrypted and decodes back to the original payloads', async () => {
    const res = await post('/encode', { payloads: ORIGINALS });
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
    const encoded = await payloadsOf(res);
    expect(encoded).toHaveLength(ORIGINALS.length);
    for (const payload of encoded) {
      expect(fromB64(payload.metadata?.encoding)).toBe('binary/encrypted');
      expect(fromB64(payload.metadata?.['encryption-key-id'])).toBe(KEY_ID);
      expect(fromB64(payload.data)).not.toContain('priya');
    }
    const decodedRes = await post('/decode', { payloads: encoded });
    expect(decodedRes.headers.get('cache-control')).toBe('no-store');
    expect(normalize(await payloadsOf(decodedRes))).toEqual(normalize(ORIGINALS));
  });

  it.each([
    ['/default/decode', bearer],
    ['/auth/TOKEN/decode', {}],
    ['/auth/TOKEN/default/decode?preserveStorageRefs=true', {}],
    ['/auth/TOKEN/download', {}],
    ['/any/depth/default/decode', { authorization: TOKEN }],
  ])('decodes at %s', async (path, headers) => {
    const encoded = await encode(ORIGINALS);
    const res = await post(path.replace('TOKEN', TOKEN), { payloads: encoded }, headers);
    expect(normalize(await payloadsOf(res))).toEqual(normalize(ORIGINALS));
  });

  it('passes payloads that were never encrypted through decode unchanged', async () => {
    const res = await post('/decode', { payloads: ORIGINALS });
    expect(normalize(await payloadsOf(res))).toEqual(normalize(ORIGINALS));
  });

  it('keeps fields it does not touch, such as external storage references', async () => {
    const stored = { ...jsonPayload('"x"'), externalPayloads: [{ sizeBytes: '123' }] };
    const [decoded] = (await payloadsOf(await post('/decode', { payloads: [stored] }))) as Array<
      JsonPayload & { externalPayloads?: unknown }
    >;
    expect(decoded?.externalPayloads).toEqual([{ sizeBytes: '123' }]);
  });

  it('answers 400 naming the key id for a payload sealed under a key the ring lacks', async () => {
    const other = new AesGcmPayloadCodec(parsePayloadKeys(`retired-2024:${newPayloadKey()}`, undefined));
    const sealed = other.seal({
      metadata: { encoding: Buffer.from('json/plain') },
      data: Buffer.from(PLAINTEXT),
    });
    const body = {
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(sealed.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
          ),
          data: Buffer.from(sealed.data!).toString('base64'),
        },
      ],
    };
    const res = await post('/decode', body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('retired-2024');
  });

  it('reads `{}` as no payloads, as proto3 JSON writes an empty list (the CLI, for a query without arguments)', async () => {
    for (const route of ['/encode', '/decode']) {
      const res = await post(route, {});
      expect(res.status).toBe(200);
      expect(((await res.json()) as { payloads?: unknown[] }).payloads ?? []).toEqual([]);
    }
  });

  it('answers 400 to a payload whose ciphertext was altered', async () => {
    const [encoded] = await encode([jsonPayload(PLAINTEXT)]);
    const data = Buffer.from(encoded!.data!, 'base64');
    data[data.length - 1]! ^= 1;
    const res = await post('/decode', { payloads: [{ ...encoded, data: data.toString('base64') }] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/k1 failed authentication/);
  });

  it.each([
    ['bad JSON', '{"payloads": [', /not JSON/],
    ['a JSON array', [], /payloads/],
    ['payloads that are not a list', { payloads: 'x' }, /payloads/],
    ['data of the wrong type', { payloads: [{ data: 5 }] }, /payloads\[0\]/],
    ['a metadata value that is not a string', { payloads: [{ metadata: { encoding: 1 } }] }, /payloads\[0\]/],
    ['bytes that are not base64', { payloads: [{ data: '!!!' }] }, /base64/],
  ])('answers 400 to %s', async (_what, body, message) => {
    const res = await post('/decode', body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(((await res.json()) as { error: string }).error).toMatch(message);
  });

  it('answers 413 to a body over the 4 MiB default', async () => {
    const res = await post('/decode', Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
    expect(res.status).toBe(413);
  });

  it('answers 413 to a streamed body over a smaller limit', async () => {
    const app = createCodecApp({
      codec: new AesGcmPayloadCodec(parsePayloadKeys(env.PAYLOAD_KEYS, undefined)),
      authToken: TOKEN,
      corsOrigins: [],
      logger: createLogger('test', 'silent'),
      maxBodyBytes: 1024,
    });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/decode`, {
        method: 'POST',
        headers: bearer,
        body: JSON.stringify({ payloads: [jsonPayload('x'.repeat(2048))] }),
      });
      expect(res.status).toBe(413);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('answers 404 to an unknown route, 405 to a GET of decode, and 200 to /healthz without a token', async () => {
    expect((await post('/default/inspect', { payloads: [] })).status).toBe(404);
    expect((await fetch(`${base}/decode`, { headers: bearer })).status).toBe(405);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
  });
});

describe('authentication', () => {
  it.each([
    ['no token', {}],
    ['a wrong token of the same length', { authorization: `Bearer ${'0'.repeat(TOKEN.length)}` }],
    ['a token of a different length', { authorization: `Bearer ${TOKEN}x` }],
    ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, 10)}` }],
  ])('answers 401 to %s', async (_what, headers) => {
    const res = await post('/decode', { payloads: ORIGINALS }, headers);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ error: expect.any(String) });
  });

  it('answers 401 to a wrong path token, and to the path form with nothing after the token', async () => {
    expect((await post('/auth/not-the-token/decode', { payloads: [] }, {})).status).toBe(401);
    expect((await post(`/auth/${TOKEN.slice(1)}/default/decode`, { payloads: [] }, {})).status).toBe(401);
    // `/auth/decode` is the templated endpoint of a namespace named "auth", not a credential.
    expect((await post('/auth/decode', { payloads: [] }, {})).status).toBe(401);
  });

  it('reads the path token only as a whole segment: a token in the query, split, or dressed up is refused', async () => {
    const empty = { payloads: [] };
    expect((await post(`/decode?token=${TOKEN}`, empty, {})).status).toBe(401);
    expect((await post(`/decode?auth=${TOKEN}`, empty, {})).status).toBe(401);
    expect((await post(`/auth/${TOKEN.slice(0, 8)}%2F${TOKEN.slice(8)}/decode`, empty, {})).status).toBe(401);
    expect((await post(`/auth/%2E%2E/${TOKEN}/decode`, empty, {})).status).toBe(401);
    expect((await post(`/x/auth/${TOKEN}/decode`, empty, {})).status).toBe(401);
    // Empty segments are not segments: a doubled slash is the same path.
    expect((await post(`//auth/${TOKEN}//decode`, empty, {})).status).toBe(200);
  });

  it('accepts the path token even when Authorization carries the user’s own bearer token', async () => {
    const res = await post(`/auth/${TOKEN}/decode`, { payloads: ORIGINALS }, { authorization: 'Bearer jwt' });
    expect(res.status).toBe(200);
  });
});

describe('CORS', () => {
  const preflight = (origin: string) =>
    fetch(`${base}/auth/${TOKEN}/default/decode`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      },
    });

  it('answers a preflight from the Web UI with 204 and its headers, without a token', async () => {
    const res = await preflight(UI_ORIGIN);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(res.headers.get('vary')).toMatch(/Origin/);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(res.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(res.headers.get('access-control-allow-headers')).toBe(
      'Content-Type, X-Namespace, Authorization, Authorization-Extras',
    );
    expect(res.headers.get('access-control-max-age')).toBe('600');
  });

  it('answers a preflight from another origin with 403 and no allow-origin', async () => {
    for (const origin of ['http://evil.example', 'http://localhost:8080.evil.example', 'null']) {
      const res = await preflight(origin);
      expect(res.status).toBe(403);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('refuses a POST from another origin even with the token, and serves the Web UI’s', async () => {
    const refused = await post(
      '/decode',
      { payloads: ORIGINALS },
      { ...bearer, origin: 'http://evil.example' },
    );
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
    const served = await post(`/auth/${TOKEN}/decode`, { payloads: ORIGINALS }, { origin: UI_ORIGIN });
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });
});

describe('logging', () => {
  it('logs method, status, payload count and duration, never the token, the path or a payload', async () => {
    const before = logs.lines().length;
    const encoded = await encode([jsonPayload(PLAINTEXT)]);
    await post(`/auth/${TOKEN}/default/decode?preserveStorageRefs=true`, { payloads: encoded }, {});
    await post('/decode', { payloads: encoded }, { authorization: TOKEN });
    await post('/decode', { payloads: encoded }, { authorization: `Bearer ${TOKEN}x` });
    await post(`/auth/${TOKEN}x/decode`, { payloads: encoded }, {});

    const lines = logs.lines().slice(before);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatchObject({ msg: 'codec request', method: 'decode', status: 200, payloads: 1 });
    expect(lines[1]!.ms).toEqual(expect.any(Number));
    expect(lines.map((l) => l.status)).toEqual([200, 200, 200, 401, 401]);
    const text = logs.text();
    for (const secret of [
      TOKEN,
      PLAINTEXT,
      'priya',
      b64(PLAINTEXT),
      encoded[0]!.data!,
      'preserveStorageRefs',
      '/auth/',
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});

describe('configuration', () => {
  const withoutAuth = { ...env, CODEC_AUTH: undefined };

  it('refuses to start without CODEC_AUTH, or with one too short, naming the variable', () => {
    expect(() => loadCodecServerConfig(withoutAuth)).toThrow(ConfigError);
    expect(() => loadCodecServerConfig(withoutAuth)).toThrow(/CODEC_AUTH/);
    const short = 'short-secret-value';
    let message = '';
    try {
      loadCodecServerConfig({ ...env, CODEC_AUTH: short });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/CODEC_AUTH/);
    expect(message).not.toContain(short);
  });

  it('refuses an origin with a path in CODEC_CORS_ORIGINS, naming the variable and not the value', () => {
    const value = 'http://ui.example/secret-path-xyz';
    let message = '';
    try {
      loadCodecServerConfig({ ...env, CODEC_CORS_ORIGINS: value });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/CODEC_CORS_ORIGINS/);
    expect(message).not.toContain('secret-path-xyz');
    expect(() => loadCodecServerConfig({ ...env, CODEC_CORS_ORIGINS: undefined })).toThrow(
      /CODEC_CORS_ORIGINS/,
    );
  });
});
