/**
 * Taking access back, or giving it back, in the generic LMS: find the enrollment a grant created (by
 * its external_ref, the same one enrollment wrote), then `POST /api/enrollments/:id/access` with the new
 * status. Safe to repeat, so every transport failure is retryable: the Idempotency-Key is derived from
 * the refund or dispute that caused the change (never from the attempt), and the LMS answers a status
 * the enrollment already has with 200 and no change.
 */
import type { WorkerConfig } from '../config';
import { idempotencyKey } from '../domain/ids';
import { currentAttempt } from './activity-context';
import { DownstreamFailure } from './errors';
import {
  failureForStatus,
  failureForTransport,
  httpRequest,
  HttpTransportError,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  type HttpRequest,
  type HttpResponse,
} from './http';
import { externalRef } from './lms';
import type { ChangeAccessInput, ChangeAccessResult } from './types';
import { changeAccessInputSchema, parseInput } from './validation';

type LmsConfig = Pick<WorkerConfig, 'LMS_BASE_URL' | 'LMS_API_KEY'>;

export async function changeAccessOnce(
  config: LmsConfig,
  deps: HttpDeps & ClassifyDeps,
  rawInput: ChangeAccessInput,
): Promise<ChangeAccessResult> {
  const attempt = currentAttempt();
  const input = parseInput(changeAccessInputSchema, rawInput, 'changeAccess');
  const send = async (req: Omit<HttpRequest, 'downstream' | 'payment' | 'errorCode'>) => {
    try {
      return await httpRequest(deps, {
        ...req,
        downstream: 'lms',
        payment: input.payment,
        errorCode: (body) => pickString(body, 'error'),
      });
    } catch (err) {
      if (err instanceof HttpTransportError) throw failureForTransport(err, 'LMS');
      throw err;
    }
  };
  const headers = { 'X-Api-Key': config.LMS_API_KEY };

  const ref = externalRef(input.payment, input.grantKey);
  const found = await send({
    operation: 'find_enrollment',
    method: 'GET',
    url: `${config.LMS_BASE_URL}/api/enrollments?external_ref=${encodeURIComponent(ref)}`,
    headers,
  });
  if (found.status !== 200) throw failureForStatus(found, 'LMS', 'LmsRejected', deps, errorOf(found));
  const enrollmentId = firstEnrollmentId(found.body);
  // Nothing was granted under this payment and course: nothing to take back.
  if (!enrollmentId) return { found: false, attempt };

  const step = `lms-${input.status}${input.grantKey ? `-${input.grantKey}` : ''}`;
  const res = await send({
    operation: 'change_access',
    method: 'POST',
    url: `${config.LMS_BASE_URL}/api/enrollments/${encodeURIComponent(enrollmentId)}/access`,
    headers: {
      ...headers,
      'Idempotency-Key': idempotencyKey(input.payment.provider, input.cause.id, step),
    },
    json: {
      status: input.status,
      reason: input.reason,
      external_ref: `${input.payment.provider}:${input.cause.kind}:${input.cause.id}`,
    },
  });
  const code = errorOf(res);
  if (res.status === 200) {
    const status = pickString(res.body, 'status');
    if (status !== input.status) {
      throw new DownstreamFailure(
        'DownstreamBadResponse',
        `LMS answered 200 with status ${status ?? '(none)'} for a change to ${input.status}`,
        { status: res.status },
      );
    }
    return { found: true, enrollmentId, status: input.status, attempt };
  }
  if (res.status === 404 && code === 'enrollment_not_found') return { found: false, attempt };
  if (res.status === 409 && code === 'enrollment_revoked') {
    // Final in the LMS: only a person can decide what a restore of a revoked course should mean.
    throw new DownstreamFailure('LmsRejected', `LMS refused: enrollment ${enrollmentId} is already revoked`, {
      status: res.status,
      code,
    });
  }
  throw failureForStatus(res, 'LMS', 'LmsRejected', deps, code);
}

const errorOf = (res: HttpResponse) => pickString(res.body, 'error');

function firstEnrollmentId(body: unknown): string | undefined {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data) || data.length === 0) return undefined;
  return pickString(data[0], 'id');
}
