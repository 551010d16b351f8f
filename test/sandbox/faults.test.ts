import { startSandbox } from '../../src/sandbox/start';
import {
  credentials,
  enroll,
  eventually,
  FakeClock,
  sendWhatsApp,
  student,
  useSandbox,
  welcomeTemplate,
} from './harness';

const clock = new FakeClock();
const sb = useSandbox({ now: clock.now, seed: 42 });

describe('sandbox fault injection', () => {
  it('fails exactly the next N requests with 5xx, records nothing for them, then recovers', async () => {
    await sb.putFaults({ lms: { failNext: 2 } });

    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await enroll(sb, student, 'key-1')).status);

    expect(statuses).toEqual([503, 503, 201]);
    const ledger = await sb.ledger();
    expect(ledger.enrollments).toHaveLength(1);
    // The request log keeps the failed attempts, so "same key on every retry" is checkable.
    expect(ledger.requests.map((r) => [r.status, r.idempotencyKey])).toEqual([
      [503, 'key-1'],
      [503, 'key-1'],
      [201, 'key-1'],
    ]);
  });

  it('counts failNext down, visibly in GET /_sandbox/faults', async () => {
    await sb.putFaults({ lms: { failNext: 3 } });
    await enroll(sb, student, 'key-1');

    const faults = await fetch(`${sb.url}/_sandbox/faults`).then((r) => r.json());

    expect(faults).toEqual({ lms: { failNext: 2 } });
  });

  it('decides errorRate faults before the side effect: nothing is recorded', async () => {
    await sb.putFaults({ lms: { errorRate: 1 } });

    const res = await enroll(sb, student, 'key-1');

    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'service_unavailable', message: 'The LMS is temporarily unavailable' });
    expect((await sb.ledger()).enrollments).toEqual([]);
  });

  it('sends Retry-After as delay-seconds on injected 429s', async () => {
    await sb.putFaults({ lms: { rateLimitRate: 1, retryAfter: { seconds: 5 } } });

    const res = await enroll(sb, student, 'key-1');

    expect(res.status).toBe(429);
    expect(res.body.error).toBe('rate_limited');
    expect(res.headers.get('retry-after')).toBe('5');
    expect((await sb.ledger()).enrollments).toEqual([]);
  });

  it('sends Retry-After as an HTTP-date that many seconds ahead of the sandbox clock', async () => {
    await sb.putFaults({ lms: { rateLimitRate: 1, retryAfter: { httpDate: true, seconds: 30 } } });

    const res = await enroll(sb, student, 'key-1');

    expect(res.headers.get('retry-after')).toBe('Sun, 01 Mar 2026 10:00:30 GMT');
    expect(Date.parse(res.headers.get('retry-after')!) - clock.ms).toBe(30_000);
  });

  it('can send an HTTP-date in the past, which clients must read as "retry now"', async () => {
    await sb.putFaults({ lms: { rateLimitRate: 1, retryAfter: { httpDate: true, seconds: -10 } } });

    const res = await enroll(sb, student, 'key-1');

    expect(res.headers.get('retry-after')).toBe('Sun, 01 Mar 2026 09:59:50 GMT');
  });

  it('rejects students in failEmails / failCourses permanently with 422 enrollment_rejected', async () => {
    await sb.putFaults({ lms: { failEmails: ['ASHA.VERMA@example.com'], failCourses: ['course_go_201'] } });

    const byEmail = await enroll(sb, student, 'key-1');
    const byCourse = await enroll(
      sb,
      { ...student, email: 'ravi@example.com', course_id: 'course_go_201' },
      'key-2',
    );
    const fine = await enroll(sb, { ...student, email: 'ravi@example.com' }, 'key-3');

    expect(byEmail.status).toBe(422);
    expect(byEmail.body).toEqual({
      error: 'enrollment_rejected',
      message: 'The LMS refuses this enrollment (email)',
    });
    expect(byCourse.status).toBe(422);
    expect(byCourse.body.error).toBe('enrollment_rejected');
    expect(fine.status).toBe(201);
    expect((await sb.ledger()).enrollments.map((e) => e.email)).toEqual(['ravi@example.com']);
  });

  it('records the side effect before the latency, so a client that times out has still enrolled', async () => {
    await sb.putFaults({ lms: { latencyMs: 1500 } });

    const startedAt = Date.now();
    await expect(enroll(sb, student, 'key-1', { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    // Still inside the latency window: the enrollment is already committed.
    const during = await sb.ledger();
    expect(Date.now() - startedAt).toBeLessThan(1500);
    expect(during.enrollments).toHaveLength(1);

    // The retry (same key) replays instead of enrolling twice.
    const retry = await enroll(sb, student, 'key-1');
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');

    const ledger = await eventually(sb.ledger, (l) => l.requests.length === 2);
    expect(ledger.enrollments).toHaveLength(1);
    expect(ledger.requests.map((r) => [r.status, r.aborted ?? false])).toEqual([
      [201, true],
      [201, false],
    ]);
  });

  it('applies latency only to the share given by latencyRate', async () => {
    await sb.putFaults({ whatsapp: { latencyMs: 300, latencyRate: 0 } });

    const startedAt = Date.now();
    const res = await sendWhatsApp(sb, welcomeTemplate());

    expect(res.status).toBe(200);
    expect(Date.now() - startedAt).toBeLessThan(300);
  });

  it('reproduces the same random fault sequence from the same seed, and again after a reset', async () => {
    const run = async (url: string) => {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) {
        const res = await fetch(`${url}/lms/api/enrollments`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-api-key': credentials.LMS_API_KEY,
            'idempotency-key': `k${i}`,
          },
          body: JSON.stringify({ ...student, course_id: `c${i}` }),
        });
        statuses.push(res.status);
      }
      return statuses;
    };
    const faults = { lms: { errorRate: 0.3, rateLimitRate: 0.3 } };
    const other = await startSandbox({ credentials, seed: 42, faults });
    try {
      await sb.putFaults(faults);
      const here = await run(sb.url);
      const there = await run(other.url);
      await fetch(`${sb.url}/_sandbox/reset`, { method: 'POST' });
      await sb.putFaults(faults);
      const afterReset = await run(sb.url);

      expect(here).toEqual(there);
      expect(afterReset).toEqual(here);
      expect(new Set(here)).toEqual(new Set([201, 429, 503]));
      expect(sb.state.seed).toBe(42);
    } finally {
      await other.close();
    }
  });
});

describe('sandbox fault control API', () => {
  it('replaces the whole spec with PUT', async () => {
    await sb.putFaults({ lms: { errorRate: 0.5 }, whatsapp: { failNext: 1 } });
    const res = await sb.putFaults({ hubspot: { latencyMs: 10 } });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ hubspot: { latencyMs: 10 } });
  });

  it('merges per service with PATCH and clears a service with null', async () => {
    await sb.putFaults({ lms: { errorRate: 0.5, latencyMs: 100 }, whatsapp: { failNext: 1 } });

    const merged = await sb.patchFaults({ lms: { failNext: 2 }, hubspotTokenTtlSeconds: 5 });
    const cleared = await sb.patchFaults({ whatsapp: null, hubspotTokenTtlSeconds: null });

    expect(merged.body).toEqual({
      lms: { errorRate: 0.5, latencyMs: 100, failNext: 2 },
      whatsapp: { failNext: 1 },
      hubspotTokenTtlSeconds: 5,
    });
    expect(cleared.body).toEqual({ lms: { errorRate: 0.5, latencyMs: 100, failNext: 2 } });
  });

  it.each([
    ['a probability above 1', { lms: { errorRate: 2 } }, 'lms.errorRate'],
    ['an unknown field (typo)', { lms: { failnext: 2 } }, 'lms'],
    ['an unknown service', { paypal: {} }, '(body)'],
    ['rates adding up to more than 1', { lms: { errorRate: 0.6, rateLimitRate: 0.6 } }, 'lms.rateLimitRate'],
    ['a malformed retryAfter', { lms: { retryAfter: { httpDate: false, seconds: 3 } } }, 'lms.retryAfter'],
  ])('refuses %s with 400 invalid_faults and keeps the old spec', async (_case, spec, field) => {
    await sb.putFaults({ whatsapp: { failNext: 1 } });

    const res = await sb.putFaults(spec);

    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_faults');
    expect((res.body.details as Array<{ field: string }>).map((d) => d.field)).toContain(field);
    expect(sb.state.faults.current()).toEqual({ whatsapp: { failNext: 1 } });
  });

  it('re-validates the merged spec on PATCH', async () => {
    await sb.putFaults({ lms: { errorRate: 0.6 } });

    const res = await sb.patchFaults({ lms: { rateLimitRate: 0.6 } });

    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([
      { field: 'lms.rateLimitRate', message: 'errorRate + rateLimitRate must not exceed 1' },
    ]);
  });
});
