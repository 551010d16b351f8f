import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from '../runtime/logger';
import type { PaymentProvider } from '../domain/payment-event';
import { withLogContext } from '../runtime/logger';
import type { WebhookMetrics } from '../observability/webhook-metrics';
import type { ProviderAdapter } from '../providers/adapter';
import { DEFAULT_DELIVERY_POLICY, type DeliveryPolicy, deliver } from './delivery';
import { httpAnswer, type Outcome } from './outcome';
import { BodyAbortedError, BodyTooLargeError, readRawBody } from './request-body';
import { deliveryHeaders, unsupportedBody } from './request-guards';
import type { EnrollmentStarter } from './start-enrollment';

/** Providers send small JSON events; anything near this is an attack or a mistake. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookAppOptions {
  adapters: Record<PaymentProvider, ProviderAdapter>;
  starter: EnrollmentStarter;
  logger: Logger;
  /** Counted once per answered request (in `finish`) and served at `GET /metrics`. */
  metrics?: WebhookMetrics;
  now?: () => number;
  /** Freshness and mode rules for paid and access events (default: 360 h, test mode). */
  policy?: DeliveryPolicy;
}

const requestHasBody = (req: Request) =>
  req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

export function createWebhookApp({
  adapters,
  starter,
  logger,
  metrics,
  now = Date.now,
  policy = DEFAULT_DELIVERY_POLICY,
}: WebhookAppOptions) {
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
      finish(req, res, { kind: 'invalid', error: 'unknown_provider' });
      return;
    }
    const headers = deliveryHeaders(req.rawHeaders);
    const refused = unsupportedBody(headers);
    if (refused) {
      finish(req, res, refused);
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
        finish(req, res, { kind: 'too_large', log: { err: err.message } });
        return;
      }
      if (err instanceof BodyAbortedError) {
        finish(req, res, { kind: 'invalid', error: 'aborted', log: { err: err.message } });
        return;
      }
      throw err;
    }
    res.locals.bodyRead = true;
    const adapter = res.locals.adapter as ProviderAdapter;
    const headers = res.locals.headers as IncomingHttpHeaders;
    finish(req, res, await deliver(adapter, starter, raw, headers, now(), policy));
  });

  app.all('/webhooks/:provider', (req, res) => {
    begin(req, res);
    if (!knownProvider(req.params.provider)) {
      finish(req, res, { kind: 'invalid', error: 'unknown_provider' });
      return;
    }
    res.set('allow', 'POST');
    finish(req, res, { kind: 'invalid', error: 'method_not_allowed', log: { method: req.method } });
  });

  app.use((req, res) => {
    begin(req, res);
    finish(req, res, { kind: 'invalid', error: 'not_found', log: { method: req.method } });
  });

  function finish(req: Request, res: Response, outcome: Outcome): void {
    const { status, body } = httpAnswer(outcome);
    const ms = Math.round((performance.now() - (res.locals.startedAt as number)) * 10) / 10;
    const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
    const answerable = !res.headersSent && res.socket !== null && !res.socket.destroyed;
    logger[level](
      {
        requestId: res.locals.requestId,
        provider: req.params.provider,
        status,
        outcome: body.status ?? body.error,
        ms,
        ...(answerable ? {} : { answered: false }),
        ...outcome.log,
      },
      'webhook delivery',
    );
    metrics?.record({
      provider: req.params.provider,
      outcome: outcome.kind,
      eventType: outcome.log?.eventType,
    });
    if (!answerable) return;
    // A body we refused unread (413, 415, 404, 405) is not drained: closing the connection is what
    // stops a 50 MiB upload after its first bytes. Node reads a small one off the socket anyway.
    if (res.locals.bodyRead !== true && requestHasBody(req)) res.set('connection', 'close');
    res
      .status(status)
      .set('x-request-id', res.locals.requestId as string)
      .json(body);
  }

  // Anything unexpected (a bug, or express refusing a malformed path). Nothing has been acknowledged.
  const onError: ErrorRequestHandler = (err: { status?: number; message?: string }, req, res, _next) => {
    begin(req, res);
    const clientError = typeof err.status === 'number' && err.status >= 400 && err.status < 500;
    const log = { err: err.message };
    finish(
      req,
      res,
      clientError
        ? { kind: 'invalid', error: 'bad_request', status: err.status!, log }
        : { kind: 'error', log },
    );
  };
  app.use(onError);

  return app;
}
