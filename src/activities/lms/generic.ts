/**
 * The generic REST LMS (docs/lms.md): `POST /api/enrollments` with an Idempotency-Key and an
 * external_ref per grant, 409 already_enrolled for an enrollment it holds; `GET /api/enrollments?
 * external_ref=` and `POST /api/enrollments/:id/access` to suspend, restore or revoke. Every call is
 * safe to repeat (the key and the reference derive from the payment, or from the refund or dispute,
 * never from the attempt), so every transport failure is retryable here.
 */
import type { WorkerConfig } from '../../config';
import { idempotencyKey } from '../../domain/ids';
import { DownstreamFailure } from '../errors';
import {
  failureForStatus,
  pickString,
  type ClassifyDeps,
  type HttpDeps,
  type HttpRequest,
  type HttpResponse,
  idempotentRequest,
} from '../http';
import type { PaymentRef } from '../types';
import type { AccessRequest, EnrollRequest, LmsAdapter } from './adapter';

export type GenericLmsConfig = { LMS_BASE_URL: string; LMS_API_KEY: string };

export function externalRef(payment: PaymentRef, grantKey?: string): string {
  const ref = `${payment.provider}:${payment.paymentId}`;
  return grantKey ? `${ref}:${grantKey}` : ref;
}

const errorOf = (body: unknown) => pickString(body, 'error');

export function genericLmsConfig(config: WorkerConfig): GenericLmsConfig {
  // Checked at start-up (requireLmsSettings); this only narrows the types.
  if (!config.LMS_BASE_URL || !config.LMS_API_KEY)
    throw new Error('LMS_BASE_URL and LMS_API_KEY are required');
  return { LMS_BASE_URL: config.LMS_BASE_URL, LMS_API_KEY: config.LMS_API_KEY };
}

export function createGenericLms(config: GenericLmsConfig, deps: HttpDeps & ClassifyDeps): LmsAdapter {
  const headers = { 'X-Api-Key': config.LMS_API_KEY };
  const send = async (payment: PaymentRef, req: Omit<HttpRequest, 'downstream' | 'payment' | 'errorCode'>) =>
    idempotentRequest(deps, { ...req, downstream: 'lms', payment, errorCode: errorOf }, 'LMS');
  // 401/403: the API key is wrong or lacks rights, whatever the student: the operator's to fix.
  const rejected = (res: HttpResponse) =>
    failureForStatus(
      res,
      'LMS',
      res.status === 401 || res.status === 403 ? 'LmsMisconfigured' : 'LmsRejected',
      deps,
      errorOf(res.body),
    );

  async function enroll(input: EnrollRequest) {
    const ref = externalRef(input.payment, input.grantKey);
    // One key per course of a bundle; payments started before the catalog keep their one key per payment.
    const step = input.grantKey ? `lms-${input.grantKey}` : 'lms';
    const res = await send(input.payment, {
      operation: 'create_enrollment',
      method: 'POST',
      url: `${config.LMS_BASE_URL}/api/enrollments`,
      headers: {
        ...headers,
        // Derived from the payment, never from the attempt: every retry presents the same key.
        'Idempotency-Key': idempotencyKey(input.payment.provider, input.payment.paymentId, step),
      },
      json: { email: input.email, name: input.name, course_id: input.courseId, external_ref: ref },
    });

    const code = errorOf(res.body);
    if (res.status >= 200 && res.status < 300) {
      const id = pickString(res.body, 'id');
      if (!id) {
        // Created (probably), but unusable: the retry is answered 409 with the enrollment.
        throw new DownstreamFailure(
          'DownstreamBadResponse',
          `LMS answered ${res.status} without an enrollment id`,
          {
            status: res.status,
          },
        );
      }
      return { enrollmentId: id, alreadyEnrolled: false };
    }
    if (res.status === 409 && code === 'already_enrolled') {
      const enrollmentId = pickString(res.body, 'enrollment', 'id') ?? ref;
      const status = pickString(res.body, 'enrollment', 'status');
      // Enrolled, but without access (a dispute on an earlier payment suspended it): this payment's
      // access is not there, and a person decides whether the new payment should restore it.
      if (status !== undefined && status !== 'active') {
        throw new DownstreamFailure(
          'LmsRejected',
          `LMS: the student is already in the course, but enrollment ${enrollmentId} is ${status}`,
          { status: res.status, code },
        );
      }
      return { enrollmentId, alreadyEnrolled: true };
    }
    // Any other 409 is the idempotency draft's "same key still in flight": retryable (generic rule).
    throw rejected(res);
  }

  /**
   * Find the enrollment a grant created (by the external_ref enrollment wrote), then set its status.
   * The LMS answers a status the enrollment already has with 200 and no change.
   */
  async function changeAccess(input: AccessRequest) {
    const ref = externalRef(input.payment, input.grantKey);
    const found = await send(input.payment, {
      operation: 'find_enrollment',
      method: 'GET',
      url: `${config.LMS_BASE_URL}/api/enrollments?external_ref=${encodeURIComponent(ref)}`,
      headers,
    });
    if (found.status !== 200) throw rejected(found);
    const enrollmentId = firstEnrollmentId(found.body);
    // Nothing was granted under this payment and course: nothing to take back.
    if (!enrollmentId) return { found: false };

    const step = `lms-${input.status}${input.grantKey ? `-${input.grantKey}` : ''}`;
    const res = await send(input.payment, {
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
    const code = errorOf(res.body);
    if (res.status === 200) {
      const status = pickString(res.body, 'status');
      if (status !== input.status) {
        throw new DownstreamFailure(
          'DownstreamBadResponse',
          `LMS answered 200 with status ${status ?? '(none)'} for a change to ${input.status}`,
          { status: res.status },
        );
      }
      return { found: true, enrollmentId };
    }
    if (res.status === 404 && code === 'enrollment_not_found') return { found: false };
    if (res.status === 409 && code === 'enrollment_revoked') {
      // Final in the LMS: only a person can decide what a restore of a revoked course should mean.
      throw new DownstreamFailure(
        'LmsRejected',
        `LMS refused: enrollment ${enrollmentId} is already revoked`,
        {
          status: res.status,
          code,
        },
      );
    }
    throw rejected(res);
  }

  return { provider: 'generic', enroll, changeAccess };
}

function firstEnrollmentId(body: unknown): string | undefined {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data) || data.length === 0) return undefined;
  return pickString(data[0], 'id');
}
