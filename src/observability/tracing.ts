/**
 * OpenTelemetry traces, one per payment: the receiver's request span, the workflow start, the workflow,
 * each activity and each downstream HTTP call, exported over OTLP/HTTP (JSON). Off unless
 * OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Off, `startTracing`
 * returns undefined: no provider, no exporter, no client or activity interceptor, no span in http.ts,
 * and workflows pass through src/workflows/tracing.ts untouched. docs/operations.md, "Traces".
 *
 * Each process builds its own provider and hands its tracer to whoever makes spans (the receiver's app,
 * the Temporal interceptors, the activities' HTTP calls) instead of registering it as the global one:
 * the e2e tests run the receiver and the worker in one process, each with its own `service.name`. What
 * the SDK needs globally, it gets once per process: the AsyncLocalStorage context manager (the active
 * span across awaits) and the W3C trace-context propagator (the interceptors' headers, `traceparent`).
 *
 * No span leaves with student data or secrets in it: our own attributes hold ids, names of
 * operations, statuses and redacted URLs only, and every span goes through `SanitizingExporter` on
 * its way out, the last line as `src/runtime/logger.ts` is for logs.
 *
 * Versions: the OpenTelemetry JS SDK 1.x line (sdk-trace-base 1.30, exporter 0.57) that
 * @temporalio/interceptors-opentelemetry 1.24 is built on, and @opentelemetry/api 1.9, the newest that
 * line accepts. SDK 2.x waits for a Temporal release built on it.
 */
import {
  context,
  diag,
  type DiagLogger,
  DiagLogLevel,
  propagation,
  type Tracer,
  type AttributeValue,
  type Attributes,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  baggageUtils,
  type ExportResult,
  setGlobalErrorHandler,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { TracingConfig } from '../config';
import { redactContacts } from '../domain/mask';
import type { Logger } from '../runtime/logger';

/**
 * The workflow interceptor module every workflow bundle carries (scripts/bundle-workflows.ts, the
 * worker's own bundling, the tests'): it traces a workflow only when its start carried a trace.
 */
export const WORKFLOW_TRACING_MODULE = require.resolve('../workflows/tracing');

/** Where spans go, or undefined when tracing is off. */
export function tracesUrl(config: TracingConfig): string | undefined {
  if (config.OTEL_SDK_DISABLED) return undefined;
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  // The OTLP/HTTP rule for the base endpoint: the signal's path is appended.
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT)
    return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`;
  return undefined;
}

export interface Tracing {
  readonly serviceName: string;
  readonly tracer: Tracer;
  /** Where the workflow's spans, handed over by the worker's sink, join this process's. */
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** Exports every span ended so far. */
  forceFlush(): Promise<void>;
  /** Exports what is left and stops, the process's last call; never rejects. */
  shutdown(): Promise<void>;
}

let processWide = false;
/** The context manager and propagator, once per process (a second receiver or worker in tests shares them). */
function installProcessWide(logger: Logger): void {
  if (processWide) return;
  processWide = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  // The SDK reports a collector it cannot reach (and its own misuse) on channels that are silent by
  // default: an operator should see them.
  const otel = logger.child({ component: 'opentelemetry' });
  setGlobalErrorHandler((err) =>
    otel.warn(
      { err: typeof err === 'string' ? err : (err.message ?? err.name) },
      'tracing: spans not exported',
    ),
  );
  const warn = (message: string, ...args: unknown[]) =>
    otel.warn({ detail: args.map((a) => (a instanceof Error ? a.message : String(a))) }, message);
  const quiet = () => undefined;
  const adapter: DiagLogger = { error: warn, warn, info: quiet, debug: quiet, verbose: quiet };
  diag.setLogger(adapter, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
}

/**
 * The process's tracing, or undefined when the configuration leaves it off. `defaultServiceName`
 * names the process when OTEL_SERVICE_NAME does not (`enrollflow-webhook`, `enrollflow-worker`).
 */
export function startTracing(
  config: TracingConfig,
  defaultServiceName: string,
  logger: Logger,
): Tracing | undefined {
  const url = tracesUrl(config);
  if (url === undefined) return undefined;
  installProcessWide(logger);
  const serviceName = config.OTEL_SERVICE_NAME ?? defaultServiceName;
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName });
  const exporter = new OTLPTraceExporter({
    url,
    headers: baggageUtils.parseKeyPairsIntoRecord(config.OTEL_EXPORTER_OTLP_HEADERS),
  });
  const spanProcessor = new BatchSpanProcessor(new SanitizingExporter(exporter));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  logger.info({ serviceName, url: new URL(url).origin }, 'tracing: spans exported over OTLP');
  return {
    serviceName,
    tracer: provider.getTracer('enrollflow'),
    spanProcessor,
    resource,
    forceFlush: () => provider.forceFlush(),
    // A collector that is down costs the last spans, never a clean stop.
    shutdown: () =>
      provider
        .shutdown()
        .catch((err: unknown) =>
          logger.warn({ err: (err as Error).message }, 'tracing: last spans not exported'),
        ),
  };
}

/** For a Temporal client (`interceptors.workflow`): starts and signals carry the active trace. */
export function clientInterceptors(tracing: Tracing | undefined) {
  return tracing ? [new OpenTelemetryWorkflowClientInterceptor({ tracer: tracing.tracer })] : [];
}

/** For a worker (`interceptors.activity`): a RunActivity span per attempt, child of the workflow's. */
export function activityInterceptors(tracing: Tracing | undefined): ActivityInterceptorsFactory[] {
  if (!tracing) return [];
  return [
    (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
  ];
}

/**
 * The sink the workflow's spans leave the sandbox through. Registered whether or not this worker
 * traces: a workflow started by a traced receiver traces itself (src/workflows/tracing.ts), and a
 * worker with tracing off drops its spans here rather than logging an unregistered sink per span.
 */
export function workflowSpanSink(tracing: Tracing | undefined): InjectedSinks<OpenTelemetrySinks> {
  if (!tracing) return { exporter: { export: { fn: () => undefined } } };
  return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
}

/**
 * Only strings, numbers and booleans (and arrays of them) leave, every string with emails and phone
 * numbers masked. The workflow sink adds the whole WorkflowInfo to a workflow's spans, objects
 * included (memo, search attributes, a continued run's last result), and an exception event quotes
 * an error's message, which can come from a downstream.
 */
function cleanAttributes(attributes: Attributes): Attributes {
  const clean: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    const kept = cleanValue(value);
    if (kept !== undefined) clean[key] = kept;
  }
  return clean;
}

function cleanValue(value: unknown): AttributeValue | undefined {
  if (typeof value === 'string') return redactContacts(value);
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) return value.map((v) => redactContacts(v));
    if (value.every((v) => typeof v === 'number')) return value;
    if (value.every((v) => typeof v === 'boolean')) return value;
  }
  return undefined;
}

export function sanitizeSpan(span: ReadableSpan): ReadableSpan {
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => span.spanContext(),
    parentSpanId: span.parentSpanId,
    startTime: span.startTime,
    endTime: span.endTime,
    status:
      span.status.message === undefined
        ? span.status
        : { ...span.status, message: redactContacts(span.status.message) },
    attributes: cleanAttributes(span.attributes),
    links: span.links.map((link) => ({
      ...link,
      attributes: link.attributes && cleanAttributes(link.attributes),
    })),
    events: span.events.map((event) => ({
      ...event,
      attributes: event.attributes && cleanAttributes(event.attributes),
    })),
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationLibrary: span.instrumentationLibrary,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

class SanitizingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans.map(sanitizeSpan), done);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
