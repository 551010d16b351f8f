import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Worker } from '@temporalio/worker';
import { loadWebhookConfig, loadWorkerConfig, payloadKeyRing } from '../../src/config';
import { sanitizeSpan, startTracing, tracesUrl, workflowSpanSink } from '../../src/observability/tracing';
import { createLogger } from '../../src/runtime/logger';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';
import { newPaymentId } from '../../src/providers';
import { dataConverter } from '../../src/temporal/data-converter';
import { sendDeliveries } from '../../src/tools/deliver';
import { STEPS } from '../../src/workflows/steps';
import { TRACE_HEADER } from '../../src/workflows/tracing';
import { TRACE_HEADER as PACKAGE_TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import { eventually } from '../helpers/eventually';
import { startSystem, type System } from '../helpers/system';

/**
 * One payment, one trace: the receiver's request span, the Temporal client's StartWorkflow, the
 * workflow's RunWorkflow and StartActivity spans (exported through the worker's sink), each
 * RunActivity and each downstream HTTP call, linked parent to child, exported over OTLP/HTTP to a
 * collector stand-in here; and the trace context reaches the downstreams as `traceparent`.
 */

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
  status?: { code?: number };
}
interface ReceivedSpan extends OtlpSpan {
  service: string;
  attrs: Record<string, string | number | boolean | undefined>;
}

const SPAN_KIND = { SERVER: 2, CLIENT: 3 } as const;

/** The collector: OTLP/HTTP with JSON bodies (what @opentelemetry/exporter-trace-otlp-http sends). */
async function startCollector() {
  const bodies: string[] = [];
  const contentTypes = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      bodies.push((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'));
      contentTypes.add(String(req.headers['content-type']));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const valueOf = (v: OtlpValue) =>
    v.stringValue ?? (v.intValue === undefined ? v.boolValue : Number(v.intValue));
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    contentTypes,
    spans(): ReceivedSpan[] {
      return bodies.flatMap((body) => {
        const request = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: OtlpValue }> };
            scopeSpans: Array<{ spans: OtlpSpan[] }>;
          }>;
        };
        return request.resourceSpans.flatMap((rs) => {
          const service = String(
            valueOf(rs.resource.attributes.find((a) => a.key === 'service.name')!.value),
          );
          return rs.scopeSpans.flatMap((ss) =>
            ss.spans.map((span) => ({
              ...span,
              service,
              attrs: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, valueOf(a.value)])),
            })),
          );
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let collector: Awaited<ReturnType<typeof startCollector>>;
let system: System;
beforeAll(async () => {
  collector = await startCollector();
  system = await startSystem({ tracing: { otlpEndpoint: collector.url } });
}, 180_000);
afterAll(async () => {
  await system?.stop();
  await collector?.close();
}, 60_000);

const ACTIVITIES = STEPS.flatMap((step) => ('activity' in step && step.activity ? [step.activity] : []));

describe('tracing, OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
  it('gives one payment one connected trace, from the webhook request to each downstream call', async () => {
    const paymentId = newPaymentId('razorpay');
    const workflowId = `payment-razorpay-${paymentId}`;
    const email = `trace-${paymentId}@example.com`.toLowerCase();
    const phone = '+919812345678';
    const name = 'Zephyrine Traceworth';
    const [delivery] = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      sandboxUrl: system.sandbox.url,
      fixture: { paymentId, email, name, courseId: 'course-ml-101', phone },
    });
    expect(delivery!.status).toBe(200);
    await expect(system.client.workflow.getHandle(workflowId).result()).resolves.toMatchObject({
      outcome: 'completed',
    });

    const exported = async (spanName: string, attribute: string) => {
      await system.flushTraces();
      return collector.spans().some((s) => s.name === spanName && s.attrs[attribute] === workflowId);
    };
    await eventually(() => exported('RunActivity:upsertCrmContact', 'temporalWorkflowId'));
    // The workflow's own spans leave through the sink after its last activation. Missing for good,
    // the assertions below say which.
    await eventually(() => exported('RunWorkflow:enrollmentWorkflow', 'workflowId'), 5_000).catch(
      () => undefined,
    );
    const spans = collector.spans();
    expect([...collector.contentTypes]).toEqual(['application/json']);

    const start = spans.find(
      (s) => s.name === 'StartWorkflow:enrollmentWorkflow' && s.attrs.temporalWorkflowId === workflowId,
    );
    expect(start).toBeDefined();
    const traceId = start!.traceId;
    const trace = spans.filter((s) => s.traceId === traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => (s.parentSpanId ? byId.get(s.parentSpanId) : undefined);
    const chain = (s: ReceivedSpan): string[] => {
      const names: string[] = [];
      for (let at: ReceivedSpan | undefined = s; at; at = parentOf(at)) names.push(at.name);
      return names;
    };

    // Every span of the payment, wherever it was made, is in this one trace.
    const ofPayment = spans.filter(
      (s) =>
        s.attrs.temporalWorkflowId === workflowId ||
        s.attrs.workflowId === workflowId ||
        s.attrs['enrollflow.payment_id'] === paymentId,
    );
    expect(ofPayment.length).toBeGreaterThan(0);
    expect(new Set(ofPayment.map((s) => s.traceId))).toEqual(new Set([traceId]));

    // One root, the webhook request; every other span's parent is in the trace.
    const roots = trace.filter((s) => !s.parentSpanId);
    expect(roots).toHaveLength(1);
    const [request] = roots;
    expect(request).toMatchObject({
      name: 'POST /webhooks/:provider',
      kind: SPAN_KIND.SERVER,
      service: 'enrollflow-webhook',
    });
    expect(request!.attrs).toMatchObject({
      'http.response.status_code': 200,
      'enrollflow.provider': 'razorpay',
      'enrollflow.outcome': 'started',
    });
    expect(trace.filter((s) => s.parentSpanId && !byId.has(s.parentSpanId))).toEqual([]);

    expect(parentOf(start!)).toBe(request);
    expect(start!.service).toBe('enrollflow-webhook');
    const run = trace.find((s) => s.name === 'RunWorkflow:enrollmentWorkflow');
    expect(run && parentOf(run)).toBe(start);
    expect(run!.service).toBe('enrollflow-worker');

    // Each step's activity: scheduled by the workflow, run by the worker, its parent the schedule.
    for (const activity of ACTIVITIES) {
      const runs = trace.filter((s) => s.name === `RunActivity:${activity}`);
      expect({ activity, runs: runs.length }).toEqual({ activity, runs: 1 });
      expect(chain(runs[0]!)).toEqual([
        `RunActivity:${activity}`,
        `StartActivity:${activity}`,
        'RunWorkflow:enrollmentWorkflow',
        'StartWorkflow:enrollmentWorkflow',
        'POST /webhooks/:provider',
      ]);
      expect(runs[0]!.service).toBe('enrollflow-worker');
    }

    // Each downstream call: a CLIENT span whose parent is the activity that made it.
    const calls = trace.filter((s) => s.kind === SPAN_KIND.CLIENT);
    const downstreams = new Set(calls.map((s) => s.attrs['enrollflow.downstream']));
    expect(downstreams).toEqual(new Set(['razorpay', 'lms', 'whatsapp', 'hubspot']));
    for (const call of calls) {
      expect(parentOf(call)?.name).toMatch(/^RunActivity:/);
      expect(chain(call).at(-1)).toBe('POST /webhooks/:provider');
      expect(call.attrs).toMatchObject({
        'http.request.method': expect.any(String),
        'enrollflow.outcome': 'ok',
      });
      expect(call.attrs['url.full']).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    }

    // The downstreams received the trace: each call's traceparent names the trace and its CLIENT span.
    const received = (await system.ledger()).requests.filter((r) => r.traceparent?.split('-')[1] === traceId);
    expect(new Set(received.map((r) => r.service))).toEqual(
      new Set(['razorpay', 'lms', 'whatsapp', 'hubspot']),
    );
    const callIds = new Set(calls.map((s) => s.spanId));
    for (const r of received) expect(callIds.has(r.traceparent!.split('-')[2]!)).toBe(true);

    // Nothing about the student left in a span.
    const sent = collector.bodies.join('\n');
    expect(sent).not.toContain(email);
    expect(sent).not.toContain(phone.slice(1));
    expect(sent).not.toContain('Zephyrine');

    // The traced workflow's history replays on the same bundle: the interceptors issue no command.
    const history = await system.client.workflow.getHandle(workflowId).fetchHistory();
    const workerConverter = dataConverter(payloadKeyRing(loadWorkerConfig(system.env)));
    await Worker.runReplayHistory(
      {
        workflowBundle: system.workflowBundle,
        dataConverter: workerConverter,
        sinks: workflowSpanSink(undefined),
      },
      history,
      workflowId,
    );
  }, 60_000);
});

describe('the tracing variables', () => {
  const base = {
    RAZORPAY_WEBHOOK_SECRETS: 'rzp_secret_1',
    STRIPE_WEBHOOK_SECRETS: 'whsec_secret_1',
    ...newPayloadKeyEnv('tracing-config'),
  };
  const url = (env: Record<string, string>) => tracesUrl(loadWebhookConfig({ ...base, ...env }));

  it('leave tracing off without an endpoint, or with OTEL_SDK_DISABLED=true', () => {
    expect(url({})).toBeUndefined();
    expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: '' })).toBeUndefined();
    expect(
      url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(
      startTracing(loadWebhookConfig(base), 'enrollflow-webhook', createLogger('t', 'silent')),
    ).toBeUndefined();
  });

  it('send spans to <endpoint>/v1/traces, or to the traces endpoint as it is', () => {
    expect(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe(
      'http://collector:4318/v1/traces',
    );
    expect(
      url({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://otlp.example.com/api/traces',
      }),
    ).toBe('https://otlp.example.com/api/traces');
  });

  it('refuse a malformed endpoint or headers, naming the variable and never the value', () => {
    expect(() => url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    const headers = () => url({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=k1,secret_without_equals' });
    expect(headers).toThrow(/OTEL_EXPORTER_OTLP_HEADERS/);
    expect(headers).not.toThrow(/secret_without_equals/);
    expect(() => url({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=%E0%A4%A' })).toThrow(
      /OTEL_EXPORTER_OTLP_HEADERS/,
    );
    expect(url({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=k1, x-team=a%20b' })).toBeUndefined();
  });
});

describe('the workflow tracing module', () => {
  it("reads the package's own trace header", () => {
    expect(TRACE_HEADER).toBe(PACKAGE_TRACE_HEADER);
  });
});

describe('spans on their way out', () => {
  it('keep only plain attribute values, with emails and phone numbers masked', () => {
    const span = sanitizeSpan({
      name: 'RunWorkflow:enrollmentWorkflow',
      kind: 1,
      spanContext: () => ({ traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 }),
      startTime: [0, 0],
      endTime: [0, 0],
      status: { code: 2, message: 'LMS rejected asha@example.com' },
      attributes: {
        workflowId: 'payment-razorpay-pay_1',
        attempt: 1,
        memo: { email: 'asha@example.com' } as never,
        note: 'call +919812345678',
      },
      links: [],
      events: [
        { name: 'exception', time: [0, 0], attributes: { 'exception.message': 'no asha@example.com' } },
      ],
      duration: [0, 0],
      ended: true,
      resource: { attributes: {} } as never,
      instrumentationLibrary: { name: 'x' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    });
    expect(span.attributes).toEqual({
      workflowId: 'payment-razorpay-pay_1',
      attempt: 1,
      note: 'call +91******5678',
    });
    expect(span.status.message).toBe('LMS rejected a***@example.com');
    expect(span.events[0]!.attributes).toEqual({ 'exception.message': 'no a***@example.com' });
    expect(span.spanContext().traceId).toBe('a'.repeat(32));
  });
});
