/**
 * LMS enrollment. Safe to repeat: the call carries a stable Idempotency-Key and external_ref per
 * payment, and the LMS answers 409 already_enrolled for a payment it has seen, which is success.
 * So every transport failure, timeouts included, is retryable here.
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
} from './http';
import type { EnrollStudentInput, EnrollStudentResult } from './types';
import { enrollStudentInputSchema, parseInput } from './validation';

const lmsErrorCode = (body: unknown) => pickString(body, 'error');

export function externalRef(payment: EnrollStudentInput['payment'], grantKey?: string): string {
  const ref = `${payment.provider}:${payment.paymentId}`;
  return grantKey ? `${ref}:${grantKey}` : ref;
}

export async function enrollStudentOnce(
  config: Pick<WorkerConfig, 'LMS_BASE_URL' | 'LMS_API_KEY'>,
  deps: HttpDeps & ClassifyDeps,
  rawInput: EnrollStudentInput,
): Promise<EnrollStudentResult> {
  const attempt = currentAttempt();
  const input = parseInput(enrollStudentInputSchema, rawInput, 'enrollStudent');
  const ref = externalRef(input.payment, input.grantKey);
  // One key per course of a bundle; payments started before the catalog keep their one key per payment.
  const step = input.grantKey ? `lms-${input.grantKey}` : 'lms';

  let res;
  try {
    res = await httpRequest(deps, {
      downstream: 'lms',
      operation: 'create_enrollment',
      method: 'POST',
      url: `${config.LMS_BASE_URL}/api/enrollments`,
      headers: {
        'X-Api-Key': config.LMS_API_KEY,
        // Derived from the payment, never from the attempt: every retry presents the same key.
        'Idempotency-Key': idempotencyKey(input.payment.provider, input.payment.paymentId, step),
      },
      json: { email: input.email, name: input.name, course_id: input.courseId, external_ref: ref },
      payment: input.payment,
      errorCode: lmsErrorCode,
    });
  } catch (err) {
    if (err instanceof HttpTransportError) throw failureForTransport(err, 'LMS');
    throw err;
  }

  const code = lmsErrorCode(res.body);
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
    return { enrollmentId: id, alreadyEnrolled: false, attempt };
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
    return { enrollmentId, alreadyEnrolled: true, attempt };
  }
  // Any other 409 is the idempotency draft's "same key still in flight": retryable (generic rule).
  throw failureForStatus(res, 'LMS', 'LmsRejected', deps, code);
}
