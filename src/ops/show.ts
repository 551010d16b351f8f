/**
 * `show <payment>`: everything about one payment on one screen: the execution (running, completed,
 * terminated...), the payment it was started with, each step with attempts, last error and result,
 * activities Temporal is retrying right now, every review with its resolution, and how it ended.
 */
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { maskEmail, maskPhone } from '../runtime/logger';
import type {
  EnrollmentState,
  EnrollmentSummary,
  ReviewRecord,
  StepName,
  StepState,
} from '../workflows/messages';
import { STEP_NAMES, stepOfActivity } from '../workflows/steps';
import { SOURCE_LABEL } from '../workflows/details';
import { type PaymentSource, paymentSourceSearchAttribute, paymentSources } from '../workflows/messages';
import type { OpsConnection } from './connect';
import { OpsError } from './errors';
import { ageSince, formatAge, oneLine, table } from './format';
import { formatMajorUnits } from '../domain/money';
import { describePayment, queryStatus, readClosedOutcome, readStartedPayment } from './inspect';
import type { PaymentRef } from './payment-ref';
import { type AccessChangeView, listAccessChanges, renderAccessTimeline } from './access';
import { decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import type { ProtoFailure } from '@temporalio/common';

/** temporal.api.enums.v1.PendingActivityState, by number (the proto package is a dev dependency). */
const PENDING_STATE: Record<number, string> = {
  1: 'scheduled',
  2: 'started',
  3: 'cancel requested',
  4: 'paused',
  5: 'pause requested',
};

export interface PendingActivity {
  activityType: string;
  step?: StepName;
  state: string;
  attempt: number;
  /** 0 means unlimited. */
  maximumAttempts: number;
  lastFailure?: string;
  nextAttemptAt?: string;
}

export interface ShowResult {
  workflowId: string;
  runId: string;
  taskQueue: string;
  execution: { status: string; startTime: string; closeTime?: string; historyLength: number };
  /** Who started it (`PaymentSource`); payments started before the attribute existed came by webhook. */
  source: PaymentSource;
  payment?: {
    provider: string;
    paymentId: string;
    eventType: string;
    eventId?: string;
    amountMinor: number;
    currency: string;
    amount: string;
    paidAt: string;
  };
  state?: EnrollmentState;
  courseId?: string;
  /** Masked: the ops output is pasted into tickets and chats. */
  student?: { email?: string; phone?: string };
  steps?: Record<StepName, StepState>;
  openReview?: ReviewRecord;
  reviews?: ReviewRecord[];
  ignoredSignals?: string[];
  pendingActivities: PendingActivity[];
  result?: EnrollmentSummary;
  closeDetail?: string;
  /** The status query failed (e.g. no worker): the rest comes from Temporal alone. */
  statusError?: string;
  /** Refunds, disputes and ended subscriptions of this payment, oldest first. */
  access: AccessChangeView[];
  accessError?: string;
}

interface TimestampLike {
  seconds?: number | { toNumber(): number } | null;
  nanos?: number | null;
}

function isoOf(ts: TimestampLike | null | undefined): string | undefined {
  if (!ts || ts.seconds === undefined || ts.seconds === null) return undefined;
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : ts.seconds.toNumber();
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}

/**
 * A pending activity's last failure as the worker wrote it: its message travels sealed (the payload
 * codec, `encodeCommonAttributes`), so it is opened through the client's data converter.
 */
async function lastFailureMessage(ops: OpsConnection, failure: ProtoFailure | null | undefined) {
  if (!failure) return undefined;
  try {
    const error = await decodeOptionalFailureToOptionalError(ops.client.options.loadedDataConverter, failure);
    return error?.message;
  } catch (err) {
    // Sealed under a key this ring lacks: say so, and still show the rest of the payment.
    return `(${(err as Error).message})`;
  }
}

async function pendingActivities(
  ops: OpsConnection,
  description: WorkflowExecutionDescription,
): Promise<PendingActivity[]> {
  const pending = description.raw.pendingActivities ?? [];
  const messages = await Promise.all(pending.map((a) => lastFailureMessage(ops, a.lastFailure)));
  return pending.map((a, i) => {
    const activityType = a.activityType?.name ?? '?';
    const message = messages[i];
    return {
      activityType,
      step: stepOfActivity(activityType),
      state: PENDING_STATE[a.state ?? 0] ?? 'unknown',
      attempt: a.attempt ?? 0,
      maximumAttempts: a.maximumAttempts ?? 0,
      // Typed like the review reasons ("DownstreamUnavailable: LMS unavailable (HTTP 503)").
      lastFailure: message
        ? [a.lastFailure?.applicationFailureInfo?.type, message].filter(Boolean).join(': ')
        : undefined,
      nextAttemptAt: isoOf(a.nextAttemptScheduleTime),
    };
  });
}

export async function showPayment(ops: OpsConnection, ref: PaymentRef): Promise<ShowResult> {
  const description = await describePayment(ops, ref.workflowId);
  const { workflowId, runId } = description;
  const closed = description.status.name !== 'RUNNING';
  const [status, payment, outcome, access] = await Promise.allSettled([
    queryStatus(ops, workflowId, runId),
    readStartedPayment(ops, workflowId, runId),
    closed ? readClosedOutcome(ops, description) : Promise.resolve(undefined),
    listAccessChanges(ops, ref.paymentId),
  ]);

  const result: ShowResult = {
    workflowId,
    runId,
    taskQueue: description.taskQueue,
    execution: {
      status: description.status.name,
      startTime: description.startTime.toISOString(),
      closeTime: description.closeTime?.toISOString(),
      historyLength: description.historyLength,
    },
    source: sourceOf(description.typedSearchAttributes.get(paymentSourceSearchAttribute)),
    pendingActivities: await pendingActivities(ops, description),
    access: access.status === 'fulfilled' ? access.value.changes : [],
    accessError: access.status === 'fulfilled' ? access.value.error : String(access.reason),
  };
  if (payment.status === 'fulfilled' && payment.value) {
    const p = payment.value;
    result.payment = {
      provider: p.provider,
      paymentId: p.paymentId,
      eventType: p.eventType,
      eventId: p.eventId,
      amountMinor: p.amountMinor,
      currency: p.currency,
      amount: formatMajorUnits(p.amountMinor, p.currency),
      paidAt: p.paidAt,
    };
  }
  if (status.status === 'fulfilled') {
    const s = status.value;
    Object.assign(result, {
      state: s.state,
      courseId: s.courseId,
      student: { email: maskEmail(s.student.email), phone: maskPhone(s.student.phone) },
      steps: s.steps,
      openReview: s.openReview,
      reviews: s.reviews,
      ignoredSignals: s.ignoredSignals,
    });
  } else {
    result.statusError = status.reason instanceof OpsError ? status.reason.message : String(status.reason);
  }
  if (outcome.status === 'fulfilled' && outcome.value) {
    result.result = outcome.value.summary;
    result.closeDetail = outcome.value.detail;
  }
  return result;
}

function stepDetail(step: StepState): string {
  if (step.status === 'succeeded' && step.result) {
    return Object.entries(step.result)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' ');
  }
  if (step.status === 'skipped') return step.skippedBecause ?? '';
  return step.lastError ?? '';
}

function reviewLines(reviews: ReviewRecord[], now: Date, paymentId: string, running: boolean): string[] {
  return reviews.map((r, i) => {
    const age = ageSince(r.openedAt, now);
    const head = `  ${i + 1}. ${r.id ? `${r.id} ` : ''}(${r.step}), opened ${r.openedAt}${age === undefined ? '' : ` (${formatAge(age)} ago)`}: ${oneLine(r.reason)}`;
    if (!r.resolution) {
      return running
        ? `${head}\n     OPEN. Decide: npm run ops -- resolve ${paymentId}${r.id ? ` --review ${r.id}` : ''} --action retry|skip|abort --reviewer <you> --note <why>${r.kind === 'outcome_unknown' ? '\n     The message may have reached the student: check before a retry, which may send it again.' : ''}`
        : `${head}\n     never decided: the workflow closed while it was open`;
    }
    const { action, reviewer, note, resolvedAt } = r.resolution;
    return `${head}\n     resolved: ${action} by ${reviewer} at ${resolvedAt}${note ? `: ${oneLine(note)}` : ''}`;
  });
}

export function renderShow(result: ShowResult, now: Date): string {
  const lines: string[] = [];
  const p = result.payment;
  const paymentId = p?.paymentId ?? result.workflowId;
  if (p) {
    lines.push(
      `Payment    ${p.paymentId} (${p.provider}), ${p.amount}, paid ${p.paidAt}, ${startedBy(result.source, p)}`,
    );
  }
  lines.push(`Workflow   ${result.workflowId}  run ${result.runId}  task queue ${result.taskQueue}`);
  const started = ageSince(result.execution.startTime, now);
  const ex = result.execution;
  lines.push(
    ex.closeTime
      ? `Execution  ${ex.status}, started ${ex.startTime}, closed ${ex.closeTime}, ${ex.historyLength} history events`
      : `Execution  ${ex.status}, started ${ex.startTime} (${formatAge(started ?? 0)} ago), ${ex.historyLength} history events`,
  );
  if (result.statusError) {
    lines.push(`Status     unavailable: ${result.statusError}`);
  } else {
    // A terminated (or failed) workflow keeps the state it had when it stopped.
    const frozen =
      ex.status !== 'RUNNING' && result.state !== 'completed' && result.state !== 'aborted'
        ? ` (as it was when the workflow ended ${ex.status})`
        : '';
    lines.push(`State      ${result.state}${frozen}`);
    lines.push(`Course     ${result.courseId ?? '-'}`);
    lines.push(`Student    ${result.student?.email ?? '-'}  ${result.student?.phone ?? '-'}`);
  }

  if (result.steps) {
    const steps = result.steps;
    lines.push('');
    lines.push(
      table(STEP_NAMES, [
        { header: 'STEP', value: (name) => name },
        { header: 'STATUS', value: (name) => steps[name].status },
        { header: 'ATTEMPTS', value: (name) => String(steps[name].attempts) },
        { header: 'RESULT / LAST ERROR', value: (name) => stepDetail(steps[name]), max: 120 },
      ]).trimEnd(),
    );
  }

  if (result.pendingActivities.length > 0) {
    lines.push('', 'Temporal is retrying:');
    for (const a of result.pendingActivities) {
      const max = a.maximumAttempts ? `/${a.maximumAttempts}` : '';
      const next = a.nextAttemptAt
        ? `, next attempt in ${formatAge(-(ageSince(a.nextAttemptAt, now) ?? 0))}`
        : '';
      const failure = a.lastFailure ? `, last failure: ${oneLine(a.lastFailure, 120)}` : '';
      lines.push(
        `  ${a.step ?? a.activityType} (${a.activityType}) ${a.state}, attempt ${a.attempt}${max}${next}${failure}`,
      );
    }
  }

  if (result.reviews && result.reviews.length > 0) {
    const running = result.execution.status === 'RUNNING';
    lines.push('', 'Reviews:', ...reviewLines(result.reviews, now, paymentId, running));
  }
  if (result.ignoredSignals && result.ignoredSignals.length > 0) {
    lines.push('', 'Ignored signals:', ...result.ignoredSignals.map((s) => `  - ${s}`));
  }
  if (result.result) {
    const r = result.result;
    const ids = [
      r.enrollmentId && `enrollment ${r.enrollmentId}`,
      r.messageId && `message ${r.messageId}`,
      r.contactId && `contact ${r.contactId}`,
      r.abortedBy && `aborted by ${r.abortedBy}`,
    ].filter(Boolean);
    lines.push(
      '',
      `Result     ${r.outcome}${ids.length ? `: ${ids.join(', ')}` : ''}, ${r.reviews} review(s)`,
    );
  } else if (result.closeDetail) {
    lines.push('', `Ended      ${result.closeDetail}`);
  }
  if (result.access.length > 0 || result.accessError) {
    const enrolled = result.steps?.enroll.status === 'succeeded' || result.steps?.enroll.result?.enrollmentId;
    const granted = enrolled
      ? {
          at: result.execution.closeTime,
          what: `${result.result?.courses?.join(', ') ?? result.courseId ?? ''} (payment ${result.result?.outcome ?? result.state})`,
        }
      : undefined;
    lines.push('', 'Access:', ...renderAccessTimeline(granted, result.access));
    if (result.accessError) lines.push(`  ${result.accessError}`);
  }
  return `${lines.join('\n')}\n`;
}

function startedBy(source: PaymentSource, p: NonNullable<ShowResult['payment']>): string {
  if (source !== 'webhook') return SOURCE_LABEL[source];
  return `started by ${p.eventType}${p.eventId ? ` ${p.eventId}` : ''}`;
}

const sourceOf = (value: string | undefined): PaymentSource =>
  paymentSources.find((s) => s === value) ?? 'webhook';
