/**
 * What each step of a payment cost, read after a paid-to-enrolled measurement (outside its window):
 * - from the workflows' histories, the server's own timestamps of each activity's scheduling
 *   (ActivityTaskScheduled) and completion. The ceiling's no-op activity measured the same way is what
 *   an activity costs in Temporal alone, so the product's activities beside it show what their work
 *   adds: for the confirmation step (`confirmPurchase`), the reads from the provider's API and the
 *   catalog's decision. (ActivityTaskStarted is not used: its time came out within a millisecond of
 *   the scheduling in the histories read, so it does not separate waiting for a worker from running.)
 * - from the product worker's log (one line per downstream HTTP call, `src/activities/http.ts`, with
 *   the workflow id, activity type and duration), the calls each activity made and their time.
 */
import fs from 'node:fs';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { decodeOptionalSinglePayload } from '@temporalio/common/lib/internal-non-workflow';
import { latencySummary } from './stats';

type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type Timestamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null;

const ms = (t: Timestamp | undefined): number => {
  if (!t) return NaN;
  const seconds = typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0);
  return seconds * 1000 + (t.nanos ?? 0) / 1e6;
};
const key = (id: unknown): string => String(id);

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface ActivityStats {
  /** Runs per workflow: completed activity tasks of this type / workflows read. */
  perWorkflow: number;
  /** ActivityTaskScheduled to ActivityTaskCompleted, ms. */
  scheduleToClose: Percentiles;
  /**
   * This activity's schedule-to-close (summed when it ran more than once in a workflow) over the
   * payment's paid-to-enrolled (send time to close), median over workflows.
   */
  shareOfPaidToEnrolled: number;
}

export interface HttpCalls {
  /** Calls per workflow that made any (retries included). */
  perWorkflow: number;
  /** The calls' durations summed per workflow, ms (the log's whole milliseconds). */
  summed: Percentiles;
  /** The calls' `operation` names, in first-seen order. */
  operations: string[];
}

export interface ActivityTimes {
  /** Histories read: workflows that completed. */
  workflows: number;
  /** Completed activities per workflow, median. */
  activitiesPerWorkflow: number;
  /** By activity type, in the order the workflows first ran them. */
  byType: Record<string, ActivityStats>;
  /** Workflows whose result `accept` refused (ours: did not end `completed` with an enrollment). */
  refused: number;
  /** By activity type: its downstream HTTP calls, from the worker's log (ours only). */
  http?: Record<string, HttpCalls>;
}

interface WorkflowTiming {
  closedAt: number;
  activities: Array<{ type: string; scheduled: number; closed: number }>;
  /** The workflow's result as stored: sealed by the payload codec, opened by the caller's client. */
  result: Payload | undefined;
}

function timing(history: History): WorkflowTiming | undefined {
  const scheduled = new Map<string, { type: string; at: number }>();
  const activities: WorkflowTiming['activities'] = [];
  let closedAt: number | undefined;
  let result: Payload | undefined;
  for (const event of history.events ?? []) {
    const at = ms(event.eventTime);
    const s = event.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(key(event.eventId), { type: s.activityType?.name ?? '?', at });
    const c = event.activityTaskCompletedEventAttributes;
    const sch = c ? scheduled.get(key(c.scheduledEventId)) : undefined;
    if (sch) activities.push({ type: sch.type, scheduled: sch.at, closed: at });
    const done = event.workflowExecutionCompletedEventAttributes;
    if (done) {
      closedAt = at;
      result = done.result?.payloads?.[0] ?? undefined;
    }
  }
  return closedAt === undefined ? undefined : { closedAt, activities, result };
}

/**
 * Reads the histories of `sent`'s workflows (workflow id -> send time, epoch ms) and summarises
 * their activities. Workflows that did not complete are left out (the measurement counts them).
 */
export async function activityTimes(
  client: Client,
  sent: ReadonlyMap<string, number>,
  options: { accept?: (result: unknown) => boolean; workerLog?: string; concurrency?: number } = {},
): Promise<ActivityTimes> {
  const { accept = () => true, workerLog, concurrency = 8 } = options;
  const entries = [...sent.entries()];
  const timings: Array<WorkflowTiming & { sentAt: number }> = [];
  let refused = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const entry = entries[next++];
        if (!entry) return;
        const [workflowId, sentAt] = entry;
        const t = timing(await client.workflow.getHandle(workflowId).fetchHistory());
        if (!t) continue;
        const result = await decodeOptionalSinglePayload(client.options.loadedDataConverter, t.result);
        if (!accept(result)) refused += 1;
        timings.push({ ...t, sentAt });
      }
    }),
  );

  const types: string[] = [];
  const runs = new Map<string, number[]>();
  const shares = new Map<string, number[]>();
  for (const t of timings) {
    const spent = new Map<string, number>();
    for (const a of t.activities) {
      if (!runs.has(a.type)) {
        types.push(a.type);
        runs.set(a.type, []);
        shares.set(a.type, []);
      }
      runs.get(a.type)!.push(a.closed - a.scheduled);
      spent.set(a.type, (spent.get(a.type) ?? 0) + (a.closed - a.scheduled));
    }
    const paidToEnrolled = t.closedAt - t.sentAt;
    for (const [type, total] of spent) shares.get(type)!.push(total / paidToEnrolled);
  }

  const byType: Record<string, ActivityStats> = {};
  for (const type of types) {
    const r = runs.get(type)!;
    const { p50, p99 } = latencySummary(r);
    byType[type] = {
      perWorkflow: r.length / timings.length,
      scheduleToClose: { p50, p99 },
      shareOfPaidToEnrolled: latencySummary(shares.get(type)!).p50,
    };
  }
  return {
    workflows: timings.length,
    activitiesPerWorkflow: latencySummary(timings.map((t) => t.activities.length)).p50,
    byType,
    refused,
    http: workerLog ? httpCalls(workerLog, sent) : undefined,
  };
}

/** The worker's HTTP calls for `workflows`, by activity type, from its log lines (see the top). */
export function httpCalls(
  logFile: string,
  workflows: ReadonlyMap<string, unknown>,
): Record<string, HttpCalls> {
  const perType = new Map<
    string,
    { operations: string[]; byWorkflow: Map<string, { calls: number; ms: number }> }
  >();
  for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"durationMs"')) continue;
    let entry: { workflowId?: unknown; activityType?: unknown; operation?: unknown; durationMs?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    const { workflowId, activityType, operation, durationMs } = entry;
    if (typeof workflowId !== 'string' || !workflows.has(workflowId)) continue;
    if (typeof activityType !== 'string' || typeof durationMs !== 'number') continue;
    let t = perType.get(activityType);
    if (!t) perType.set(activityType, (t = { operations: [], byWorkflow: new Map() }));
    if (typeof operation === 'string' && !t.operations.includes(operation)) t.operations.push(operation);
    const w = t.byWorkflow.get(workflowId) ?? { calls: 0, ms: 0 };
    w.calls += 1;
    w.ms += durationMs;
    t.byWorkflow.set(workflowId, w);
  }
  const out: Record<string, HttpCalls> = {};
  for (const [type, t] of perType) {
    const ws = [...t.byWorkflow.values()];
    const { p50, p99 } = latencySummary(ws.map((w) => w.ms));
    out[type] = {
      perWorkflow: ws.reduce((n, w) => n + w.calls, 0) / ws.length,
      summed: { p50, p99 },
      operations: t.operations,
    };
  }
  return out;
}
