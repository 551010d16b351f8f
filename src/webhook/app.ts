import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../shared/logger';
import type { PaymentProvider } from '../shared/payment-event';
import { maskEmail, withLogContext } from '../shared/logger';
import type { WebhookMetrics } from '../observability/webhook-metrics';
import { type ProviderAdapter, SignatureError } from './providers/adapter';
import { BodyAbortedError, BodyTooLargeError, readRawBody } from './request-body';
import { type EnrollmentStarter, TemporalUnavailableError } from './start-enrollment';

/** Providers send small JSON events; anything near this is an attack or a mistake. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookAppOptions {
  adapters: Record<PaymentProvider, ProviderAdapter>;
  starter: EnrollmentStarter;
  logger: Logger;
  /** Counted once per answered request (in `finish`) and served at `GET /metrics`. */
  metrics?: WebhookMetrics;
  now?: () => number;
}

type Outcome = { status: number; body: Record<string, unknown>; log: Record<string, unknown> };

/**
 * The request's headers with every repeated header kept as an array. Node joins most repeated
 * headers into one comma-separated string, so two `Stripe-Signature` lines would reach the verifier
 * as one header whose v1 list mixes both; a provider sends each header once, and `singleHeader`
 * refuses an array. Built from `rawHeaders` on a null-prototype object: a header named `__proto__`
 * is just a header.
 */
export function deliveryHeaders(rawHeaders: readonly string[]): IncomingHttpHeaders {
  const grouped = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const values = grouped.get(name) ?? [];
    values.push(rawHeaders[i + 1]!);
    grouped.set(name, values);
  }
  const headers = Object.create(null) as IncomingHttpHeaders;
  for (const [name, values] of grouped) headers[name] = values.length === 1 ? values[0] : values;
  return headers;
}

/**
 * `application/json`, once, with no charset or UTF-8: the signature is over bytes we decode as UTF-8
 * (RFC 8259 JSON is UTF-8), so a body declared in another charset is refused rather than misread.
 */
function isJsonContentType(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  const [type, ...params] = header.split(';');
  if (type!.trim().toLowerCase() !== 'application/json') return false;
  return params.every((param) => {
    const [key = '', value = ''] = param.split('=');
    if (key.trim().toLowerCase() !== 'charset') return true;
    return ['utf-8', 'utf8'].includes(value.trim().replace(/^"|"$/g, '').toLowerCase());
  });
}

/** Any coding but `identity` (RFC 9110: no encoding). We never decompress an attacker's zip bomb. */
function hasContentEncoding(header: string | string[] | undefined): boolean {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return values.some((v) =>
    v.split(',').some((coding) => !['', 'identity'].includes(coding.trim().toLowerCase())),
  );
}

const requestHasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** Strict UTF-8: a malformed byte must not silently become U+FFFD in a signed payload. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function createWebhookApp({ adapters, starter, logger, metrics, now = Date.now }: WebhookAppOptions) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const knownProvider = (name: unknown): name is PaymentProvider =>
    typeof name === 'string' && Object.hasOwn(adapters, name);

  /** Every answer below goes through `finish`, which needs these. */
  const begin = (req: Request, res: Response) => {
    res.locals.requestId ??= req.get('x-request-id')?.slice(0, 64) || randomUUID();
    res.locals.startedAt ??= performance.now();
  };

  // Every line logged while a request is handled, by whichever module, carries its request id.
  app.use((req, res, next) => {
    begin(req, res);
    withLogContext({ requestId: res.locals.requestId }, next);
  });
  if (metrics) app.get('/metrics', metrics.handler);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ready = await starter.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'temporal unreachable' });
  });

  // Checked before reading the body: no point reading what we will refuse.
  const checkDelivery: RequestHandler = (req, res, next) => {
    begin(req, res);
    if (!knownProvider(req.params.provider)) {
      finish(req, res, { status: 404, body: { error: 'unknown_provider' }, log: {} });
      return;
    }
    const headers = deliveryHeaders(req.rawHeaders);
    if (!isJsonContentType(headers['content-type'])) {
      finish(req, res, { status: 415, body: { error: 'unsupported_media_type' }, log: {} });
      return;
    }
    if (hasContentEncoding(headers['content-encoding'])) {
      finish(req, res, { status: 415, body: { error: 'unsupported_content_encoding' }, log: {} });
      return;
    }
    res.locals.adapter = adapters[req.params.provider];
    res.locals.headers = headers;
    next();
  };

  app.post('/webhooks/:provider', checkDelivery, async (req, res) => {
    let raw: Buffer;
    try {
      raw = await readRawBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        finish(req, res, { status: 413, body: { error: 'payload_too_large' }, log: { err: err.message } });
        return;
      }
      if (err instanceof BodyAbortedError) {
        // Nobody is listening any more (the client left, or Node already answered 408): log only.
        finish(req, res, { status: 400, body: { error: 'aborted' }, log: { err: err.message } });
        return;
      }
      throw err;
    }
    res.locals.bodyRead = true;
    const adapter = res.locals.adapter as ProviderAdapter;
    finish(req, res, await handleDelivery(adapter, raw, res.locals.headers as IncomingHttpHeaders));
  });

  // A webhook endpoint takes POST only; saying so (405 + Allow) beats a bare 404 for whoever debugs it.
  app.all('/webhooks/:provider', (req, res) => {
    begin(req, res);
    if (!knownProvider(req.params.provider)) {
      finish(req, res, { status: 404, body: { error: 'unknown_provider' }, log: {} });
      return;
    }
    res.set('allow', 'POST');
    finish(req, res, { status: 405, body: { error: 'method_not_allowed' }, log: { method: req.method } });
  });

  app.use((req, res) => {
    begin(req, res);
    finish(req, res, { status: 404, body: { error: 'not_found' }, log: { method: req.method } });
  });

  async function handleDelivery(
    adapter: ProviderAdapter,
    raw: Buffer,
    headers: IncomingHttpHeaders,
  ): Promise<Outcome> {
    try {
      adapter.verify(raw, headers, now());
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      // Nothing in the response says what was wrong: that would help an attacker.
      return { status: 401, body: { error: 'invalid_signature' }, log: { signatureError: err.message } };
    }

    let parsed: unknown;
    try {
      // V8's JSON.parse is iterative: 100k levels of `[` parse without a stack overflow.
      parsed = JSON.parse(utf8.decode(raw));
    } catch {
      return { status: 400, body: { error: 'malformed_json' }, log: {} };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { status: 400, body: { error: 'not_an_event_object' }, log: {} };
    }

    const meaning = adapter.interpret(parsed as Record<string, unknown>, headers);
    if (meaning.kind === 'invalid') {
      return {
        status: 400,
        body: { error: 'invalid_event', reason: meaning.reason },
        log: { eventType: meaning.eventType, reason: meaning.reason },
      };
    }
    if (meaning.kind === 'ignored') {
      // 200 so the provider stops redelivering an event we will never act on.
      return {
        status: 200,
        body: { status: 'ignored', eventType: meaning.eventType },
        log: { eventType: meaning.eventType, reason: meaning.reason },
      };
    }

    const { event } = meaning;
    const log = {
      eventType: event.eventType,
      eventId: event.eventId,
      paymentId: event.paymentId,
      email: maskEmail(event.student.email),
    };
    try {
      const started = await starter.start(event);
      return { status: 200, body: started, log: { ...log, workflowId: started.workflowId } };
    } catch (err) {
      if (!(err instanceof TemporalUnavailableError)) throw err;
      return { status: 503, body: { error: 'temporarily_unavailable' }, log: { ...log, err: err.message } };
    }
  }

  function finish(req: Request, res: Response, outcome: Outcome): void {
    const ms = Math.round((performance.now() - (res.locals.startedAt as number)) * 10) / 10;
    const level = outcome.status >= 500 ? 'error' : outcome.status >= 400 ? 'warn' : 'info';
    const answerable = !res.headersSent && res.socket !== null && !res.socket.destroyed;
    logger[level](
      {
        requestId: res.locals.requestId,
        provider: req.params.provider,
        status: outcome.status,
        outcome: outcome.body.status ?? outcome.body.error,
        ms,
        ...(answerable ? {} : { answered: false }),
        ...outcome.log,
      },
      'webhook delivery',
    );
    metrics?.record({
      provider: req.params.provider,
      status: outcome.status,
      body: outcome.body,
      eventType: outcome.log.eventType,
    });
    if (!answerable) return;
    // A body we refused unread (413, 415, 404, 405) is not drained: closing the connection is what
    // stops a 50 MiB upload after its first bytes. Node reads a small one off the socket anyway.
    if (res.locals.bodyRead !== true && requestHasBody(req)) res.set('connection', 'close');
    res
      .status(outcome.status)
      .set('x-request-id', res.locals.requestId as string)
      .json(outcome.body);
  }

  // Anything unexpected (a bug, or express refusing a malformed path). Nothing has been acknowledged.
  const onError: ErrorRequestHandler = (err: { status?: number; message?: string }, req, res, _next) => {
    begin(req, res);
    const clientError = typeof err.status === 'number' && err.status >= 400 && err.status < 500;
    finish(
      req,
      res,
      clientError
        ? { status: err.status!, body: { error: 'bad_request' }, log: { err: err.message } }
        : // 500 makes the provider redeliver.
          { status: 500, body: { error: 'internal_error' }, log: { err: err.message } },
    );
  };
  app.use(onError);

  return app;
}
