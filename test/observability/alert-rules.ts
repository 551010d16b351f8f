/**
 * Reading ops/alerts/enrollflow.rules.yml and the Prometheus text format, for the tests that keep the
 * alert rules honest: every metric (and grouping label) a rule names must be one we really export.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(__dirname, '..', '..');
export const RULES_FILE = path.join(ROOT, 'ops/alerts/enrollflow.rules.yml');

export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

export function loadRuleGroups(): RuleGroup[] {
  const doc = parse(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: RuleGroup[] };
  return doc.groups;
}

export const allRules = (): AlertRule[] => loadRuleGroups().flatMap((g) => g.rules);

/** PromQL functions, aggregations and keywords the rules use; any other identifier is a metric name. */
const PROMQL_WORDS = new Set([
  'sum',
  'max',
  'min',
  'avg',
  'count',
  'rate',
  'increase',
  'irate',
  'clamp_min',
  'clamp_max',
  'histogram_quantile',
  'absent',
  'time',
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'bool',
  'offset',
]);

/** Strips strings, label matchers, grouping clauses, ranges and numbers; what is left are identifiers. */
function identifiers(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|without|on|ignoring)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b\d+(?:\.\d+)?(?:e-?\d+)?\b/g, ' ');
  return bare.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? [];
}

/** The metric names a rule expression selects (`up` included: Prometheus makes that one itself). */
export function metricNamesIn(expr: string): string[] {
  return [...new Set(identifiers(expr).filter((id) => !PROMQL_WORDS.has(id)))];
}

/** Label names a rule groups by or matches on. */
export function labelNamesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const [, list] of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
    for (const n of list!.split(',')) if (n.trim()) names.add(n.trim());
  }
  for (const [, body] of expr.matchAll(/\{([^}]*)\}/g)) {
    for (const [, n] of body!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) names.add(n!);
  }
  return [...names];
}

export interface Exposition {
  /** Every series name that can appear: from `# TYPE` lines (histograms expanded) and from samples. */
  names: Set<string>;
  /** Label names seen on samples, per series name. */
  labels: Map<string, Set<string>>;
  /** First sample value per series name and label set, e.g. `enrollflow_payments_in_review` -> 1. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

/** Reads the Prometheus text exposition format (what prom-client and the SDK exporter serve). */
export function parseExposition(...texts: string[]): Exposition {
  const names = new Set<string>();
  const labels = new Map<string, Set<string>>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of texts.join('\n').split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type;
      names.add(name!);
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!sample || line.startsWith('#')) continue;
    const [, name, body = '', value] = sample;
    names.add(name!);
    const set = labels.get(name!) ?? new Set<string>();
    const parsed: Record<string, string> = {};
    for (const [, k, v] of body.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      set.add(k!);
      parsed[k!] = v!;
    }
    labels.set(name!, set);
    samples.push({ name: name!, labels: parsed, value: Number(value) });
  }
  return {
    names,
    labels,
    value(name, want = {}) {
      return samples.find((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v))
        ?.value;
    },
  };
}

/** GitHub's heading anchors of a markdown file: `## A payment stuck in review` -> `a-payment-stuck-in-review`. */
export function markdownAnchors(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8');
  const anchors = new Set<string>();
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    anchors.add(
      heading!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return anchors;
}

/**
 * For each rule: metric names it selects that are not exported, and grouping/matcher labels that no
 * sample of its metrics carries (checked only for metrics that have samples).
 */
export function unexportedReferences(rules: AlertRule[], exported: Exposition): string[] {
  const problems: string[] = [];
  for (const rule of rules) {
    const metrics = metricNamesIn(rule.expr).filter((m) => m !== 'up');
    for (const m of metrics) if (!exported.names.has(m)) problems.push(`${rule.alert}: metric ${m}`);
    const seen = new Set(metrics.flatMap((m) => [...(exported.labels.get(m) ?? [])]));
    if (seen.size === 0) continue;
    for (const l of labelNamesIn(rule.expr)) {
      if (l !== 'le' && l !== 'job' && !seen.has(l)) problems.push(`${rule.alert}: label ${l}`);
    }
  }
  return problems;
}
