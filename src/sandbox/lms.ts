/**
 * A generic LMS: `POST /api/enrollments` with an API key, one enrollment per (email, course), and
 * `POST /api/enrollments/:id/access` to suspend, restore or revoke one (its status: active,
 * suspended, revoked).
 * Stricter than most real LMSs on purpose: it demands an `Idempotency-Key` and implements the IETF
 * httpapi draft semantics, so the sandbox can prove our client reuses one key across retries.
 */
import express, { type Request } from 'express';
import { z } from 'zod';
import type { SandboxService, ServiceContext } from './context';
import { isoAt } from './context';
import {
  endpoint,
  bodyIssueDetails,
  notFound,
  reply,
  safeEqual,
  serviceErrors,
  type Reply,
  type ServiceProfile,
} from './http';
import type { EnrollmentRecord } from './ledger';

const enrollmentRequestSchema = z.object({
  email: z.email('email must be a valid email address').max(320),
  name: z.string().trim().min(1, 'name is required').max(256),
  course_id: z.string().min(1, 'course_id is required').max(256),
  external_ref: z.string().min(1, 'external_ref is required').max(256),
});

const accessRequestSchema = z.object({
  status: z.enum(['active', 'suspended', 'revoked'], 'status must be active, suspended or revoked'),
  reason: z.string().trim().min(1, 'reason is required').max(256),
  external_ref: z.string().min(1, 'external_ref is required').max(256),
});

/** The API's view of an enrollment (the ledger also keeps the name and the idempotency key). */
const toResource = (e: EnrollmentRecord) => ({
  id: e.id,
  email: e.email,
  course_id: e.course_id,
  external_ref: e.external_ref,
  status: e.status,
  created_at: e.created_at,
  status_changed_at: e.access_changes.at(-1)?.at ?? null,
  status_reason: e.access_changes.at(-1)?.reason ?? null,
});

/** Key order must not make two equal bodies look different. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const profile: ServiceProfile = {
  service: 'lms',
  faultReply: (fault) =>
    fault.kind === 'rateLimited'
      ? reply(
          429,
          { error: 'rate_limited', message: 'Too many requests' },
          fault.retryAfter === undefined ? undefined : { 'Retry-After': fault.retryAfter },
        )
      : reply(503, { error: 'service_unavailable', message: 'The LMS is temporarily unavailable' }),
  unreadableBody: (status, message) => reply(status, { error: 'invalid_request', message }),
  notFound: () => reply(404, { error: 'not_found' }),
};

interface StoredOutcome {
  fingerprint: string;
  answer: Reply;
}

export function createLmsService(ctx: ServiceContext): SandboxService {
  /**
   * Idempotency-Key -> first conclusive outcome (201 or 409). Validation errors, rejections and
   * faults are not stored: nothing was decided, so a corrected retry with the same key may proceed.
   */
  const outcomes = new Map<string, StoredOutcome>();

  /** The answer a key already got, replayed; 422 when the key comes back with another request. */
  function replayOf(key: string, fingerprint: string): Reply | undefined {
    const stored = outcomes.get(key);
    if (!stored) return undefined;
    if (stored.fingerprint !== fingerprint) {
      return reply(422, {
        error: 'idempotency_key_reused',
        message: 'This Idempotency-Key was already used with a different request body',
      });
    }
    // Same status and body as the first time, as the draft requires; the header is a debugging aid.
    return { ...stored.answer, headers: { ...stored.answer.headers, 'Idempotent-Replayed': 'true' } };
  }

  const authorize = (req: Request): Reply | undefined =>
    safeEqual(req.get('x-api-key'), ctx.credentials.LMS_API_KEY)
      ? undefined
      : reply(401, { error: 'unauthorized' });

  const requireIdempotencyKey = (req: Request): Reply | undefined => {
    const key = req.get('idempotency-key');
    if (!key) {
      return reply(400, {
        error: 'idempotency_key_required',
        message: 'Send an Idempotency-Key header, reused unchanged on every retry',
      });
    }
    if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      return reply(400, {
        error: 'invalid_idempotency_key',
        message: `Idempotency-Key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
      });
    }
    return undefined;
  };

  function enroll(req: Request): Reply {
    const key = req.get('idempotency-key') ?? '';
    const body: unknown = req.body;
    const fingerprint = canonicalJson(body);
    const earlier = replayOf(key, fingerprint);
    if (earlier) return earlier;

    const parsed = enrollmentRequestSchema.safeParse(body);
    if (!parsed.success) {
      return reply(422, { error: 'invalid_request', details: bodyIssueDetails(parsed.error) });
    }
    const request = parsed.data;
    const rejected = ctx.faults.rejection('lms', { email: request.email, courseId: request.course_id });
    if (rejected) {
      return reply(422, {
        error: 'enrollment_rejected',
        message: `The LMS refuses this enrollment (${rejected})`,
      });
    }

    const existing = ctx.ledger.findEnrollment(request.email, request.course_id);
    const answer = existing
      ? reply(409, { error: 'already_enrolled', enrollment: toResource(existing) })
      : reply(
          201,
          toResource(
            ctx.ledger.recordEnrollment({
              email: request.email,
              name: request.name,
              course_id: request.course_id,
              external_ref: request.external_ref,
              created_at: isoAt(ctx.now()),
              idempotencyKey: key,
            }),
          ),
        );
    outcomes.set(key, { fingerprint, answer });
    return answer;
  }

  /**
   * `POST /api/enrollments/:id/access`: suspend, restore or revoke. Same Idempotency-Key rules as
   * creating one. Setting the status it already has is a no-op answered 200 (a second refund webhook
   * for a revoked enrollment changes nothing); `revoked` is final, so restoring it is refused 409.
   */
  function changeAccess(req: Request): Reply {
    const key = req.get('idempotency-key') ?? '';
    const id = String(req.params.id);
    const body: unknown = req.body;
    const fingerprint = canonicalJson({ id, body });
    const earlier = replayOf(key, fingerprint);
    if (earlier) return earlier;
    const parsed = accessRequestSchema.safeParse(body);
    if (!parsed.success) {
      return reply(422, { error: 'invalid_request', details: bodyIssueDetails(parsed.error) });
    }
    const existing = ctx.ledger.enrollmentById(id);
    if (!existing) return reply(404, { error: 'enrollment_not_found', message: `No enrollment ${id}` });
    const request = parsed.data;
    let answer: Reply;
    if (existing.status === request.status) {
      answer = reply(200, toResource(existing));
    } else if (existing.status === 'revoked') {
      answer = reply(409, {
        error: 'enrollment_revoked',
        message: `Enrollment ${id} was revoked; a revoked enrollment cannot change again`,
        enrollment: toResource(existing),
      });
    } else {
      const changed = ctx.ledger.changeAccess(id, {
        to: request.status,
        reason: request.reason,
        external_ref: request.external_ref,
        idempotencyKey: key,
        at: isoAt(ctx.now()),
      });
      answer = reply(200, toResource(changed!));
    }
    outcomes.set(key, { fingerprint, answer });
    return answer;
  }

  function list(req: Request): Reply {
    const filters = {
      external_ref: queryValue(req, 'external_ref'),
      email: queryValue(req, 'email')?.toLowerCase(),
      course_id: queryValue(req, 'course_id'),
    };
    const data = ctx.ledger.listEnrollments(
      (e) =>
        (filters.external_ref === undefined || e.external_ref === filters.external_ref) &&
        (filters.email === undefined || e.email.toLowerCase() === filters.email) &&
        (filters.course_id === undefined || e.course_id === filters.course_id),
    );
    return reply(200, { data: data.map(toResource) });
  }

  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  router.post(
    '/api/enrollments',
    endpoint(ctx, profile, {
      admit: (req) => authorize(req) ?? requireIdempotencyKey(req),
      handle: enroll,
    }),
  );
  router.get('/api/enrollments', endpoint(ctx, profile, { admit: authorize, handle: list }));
  router.post(
    '/api/enrollments/:id/access',
    endpoint(ctx, profile, {
      admit: (req) => authorize(req) ?? requireIdempotencyKey(req),
      handle: changeAccess,
    }),
  );
  router.use(notFound(profile));
  router.use(serviceErrors(ctx, profile.service, profile));

  return { router, reset: () => outcomes.clear() };
}

function queryValue(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  return typeof value === 'string' ? value : undefined;
}
