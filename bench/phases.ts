/**
 * One function per measurement. Each takes the running system and returns plain figures; run.ts
 * repeats them and reports medians and spreads.
 *
 * The acknowledgement measurements deliver payments the sandbox provider does not hold: their
 * workflows start on a queue no worker polls, so no confirmation step ever runs for them (registering
 * thousands of purchases would only grow the sandbox). Paid-to-enrolled registers every payment it
 * delivers before its measured window (`preparePayments`).
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { enrollmentStartOptions } from '../src/webhook/start-enrollment';
import type { PaymentEvent } from '../src/domain/payment-event';
import { interpretRazorpayEvent } from '../src/providers/razorpay/events';
import {
  type Delivery,
  DeliveryPool,
  duplicatePool,
  razorpayDelivery,
  registerPurchases,
} from './deliveries';
import {
  autocannonMax,
  autocannonRate,
  closedLoop,
  type LoadResult,
  paced,
  post,
  type Request,
} from './load';
import { sleep } from './procs';
import { latencySummary } from './stats';
import type { ActivityTimes } from './activity-times';
import { TASK_QUEUES } from './system';
import { ENROLLMENT_WORKFLOW_TYPE } from '../src/workflows/messages';

const PATH = '/webhooks/razorpay';
const toRequest = (d: Delivery): Request => ({ path: PATH, body: d.body, headers: d.headers });

export interface Target {
  host: string;
  port: number;
}
const url = (t: Target) => `http://${t.host}:${t.port}${PATH}`;

/** Closed loop, `connections` in flight, distinct payments. */
export function ackMax(
  target: Target,
  secret: string,
  connections: number,
  seconds: number,
  expectedRate = 600,
) {
  const pool = new DeliveryPool(() => razorpayDelivery(secret), Math.round(expectedRate * seconds * 1.2));
  return autocannonMax({
    url: url(target),
    connections,
    durationSeconds: seconds,
    next: () => toRequest(pool.next()),
  });
}

/** Every payment delivered `copies` times (copies shuffled together, so concurrent). */
export function ackDuplicates(
  target: Target,
  secret: string,
  copies: number,
  connections: number,
  seconds: number,
) {
  const pool = duplicatePool(secret, copies, Math.round((600 * seconds) / copies));
  return autocannonMax({
    url: url(target),
    connections,
    durationSeconds: seconds,
    next: () => toRequest(pool.next()),
  });
}

/** Fixed offered rate, open loop, evenly spaced. */
export function ackPaced(target: Target, secret: string, rate: number, connections: number, seconds: number) {
  const pool = new DeliveryPool(() => razorpayDelivery(secret), Math.round(rate * seconds) + 10);
  return paced({
    ...target,
    rate,
    durationSeconds: seconds,
    connections,
    next: () => toRequest(pool.next()),
  });
}

/** Fixed offered rate with autocannon's `overallRate` (bursts at the top of each second). */
export function ackAutocannonRate(
  target: Target,
  secret: string,
  rate: number,
  connections: number,
  seconds: number,
) {
  const pool = new DeliveryPool(() => razorpayDelivery(secret), Math.round(rate * seconds) + 2 * connections);
  return autocannonRate({
    url: url(target),
    connections,
    durationSeconds: seconds,
    overallRate: rate,
    next: () => toRequest(pool.next()),
  });
}

/** The raw start ceiling: `client.workflow.start` of a no-op workflow, nothing else. */
export function rawStarts(client: Client, concurrency: number, seconds: number) {
  return closedLoop(concurrency, seconds, async () => {
    await client.workflow.start('noopWorkflow', {
      taskQueue: TASK_QUEUES.noop,
      workflowId: `noop-${randomUUID()}`,
    });
  });
}

/** The payment the receiver makes of one of our deliveries (its adapter's interpretation), as a template. */
let template: PaymentEvent | undefined;
function samplePayment(paymentId: string): PaymentEvent {
  if (!template) {
    const d = razorpayDelivery('unused');
    const meant = interpretRazorpayEvent(JSON.parse(d.body) as Record<string, unknown>, d.headers);
    if (meant.kind !== 'paid') throw new Error(`a bench delivery is not a paid event: ${meant.kind}`);
    template = meant.event;
  }
  return {
    ...template,
    paymentId,
    student: { ...template.student, email: `student.${paymentId.toLowerCase()}@example.com` },
  };
}

/**
 * A start with everything the receiver's start carries (`enrollmentStartOptions`: the payment as the
 * receiver parses it from our deliveries, as input; summary and details, three search attributes, the
 * ID policies), straight from a client: what a start costs Temporal when it is ours, without HTTP,
 * verification and parsing in front of it.
 */
export function startsLikeOurs(client: Client, concurrency: number, seconds: number) {
  return closedLoop(concurrency, seconds, async () => {
    const paymentId = `pay_${randomUUID().replace(/-/g, '').slice(0, 14)}`;
    const payment = samplePayment(paymentId);
    await client.workflow.start(ENROLLMENT_WORKFLOW_TYPE, enrollmentStartOptions(payment, TASK_QUEUES.noop));
  });
}

/**
 * Activities per payment today: confirm with the provider, enroll (one course: the bench buys
 * `course-ml-101`), welcome, CRM. The ceiling workflow runs as many no-op activities; the report
 * compares this with the count it reads from our workflows' histories.
 */
export const CEILING_ACTIVITIES = 4;

export interface EndToEndResult {
  /** How many payments (workflows) the batch had. */
  payments: number;
  /** Delivery (or start) send time to workflow close time, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Completions per second over the middle 80 % of completions (steady state). */
  completedPerSecond: number;
  /** Workflows that did not close as Completed. */
  notCompleted: number;
  /** Offered rate, when paced. */
  offeredPerSecond?: number;
  /** Deliveries answered 503 at saturation and sent again (ours only; see `endToEndOurs`). */
  redelivered?: number;
  /** Per-activity times from the histories (read after the measurement: `activityTimes`). */
  activities?: ActivityTimes;
}

/** A measured batch, and each workflow's send time (epoch ms) for reading its history afterwards. */
export interface EndToEndRun {
  result: EndToEndResult;
  sent: Map<string, number>;
}

async function completedCount(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(
    `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Completed'`,
  );
  return count;
}

/** Waits until `n` more workflows on `taskQueue` have completed than `before`, then reads close times. */
async function collect(
  client: Client,
  taskQueue: string,
  before: number,
  sent: Map<string, number>,
  timeoutMs: number,
): Promise<Omit<EndToEndResult, 'offeredPerSecond'>> {
  const deadline = Date.now() + timeoutMs;
  while ((await completedCount(client, taskQueue)) - before < sent.size) {
    if (Date.now() > deadline) break;
    await sleep(250);
  }
  const entries = [...sent.entries()];
  const closes: number[] = [];
  const latencies: number[] = [];
  let notCompleted = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (;;) {
        const entry = entries[next++];
        if (!entry) return;
        const [workflowId, sentAt] = entry;
        const d = await client.workflow.getHandle(workflowId).describe();
        if (d.status.name !== 'COMPLETED' || !d.closeTime) {
          notCompleted += 1;
          continue;
        }
        closes.push(d.closeTime.getTime());
        latencies.push(d.closeTime.getTime() - sentAt);
      }
    }),
  );
  closes.sort((a, b) => a - b);
  const lo = closes[Math.floor(closes.length * 0.1)]!;
  const hi = closes[Math.floor(closes.length * 0.9)]!;
  const middle = Math.floor(closes.length * 0.9) - Math.floor(closes.length * 0.1);
  return {
    ...latencySummary(latencies),
    payments: sent.size,
    completedPerSecond: hi > lo ? (middle * 1000) / (hi - lo) : NaN,
    notCompleted,
  };
}

export interface EndToEndOptions {
  client: Client;
  /** `rate` undefined = saturation: `connections` deliveries in flight, as fast as acked. */
  rate?: number;
  payments: number;
  connections: number;
  timeoutMs?: number;
}

/**
 * A batch of our payments, ready before the measured window: the sandbox emptied (its provider API
 * finds an order's payments by scanning every payment it holds, so a store that grew over the run
 * would make each repetition's confirmation dearer than the last; the previous batch has completed),
 * `count` signed deliveries built and every purchase registered with the sandbox provider.
 */
export async function preparePayments(
  sandboxUrl: string,
  secret: string,
  count: number,
): Promise<Delivery[]> {
  const res = await fetch(`${sandboxUrl}/_sandbox/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`the sandbox refused a reset: ${res.status} ${await res.text()}`);
  const deliveries = Array.from({ length: count }, () => razorpayDelivery(secret));
  await registerPurchases(sandboxUrl, deliveries);
  return deliveries;
}

const DELIVERY_ATTEMPTS = 3;
const REDELIVERY_PAUSE_MS = 500;

/**
 * Ours: `deliveries` (from `preparePayments`: the provider already holds each payment) to the
 * receiver on the worker's queue; sent = just before the POST.
 */
export async function endToEndOurs(
  target: Target,
  deliveries: readonly Delivery[],
  options: Omit<EndToEndOptions, 'payments'>,
): Promise<EndToEndRun> {
  const { client, connections } = options;
  const before = await completedCount(client, TASK_QUEUES.enrollments);
  const sent = new Map<string, number>();
  let offered: number | undefined;
  let redelivered = 0;
  const failures: Record<string, number> = {};
  if (options.rate) {
    let i = 0;
    const result: LoadResult = await paced({
      ...target,
      rate: options.rate,
      durationSeconds: deliveries.length / options.rate,
      connections,
      next: () => {
        const d = deliveries[i++]!;
        sent.set(d.workflowId, Date.now());
        return toRequest(d);
      },
    });
    offered = result.offeredPerSecond;
    Object.assign(failures, result.failures);
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    let i = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (;;) {
          const d = deliveries[i++];
          if (!d) return;
          sent.set(d.workflowId, Date.now());
          for (let attempt = 1; ; attempt++) {
            const status = await post(agent, target.host, target.port, toRequest(d));
            if (status === 200) break;
            // The receiver answers 503 when Temporal did not start the workflow within its deadline,
            // and the provider delivers again: so does the bench, counting it, the payment's time
            // still running from its first send.
            if (status === 503 && attempt < DELIVERY_ATTEMPTS) {
              redelivered += 1;
              await sleep(REDELIVERY_PAUSE_MS);
              continue;
            }
            failures[status] = (failures[status] ?? 0) + 1;
            break;
          }
        }
      }),
    );
    agent.destroy();
  }
  if (Object.keys(failures).length > 0)
    throw new Error(`deliveries not acknowledged: ${JSON.stringify(failures)}`);
  const result = await collect(client, TASK_QUEUES.enrollments, before, sent, options.timeoutMs ?? 120_000);
  return { result: { ...result, offeredPerSecond: offered, redelivered }, sent };
}

/** Whether one of our workflows' results is a payment enrolled in full (no step skipped, nothing in review). */
export function enrolled(result: unknown): boolean {
  const r = result as { outcome?: unknown; enrollmentId?: unknown } | undefined;
  return r?.outcome === 'completed' && typeof r.enrollmentId === 'string' && r.enrollmentId !== '';
}

/** Ceiling: the `CEILING_ACTIVITIES`-no-op-activity workflow started straight from a client; sent = just before start. */
export async function endToEndCeiling(options: EndToEndOptions): Promise<EndToEndRun> {
  const { client, payments, connections } = options;
  const before = await completedCount(client, TASK_QUEUES.ceiling);
  const sent = new Map<string, number>();
  const startOne = async () => {
    const workflowId = `ceiling-${randomUUID()}`;
    sent.set(workflowId, Date.now());
    await client.workflow.start('noopActivitiesWorkflow', {
      taskQueue: TASK_QUEUES.ceiling,
      workflowId,
      args: [workflowId, CEILING_ACTIVITIES],
    });
  };
  let offered: number | undefined;
  if (options.rate) {
    const interval = 1000 / options.rate;
    const t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < payments; i++) {
      const wait = t0 + i * interval - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(startOne());
    }
    offered = payments / ((performance.now() - t0) / 1000 + interval / 1000);
    await Promise.all(pending);
  } else {
    let i = 0;
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (i++ < payments) await startOne();
      }),
    );
  }
  const result = await collect(client, TASK_QUEUES.ceiling, before, sent, options.timeoutMs ?? 120_000);
  return { result: { ...result, offeredPerSecond: offered }, sent };
}

/** Raw starts at a fixed offered rate (open loop, latency from the scheduled time): the latency ceiling. */
export async function pacedStarts(client: Client, rate: number, seconds: number) {
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let failed = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(
      client.workflow
        .start('noopWorkflow', { taskQueue: TASK_QUEUES.noop, workflowId: `noop-${randomUUID()}` })
        .then(
          () => void latencies.push(performance.now() - due),
          () => void (failed += 1),
        ),
    );
  }
  await Promise.all(pending);
  return {
    ...latencySummary(latencies),
    okPerSecond: latencies.length / seconds,
    ok: latencies.length,
    failed,
  };
}
