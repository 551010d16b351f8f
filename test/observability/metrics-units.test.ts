import type { RuntimeOptions } from '@temporalio/worker';
import { installRuntimeWithSdkMetrics, sdkMetricsTelemetry } from '../../src/observability/sdk-metrics';
import { createWebhookMetrics } from '../../src/observability/webhook-metrics';
import type { PaymentEvent } from '../../src/domain/payment-event';
import { httpAnswer, type Outcome } from '../../src/webhook/outcome';
import { TemporalUnavailableError } from '../../src/webhook/start-enrollment';
import { parseExposition } from './alert-rules';
import { captureLines } from './log-capture';

describe('webhook metrics', () => {
  const outcomes: Outcome[] = [
    { kind: 'started', workflowId: 'payment-razorpay-pay_1' },
    { kind: 'duplicate', workflowId: 'payment-razorpay-pay_1' },
    { kind: 'ignored', eventType: 'payment.failed' },
    { kind: 'invalid', error: 'malformed_json' },
    { kind: 'invalid', error: 'unknown_provider' },
    { kind: 'unauthorized' },
    { kind: 'too_large' },
    { kind: 'unsupported', error: 'unsupported_media_type' },
    { kind: 'unavailable' },
    { kind: 'error' },
  ];
  /** The label recorded for the Outcome that answers with this status and (at least) these fields. */
  const deliveryOutcome = (status: number, body: Record<string, unknown>) =>
    outcomes.find((o) => {
      const answer = httpAnswer(o);
      return answer.status === status && Object.entries(body).every(([k, v]) => answer.body[k] === v);
    })?.kind;

  it.each([
    [200, { status: 'started' }, 'started'],
    [200, { status: 'duplicate' }, 'duplicate'],
    [200, { status: 'ignored' }, 'ignored'],
    [400, { error: 'malformed_json' }, 'invalid'],
    [404, { error: 'unknown_provider' }, 'invalid'],
    [401, { error: 'invalid_signature' }, 'unauthorized'],
    [413, { error: 'payload_too_large' }, 'too_large'],
    [415, { error: 'unsupported_media_type' }, 'unsupported'],
    [503, { error: 'temporarily_unavailable' }, 'unavailable'],
    [500, { error: 'internal_error' }, 'error'],
  ])('maps HTTP %i %j to outcome %s', (status, body, outcome) => {
    expect(deliveryOutcome(status, body)).toBe(outcome);
  });

  it('keeps label values bounded whatever the request says', async () => {
    const metrics = createWebhookMetrics({ defaultMetrics: false });
    metrics.record({ provider: 'paypal', outcome: 'invalid' });
    metrics.record({ provider: 'stripe', outcome: 'ignored', eventType: 'x'.repeat(200) });
    metrics.record({ provider: 'stripe', outcome: 'unauthorized' });
    metrics.record({ provider: 'razorpay', outcome: 'duplicate', eventType: 'order.paid' });
    const m = parseExposition(await metrics.registry.metrics());
    const deliveries = (labels: Record<string, string>) =>
      m.value('enrollflow_webhook_deliveries_total', labels);
    expect(deliveries({ provider: 'other', event_type: 'none', outcome: 'invalid' })).toBe(1);
    expect(deliveries({ provider: 'stripe', event_type: 'other', outcome: 'ignored' })).toBe(1);
    expect(deliveries({ provider: 'stripe', event_type: 'none', outcome: 'unauthorized' })).toBe(1);
    expect(deliveries({ provider: 'razorpay', event_type: 'order.paid', outcome: 'duplicate' })).toBe(1);
    expect(m.value('enrollflow_webhook_signature_failures_total', { provider: 'stripe' })).toBe(1);
    expect(m.value('enrollflow_webhook_signature_failures_total', { provider: 'razorpay' })).toBe(0);
    expect(m.value('enrollflow_webhook_duplicates_total', { provider: 'razorpay' })).toBe(1);
  });

  it('times every start, failed ones included, and passes results and errors through', async () => {
    const metrics = createWebhookMetrics({ defaultMetrics: false });
    let mode: 'started' | 'duplicate' | 'down' = 'started';
    const starter = metrics.timeStarts({
      ready: async () => true,
      startAccess: async () => ({ status: 'started', workflowId: 'refund-razorpay-rfnd_1' }),
      async start(event) {
        await new Promise((r) => setTimeout(r, 20));
        if (mode === 'down') throw new TemporalUnavailableError('deadline');
        return { status: mode, workflowId: `payment-${event.provider}-${event.paymentId}` };
      },
    });
    const event = { provider: 'razorpay', paymentId: 'pay_1' } as PaymentEvent;
    await expect(starter.start(event)).resolves.toEqual({
      status: 'started',
      workflowId: 'payment-razorpay-pay_1',
    });
    mode = 'duplicate';
    await starter.start(event);
    mode = 'down';
    await expect(starter.start(event)).rejects.toBeInstanceOf(TemporalUnavailableError);
    await expect(starter.ready()).resolves.toBe(true);

    const m = parseExposition(await metrics.registry.metrics());
    for (const outcome of ['started', 'duplicate', 'unavailable']) {
      const labels = { provider: 'razorpay', outcome };
      expect(m.value('enrollflow_workflow_start_seconds_count', labels)).toBe(1);
      expect(m.value('enrollflow_workflow_start_seconds_sum', labels)).toBeGreaterThanOrEqual(0.015);
      expect(m.value('enrollflow_workflow_start_seconds_bucket', { ...labels, le: '2.5' })).toBe(1);
    }
  });

  it('includes the Node process metrics by default', async () => {
    const m = parseExposition(await createWebhookMetrics().registry.metrics());
    expect(m.names.has('process_cpu_user_seconds_total')).toBe(true);
    expect(m.names.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });
});

describe('Temporal runtime with the SDK metrics exporter', () => {
  const runtimeLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

  it('installs one runtime with the logger and the Prometheus exporter together', () => {
    const installs: RuntimeOptions[] = [];
    const { logger } = captureLines('worker');
    expect(
      installRuntimeWithSdkMetrics({ logger: runtimeLogger }, 9465, logger, (o) => installs.push(o)),
    ).toBe(true);
    expect(installs).toHaveLength(1);
    expect(installs[0]!.logger).toBe(runtimeLogger);
    expect(installs[0]!.telemetryOptions).toEqual(sdkMetricsTelemetry(9465));
    expect(JSON.stringify(installs[0]!.telemetryOptions)).toContain('"bindAddress":"0.0.0.0:9465"');
  });

  it('falls back to a runtime without the exporter, and says so, when the port is taken', () => {
    const installs: RuntimeOptions[] = [];
    const logs = captureLines('worker');
    const install = (o: RuntimeOptions) => {
      if (o.telemetryOptions)
        throw new Error('Failed to start prometheus metrics exporter: Address already in use');
      installs.push(o);
    };
    expect(installRuntimeWithSdkMetrics({ logger: runtimeLogger }, 9465, logs.logger, install)).toBe(false);
    expect(installs).toEqual([{ logger: runtimeLogger }]);
    expect(logs.lines()).toEqual([
      expect.objectContaining({
        level: 50,
        port: 9465,
        msg: expect.stringContaining('TEMPORAL_SDK_METRICS_PORT'),
      }),
    ]);
  });
});
