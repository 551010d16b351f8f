/**
 * The request pipeline every fake endpoint shares, so all three services order their work the same
 * way: admit (auth, required headers) -> injected fault -> handle (validate, record side effect)
 * -> latency -> answer. Handlers are synchronous and return a `Reply`; that keeps "side effect
 * recorded" and "response written" two separate, observable moments.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { z } from 'zod';
import type { ServiceContext } from './context';
import { isoAt } from './context';
import type { InjectedFault, ServiceName } from './faults';
import { redactUserPath } from '../domain/mask';
import { type IssueDetail, issueDetails } from '../domain/zod-issues';

export interface Reply {
  status: number;
  /** Sent as JSON (`null` included: Moodle answers it). */
  body?: unknown;
  /** Sent as text/plain instead of `body` (Canvas's throttling answer is not JSON). */
  text?: string;
  headers?: Record<string, string>;
}

export const reply = (status: number, body?: unknown, headers?: Record<string, string>): Reply => ({
  status,
  body,
  headers,
});

/** Each downstream has its own error shape, and clients classify errors by it. */
export interface ErrorDialect {
  /** Malformed or oversized bodies, caught by the body parsers before any handler runs. */
  unreadableBody(status: number, message: string): Reply;
  notFound(): Reply;
}

export interface ServiceProfile extends ErrorDialect {
  service: ServiceName;
  faultReply(fault: InjectedFault): Reply;
}

export interface EndpointSteps {
  /** Checks answered before fault injection (auth, mandatory headers). */
  admit?: (req: Request) => Reply | undefined;
  handle: (req: Request) => Reply;
  /** Faults and latency apply unless false (the OAuth token endpoint opts out). */
  faultable?: boolean;
}

export function endpoint(ctx: ServiceContext, profile: ServiceProfile, steps: EndpointSteps): RequestHandler {
  const faultable = steps.faultable ?? true;
  return async (req, res) => {
    const answer = decide(req, res);
    // Status first: if the client gives up during the latency below, the request log still shows
    // what the sandbox committed to answering.
    res.status(answer.status);
    const delay = faultable ? ctx.faults.latencyFor(profile.service) : 0;
    if (delay > 0) await pause(delay, ctx.shutdown);
    // A client that timed out is gone; the side effect stands, only the answer is lost.
    if (res.destroyed || res.writableEnded) return;
    send(res, answer);
  };

  function decide(req: Request, res: Response): Reply {
    const refused = steps.admit?.(req);
    if (refused) return refused;
    const fault = faultable ? ctx.faults.decide(profile.service) : undefined;
    if (fault) {
      // Recorded with the request: Moodle's injected errors are HTTP 200, so the status cannot say.
      res.locals.injectedFault = fault.kind;
      return profile.faultReply(fault);
    }
    return steps.handle(req);
  }
}

async function pause(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // Aborted by shutdown: fall through and let the (closed) response be skipped.
  }
}

/** The path as logged and kept in the ledger: Canvas's user lookups name the student, who is not logged. */
const pathOf = (req: Request) => redactUserPath(req.originalUrl.split('?')[0] ?? req.originalUrl);

/** Per exchange: records it once, either when the answer is written or when the client leaves. */
const exchangeRecorders = new WeakMap<Response, (aborted: boolean) => void>();

/**
 * One log line per request, and for the three services one ledger row too. The row is written
 * synchronously just before the answer goes out (see `send`), so a client that reads the ledger
 * right after getting a response always finds its own request in it.
 */
export function observeRequests(ctx: ServiceContext, service: ServiceName | 'sandbox'): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const at = isoAt(ctx.now());
    const idempotencyKey = req.get('idempotency-key');
    const traceparent = req.get('traceparent');
    let recorded = false;
    const record = (aborted: boolean) => {
      if (recorded) return;
      recorded = true;
      const ms = Number((process.hrtime.bigint() - started) / 1_000_000n);
      const line = { downstream: service, method: req.method, path: pathOf(req), status: res.statusCode, ms };
      // Only method, path, status and timing: headers and bodies carry tokens and student PII.
      ctx.logger.info(aborted ? { ...line, aborted } : line, 'request');
      if (service === 'sandbox') return;
      const fault = res.locals.injectedFault as InjectedFault['kind'] | undefined;
      ctx.ledger.recordRequest({
        ...line,
        service,
        ...(fault !== undefined && { fault }),
        ...(idempotencyKey !== undefined && { idempotencyKey }),
        ...(traceparent !== undefined && { traceparent }),
        at,
        ...(aborted && { aborted }),
      });
    };
    exchangeRecorders.set(res, record);
    // Fallbacks: answers written by express itself, and clients that hang up before any answer.
    res.once('finish', () => record(false));
    res.once('close', () => record(!res.writableFinished));
    next();
  };
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Turns body-parser failures into the service's own error shape; anything else is a sandbox bug. */
export function serviceErrors(ctx: ServiceContext, name: string, dialect: ErrorDialect): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const parserError = err as BodyParserError;
    if (parserError.type === 'entity.parse.failed') {
      return send(res, dialect.unreadableBody(400, 'Request body is not valid JSON'));
    }
    if (parserError.type === 'entity.too.large') {
      return send(res, dialect.unreadableBody(413, 'Request body exceeds 1mb'));
    }
    if (typeof parserError.status === 'number' && parserError.status < 500) {
      return send(res, dialect.unreadableBody(parserError.status, 'Request body could not be read'));
    }
    ctx.logger.error({ err, service: name }, 'sandbox handler failed');
    send(res, reply(500, { error: 'sandbox_internal_error' }));
  };
}

export const notFound =
  (dialect: ErrorDialect): RequestHandler =>
  (_req, res) =>
    send(res, dialect.notFound());

export function send(res: Response, answer: Reply): void {
  res.status(answer.status);
  exchangeRecorders.get(res)?.(false);
  for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
  if (answer.text !== undefined) {
    if (!res.getHeader('content-type')) res.type('text/plain; charset=utf-8');
    res.send(answer.text);
  } else if (answer.body === undefined) res.end();
  else res.json(answer.body);
}

/**
 * Compares digests so neither length nor content leaks through timing. Overkill on loopback, but
 * this code gets read as an example of how to check a credential.
 */
export function safeEqual(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

export function bearerToken(req: Request): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  return match?.[1];
}

export const bodyIssueDetails = (error: z.ZodError): IssueDetail[] => issueDetails(error, '(body)');
