import path from 'node:path';
import { Registry } from 'prom-client';
import { createBusinessMetrics } from '../../src/observability/business-metrics';
import { createWebhookMetrics } from '../../src/observability/webhook-metrics';
import { createLogger } from '../../src/runtime/logger';
import {
  allRules,
  labelNamesIn,
  loadRuleGroups,
  markdownAnchors,
  metricNamesIn,
  parseExposition,
  ROOT,
  unexportedReferences,
} from './alert-rules';

/**
 * The rules file as a document: valid YAML in Prometheus' rule format, every rule complete, every
 * runbook link an existing section, and every metric from our own prom-client registries named
 * exactly as exported. (The SDK exporter's names are checked against a real scrape in
 * worker-process.test.ts.)
 */
const groups = loadRuleGroups();
const rules = allRules();

/** Ours by prefix, but recorded through Temporal's metricMeter: served by the SDK exporter, not prom-client. */
const SDK_EXPORTED = new Set(['enrollflow_paid_to_enrolled', 'enrollflow_reconciled_payments_total']);

describe('ops/alerts/enrollflow.rules.yml', () => {
  it('is a list of named groups of rules', () => {
    expect(groups.length).toBeGreaterThan(0);
    for (const group of groups) {
      expect(group.name).toMatch(/^[a-z0-9-]+$/);
      expect(group.rules.length).toBeGreaterThan(0);
    }
    const names = rules.map((r) => r.alert);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(rules.map((r) => [r.alert, r] as const))('%s is complete', (_name, rule) => {
    expect(rule.alert).toMatch(/^Enrollflow[A-Za-z0-9]+$/);
    expect(typeof rule.expr).toBe('string');
    expect(rule.for).toMatch(/^\d+[smh]$/);
    expect(['warning', 'critical']).toContain(rule.labels.severity);
    expect(rule.annotations.summary?.length).toBeGreaterThan(10);
    expect(rule.annotations.runbook).toMatch(/^docs\/operations\.md#[a-z0-9-]+$/);
    expect(metricNamesIn(rule.expr).length).toBeGreaterThan(0);
    // Balanced brackets: the cheapest syntax check without a PromQL parser.
    for (const [open, close] of ['()', '{}', '[]']) {
      expect(rule.expr.split(open!).length).toBe(rule.expr.split(close!).length);
    }
  });

  it('links every runbook to an existing section of docs/operations.md', () => {
    const anchors = markdownAnchors(path.join(ROOT, 'docs/operations.md'));
    const missing = rules
      .map((r) => r.annotations.runbook!.split('#')[1]!)
      .filter((anchor) => !anchors.has(anchor));
    expect(missing).toEqual([]);
  });

  it('covers what the issue asks for', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    for (const metric of [
      'enrollflow_webhook_signature_failures_total',
      'enrollflow_oldest_review_age_seconds',
      'enrollflow_paid_not_enrolled',
      'enrollflow_webhook_deliveries_total',
      'temporal_activity_execution_failed',
      'temporal_activity_schedule_to_start_latency_bucket',
      'enrollflow_reconciled_payments_total',
      'enrollflow_reconciliation_last_success_timestamp_seconds',
      'enrollflow_reconciliation_interval_seconds',
    ]) {
      expect(exprs).toContain(metric);
    }
    expect(exprs).toMatch(/up\{job="enrollflow-worker"\}/);
  });

  it('names only metrics our prom-client registries export, with their labels', async () => {
    const webhook = createWebhookMetrics({ defaultMetrics: false });
    webhook.record({ provider: 'razorpay', outcome: 'started', eventType: 'order.paid' });
    const registry = new Registry();
    createBusinessMetrics({
      registry,
      logger: createLogger('test', 'silent'),
      reconciliation: { providers: ['razorpay'], intervalSeconds: 900 },
      client: {
        workflow: {
          count: async () => ({ count: 0 }),
          list: async function* () {},
          getHandle: () => ({ query: () => Promise.reject(new Error('unused')) }),
        },
      },
    });
    const exported = parseExposition(await webhook.registry.metrics(), await registry.metrics());
    const ours = rules.filter((r) =>
      metricNamesIn(r.expr).every((m) => m === 'up' || (m.startsWith('enrollflow_') && !SDK_EXPORTED.has(m))),
    );
    expect(ours.length).toBeGreaterThanOrEqual(6);
    expect(unexportedReferences(ours, exported)).toEqual([]);
  });

  it('would catch a misspelled metric or a label the metric does not have', () => {
    const exported = parseExposition(
      '# TYPE enrollflow_x_total counter\nenrollflow_x_total{provider="stripe"} 1\n',
    );
    const rule = { alert: 'R', for: '1m', labels: {}, annotations: {} };
    expect(unexportedReferences([{ ...rule, expr: 'rate(enrollflow_y_total[5m]) > 0' }], exported)).toEqual([
      'R: metric enrollflow_y_total',
    ]);
    expect(
      unexportedReferences(
        [{ ...rule, expr: 'sum by (event) (rate(enrollflow_x_total[5m])) > 0' }],
        exported,
      ),
    ).toEqual(['R: label event']);
  });

  it('finds metric and label names in an expression', () => {
    const expr =
      'sum by (provider) (rate(a_total{outcome=~"x|y"}[5m])) / clamp_min(sum(b_bucket), 1e-9) > 0.5 and absent(up{job="w"})';
    expect(metricNamesIn(expr).sort()).toEqual(['a_total', 'b_bucket', 'up']);
    expect(labelNamesIn(expr).sort()).toEqual(['job', 'outcome', 'provider']);
  });
});
