/**
 * HubSpot contact upsert by email (batch upsert with one input): idempotent by nature, so timeouts
 * and resets are retryable. Authenticated with the worker-wide HubSpotTokenCache.
 */
import type { WorkerConfig } from '../config';
import { currentAttempt } from './activity-context';
import { DownstreamFailure } from './errors';
import type { HubSpotTokenCache } from './hubspot-token';
import {
  failureForStatus,
  pick,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  type HttpResponse,
  idempotentRequest,
} from './http';
import type { UpsertContactInput, UpsertContactResult } from './types';
import { parseInput, upsertContactInputSchema } from './validation';

const AUTH_CATEGORIES = new Set(['EXPIRED_AUTHENTICATION', 'INVALID_AUTHENTICATION']);

const hubspotErrorCode = (body: unknown) =>
  pickString(body, 'category') ?? pickString(body, 'errorType') ?? pickString(body, 'status');

/** "Asha Verma" -> Asha / Verma; "Asha Rani Verma" -> Asha / Rani Verma; "Asha" -> Asha / (none). */
export function splitName(name: string): { firstname: string; lastname?: string } {
  const [first = '', ...rest] = name.trim().split(/\s+/);
  return rest.length > 0 ? { firstname: first, lastname: rest.join(' ') } : { firstname: first };
}

export function contactProperties(input: UpsertContactInput): Record<string, string> {
  const props: Record<string, string> = {
    email: input.email,
    enrollflow_payment_ref: `${input.payment.provider}:${input.payment.paymentId}`,
    enrollflow_enrolled: String(input.enrolled),
  };
  // Absent fields are left out rather than sent empty: an upsert must not wipe what the CRM knows.
  if (input.name) Object.assign(props, splitName(input.name));
  if (input.phone) props.phone = input.phone;
  if (input.courseId) props.enrollflow_course_id = input.courseId;
  if (input.access) {
    props.enrollflow_access_state = input.access.state;
    props.enrollflow_access_reason = input.access.reason;
  }
  return props;
}

function isAuthRejection(res: HttpResponse): boolean {
  const category = pickString(res.body, 'category');
  return res.status === 401 && category !== undefined && AUTH_CATEGORIES.has(category);
}

/** HubSpot's 429: Retry-After when present, else the rolling window length it reports. */
function rateLimitFallbackMs(res: HttpResponse): number | undefined {
  const interval = Number(res.headers.get('x-hubspot-ratelimit-interval-milliseconds'));
  return Number.isFinite(interval) && interval > 0 ? interval : undefined;
}

export async function upsertContactOnce(
  config: Pick<WorkerConfig, 'HUBSPOT_BASE_URL'>,
  tokens: HubSpotTokenCache,
  deps: HttpDeps & ClassifyDeps,
  rawInput: UpsertContactInput,
): Promise<UpsertContactResult> {
  const attempt = currentAttempt();
  const input = parseInput(upsertContactInputSchema, rawInput, 'upsertCrmContact');
  const payload = {
    inputs: [{ idProperty: 'email', id: input.email, properties: contactProperties(input) }],
  };

  const upsert = (accessToken: string): Promise<HttpResponse> =>
    idempotentRequest(
      deps,
      {
        downstream: 'hubspot',
        operation: 'contacts_batch_upsert',
        method: 'POST',
        url: `${config.HUBSPOT_BASE_URL}/crm/v3/objects/contacts/batch/upsert`,
        headers: { Authorization: `Bearer ${accessToken}` },
        json: payload,
        payment: input.payment,
        errorCode: hubspotErrorCode,
      },
      'HubSpot',
    );

  const firstToken = await tokens.getAccessToken(input.payment);
  let res = await upsert(firstToken);
  if (isAuthRejection(res)) {
    // Auth handshake, not a retry loop: the token was revoked or expired early, so get a fresh one
    // and present the same call exactly once more. Every other failure is left to Temporal's retries.
    tokens.invalidate(firstToken);
    const freshToken = await tokens.getAccessToken(input.payment);
    res = await upsert(freshToken);
  }

  const code = hubspotErrorCode(res.body);
  if (res.status === 401) {
    throw new DownstreamFailure(
      'HubSpotAuthFailed',
      `HubSpot rejected a freshly refreshed token (HTTP 401${code ? `, ${code}` : ''})`,
      { status: 401, code },
    );
  }
  if (res.status < 200 || res.status >= 300) {
    throw failureForStatus(res, 'HubSpot', 'CrmRejected', deps, code, rateLimitFallbackMs(res));
  }

  const result = pick(res.body, 'results', 0);
  const contactId = pickString(result, 'id');
  if (!contactId) {
    // A 207 / 200 with per-input errors: HubSpot looked at this contact and refused it.
    const inputError = pick(res.body, 'errors', 0);
    if (inputError !== undefined) {
      const category = pickString(inputError, 'category') ?? 'unknown';
      throw new DownstreamFailure('CrmRejected', `HubSpot refused the contact (${category})`, {
        status: res.status,
        code: category,
      });
    }
    throw new DownstreamFailure(
      'DownstreamBadResponse',
      `HubSpot answered ${res.status} without a contact id`,
      {
        status: res.status,
      },
    );
  }
  return { contactId, created: pick(result, 'new') === true, attempt };
}
