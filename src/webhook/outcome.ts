/**
 * How a webhook request ended. `kind` is the metric's outcome label (`deliveryOutcomes`), so the
 * metrics count what the code decided instead of guessing it back from the HTTP answer; the answer
 * itself comes from `httpAnswer`, the one place that knows statuses and bodies.
 */

/** Fields a delivery's `webhook delivery` log line carries beyond status and outcome. */
export interface DeliveryLog {
  eventType?: string;
  eventId?: string;
  paymentId?: string;
  /** Masked (`maskEmail`): the log line never holds the student's address. */
  email?: string;
  workflowId?: string;
  reason?: string;
  signatureError?: string;
  method?: string;
  err?: string;
}

/** Requests refused as invalid that need nothing beyond their error code to be answered. */
type RefusedRequest =
  | 'malformed_json'
  | 'not_an_event_object'
  | 'unknown_provider'
  | 'not_found'
  | 'method_not_allowed'
  | 'aborted';

export type Outcome = (
  | { kind: 'started' | 'duplicate'; workflowId: string }
  | { kind: 'ignored'; eventType: string }
  /** A signed paid or access event older than the redelivery horizon: acknowledged, nothing started. */
  | { kind: 'stale'; eventType: string }
  | { kind: 'invalid'; error: 'invalid_event'; reason: string }
  | { kind: 'invalid'; error: RefusedRequest }
  /** Express refused the request itself (a malformed path): its status is passed on. */
  | { kind: 'invalid'; error: 'bad_request'; status: number }
  | { kind: 'unauthorized' }
  | { kind: 'too_large' }
  | { kind: 'unsupported'; error: 'unsupported_media_type' | 'unsupported_content_encoding' }
  | { kind: 'unavailable' }
  | { kind: 'error' }
) & { log?: DeliveryLog };

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

const refusedStatus: Record<RefusedRequest, number> = {
  malformed_json: 400,
  not_an_event_object: 400,
  // Nobody reads this answer (the client left, or Node already sent 408); it is logged and counted.
  aborted: 400,
  unknown_provider: 404,
  not_found: 404,
  // A webhook endpoint takes POST only; saying so (405 + Allow) beats a bare 404 for whoever debugs it.
  method_not_allowed: 405,
};

export function httpAnswer(outcome: Outcome): HttpAnswer {
  switch (outcome.kind) {
    case 'started':
    case 'duplicate':
      return { status: 200, body: { status: outcome.kind, workflowId: outcome.workflowId } };
    case 'ignored':
      // 200 so the provider stops redelivering an event we will never act on.
      return { status: 200, body: { status: 'ignored', eventType: outcome.eventType } };
    case 'stale':
      // 200 so the provider stops redelivering a replay we will never act on.
      return { status: 200, body: { status: 'stale', eventType: outcome.eventType } };
    case 'invalid':
      if (outcome.error === 'invalid_event') {
        // 400 makes the provider retry, and the log line makes someone look.
        return { status: 400, body: { error: outcome.error, reason: outcome.reason } };
      }
      if (outcome.error === 'bad_request') return { status: outcome.status, body: { error: outcome.error } };
      return { status: refusedStatus[outcome.error], body: { error: outcome.error } };
    case 'unauthorized':
      // Nothing in the response says what was wrong: that would help an attacker.
      return { status: 401, body: { error: 'invalid_signature' } };
    case 'too_large':
      return { status: 413, body: { error: 'payload_too_large' } };
    case 'unsupported':
      return { status: 415, body: { error: outcome.error } };
    case 'unavailable':
      // 503 so the provider redelivers once Temporal is back.
      return { status: 503, body: { error: 'temporarily_unavailable' } };
    case 'error':
      // 500 makes the provider redeliver.
      return { status: 500, body: { error: 'internal_error' } };
  }
}
