import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../shared/logger';
import type { PaymentProvider } from '../shared/payment-event';
import { maskEmail } from '../shared/logger';
import { type ProviderAdapter, SignatureError } from './providers/adapter';
import { type EnrollmentStarter, TemporalUnavailableError } from './start-enrollment';

/** Providers send small JSON events; anything near this is an attack or a mistake. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookAppOptions {
  adapters: Record<PaymentProvider, ProviderAdapter>;
  starter: EnrollmentStarter;
  logger: Logger;
  now?: () => number;
}

type Outcome = { status: number; body: Record<string, unknown>; log: Record<string, unknown> };

const isJsonContentType = (header: string | undefined) =>
  (header ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';

export function createWebhookApp({ adapters, starter, logger, now = Date.now }: WebhookAppOptions) {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const ready = await starter.ready();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'temporal unreachable' });
  });

  const pickAdapter: RequestHandler = (req, res, next) => {
    const adapter = adapters[req.params.provider as PaymentProvider];
    if (!Object.hasOwn(adapters, req.params.provider as string) || !adapter) {
      res.status(404).json({ error: 'unknown_provider' });
      return;
    }
    res.locals.adapter = adapter;
    res.locals.requestId = req.get('x-request-id')?.slice(0, 64) || randomUUID();
    res.locals.startedAt = performance.now();
    // Checked before reading the body: no point buffering what we will refuse.
    if (!isJsonContentType(req.get('content-type'))) {
      finish(req, res, { status: 415, body: { error: 'unsupported_media_type' }, log: {} });
      return;
    }
    next();
  };

  // Raw bytes, never parsed JSON: signatures are over the bytes as sent. `inflate: false` refuses any
  // Content-Encoding (415) instead of decompressing an attacker's zip bomb; `limit` answers 413 from
  // Content-Length up front, or mid-stream for chunked bodies.
  const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

  app.post('/webhooks/:provider', pickAdapter, rawBody, async (req, res) => {
    finish(req, res, await handleDelivery(res.locals.adapter as ProviderAdapter, req));
  });

  async function handleDelivery(adapter: ProviderAdapter, req: Request): Promise<Outcome> {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    try {
      adapter.verify(raw, req.headers, now());
    } catch (err) {
      if (!(err instanceof SignatureError)) throw err;
      // Nothing in the response says what was wrong: that would help an attacker.
      return { status: 401, body: { error: 'invalid_signature' }, log: { signatureError: err.message } };
    }

    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      return { status: 400, body: { error: 'malformed_json' }, log: {} };
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return { status: 400, body: { error: 'not_an_event_object' }, log: {} };
    }

    const meaning = adapter.interpret(parsed as Record<string, unknown>, req.headers);
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
    logger[level](
      {
        requestId: res.locals.requestId,
        provider: req.params.provider,
        status: outcome.status,
        outcome: outcome.body.status ?? outcome.body.error,
        ms,
        ...outcome.log,
      },
      'webhook delivery',
    );
    res
      .status(outcome.status)
      .set('x-request-id', res.locals.requestId as string)
      .json(outcome.body);
  }

  // Body-reading failures (413, 415 encodings, aborted uploads) and anything unexpected.
  const onError: ErrorRequestHandler = (
    err: { status?: number; type?: string; message?: string },
    req,
    res,
    _next,
  ) => {
    res.locals.startedAt ??= performance.now();
    let outcome: Outcome;
    if (err.type === 'entity.too.large') {
      // Close the connection rather than drain an oversized upload.
      res.set('connection', 'close');
      outcome = { status: 413, body: { error: 'payload_too_large' }, log: {} };
    } else if (err.type === 'encoding.unsupported') {
      outcome = { status: 415, body: { error: 'unsupported_content_encoding' }, log: {} };
    } else if (err.status && err.status >= 400 && err.status < 500) {
      outcome = { status: err.status, body: { error: 'bad_request' }, log: { err: err.type ?? err.message } };
    } else {
      // Unknown failure: 500 makes the provider redeliver; nothing has been acknowledged.
      outcome = { status: 500, body: { error: 'internal_error' }, log: { err: err.message } };
    }
    if (res.headersSent) return;
    finish(req, res, outcome);
  };
  app.use(onError);

  return app;
}
