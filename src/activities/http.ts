/**
 * The one way activities talk HTTP: a single attempt with a deadline, JSON in and out, and exactly
 * one structured log line per call. No retries here: retrying is Temporal's job.
 *
 * Connections: Node 20's built-in fetch (undici) pools and reuses keep-alive connections per origin
 * through its global dispatcher, so repeated calls to a downstream do not pay a TCP/TLS handshake
 * each time. (`keepalive: true` in RequestInit is a browser unload feature, unrelated; not set.)
 *
 * Logging: method, URL without query/credentials, status, duration, payment, outcome, and the
 * activity's workflow id, activity id, type and attempt.
 * Request/response headers and bodies are never logged: they carry tokens, keys and student PII.
 *
 * Tracing (with `HttpDeps.tracer`): one CLIENT span per call, child of the activity's, and its W3C
 * `traceparent` sent along, so a downstream that traces joins the payment's trace. The span holds
 * what the log line holds, no more: never a header, a body or a query string.
 */
import { performance } from 'node:perf_hooks';
import {
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
  type Tracer,
} from '@opentelemetry/api';
import type { Logger } from '../runtime/logger';
import { activityLogFields, currentCancellationSignal } from './activity-context';
import type { NonRetryableErrorType } from '../domain/failures';
import { redactContacts, redactUserPath } from '../domain/mask';
import { DownstreamFailure } from './errors';
import { retryDelayFromHeaders } from './retry-after';
import type { PaymentRef } from './types';

export type Downstream = 'lms' | 'whatsapp' | 'hubspot' | 'razorpay' | 'stripe';

export interface HttpRequest {
  downstream: Downstream;
  /** Short operation name for logs, e.g. `create_enrollment`, `oauth_token`. */
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`. */
  form?: Record<string, string>;
  /** The payment the call is made for, logged for correlation. */
  payment?: PaymentRef;
  /** Extracts the downstream's error code from a parsed body, for the log line (never the body itself). */
  errorCode?: (body: unknown) => string | undefined;
  /** Whether a 2xx body is an error all the same (Moodle answers its errors with HTTP 200). */
  isError?: (body: unknown) => boolean;
}

export interface HttpResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  body: unknown;
  /** The body as text (some errors are not JSON: Canvas's throttling answer is plain text). */
  text: string;
  durationMs: number;
}

export interface HttpDeps {
  fetch: typeof fetch;
  logger: Logger;
  timeoutMs: number;
  /** Set when the worker traces (src/observability/tracing.ts); unset, no span and no `traceparent`. */
  tracer?: Tracer;
}

export type StatusClass = 'ok' | 'retryable' | 'non_retryable';

/** 2xx ok; 408, 409, 429 and 5xx retryable; every other status (4xx, stray 1xx/3xx) not. */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 409 || status === 429 || status >= 500) return 'retryable';
  return 'non_retryable';
}

/**
 * - `connect`: the connection was never established (refused, DNS), so the request was never sent.
 * - `timeout`: HTTP_TIMEOUT_MS passed; the request may have been sent and processed.
 * - `network`: the connection broke (reset, closed) after it was up; the request may have been processed.
 */
export type TransportFailureKind = 'connect' | 'timeout' | 'network';

export class HttpTransportError extends Error {
  override name = 'HttpTransportError';
  constructor(
    readonly kind: TransportFailureKind,
    /** Low-level code (ECONNREFUSED, UND_ERR_SOCKET, ...) or `TIMEOUT`. */
    readonly code: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, { cause });
  }

  /** False only when we know the downstream never received the request. */
  get mayHaveBeenSent(): boolean {
    return this.kind !== 'connect';
  }
}

/** Errors raised before a TCP connection exists: the request bytes never left this process. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') return e.code;
  // Happy-eyeballs (autoSelectFamily) reports an AggregateError of per-address failures.
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const code = errorCodeOf(inner);
      if (code) return code;
    }
  }
  return e.cause === undefined ? undefined : errorCodeOf(e.cause);
}

function messageOf(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}

// Duck-typed on purpose: errors raised inside Node (DOMException, undici's) may come from another
// realm (a jest VM context, for one), where `instanceof Error` is false.
function toTransportError(err: unknown, timedOut: boolean, timeoutMs: number): HttpTransportError {
  if (timedOut || (err as { name?: unknown } | null)?.name === 'TimeoutError') {
    return new HttpTransportError('timeout', 'TIMEOUT', `no answer within ${timeoutMs} ms`, err);
  }
  const code = errorCodeOf(err) ?? 'UNKNOWN';
  const detail = messageOf((err as { cause?: unknown } | null)?.cause) || messageOf(err);
  if (NOT_SENT_CODES.has(code)) {
    return new HttpTransportError('connect', code, `could not connect (${code})`, err);
  }
  return new HttpTransportError(
    'network',
    code,
    `connection failed (${code}${detail ? `: ${detail}` : ''})`,
    err,
  );
}

/**
 * Origin and path only: no query string (could carry secrets), no userinfo, no fragment, and no
 * student named in the path (Canvas finds a user by `sis_login_id:<email>`, percent-encoded).
 */
export function loggableUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${redactUserPath(u.pathname)}`;
  } catch {
    return '[unparseable url]';
  }
}

function buildBody(req: HttpRequest): { body?: string; contentType?: string } {
  if (req.form !== undefined) {
    return {
      body: new URLSearchParams(req.form).toString(),
      contentType: 'application/x-www-form-urlencoded',
    };
  }
  if (req.json !== undefined) return { body: JSON.stringify(req.json), contentType: 'application/json' };
  return {};
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One HTTP request, one attempt. Resolves with any HTTP answer (the caller classifies it), rejects
 * with HttpTransportError when no answer arrived, or with Temporal's CancelledFailure on cancellation.
 */
export async function httpRequest(deps: HttpDeps, req: HttpRequest): Promise<HttpResponse> {
  const cancellation = currentCancellationSignal();
  const timeout = AbortSignal.timeout(deps.timeoutMs);
  const signal = cancellation ? AbortSignal.any([timeout, cancellation]) : timeout;
  const { body, contentType } = buildBody(req);
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (contentType) headers['content-type'] = contentType;

  const logFields = {
    downstream: req.downstream,
    operation: req.operation,
    method: req.method,
    url: loggableUrl(req.url),
    provider: req.payment?.provider,
    paymentId: req.payment?.paymentId,
    ...activityLogFields(),
  };
  const span = deps.tracer && startClientSpan(deps.tracer, req, logFields.url);
  if (span) propagation.inject(trace.setSpan(context.active(), span), headers);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  let status: number;
  let responseHeaders: Headers;
  let parsed: unknown;
  let text: string;
  try {
    // redirect 'manual': a POST must not silently become a GET elsewhere; a 3xx is a misconfiguration.
    const res = await deps.fetch(req.url, { method: req.method, headers, body, signal, redirect: 'manual' });
    status = res.status;
    responseHeaders = res.headers;
    // Reading the body is still under the same deadline (the signal covers the whole exchange).
    text = await res.text();
    parsed = parseJson(text);
  } catch (err) {
    const durationMs = elapsed();
    if (cancellation?.aborted) {
      deps.logger.warn(
        { ...logFields, durationMs, outcome: 'cancelled' },
        `${req.downstream} ${req.operation}`,
      );
      endClientSpan(span, { outcome: 'cancelled', errorType: 'cancelled' });
      throw cancellation.reason;
    }
    const failure = toTransportError(err, timeout.aborted, deps.timeoutMs);
    const outcome =
      failure.kind === 'timeout'
        ? 'timeout'
        : failure.kind === 'connect'
          ? 'connect_failed'
          : 'network_error';
    deps.logger.warn(
      { ...logFields, durationMs, outcome, transportCode: failure.code },
      `${req.downstream} ${req.operation}`,
    );
    endClientSpan(span, { outcome, errorType: failure.code });
    throw failure;
  }

  const durationMs = elapsed();
  const byStatus = classifyStatus(status);
  const outcome = byStatus === 'ok' && req.isError?.(parsed) ? 'error_body' : byStatus;
  // A code read from an error body is the downstream's text: it may quote the student's email or phone.
  const code = outcome === 'ok' ? undefined : req.errorCode?.(parsed);
  const errorCode = code === undefined ? undefined : redactContacts(code);
  const line = { ...logFields, status, durationMs, outcome, ...(errorCode ? { errorCode } : {}) };
  if (outcome === 'ok') deps.logger.info(line, `${req.downstream} ${req.operation}`);
  else deps.logger.warn(line, `${req.downstream} ${req.operation}`);
  endClientSpan(span, {
    outcome,
    status,
    ...(outcome === 'ok' ? {} : { errorType: outcome === 'error_body' ? 'error_body' : String(status) }),
    ...(errorCode ? { errorCode } : {}),
  });
  return { status, headers: responseHeaders, body: parsed, text, durationMs };
}

/** Named `{method} {downstream}.{operation}`: the operation is the call's route template, as in the log line. */
function startClientSpan(tracer: Tracer, req: HttpRequest, url: string): Span {
  let server: { 'server.address'?: string; 'server.port'?: number } = {};
  try {
    const u = new URL(req.url);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    server = { 'server.address': u.hostname, 'server.port': Number(port) };
  } catch {
    // loggableUrl already says the URL is unparseable; fetch will say the rest.
  }
  return tracer.startSpan(`${req.method} ${req.downstream}.${req.operation}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      'http.request.method': req.method,
      'url.full': url,
      ...server,
      'enrollflow.downstream': req.downstream,
      'enrollflow.operation': req.operation,
      ...(req.payment
        ? { 'enrollflow.provider': req.payment.provider, 'enrollflow.payment_id': req.payment.paymentId }
        : {}),
    },
  });
}

function endClientSpan(
  span: Span | undefined,
  end: { outcome: string; status?: number; errorType?: string; errorCode?: string },
): void {
  if (!span) return;
  span.setAttribute('enrollflow.outcome', end.outcome);
  if (end.status !== undefined) span.setAttribute('http.response.status_code', end.status);
  if (end.errorCode !== undefined) span.setAttribute('enrollflow.error_code', end.errorCode);
  if (end.errorType !== undefined) {
    span.setAttribute('error.type', end.errorType);
    span.setStatus({ code: SpanStatusCode.ERROR, message: end.outcome });
  }
  span.end();
}

export interface ClassifyDeps {
  now: () => number;
  random: () => number;
}

/**
 * The generic reading of a non-2xx answer: 429 RateLimited (with Retry-After), 408/409/5xx
 * DownstreamUnavailable (Retry-After honoured when present), any other status `rejectedType`.
 * `fallbackDelayMs` applies to a 429 without Retry-After.
 */
export function failureForStatus(
  res: HttpResponse,
  what: string,
  rejectedType: NonRetryableErrorType,
  deps: ClassifyDeps,
  code?: string,
  fallbackDelayMs?: number,
): DownstreamFailure {
  const { status } = res;
  const suffix = code ? `, ${code}` : '';
  if (status === 429) {
    return new DownstreamFailure('RateLimited', `${what} rate limited (HTTP 429${suffix})`, {
      status,
      code,
      retryDelayMs: retryDelayFromHeaders(res.headers, deps.now(), deps.random, fallbackDelayMs),
    });
  }
  if (classifyStatus(status) === 'retryable') {
    return new DownstreamFailure('DownstreamUnavailable', `${what} unavailable (HTTP ${status}${suffix})`, {
      status,
      code,
      retryDelayMs: retryDelayFromHeaders(res.headers, deps.now(), deps.random),
    });
  }
  return new DownstreamFailure(rejectedType, `${what} rejected the request (HTTP ${status}${suffix})`, {
    status,
    code,
  });
}

/**
 * `httpRequest` for a call that is safe to repeat: a transport failure (no answer, whatever the
 * reason) becomes the retryable failure naming `what`, since a retry cannot do harm.
 */
export async function idempotentRequest(
  deps: HttpDeps,
  req: HttpRequest,
  what: string,
): Promise<HttpResponse> {
  try {
    return await httpRequest(deps, req);
  } catch (err) {
    if (err instanceof HttpTransportError) throw failureForTransport(err, what);
    throw err;
  }
}

/** For idempotent calls only: any transport failure is safe to retry. */
export function failureForTransport(err: HttpTransportError, what: string): DownstreamFailure {
  if (err.kind === 'timeout') {
    return new DownstreamFailure('DownstreamTimeout', `${what} timed out (${err.message})`, {
      code: err.code,
      cause: err,
    });
  }
  return new DownstreamFailure('DownstreamUnavailable', `${what} unreachable (${err.message})`, {
    code: err.code,
    cause: err,
  });
}

/** Reads `obj.a.b...` from an unknown JSON value without trusting its shape. */
export function pick(obj: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[key];
  }
  return cur;
}

export function pickString(obj: unknown, ...path: (string | number)[]): string | undefined {
  const v = pick(obj, ...path);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}
