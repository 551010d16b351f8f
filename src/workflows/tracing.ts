/**
 * The workflow side of tracing (src/observability/tracing.ts): Temporal's OpenTelemetry workflow
 * interceptors, for a workflow whose start carried a trace context, and only for it. Every bundle
 * carries this module, so one prebuilt bundle serves a worker with tracing on and one with it off.
 *
 * Why the gate: the SDK evaluates a workflow's modules again for every workflow it creates, so the
 * OpenTelemetry SDK is required here only when a workflow is traced; an untraced workflow (tracing
 * off in the receiver, a start from a Schedule, every history recorded before tracing) passes through
 * and loads nothing. The choice reads the start event's headers, which replay sees as they were: it is
 * deterministic. The package's interceptors add no command, only spans (which leave through a sink,
 * never called on replay) and headers on the commands the workflow already issues.
 */
import type {
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptors,
  WorkflowInternalsInterceptor,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import type {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';

/**
 * The header the package's client interceptor writes the trace context into (its `TRACE_HEADER`;
 * not imported, since that module would load the OpenTelemetry API into every workflow).
 */
export const TRACE_HEADER = '_tracer-data';

interface Traced {
  inbound: OpenTelemetryInboundInterceptor;
  outbound: OpenTelemetryOutboundInterceptor;
  internals: OpenTelemetryInternalsInterceptor;
}

type OpenTelemetryWorkflow = typeof import('@temporalio/interceptors-opentelemetry/lib/workflow');

function traced(): Traced {
  // A require, not an import: evaluated only for a traced workflow (the bundler still includes it).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otel = require('@temporalio/interceptors-opentelemetry/lib/workflow') as OpenTelemetryWorkflow;
  return {
    inbound: new otel.OpenTelemetryInboundInterceptor(),
    outbound: new otel.OpenTelemetryOutboundInterceptor(),
    internals: new otel.OpenTelemetryInternalsInterceptor(),
  };
}

/** Called by the SDK once per workflow execution: `otel` is that execution's. */
export const interceptors = (): WorkflowInterceptors => {
  let otel: Traced | undefined;
  const inbound: WorkflowInboundCallsInterceptor = {
    execute: (input, next) => {
      if (input.headers[TRACE_HEADER] !== undefined) otel = traced();
      return otel ? otel.inbound.execute(input, next) : next(input);
    },
    handleSignal: (input, next) => (otel ? otel.inbound.handleSignal(input, next) : next(input)),
    handleUpdate: (input, next) => (otel ? otel.inbound.handleUpdate(input, next) : next(input)),
    validateUpdate: (input, next) => (otel ? otel.inbound.validateUpdate(input, next) : next(input)),
    handleQuery: (input, next) => (otel ? otel.inbound.handleQuery(input, next) : next(input)),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => (otel ? otel.outbound.scheduleActivity(input, next) : next(input)),
    scheduleLocalActivity: (input, next) =>
      otel ? otel.outbound.scheduleLocalActivity(input, next) : next(input),
    startChildWorkflowExecution: (input, next) =>
      otel ? otel.outbound.startChildWorkflowExecution(input, next) : next(input),
    startNexusOperation: (input, next) =>
      otel ? otel.outbound.startNexusOperation(input, next) : next(input),
    continueAsNew: (input, next) => (otel ? otel.outbound.continueAsNew(input, next) : next(input)),
    signalWorkflow: (input, next) => (otel ? otel.outbound.signalWorkflow(input, next) : next(input)),
    getLogAttributes: (input, next) => (otel ? otel.outbound.getLogAttributes(input, next) : next(input)),
  };
  const internals: WorkflowInternalsInterceptor = {
    // The package's dispose is declared async but does its work before returning.
    dispose: (input, next) => (otel ? void otel.internals.dispose(input, next) : next(input)),
  };
  return { inbound: [inbound], outbound: [outbound], internals: [internals] };
};
