/**
 * Temporal's remote codec protocol over HTTP: operators' Web UI and `temporal` CLI post the sealed
 * payloads of a history here and get them back readable (`/decode`), or have input sealed (`/encode`).
 * What it answers is student PII in the clear, so every call needs the token and nothing about a
 * payload, the token or the path (which may hold the token) is ever logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Logger } from '../runtime/logger';
import { PayloadKeyError } from '../temporal/payload-codec';
import { BodyAbortedError, BodyTooLargeError, readRawBody } from '../webhook/request-body';

/** Temporal caps one payload at 2 MiB; a page of history sent for decoding can carry several. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface CodecAppOptions {
  codec: PayloadCodec;
  /** CODEC_AUTH: as `Authorization: Bearer <token>`, the bare header value, or the `/auth/<token>/` prefix. */
  authToken: string;
  /** Exact origins (the Web UI's) whose pages may call us from a browser. */
  corsOrigins: string[];
  logger: Logger;
  maxBodyBytes?: number;
}

type Operation = 'encode' | 'decode';

/** `download` is the Web UI's decode for a file the user saves; the answer is the same. */
const OPERATIONS: Record<string, Operation> = { encode: 'encode', decode: 'decode', download: 'decode' };

const CORS_HEADERS = {
  'Access-Control-Allow-Credentials': 'true',
  'Access-Control-Allow-Methods': 'POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization, Authorization-Extras',
  'Access-Control-Max-Age': '600',
};

class BadRequest extends Error {}

/** What a request's log line may hold besides its status and duration: never a path, header or payload. */
interface LogFields {
  /** The codec operation, else the HTTP method. */
  method?: string;
  payloads?: number;
}

const requestHasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Hashing first gives timingSafeEqual equal lengths, so not even the token's length leaks. */
const digest = (value: string) => createHash('sha256').update(value).digest();

interface Route {
  operation: Operation;
  /** The `/auth/<token>/` segment, percent-decoded; undefined when the path has none. */
  pathToken?: string;
}

/**
 * Only the last segment decides the operation (the protocol lets endpoints sit at any depth, e.g. the
 * CLI's `/{namespace}/decode`). `/auth/<token>/` is read as a credential only when something follows
 * the token, so `/auth/decode` stays the templated endpoint of a namespace called "auth".
 */
function route(path: string): Route | undefined {
  const segments = path.split('/').filter(Boolean);
  const operation = OPERATIONS[segments.at(-1) ?? ''];
  if (!operation) return undefined;
  if (segments[0] !== 'auth' || segments.length < 3) return { operation };
  try {
    return { operation, pathToken: decodeURIComponent(segments[1]!) };
  } catch {
    return { operation, pathToken: '' };
  }
}

/**
 * Proto3 JSON (every bytes field, metadata values included, in base64) to and from Payload objects
 * through the generated Payloads type, so fields we do not touch (externalPayloads, the storage
 * references the Web UI asks to preserve) come back as they went in. Its fromObject quietly drops a
 * field of the wrong type, hence the shape check first: a payload must never lose data silently.
 */
function payloadsFromJson(raw: Buffer): Payload[] {
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BadRequest('body is not JSON');
  }
  // Proto3 JSON leaves an empty repeated field out: `{}` is a Payloads with none (the CLI sends it
  // for a query without arguments).
  const listed = (body as { payloads?: unknown } | null)?.payloads;
  const payloads = listed === undefined || listed === null ? [] : listed;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray(payloads)) {
    throw new BadRequest('body must be {"payloads": [...]}');
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  payloads.forEach((payload, i) => {
    const valid =
      isObject(payload) &&
      (payload.data === undefined || payload.data === null || typeof payload.data === 'string') &&
      (payload.metadata === undefined ||
        payload.metadata === null ||
        (isObject(payload.metadata) && Object.values(payload.metadata).every((v) => typeof v === 'string')));
    if (!valid) {
      throw new BadRequest(`payloads[${i}] must be {"metadata": {key: base64}, "data": base64}`);
    }
  });
  try {
    return temporal.api.common.v1.Payloads.fromObject({ payloads }).payloads;
  } catch {
    throw new BadRequest('payloads must be proto3 JSON, bytes in base64');
  }
}

const payloadsToJson = (payloads: Payload[]) =>
  temporal.api.common.v1.Payloads.toObject(temporal.api.common.v1.Payloads.create({ payloads }), {
    bytes: String,
    longs: String,
  });

export function createCodecApp({
  codec,
  authToken,
  corsOrigins,
  logger,
  maxBodyBytes = DEFAULT_MAX_BODY_BYTES,
}: CodecAppOptions) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const expected = digest(authToken);
  const allowedOrigins = new Set(corsOrigins);

  const authorized = (req: Request, pathToken: string | undefined) => {
    const matches = (candidate: string) => timingSafeEqual(digest(candidate), expected);
    // Either credential will do: with its access-token option on, the Web UI sends the user's own
    // bearer token in Authorization and our token in the path.
    if (pathToken !== undefined && matches(pathToken)) return true;
    const header = req.get('authorization');
    if (header === undefined) return false;
    // `temporal --codec-auth` sends its value as the whole header, hence the bare form.
    return matches(header.replace(/^Bearer\s+/i, ''));
  };

  /** Exactly `application/json`, as the protocol names it: express's setters would append a charset. */
  const send = (res: Response, status: number, body: unknown) => {
    res.status(status).setHeader('Content-Type', 'application/json');
    res.send(Buffer.from(JSON.stringify(body)));
  };

  const record = (req: Request, res: Response, status: number, log: LogFields) => {
    const ms = Math.round((performance.now() - (res.locals.startedAt as number)) * 10) / 10;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    logger[level]({ method: log.method ?? req.method, status, payloads: log.payloads, ms }, 'codec request');
  };

  const finish = (req: Request, res: Response, status: number, body: unknown, log: LogFields = {}) => {
    record(req, res, status, log);
    if (res.headersSent || !res.socket || res.socket.destroyed) return;
    // A body we refuse unread is not drained: closing is what stops the rest of an upload.
    if (res.locals.bodyRead !== true && requestHasBody(req)) res.set('Connection', 'close');
    send(res, status, body);
  };

  app.use((req, res, next) => {
    res.locals.startedAt = performance.now();
    res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', Vary: 'Origin' });
    next();
  });

  // Before the origin check: probes come without an Origin, and the answer holds nothing.
  app.get('/healthz', (_req, res) => {
    send(res, 200, { status: 'ok' });
  });

  // Only the listed pages get CORS headers; a browser page of any other origin is refused outright
  // (the CLI sends no Origin). A preflight carries no credentials, so it needs none.
  app.use((req, res, next) => {
    const origin = req.get('origin');
    const allowed = origin !== undefined && allowedOrigins.has(origin);
    if (allowed) res.set({ 'Access-Control-Allow-Origin': origin, ...CORS_HEADERS });
    if (req.method === 'OPTIONS') {
      if (allowed) {
        record(req, res, 204, {});
        res.status(204).end();
      } else {
        finish(req, res, 403, { error: 'origin not allowed' });
      }
      return;
    }
    if (origin !== undefined && !allowed) {
      finish(req, res, 403, { error: 'origin not allowed' });
      return;
    }
    next();
  });

  app.use(async (req, res) => {
    const found = route(req.path);
    if (!found) {
      finish(req, res, 404, { error: 'not found: POST .../encode or .../decode' });
      return;
    }
    const method = found.operation;
    if (req.method !== 'POST') {
      res.set('Allow', 'POST, OPTIONS');
      finish(req, res, 405, { error: 'method not allowed: use POST' }, { method });
      return;
    }
    if (!authorized(req, found.pathToken)) {
      res.set('WWW-Authenticate', 'Bearer');
      finish(req, res, 401, { error: 'missing or wrong codec token' }, { method });
      return;
    }
    let raw: Buffer;
    try {
      raw = await readRawBody(req, maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        finish(req, res, 413, { error: `body over ${maxBodyBytes} bytes` }, { method });
        return;
      }
      if (err instanceof BodyAbortedError) {
        finish(req, res, 400, { error: 'request body incomplete' }, { method });
        return;
      }
      throw err;
    }
    res.locals.bodyRead = true;
    let payloads: Payload[];
    try {
      payloads = payloadsFromJson(raw);
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err;
      finish(req, res, 400, { error: err.message }, { method });
      return;
    }
    try {
      const answered = await codec[method](payloads);
      finish(req, res, 200, payloadsToJson(answered), { method, payloads: payloads.length });
    } catch (err) {
      // The request's fault, not ours: a payload under a key the ring no longer holds, or altered.
      // The message names a key id, never a key or data; it is answered, not logged.
      if (!(err instanceof PayloadKeyError)) throw err;
      finish(req, res, 400, { error: err.message }, { method, payloads: payloads.length });
    }
  });

  // A bug, or express refusing a request. Its message is not logged: it could quote the path.
  const onError: ErrorRequestHandler = (err: { status?: number; name?: string }, req, res, _next) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : 500;
    logger.error({ err: { name: err.name } }, 'codec request failed');
    finish(req, res, status, { error: status === 500 ? 'internal error' : 'bad request' });
  };
  app.use(onError);

  return app;
}
