/**
 * WhatsApp welcome message through the Cloud API. Meta has no idempotency key for sends: a request
 * that may have reached Meta without an answer coming back is WhatsAppOutcomeUnknown (not retryable)
 * and goes to an operator, because a retry could deliver the welcome twice. Only a request that
 * provably never left (connection refused, DNS) is retried.
 *
 * Errors are classified by Meta's `error.code`, not the HTTP status (Meta's status mapping varies).
 */
import type { WorkerConfig } from '../config';
import { currentAttempt, previousHeartbeatDetails, recordHeartbeat } from './activity-context';
import type { RetryableErrorType } from '../domain/failures';
import { DownstreamFailure } from './errors';
import {
  failureForStatus,
  failureForTransport,
  httpRequest,
  HttpTransportError,
  pick,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  type HttpResponse,
} from './http';
import { retryDelayFromHeaders } from './retry-after';
import type { SendWelcomeInput, SendWelcomeResult } from './types';
import { parseInput, sendWelcomeInputSchema } from './validation';

type WhatsAppConfig = Pick<
  WorkerConfig,
  | 'WHATSAPP_GRAPH_URL'
  | 'WHATSAPP_API_VERSION'
  | 'WHATSAPP_PHONE_NUMBER_ID'
  | 'WHATSAPP_ACCESS_TOKEN'
  | 'WHATSAPP_TEMPLATE_NAME'
  | 'WHATSAPP_TEMPLATE_LANGUAGE'
>;

interface RetryableCode {
  type: RetryableErrorType;
  reason: string;
  /** Used when Meta sends no Retry-After; undefined leaves the backoff to the workflow's policy. */
  defaultDelayMs?: number;
}

export const WHATSAPP_RETRYABLE_CODES: Readonly<Record<number, RetryableCode>> = {
  130429: { type: 'RateLimited', reason: 'throughput limit reached' },
  131056: { type: 'RateLimited', reason: 'pair rate limit (same recipient)', defaultDelayMs: 60_000 },
  4: { type: 'RateLimited', reason: 'application rate limit', defaultDelayMs: 5 * 60_000 },
  80007: { type: 'RateLimited', reason: 'WABA rate limit', defaultDelayMs: 5 * 60_000 },
  131000: { type: 'DownstreamUnavailable', reason: 'unknown error on Meta side' },
  1: { type: 'DownstreamUnavailable', reason: 'API unknown / service unavailable' },
  2: { type: 'DownstreamUnavailable', reason: 'API service temporarily unavailable' },
};

export const WHATSAPP_NON_RETRYABLE_CODES: Readonly<Record<number, string>> = {
  131026: 'message undeliverable',
  131047: 'outside the 24 h customer service window',
  190: 'access token invalid or expired',
  100: 'invalid parameter',
  132000: 'template parameter count mismatch',
  132001: 'template does not exist',
};

function metaErrorCode(body: unknown): number | undefined {
  const code = pick(body, 'error', 'code');
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}

/** Classifies a non-2xx answer from the Graph API. */
export function classifyWhatsAppError(res: HttpResponse, deps: ClassifyDeps): DownstreamFailure {
  const code = metaErrorCode(res.body);
  if (code === undefined) {
    // No Meta error envelope (a proxy or load balancer answered): fall back to the HTTP status.
    return failureForStatus(res, 'WhatsApp', 'WhatsAppRejected', deps);
  }
  const info = { status: res.status, code: String(code) };
  const retryable = WHATSAPP_RETRYABLE_CODES[code];
  if (retryable) {
    return new DownstreamFailure(retryable.type, `WhatsApp error ${code}: ${retryable.reason}`, {
      ...info,
      retryDelayMs: retryDelayFromHeaders(res.headers, deps.now(), deps.random, retryable.defaultDelayMs),
    });
  }
  const rejected = WHATSAPP_NON_RETRYABLE_CODES[code];
  if (rejected) return new DownstreamFailure('WhatsAppRejected', `WhatsApp error ${code}: ${rejected}`, info);
  if (res.status >= 500) {
    return new DownstreamFailure('DownstreamUnavailable', `WhatsApp error ${code} (HTTP ${res.status})`, {
      ...info,
      retryDelayMs: retryDelayFromHeaders(res.headers, deps.now(), deps.random),
    });
  }
  return new DownstreamFailure(
    'WhatsAppRejected',
    `WhatsApp error ${code} (HTTP ${res.status}, unknown code)`,
    info,
  );
}

export function firstName(name: string): string {
  return name.trim().split(/\s+/)[0] ?? name.trim();
}

export async function sendWelcomeOnce(
  config: WhatsAppConfig,
  deps: HttpDeps & ClassifyDeps,
  rawInput: SendWelcomeInput,
): Promise<SendWelcomeResult> {
  const attempt = currentAttempt();
  const input = parseInput(sendWelcomeInputSchema, rawInput, 'sendWelcomeMessage');

  // At most once across attempts. Temporal retries this activity on its own, so a retry must know
  // how the previous attempt ended. The only safe case is a definite refusal from Meta (or a refused
  // connection): such an attempt records "not_sent" in its heartbeat details, which Temporal's core
  // SDK sends along with the failure itself, so the record is as durable as the failure. Any other
  // predecessor (worker killed mid-call, start-to-close timeout) leaves no such record: the message
  // may be out, so this attempt stops and an operator decides instead of sending a second one.
  // The record names its attempt: a refusal two attempts back says nothing about the one in between.
  // (A heartbeat sent *before* the request would race the request and lose under a kill -9.)
  if (attempt > 1 && refusedAttemptOf(previousHeartbeatDetails()) !== attempt - 1) {
    throw new DownstreamFailure(
      'WhatsAppOutcomeUnknown',
      'a previous attempt ended without a definite answer from WhatsApp (worker lost mid-call?); the message may have been delivered, not resending',
      { code: 'interrupted_attempt' },
    );
  }
  const notSent = () => recordHeartbeat({ whatsappNotSentAttempt: attempt } satisfies SendMarker);

  let res: HttpResponse;
  try {
    res = await httpRequest(deps, {
      downstream: 'whatsapp',
      operation: 'send_template',
      method: 'POST',
      url: `${config.WHATSAPP_GRAPH_URL}/${config.WHATSAPP_API_VERSION}/${config.WHATSAPP_PHONE_NUMBER_ID}/messages`,
      headers: { Authorization: `Bearer ${config.WHATSAPP_ACCESS_TOKEN}` },
      json: {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: input.phone.slice(1),
        type: 'template',
        template: {
          name: input.template ?? config.WHATSAPP_TEMPLATE_NAME,
          language: { code: config.WHATSAPP_TEMPLATE_LANGUAGE },
          components: [
            {
              type: 'body',
              parameters: [
                { type: 'text', text: firstName(input.name) },
                { type: 'text', text: input.courseTitle ?? input.courseId },
              ],
            },
          ],
        },
      },
      payment: input.payment,
      errorCode: (body) => {
        const code = metaErrorCode(body);
        return code === undefined ? undefined : String(code);
      },
    });
  } catch (err) {
    if (!(err instanceof HttpTransportError)) throw err;
    if (!err.mayHaveBeenSent) {
      notSent();
      throw failureForTransport(err, 'WhatsApp');
    }
    throw new DownstreamFailure(
      'WhatsAppOutcomeUnknown',
      `WhatsApp send outcome unknown: the request may have been delivered (${err.message}); not retried to avoid a duplicate message`,
      { code: err.code, cause: err },
    );
  }

  if (res.status >= 200 && res.status < 300) {
    const messageId = pickString(res.body, 'messages', 0, 'id');
    if (!messageId) {
      // Accepted (2xx) but we cannot record what was sent: a retry could send a second message.
      throw new DownstreamFailure(
        'WhatsAppOutcomeUnknown',
        `WhatsApp answered ${res.status} without a message id; the message may have been sent`,
        { status: res.status, code: 'missing_message_id' },
      );
    }
    const waId = pickString(res.body, 'contacts', 0, 'wa_id');
    return { messageId, ...(waId ? { waId } : {}), attempt };
  }
  // Meta answered with an error: the message was certainly not accepted.
  notSent();
  throw classifyWhatsAppError(res, deps);
}

/** Left by an attempt that WhatsApp definitely did not accept. */
interface SendMarker {
  whatsappNotSentAttempt: number;
}

function refusedAttemptOf(details: unknown): number | undefined {
  const value = (details as Partial<SendMarker> | undefined)?.whatsappNotSentAttempt;
  return typeof value === 'number' ? value : undefined;
}
