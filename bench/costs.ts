/**
 * What a payment costs the engine it runs on, from a batch of payments of its own sent through the
 * receiver after everything else was measured (nothing else runs while it does):
 * - per payment (every workflow it caused, normally one), from DescribeWorkflowExecution: state
 *   transitions (what the history service writes), history events and history bytes;
 * - Temporal Cloud's billable actions, estimated from the histories by the rules in `ACTION_RULES`;
 * - the bytes the engine's store grew by per payment kept (PostgreSQL's two databases for the cluster,
 *   the SQLite file for the dev server), which with the actions says what N payments a day need over
 *   the namespace's retention.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Engine, EngineKind } from '../scripts/temporal/engine';
import type { Postgres } from '../scripts/temporal/postgres';
import { endToEndOurs, preparePayments, type Target } from './phases';
import { sleep } from './procs';
import { percentile } from './stats';
import { TASK_QUEUES } from './system';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/**
 * Temporal Cloud's billable actions as a history shows them, per its list of what counts
 * (https://docs.temporal.io/cloud/actions). Not in a history, so not counted: queries (a duplicate
 * delivery's status query; the batch has no duplicates), activity heartbeats (ours send none),
 * rejected updates, schedules and exports. Each rule sees every event of one workflow's history;
 * `seen` is that history's own memory (markers are billed once per workflow task).
 */
const ACTION_RULES: ReadonlyArray<{ kind: string; count: (e: HistoryEvent, seen: Set<string>) => number }> = [
  // A child's start is billed to its parent (below); a start refused as a duplicate has no history.
  {
    kind: 'workflow started',
    count: (e) =>
      e.workflowExecutionStartedEventAttributes &&
      !e.workflowExecutionStartedEventAttributes.parentWorkflowExecution
        ? 1
        : 0,
  },
  // "Start Child Workflow and Child Workflow Execution": two actions.
  { kind: 'child workflow', count: (e) => (e.startChildWorkflowExecutionInitiatedEventAttributes ? 2 : 0) },
  // Every attempt started is billed, and the started event only records the last one's number.
  {
    kind: 'activity attempts',
    count: (e) =>
      e.activityTaskStartedEventAttributes ? (e.activityTaskStartedEventAttributes.attempt ?? 1) : 0,
  },
  // Implicit timers too (`condition` with a timeout, `sleep`): they are TimerStarted events as well.
  { kind: 'timers', count: (e) => (e.timerStartedEventAttributes ? 1 : 0) },
  { kind: 'signals', count: (e) => (e.workflowExecutionSignaledEventAttributes ? 1 : 0) },
  // Versioning's own TemporalChangeVersion upsert is exempt.
  {
    kind: 'search attribute upserts',
    count: (e) => {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      if (!fields) return 0;
      return Object.keys(fields).some((name) => name !== 'TemporalChangeVersion') ? 1 : 0;
    },
  },
  // Local activities, side effects and patches are markers; all of one workflow task's are one action.
  {
    kind: 'markers (per workflow task)',
    count: (e, seen) => {
      const marker = e.markerRecordedEventAttributes;
      if (!marker) return 0;
      const task = `task:${String(marker.workflowTaskCompletedEventId)}`;
      if (seen.has(task)) return 0;
      seen.add(task);
      return 1;
    },
  },
  { kind: 'updates', count: (e) => (e.workflowExecutionUpdateAcceptedEventAttributes ? 1 : 0) },
  { kind: 'options updated', count: (e) => (e.workflowExecutionOptionsUpdatedEventAttributes ? 1 : 0) },
  // The new run's start, which the next run's history would show without a client's start.
  { kind: 'continue-as-new', count: (e) => (e.workflowExecutionContinuedAsNewEventAttributes ? 1 : 0) },
  {
    kind: 'nexus operations',
    count: (e) =>
      e.nexusOperationScheduledEventAttributes || e.nexusOperationCancelRequestedEventAttributes ? 1 : 0,
  },
];

export interface Quantiles {
  p50: number;
  p90: number;
  mean: number;
}

export interface StoreUse {
  /** What was measured, for the report. */
  store: string;
  before: number;
  after: number;
  /** Growth per payment of the batch, bytes. */
  perPayment: number;
  /** The biggest tables' total sizes (indexes and TOAST included), before and after. */
  tables: Array<{ name: string; before: number; after: number }>;
}

export interface PaymentCosts {
  engine: EngineKind;
  payments: number;
  /** Payments sent per second. */
  rate: number;
  /** Workflows the namespace gained per payment (visibility's count, before and after the batch). */
  workflowsPerPayment: number;
  /** Payments whose workflow did not complete. */
  notCompleted: number;
  stateTransitions: Quantiles;
  historyEvents: Quantiles;
  historyBytes: Quantiles;
  actions: Quantiles;
  /** Billable actions per payment by kind (mean), only kinds that occurred. */
  actionsByKind: Record<string, number>;
  storage: StoreUse;
}

export interface CostsSystem {
  temporal: Engine;
  client: Client;
  dir: string;
  sandboxUrl: string;
  secret: string;
}

/** The retention the capacity table multiplies by: NAMESPACE_RETENTION (720h). */
export const RETENTION_DAYS = 30;

/**
 * Sends `payments` payments through the receiver at `target` at `rate`/s, waits until all completed
 * and visibility shows them, and reads what they cost.
 */
export async function measurePaymentCosts(
  sys: CostsSystem,
  target: Target,
  payments: number,
  rate: number,
): Promise<PaymentCosts> {
  const store = storeReader(sys);
  const deliveries = await preparePayments(sys.sandboxUrl, sys.secret, payments);
  await sleep(1000);
  const workflowsBefore = await countAll(sys.client);
  const before = await store();
  const { result, sent } = await endToEndOurs(target, deliveries, {
    client: sys.client,
    connections: 8,
    rate,
  });
  const workflowsAfter = await waitForVisibility(sys.client, workflowsBefore + payments);
  // Transfer and visibility tasks of the last payments, and their deletion, land after the close.
  await sleep(2000);
  const after = await store();

  const perPayment = await mapLimit([...sent.keys()], 8, (id) => paymentCost(sys.client, id));
  const kinds: Record<string, number> = {};
  for (const p of perPayment) {
    for (const [kind, n] of Object.entries(p.byKind)) kinds[kind] = (kinds[kind] ?? 0) + n;
  }
  for (const kind of Object.keys(kinds)) kinds[kind]! /= perPayment.length;
  return {
    engine: sys.temporal.kind,
    payments,
    rate,
    workflowsPerPayment: (workflowsAfter - workflowsBefore) / payments,
    notCompleted: result.notCompleted,
    stateTransitions: quantiles(perPayment.map((p) => p.stateTransitions)),
    historyEvents: quantiles(perPayment.map((p) => p.historyEvents)),
    historyBytes: quantiles(perPayment.map((p) => p.historyBytes)),
    actions: quantiles(perPayment.map((p) => p.actions)),
    actionsByKind: kinds,
    storage: {
      store: before.store,
      before: before.total,
      after: after.total,
      perPayment: (after.total - before.total) / payments,
      tables: biggestTables(before.tables, after.tables),
    },
  };
}

interface Cost {
  stateTransitions: number;
  historyEvents: number;
  historyBytes: number;
  actions: number;
  byKind: Record<string, number>;
}

/** One payment's workflow and every child it started, summed. */
async function paymentCost(client: Client, workflowId: string): Promise<Cost> {
  const total: Cost = { stateTransitions: 0, historyEvents: 0, historyBytes: 0, actions: 0, byKind: {} };
  const pending = [workflowId];
  for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
    const handle = client.workflow.getHandle(id);
    const [{ raw }, history] = await Promise.all([handle.describe(), handle.fetchHistory()]);
    const info = raw.workflowExecutionInfo;
    total.stateTransitions += Number(info?.stateTransitionCount ?? NaN);
    total.historyEvents += Number(info?.historyLength ?? NaN);
    total.historyBytes += Number(info?.historySizeBytes ?? NaN);
    const seen = new Set<string>();
    for (const event of history.events ?? []) {
      for (const rule of ACTION_RULES) {
        const n = rule.count(event, seen);
        if (n === 0) continue;
        total.actions += n;
        total.byKind[rule.kind] = (total.byKind[rule.kind] ?? 0) + n;
      }
      const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) pending.push(child);
    }
  }
  return total;
}

const quantiles = (values: number[]): Quantiles => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    mean: sorted.reduce((n, v) => n + v, 0) / sorted.length,
  };
};

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!);
    }),
  );
  return out;
}

const countAll = async (client: Client) => (await client.workflow.count()).count;

/** Visibility is written after the history: wait until it has every workflow of the batch, closed. */
async function waitForVisibility(client: Client, atLeast: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const all = await countAll(client);
    // The acknowledgement measurements' workflows run forever on queues no worker polls.
    const running = (
      await client.workflow.count(`TaskQueue = '${TASK_QUEUES.enrollments}' AND ExecutionStatus = 'Running'`)
    ).count;
    if ((all >= atLeast && running === 0) || Date.now() > deadline) return all;
    await sleep(250);
  }
}

interface StoreSnapshot {
  store: string;
  total: number;
  tables: Record<string, number>;
}

function storeReader(sys: CostsSystem): () => Promise<StoreSnapshot> {
  const temporal = sys.temporal;
  if (temporal.kind === 'cluster') return () => postgresSnapshot(temporal.postgres);
  const file = `${sys.dir}/temporal.sqlite`;
  return () => sqliteSnapshot(file);
}

const DATABASES = ['temporal', 'temporal_visibility'];

/** Both databases' sizes on disk, after a checkpoint so what was written is in the files. */
async function postgresSnapshot(postgres: Postgres): Promise<StoreSnapshot> {
  await postgres.query('temporal', 'CHECKPOINT');
  let total = 0;
  const tables: Record<string, number> = {};
  for (const database of DATABASES) {
    total += Number(await postgres.query(database, 'select pg_database_size(current_database())'));
    const rows = await postgres.query(
      database,
      `select c.relname, pg_total_relation_size(c.oid) from pg_class c
         join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'public' and c.relkind = 'r'`,
    );
    for (const line of rows.split('\n').filter(Boolean)) {
      const [name, bytes] = line.split('|');
      tables[`${database}.${name}`] = Number(bytes);
    }
  }
  return { store: `PostgreSQL: \`pg_database_size\` of ${DATABASES.join(' + ')}`, total, tables };
}

const run = promisify(execFile);

/**
 * The dev server's SQLite database as a reader sees it (the WAL's commits included): its used pages,
 * and per table (indexes included) from `dbstat`, through the sqlite3 shell. Without the shell, the
 * files' sizes, which count WAL pages not yet copied back twice.
 */
async function sqliteSnapshot(file: string): Promise<StoreSnapshot> {
  const sql = (query: string) =>
    run('sqlite3', ['-cmd', '.timeout 5000', file, query]).then(({ stdout }) => stdout.trim());
  try {
    const [pageSize, pages, free] = (await sql('pragma page_size; pragma page_count; pragma freelist_count;'))
      .split('\n')
      .map(Number);
    const rows = await sql(
      `select s.tbl_name, sum(d.pgsize) from dbstat d join sqlite_schema s on s.name = d.name group by s.tbl_name`,
    );
    const tables: Record<string, number> = {};
    for (const line of rows.split('\n').filter(Boolean)) {
      const [name, bytes] = line.split('|');
      tables[name!] = Number(bytes);
    }
    return {
      store: 'SQLite: used pages ((page_count − freelist_count) × page_size) of the dev server’s file',
      total: (pages! - free!) * pageSize!,
      tables,
    };
  } catch {
    const size = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
    return {
      store: 'SQLite: the file and its WAL (no sqlite3 shell to read used pages)',
      total: size(file) + size(`${file}-wal`),
      tables: {},
    };
  }
}

function biggestTables(
  before: Record<string, number>,
  after: Record<string, number>,
  count = 8,
): StoreUse['tables'] {
  return Object.keys(after)
    .map((name) => ({ name, before: before[name] ?? 0, after: after[name]! }))
    .sort((a, b) => b.after - b.before - (a.after - a.before) || b.after - a.after)
    .slice(0, count);
}
