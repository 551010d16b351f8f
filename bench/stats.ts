/** Small statistics for the report: percentiles of one run, median and spread over repetitions. */

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50, p99 and max of one run's latencies (sorts them in place). */
export function latencySummary(latencies: number[]): { p50: number; p99: number; max: number } {
  latencies.sort((a, b) => a - b);
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN, runs: [...values] };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)!, runs: [...values] };
}

/** `123 (118–130)`: median and min–max; integers above 100, one decimal below. */
export function fmt(s: Spread, unit = ''): string {
  if (!Number.isFinite(s.median)) return 'n/a';
  const n = (v: number) =>
    Math.abs(v) >= 100 ? Math.round(v).toString() : (Math.round(v * 10) / 10).toString();
  const range = s.runs.length > 1 ? ` (${n(s.min)}–${n(s.max)})` : '';
  return `${n(s.median)}${unit}${range}`;
}

export const pct = (ratio: number) => (Number.isFinite(ratio) ? `${Math.round(ratio * 100)} %` : 'n/a');
