/**
 * `npm run bench -- --engine cluster`: the dev server's and the cluster's figures side by side, each
 * against the ceilings measured on its own engine in the same run, then what a payment costs on each
 * and what N payments a day need at the namespace's retention. Written into docs/benchmarks.md between
 * the cluster's markers (CLUSTER_MARKERS).
 */
import type { PaymentCosts, Quantiles, StoreUse } from './costs';
import { RETENTION_DAYS } from './costs';
import { type BenchResults, machineLine, met, of, type Sample } from './report';
import { fmt, pct, spread, type Spread } from './stats';

type Cell = (r: BenchResults) => string;

const throughput = (r: BenchResults, name: string) => of(r.samples[name], (x: Sample) => x.okPerSecond);
const p99 = (r: BenchResults, name: string) => of(r.samples[name], (x: Sample) => x.p99);
const ratio = (a: Spread, b: Spread) => a.median / b.median;
const e2eSat = (r: BenchResults, who: 'ours' | 'ceiling') =>
  of(r.e2e[who].saturation, (x) => x.completedPerSecond);
const e2eP50 = (r: BenchResults, who: 'ours' | 'ceiling') => of(r.e2e[who].paced, (x) => x.p50);
const temporalCores = (r: BenchResults, name: string) =>
  fmt(spread((r.cpu[name] ?? []).map((u) => u.cores.temporal ?? NaN)));
const busyCores = (r: BenchResults, name: string) =>
  fmt(spread((r.cpu[name] ?? []).map((u) => u.machineBusyCores)));
const shortfall = (r: BenchResults) =>
  [...r.e2e.ours.saturation, ...r.e2e.ours.paced].reduce(
    (n, x) => n + x.notCompleted + (x.activities?.refused ?? 0),
    0,
  );

/** The headline figures of renderReport, each a row; the targets judged as renderReport judges them. */
const HEADLINE: Array<[string, Cell]> = [
  ['HTTP ceiling: bare Express + HMAC, /s', (r) => fmt(throughput(r, 'httpCeiling'))],
  ['Start ceiling: raw `client.workflow.start`, /s', (r) => fmt(throughput(r, 'rawStarts'))],
  ['Start carrying what ours carries, /s', (r) => fmt(throughput(r, 'startsLikeOurs'))],
  ['**Ours: deliveries acknowledged, /s**', (r) => fmt(throughput(r, 'ackMax'))],
  [
    '**Ours / start ceiling** (target ≥ 80 %)',
    (r) => {
      const x = ratio(throughput(r, 'ackMax'), throughput(r, 'rawStarts'));
      return `**${pct(x)}** ${met(x >= 0.8)}`;
    },
  ],
  ['Ours / start carrying ours', (r) => pct(ratio(throughput(r, 'ackMax'), throughput(r, 'startsLikeOurs')))],
  ['Ours / HTTP ceiling', (r) => pct(ratio(throughput(r, 'ackMax'), throughput(r, 'httpCeiling')))],
  [
    'Duplicates (each payment 5×), /s; share of the distinct rate',
    (r) =>
      `${fmt(throughput(r, 'duplicates'))}; ${pct(ratio(throughput(r, 'duplicates'), throughput(r, 'ackMax')))}`,
  ],
  [
    'p99 ms at 100 deliveries/s (target < 100); raw starts alone',
    (r) =>
      `${fmt(p99(r, 'paced@100'))} ${met(p99(r, 'paced@100').median < 100)}; ${fmt(p99(r, 'pacedStarts@100'))}`,
  ],
  [
    'Paid-to-enrolled at saturation, /s: ours; ceiling (4 no-op activities)',
    (r) => `${fmt(e2eSat(r, 'ours'))}; ${fmt(e2eSat(r, 'ceiling'))}`,
  ],
  [
    '**Paid-to-enrolled / ceiling** (target ≥ 70 %)',
    (r) => {
      const x = ratio(e2eSat(r, 'ours'), e2eSat(r, 'ceiling'));
      return `**${pct(x)}** ${met(x >= 0.7 && shortfall(r) === 0)}`;
    },
  ],
  [
    'Paid-to-enrolled p50 ms at 10/s (target < 500): ours; ceiling',
    (r) => `${fmt(e2eP50(r, 'ours'))} ${met(e2eP50(r, 'ours').median < 500)}; ${fmt(e2eP50(r, 'ceiling'))}`,
  ],
  ['Payments of ours not completed, or not enrolled in full', (r) => String(shortfall(r))],
  [
    'Deliveries answered 503 at saturation, delivered again',
    (r) => String(r.e2e.ours.saturation.reduce((n, x) => n + (x.redelivered ?? 0), 0)),
  ],
  [
    "Temporal's cores: raw starts; acks at max; paid-to-enrolled at saturation",
    (r) =>
      `${temporalCores(r, 'rawStarts')}; ${temporalCores(r, 'ackMax')}; ${temporalCores(r, 'e2e-ours-saturation')}`,
  ],
  [
    'Machine busy cores, same measurements',
    (r) => `${busyCores(r, 'rawStarts')}; ${busyCores(r, 'ackMax')}; ${busyCores(r, 'e2e-ours-saturation')}`,
  ],
];

export function renderEngineComparison(dev: BenchResults, cluster: BenchResults): string {
  const c = cluster.config;
  const quiet = (r: BenchResults) =>
    `${r.quiet.foreignAtStart.length} other test process(es) at start, ${r.quiet.foreignAtEnd.length} at end, ` +
    `${r.quiet.foreignCores.toFixed(2)} cores used by processes not ours`;
  const lines = [
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ` +
      `${Math.round(dev.durationSeconds + cluster.durationSeconds)} s` +
      `${c.quick ? ' (**--quick**: development run, not for quoting)' : ''}. ${machineLine(cluster.machine)}`,
    '',
    `One run, the engines one after the other, each a fresh system with the same product processes, load ` +
      `and ceilings, every ceiling measured on that engine. Dev server: \`temporal server start-dev\`, SQLite ` +
      `(as \`npm run dev\`). Cluster: \`scripts/temporal/cluster.ts\`, PostgreSQL, a process per service, ` +
      `two history nodes, the configuration under \`ops/temporal/\` (as \`docker-compose.yml\`), all on this ` +
      `machine. Its Temporal CPU is every service's process and PostgreSQL's with its backends. ` +
      `Median of ${c.reps} repetition(s), (min–max) after it; ${c.connections} in flight, ${c.seconds} s windows. ` +
      `Dev server run: ${quiet(dev)}; cluster run: ${quiet(cluster)}.`,
    '',
    '### The same figures against the same ceilings',
    '',
    ...table(
      ['Figure', 'Dev server', 'Cluster'],
      HEADLINE.map(([label, cell]) => [label, cell(dev), cell(cluster)]),
    ),
  ];
  if (dev.costs && cluster.costs) lines.push('', ...costSection(dev.costs, cluster.costs));
  if (cluster.costs) lines.push('', ...capacitySection(cluster.costs));
  return lines.join('\n');
}

function table(head: string[], rows: string[][]): string[] {
  return [head, head.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`);
}

const q = (x: Quantiles, unit: (v: number) => string = num) => `${unit(x.p50)} / ${unit(x.p90)}`;
const num = (v: number) =>
  !Number.isFinite(v)
    ? 'n/a'
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : String(Math.round(v * 10) / 10);

/** Bytes with a binary unit, three significant figures. */
export function bytes(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${Number(v.toPrecision(3))} ${units[i]}`;
}

function costSection(dev: PaymentCosts, cluster: PaymentCosts): string[] {
  const kinds = [...new Set([...Object.keys(dev.actionsByKind), ...Object.keys(cluster.actionsByKind)])];
  const row = (label: string, cell: (x: PaymentCosts) => string) => [label, cell(dev), cell(cluster)];
  return [
    '### What a payment costs',
    '',
    `After everything above, ${cluster.payments} distinct payments of ours through the receiver at ` +
      `${cluster.rate}/s, on each engine; once all completed and visibility shows them closed, each ` +
      `payment's workflows (and any child) read with DescribeWorkflowExecution and their histories. ` +
      `Per payment: p50 / p90 over the payments. Billable actions: Temporal Cloud's, estimated from the ` +
      `histories by its published list (\`ACTION_RULES\` in \`bench/costs.ts\`; queries and heartbeats are ` +
      `not in a history). Store: what the engine's database grew by over the batch, divided by the payments. ` +
      `That is what the files grew by: a workflow's rows are rewritten as it runs (its visibility row at start, ` +
      `on each search-attribute upsert and at close), and PostgreSQL keeps the old versions until autovacuum ` +
      `makes their space reusable, so a store at steady state grows by somewhat less.`,
    '',
    ...table(
      ['Per payment', 'Dev server', 'Cluster'],
      [
        row('Workflows (namespace count before and after)', (x) => num(x.workflowsPerPayment)),
        row('Not completed', (x) => String(x.notCompleted)),
        row('State transitions, p50 / p90', (x) => q(x.stateTransitions)),
        row('History events, p50 / p90', (x) => q(x.historyEvents)),
        row('History bytes, p50 / p90', (x) => q(x.historyBytes, bytes)),
        row('**Billable actions**, mean (p50 / p90)', (x) => `**${num(x.actions.mean)}** (${q(x.actions)})`),
        ...kinds.map((kind) => row(`… ${kind} (mean)`, (x) => num(x.actionsByKind[kind] ?? 0))),
        row('**Store growth per payment kept**', (x) => `**${bytes(x.storage.perPayment)}**`),
      ],
    ),
    '',
    `Dev server store: ${dev.storage.store}. Cluster store: ${cluster.storage.store}.`,
    '',
    ...storeTable('Dev server', dev),
    '',
    ...storeTable('Cluster', cluster),
  ];
}

function storeTable(engine: string, costs: PaymentCosts): string[] {
  const s: StoreUse = costs.storage;
  return [
    `${engine}: ${bytes(s.before)} before the batch, ${bytes(s.after)} after; the tables that grew most ` +
      `(indexes included):`,
    '',
    ...table(
      ['Table', 'Before', 'After', 'Per payment'],
      s.tables.map((t) => [
        `\`${t.name}\``,
        bytes(t.before),
        bytes(t.after),
        bytes((t.after - t.before) / costs.payments),
      ]),
    ),
  ];
}

const DAILY = [1_000, 10_000, 100_000];

function capacitySection(costs: PaymentCosts): string[] {
  const perDay = (n: number) => n.toLocaleString('en-US');
  return [
    `### What N payments a day need at ${RETENTION_DAYS}-day retention`,
    '',
    `From the cluster's figures above: a closed payment is kept for the namespace's retention ` +
      `(\`NAMESPACE_RETENTION\`), so ${RETENTION_DAYS} days of payments are kept at any time. PostgreSQL: the ` +
      `store growth per payment × payments kept (data and indexes; not WAL, replicas or backups). Histories: ` +
      `history bytes (mean) × payments kept, what Temporal Cloud's retained storage counts. Actions: mean ` +
      `billable actions per payment × payments a month (${RETENTION_DAYS} days).`,
    '',
    ...table(
      ['Payments a day', 'Payments kept', 'PostgreSQL', 'Histories', 'Billable actions a month'],
      DAILY.map((n) => {
        const kept = n * RETENTION_DAYS;
        return [
          perDay(n),
          perDay(kept),
          bytes(kept * costs.storage.perPayment),
          bytes(kept * costs.historyBytes.mean),
          perDay(Math.round(kept * costs.actions.mean)),
        ];
      }),
    ),
  ];
}
