import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
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
  /** When the receiver traces (src/observability/tracing.ts): one SERVER span per request to /webhooks/. */
  tracer?: Tracer;
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
  tracer,
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
  if (tracer) app.use('/webhooks', traceRequest(tracer));
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
    const span = res.locals.span as Span | undefined;
    if (span) {
      span.setAttributes({
        'http.response.status_code': status,
        'enrollflow.outcome': outcome.kind,
        ...(knownProvider(req.params.provider) ? { 'enrollflow.provider': req.params.provider } : {}),
        ...(typeof outcome.log?.eventType === 'string'
          ? { 'enrollflow.event_type': outcome.log.eventType }
          : {}),
      });
      const route = (req.route as { path?: unknown } | undefined)?.path;
      if (typeof route === 'string') {
        span.setAttribute('http.route', route);
        span.updateName(`${req.method} ${route}`);
      }
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.kind });
    }
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

/**
 * One SERVER span per delivery, active while it is handled, so the Temporal client's StartWorkflow
 * span (and through it the workflow's) is its child; `finish` adds the answer. Every log line of the
 * request carries its `traceId`.
 *
 * A small span by hand rather than @opentelemetry/instrumentation-http or -express: those patch
 * `http` and `express` through require hooks, which must be installed before either module is loaded
 * (a `--require` preload in every start command) and which jest's module registry bypasses, so the
 * end-to-end test of the trace could not see their spans.
 */
function traceRequest(tracer: Tracer): RequestHandler {
  return (req, res, next) => {
    // Always a new trace: a webhook comes from the internet, and an incoming `traceparent` would let
    // the caller choose our trace ids and sampling.
    const span = tracer.startSpan(
      `${req.method} /webhooks`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': req.method,
          'url.scheme': req.protocol,
          'enrollflow.request_id': res.locals.requestId as string,
        },
      },
      ROOT_CONTEXT,
    );
    res.locals.span = span;
    res.once('close', () => span.end());
    withLogContext({ traceId: span.spanContext().traceId }, () =>
      context.with(trace.setSpan(ROOT_CONTEXT, span), next),
    );
  };
}
