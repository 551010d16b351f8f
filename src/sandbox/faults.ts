/**
 * Fault injection for the three fake downstreams. The spec is plain data (settable from env, from
 * the control API and from tests) and the decisions are made here, in one place, so every service
 * fails the same way for the same spec and seed.
 *
 * Two timing rules matter for exactly-once testing and are enforced by the callers (see http.ts):
 * - failNext / errorRate / rateLimitRate are decided BEFORE any side effect: nothing is recorded.
 * - latency is applied AFTER the side effect: a client that times out has still enrolled the student
 *   ("committed, response lost"), which is the case retries must not turn into a duplicate.
 */
import { z } from 'zod';
import { maskEmail, maskPhone } from '../runtime/logger';
import type { SeededRandom } from './random';

export const serviceNames = ['lms', 'whatsapp', 'hubspot', 'razorpay', 'stripe'] as const;
export type ServiceName = (typeof serviceNames)[number];

const probability = z.number().min(0).max(1);
const stringList = z.array(z.string().min(1)).max(1000);

const retryAfterSchema = z.union([
  /** `Retry-After: <seconds>` (delay-seconds form). */
  z.strictObject({ seconds: z.number().int().min(0).max(86_400) }),
  /**
   * `Retry-After: <HTTP-date>` that many seconds ahead. Negative values are allowed on purpose: a
   * date in the past is legal and means "retry now", and clients must cope with it.
   */
  z.strictObject({ httpDate: z.literal(true), seconds: z.number().int().min(-86_400).max(86_400) }),
  z.null(),
]);

const faultSpecFields = z.strictObject({
  /** Share of requests answered with a 5xx before anything is recorded. */
  errorRate: probability.optional(),
  /** Share of requests answered with a 429 before anything is recorded. */
  rateLimitRate: probability.optional(),
  /** Retry-After header sent with injected 429s; absent or null sends none. */
  retryAfter: retryAfterSchema.optional(),
  /** Delay between recording the side effect and answering. */
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  /** Share of requests that get `latencyMs`; 1 when omitted. */
  latencyRate: probability.optional(),
  /** Permanent, non-retryable rejection for these students (emails compare case-insensitively). */
  failEmails: stringList.optional(),
  failCourses: stringList.optional(),
  /** Compared on digits only, so "+91 98765 43210" and "919876543210" are the same phone. */
  failPhones: stringList.optional(),
  /** The next N requests to the service answer 5xx, deterministically. Counts down as it fires. */
  failNext: z.number().int().min(0).max(1_000_000).optional(),
});

/** One draw decides between error and rate limit, so together they cannot exceed certainty. */
const ratesFitOneDraw = (spec: z.infer<typeof faultSpecFields>) =>
  (spec.errorRate ?? 0) + (spec.rateLimitRate ?? 0) <= 1;
const ratesMessage = {
  message: 'errorRate + rateLimitRate must not exceed 1',
  path: ['rateLimitRate'],
};

export const faultSpecSchema = faultSpecFields.refine(ratesFitOneDraw, ratesMessage);
export type FaultSpec = z.infer<typeof faultSpecSchema>;

const tokenTtlSeconds = z.number().int().min(1).max(86_400);

export const sandboxFaultsSchema = z.strictObject({
  lms: faultSpecSchema.optional(),
  whatsapp: faultSpecSchema.optional(),
  hubspot: faultSpecSchema.optional(),
  /** The provider APIs the confirmation step reads (Razorpay `/razorpay/v1`, Stripe `/v1`). */
  razorpay: faultSpecSchema.optional(),
  stripe: faultSpecSchema.optional(),
  /** Overrides the configured HubSpot access-token lifetime for tokens issued from now on. */
  hubspotTokenTtlSeconds: tokenTtlSeconds.optional(),
});
export type SandboxFaults = z.infer<typeof sandboxFaultsSchema>;

/**
 * PATCH body: each named service's fields are merged into its current spec (so `{lms:{failNext:2}}`
 * keeps an existing `lms.latencyMs`); `null` for a service, or for the TTL, clears it.
 */
export const sandboxFaultsPatchSchema = z.strictObject({
  lms: faultSpecFields.nullable().optional(),
  whatsapp: faultSpecFields.nullable().optional(),
  hubspot: faultSpecFields.nullable().optional(),
  razorpay: faultSpecFields.nullable().optional(),
  stripe: faultSpecFields.nullable().optional(),
  hubspotTokenTtlSeconds: tokenTtlSeconds.nullable().optional(),
});
export type SandboxFaultsPatch = z.infer<typeof sandboxFaultsPatchSchema>;

/** The merged result is re-validated by the caller (a merge can break the rates rule). */
export function mergeFaults(current: SandboxFaults, patch: SandboxFaultsPatch): unknown {
  const merged: Record<string, unknown> = { ...current };
  for (const service of serviceNames) {
    const change = patch[service];
    if (change === null) delete merged[service];
    else if (change !== undefined) merged[service] = { ...current[service], ...change };
  }
  if (patch.hubspotTokenTtlSeconds === null) delete merged.hubspotTokenTtlSeconds;
  else if (patch.hubspotTokenTtlSeconds !== undefined)
    merged.hubspotTokenTtlSeconds = patch.hubspotTokenTtlSeconds;
  return merged;
}

/** The spec as it may be logged: per-student lists name real people, so they are masked. */
export function faultsForLog(faults: SandboxFaults): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...faults };
  for (const service of serviceNames) {
    const spec = faults[service];
    if (!spec) continue;
    masked[service] = {
      ...spec,
      ...(spec.failEmails && { failEmails: spec.failEmails.map((e) => maskEmail(e)) }),
      ...(spec.failPhones && { failPhones: spec.failPhones.map((p) => maskPhone(p)) }),
    };
  }
  return masked;
}

export type InjectedFault =
  { kind: 'unavailable'; reason: 'failNext' | 'errorRate' } | { kind: 'rateLimited'; retryAfter?: string };

/** Who a request is about, for the permanent per-student failures. */
export interface FaultSubject {
  email?: string;
  courseId?: string;
  phone?: string;
}

export type RejectionReason = 'email' | 'course' | 'phone';

const digitsOnly = (phone: string) => phone.replace(/\D/g, '');

export class FaultInjector {
  private spec: SandboxFaults = {};

  constructor(
    private readonly random: SeededRandom,
    private readonly now: () => number,
    initial: SandboxFaults = {},
  ) {
    this.replace(initial);
  }

  /** A copy: callers (and JSON responses) must not be able to mutate the live counters. */
  current(): SandboxFaults {
    return structuredClone(this.spec);
  }

  replace(spec: SandboxFaults): void {
    this.spec = structuredClone(spec);
  }

  clear(): void {
    this.spec = {};
  }

  /** Whether this request fails outright; call before doing anything with side effects. */
  decide(service: ServiceName): InjectedFault | undefined {
    const spec = this.spec[service];
    if (!spec) return undefined;
    if (spec.failNext) {
      spec.failNext -= 1;
      return { kind: 'unavailable', reason: 'failNext' };
    }
    const errorRate = spec.errorRate ?? 0;
    const rateLimitRate = spec.rateLimitRate ?? 0;
    // No draw when no random fault is configured, so enabling latency alone does not shift the
    // sequence of a seeded error run.
    if (errorRate + rateLimitRate === 0) return undefined;
    const draw = this.random.next();
    if (draw < errorRate) return { kind: 'unavailable', reason: 'errorRate' };
    if (draw < errorRate + rateLimitRate) return { kind: 'rateLimited', retryAfter: this.retryAfter(spec) };
    return undefined;
  }

  /** How long to hold the response after the work is done (0 for none). */
  latencyFor(service: ServiceName): number {
    const spec = this.spec[service];
    if (!spec?.latencyMs) return 0;
    const rate = spec.latencyRate ?? 1;
    if (rate >= 1) return spec.latencyMs;
    return this.random.next() < rate ? spec.latencyMs : 0;
  }

  /** Which configured permanent failure (if any) matches this student. */
  rejection(service: ServiceName, subject: FaultSubject): RejectionReason | undefined {
    const spec = this.spec[service];
    if (!spec) return undefined;
    const email = subject.email?.toLowerCase();
    if (email && spec.failEmails?.some((e) => e.toLowerCase() === email)) return 'email';
    if (subject.courseId && spec.failCourses?.includes(subject.courseId)) return 'course';
    const phone = subject.phone ? digitsOnly(subject.phone) : '';
    if (phone && spec.failPhones?.some((p) => digitsOnly(p) === phone)) return 'phone';
    return undefined;
  }

  private retryAfter(spec: FaultSpec): string | undefined {
    const retryAfter = spec.retryAfter;
    if (!retryAfter) return undefined;
    if (!('httpDate' in retryAfter)) return String(retryAfter.seconds);
    // HTTP-dates have whole-second resolution; rounding the target up keeps the advertised delay
    // at least `seconds` instead of truncating it to seconds - 1 on the client.
    const target = Math.ceil((this.now() + retryAfter.seconds * 1000) / 1000) * 1000;
    return new Date(target).toUTCString();
  }
}
