/**
 * Access follows the money back. One workflow per refund, per dispute and per ended subscription
 * (src/domain/access-event.ts keys it): it confirms the change with the provider, tells the payment's
 * workflow when that still runs and the money is gone for good (it grants nothing more), waits for the
 * payment's workflow to close and reads what it granted, applies the product's access policy from the
 * catalog, and changes access course by course in the LMS, then the CRM contact, then (when the
 * catalog names a template) a WhatsApp message. Every downstream call is keyed by the refund or
 * dispute id. A step that fails for good waits in review for `resolveReview`, like a payment's.
 *
 * A dispute's workflow lives until the dispute is decided: it suspends while the dispute is open,
 * takes each later event of the dispute as a signal (and asks the provider again weekly, in case one
 * never comes), restores when it is won and revokes when it is lost.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  isCancellation,
  log,
  metricMeter,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ConfirmAccessChangeResult, ReadGrantResult } from '../activities/types';
import { accessCauseKey } from '../domain/ids';
import { isValidEmail, normalisePhone } from '../domain/contact-rules';
import { redactContacts } from '../domain/mask';
import {
  ACCESS_STEPS,
  type AccessOutcome,
  type AccessReviewRecord,
  type AccessState,
  type AccessStatus,
  type AccessStep,
  type AccessSummary,
  type AccessTimelineEntry,
  type AccessWorkflowInput,
  accessEventSignal,
  accessStatusQuery,
} from './access-messages';
import {
  type EnrollmentState,
  type ResolveReviewInput,
  type ReviewKind,
  enrollmentStateSearchAttribute,
  paymentIdSearchAttribute,
  resolveReviewSignal,
  reviewActions,
} from './messages';
import { escapeMarkdown } from './markdown';
import { crm, lms, provider, temporalReads, whatsapp } from './retry-policies';
import { namesReview } from './review';

/** A dispute with no news is read again this often: a lost `won` / `lost` webhook must not leave it suspended. */
const DISPUTE_RECHECK = '7 days';
/** A payment that ended so granted nothing by design, so there is nothing to look for in the LMS. */
const NO_GRANT_OUTCOMES: ReadonlySet<string> = new Set(['renewal', 'partial_payment', 'handled_elsewhere']);
/** Events kept for the status query; later ones still wake the workflow. */
const MAX_EVENTS_KEPT = 20;

type Granted = Extract<ReadGrantResult, { seen: true }>;
type Plan =
  | { change: AccessState; reason: string }
  | { unchanged: string }
  | { decide: string }
  | { waitUntil: string };

const now = () => new Date().toISOString();

export async function accessWorkflow({ change }: AccessWorkflowInput): Promise<AccessSummary> {
  const { workflowId } = workflowInfo();
  const causeKey = accessCauseKey(change);
  const status: AccessStatus = {
    workflowId,
    provider: change.provider,
    kind: change.kind,
    causeId: change.causeId,
    paymentId: undefined,
    state: 'changing_access',
    timeline: [],
    steps: Object.fromEntries(
      ACCESS_STEPS.map((s) => [s, { status: 'pending', attempts: 0 }]),
    ) as AccessStatus['steps'],
    reviews: [],
    ignoredSignals: [],
    events: [`${change.eventType} ${change.eventId ?? ''}`.trim()],
  };
  let news = 0;
  /** The latest of the change's events: what a line of the timeline names as its cause. */
  let lastEventType = change.eventType;
  let decision: ResolveReviewInput | undefined;

  setHandler(accessStatusQuery, () => status);
  setHandler(accessEventSignal, (event) => {
    if (status.events.length < MAX_EVENTS_KEPT)
      status.events.push(`${String(event?.eventType)} ${event?.eventId ?? ''}`.trim());
    if (typeof event?.eventType === 'string') lastEventType = event.eventType;
    news += 1;
  });
  setHandler(resolveReviewSignal, (input) => {
    const open = status.openReview;
    const named = typeof input?.reviewId === 'string' ? input.reviewId : undefined;
    const fits =
      open !== undefined &&
      decision === undefined &&
      reviewActions.includes(input?.action) &&
      Boolean(input.reviewer?.trim()) &&
      named !== undefined &&
      namesReview(named, open);
    if (!fits) {
      status.ignoredSignals.push(
        `resolveReview(${String(input?.action)}) for ${named ?? '(none named)'} while ${open?.id ?? 'no review'} was open`,
      );
      status.ignoredSignals.splice(0, Math.max(0, status.ignoredSignals.length - MAX_EVENTS_KEPT));
      return;
    }
    decision = input;
  });

  let shown: EnrollmentState | undefined = 'changing_access';
  const setState = (state: EnrollmentState) => {
    status.state = state;
    if (shown !== state) {
      shown = state;
      upsertSearchAttributes([{ key: enrollmentStateSearchAttribute, value: state }]);
    }
    publish();
  };
  const publish = () => setCurrentDetails(renderAccessDetails(status));

  /** Opens a review and waits for a person: retry (run the step again), skip, or abort. */
  async function review(step: AccessStep, reason: string, kind: ReviewKind = 'failure') {
    const ordinal = status.reviews.filter((r) => r.step === step).length + 1;
    const id = kind === 'outcome_unknown' ? `${step}-unknown-${ordinal}` : `${step}-${ordinal}`;
    const record: AccessReviewRecord = { id, kind, step, reason, openedAt: now() };
    status.reviews.push(record);
    status.openReview = record;
    const before = status.state;
    setState('needs_review');
    log.warn('access change needs review', { step, reason, reviewId: record.id });
    await condition(() => decision !== undefined);
    const made = decision!;
    decision = undefined;
    record.resolution = { action: made.action, reviewer: made.reviewer, note: made.note, resolvedAt: now() };
    status.openReview = undefined;
    setState(before);
    log.info('review resolved', { step, reviewId: record.id, action: made.action, reviewer: made.reviewer });
    return made.action;
  }

  /** One activity step, retried by its proxy's policy; once Temporal stops retrying, a person decides. */
  async function run<T extends { attempt: number }>(
    step: AccessStep,
    call: () => Promise<T>,
  ): Promise<T | 'skipped' | 'aborted'> {
    const state = status.steps[step];
    for (;;) {
      state.status = 'running';
      try {
        const result = await call();
        state.attempts += result.attempt;
        state.status = 'succeeded';
        return result;
      } catch (err) {
        // A cancelled activity means the workflow is being cancelled: no reason to ask a person.
        if (!(err instanceof ActivityFailure) || isCancellation(err)) throw err;
        const cause = err.cause;
        state.attempts += 1;
        state.status = 'failed';
        // The activity masks contacts in its own messages; a failure it never described is masked here.
        state.lastError = redactContacts(
          cause instanceof ApplicationFailure
            ? `${cause.type ?? 'Error'}: ${cause.message}`
            : (cause?.message ?? err.message),
        );
        // A message may have reached Meta when the failure is not the activity's own word.
        const unknown =
          step === 'notify' &&
          !(cause instanceof ApplicationFailure && cause.type !== 'WhatsAppOutcomeUnknown');
        const action = await review(step, state.lastError, unknown ? 'outcome_unknown' : 'failure');
        if (action === 'retry' && !unknown) continue;
        if (action === 'abort') return 'aborted';
        state.status = 'skipped';
        state.skippedBecause =
          action === 'retry' ? 'a message may have been sent: not sent again' : 'skipped at review';
        return 'skipped';
      }
    }
  }

  const finish = (outcome: AccessOutcome, reason: string): AccessSummary => {
    // Every change leaves a line on the payment's timeline, those that changed nothing too.
    if (status.timeline.length === 0) {
      note('unchanged', reason);
    }
    setState(outcome === 'active' ? 'restored' : outcome);
    log.info('access change finished', { outcome, reason, paymentId: status.paymentId });
    return {
      outcome,
      workflowId,
      provider: change.provider,
      kind: change.kind,
      causeId: change.causeId,
      paymentId: status.paymentId,
      access: status.access,
      reason,
      timeline: status.timeline,
    };
  };

  let grant: Granted | undefined;
  let told = false;
  let waitedForPeriodEnd = false;
  for (;;) {
    // 1. The provider's word on the change, and the payment it concerns. An event that arrives from
    // here on may say something this read does not see yet: it makes the dispute look again.
    const newsBeforeRead = news;
    const confirmed = await run('confirm', () => provider.confirmAccessChange({ change }));
    if (confirmed === 'aborted') return finish('aborted', 'aborted at review');
    if (confirmed === 'skipped')
      return finish('unchanged', 'confirmation was skipped: access is left as it is');
    status.confirmed = { state: confirmed.state, detail: confirmed.detail, paidUntil: confirmed.paidUntil };
    publish();
    if (confirmed.state === 'not_found' || confirmed.state === 'refund_pending') {
      return finish('unchanged', confirmed.detail);
    }
    if (!status.paymentId) {
      if (!confirmed.paymentId)
        return finish('unchanged', `${confirmed.detail}; it names no payment enrollflow could have granted`);
      status.paymentId = confirmed.paymentId;
      upsertSearchAttributes([{ key: paymentIdSearchAttribute, value: confirmed.paymentId }]);
    }
    const payment = { provider: change.provider, paymentId: status.paymentId };

    // 2. Money gone for good: a payment still running grants nothing more.
    if (!told && (confirmed.state === 'full_refund' || confirmed.state === 'dispute_lost')) {
      told = true;
      await temporalReads.stopGranting({
        payment,
        cause: { kind: change.kind, id: causeKey },
        reason: confirmed.detail,
      });
    }

    // 3. What the payment's workflow granted, once it has closed.
    if (!grant) {
      const read = await run('grant', () => temporalReads.readGrant({ payment }));
      if (read === 'aborted') return finish('aborted', 'aborted at review');
      if (read === 'skipped') return finish('unchanged', 'reading the grant was skipped');
      if (!read.seen) {
        // The payment's webhook may still come, and its confirmation does not look at disputes: an
        // open dispute waits, and looks again, until it is decided.
        if (confirmed.state === 'dispute_open') {
          await condition(() => news > newsBeforeRead, DISPUTE_RECHECK);
          continue;
        }
        log.warn('access change for a payment enrollflow never saw', { paymentId: payment.paymentId });
        return finish(
          'unchanged',
          `${confirmed.detail}; enrollflow never saw payment ${payment.paymentId}, so nothing was granted (its provider now says so, should its paid webhook still come)`,
        );
      }
      grant = read;
    }
    // Courses chosen but not known to be enrolled (a step that failed for good may still have reached
    // the LMS) are looked up all the same: the LMS says whether it holds them.
    if (!grant.enrolled && (grant.courses.length === 0 || NO_GRANT_OUTCOMES.has(grant.outcome)))
      return finish('unchanged', `${confirmed.detail}; payment ${grant.outcome}: nothing was granted`);

    // 4. The product's policy.
    const plan = planChange(confirmed, grant, status.access, waitedForPeriodEnd);
    if ('waitUntil' in plan) {
      waitedForPeriodEnd = true;
      setState('changing_access');
      await sleep(Math.max(0, Date.parse(plan.waitUntil) - Date.now()));
      continue;
    }
    let target: AccessState | undefined;
    let reason: string;
    if ('decide' in plan) {
      const action = await review('decide', plan.decide, 'purchase');
      if (action === 'abort') return finish('aborted', 'aborted at review');
      status.steps.decide.status = 'succeeded';
      if (action === 'retry') target = 'revoked';
      reason = `${confirmed.detail}; ${action === 'retry' ? 'revoked' : 'kept'} by ${status.reviews.at(-1)?.resolution?.reviewer}`;
    } else if ('change' in plan) {
      target = plan.change;
      reason = plan.reason;
    } else {
      reason = plan.unchanged;
    }

    if (target !== undefined && target !== status.access) {
      const applied = await apply(target, reason, confirmed, grant, payment);
      if (applied === 'aborted') return finish('aborted', 'aborted at review');
      // Nothing under this payment in the LMS: the line it left says so.
      if (applied === 'none') reason = status.timeline.at(-1)!.reason;
    } else if (status.timeline.at(-1)?.reason !== reason) {
      // A dispute read again with nothing new adds no line.
      note('unchanged', reason);
    }

    // 5. An open dispute waits for its decision.
    if (confirmed.state === 'dispute_open') {
      setState(status.access === 'suspended' ? 'suspended' : 'changing_access');
      await condition(() => news > newsBeforeRead, DISPUTE_RECHECK);
      continue;
    }
    if (confirmed.state === 'dispute_won' && target === 'active') return finish('restored', reason);
    return finish(status.access ?? 'unchanged', reason);
  }

  /** A line of the payment's access timeline, naming the latest event of the change as its cause. */
  function note(access: AccessTimelineEntry['access'], reason: string, courses: string[] = []) {
    status.timeline.push({ at: now(), access, cause: `${lastEventType} ${change.causeId}`, reason, courses });
  }

  /** Course by course in the LMS, then the CRM, then the student (a revocation, when the catalog says how). */
  async function apply(
    target: AccessState,
    reason: string,
    confirmed: ConfirmAccessChangeResult,
    grant: Granted,
    payment: { provider: AccessStatus['provider']; paymentId: string },
  ): Promise<'done' | 'none' | 'aborted'> {
    setState('changing_access');
    const changed: string[] = [];
    // A payment from before the catalog has one enrollment, under no course key.
    const keys: Array<string | undefined> = grant.courses.length > 0 ? grant.courses : [undefined];
    // Courses whose enrollment was already there when this payment enrolled: another payment of the
    // student made it (Moodle and Canvas share one enrollment per student and course).
    const enrolledBefore = (key: string | undefined) =>
      key !== undefined && grant.created !== undefined && !grant.created.includes(key);
    for (const grantKey of keys) {
      const result = await run('lms', () =>
        lms.changeAccess({
          payment,
          grantKey,
          status: target,
          cause: { kind: change.kind, id: causeKey },
          reason,
          // Moodle and Canvas find the enrollment by student and course.
          ...(isValidEmail(grant.student.email) ? { email: grant.student.email } : {}),
          ...(enrolledBefore(grantKey) ? { enrolledBefore: true } : {}),
        }),
      );
      if (result === 'aborted') return 'aborted';
      if (result !== 'skipped' && result.found)
        changed.push(grantKey ?? grant.productId ?? payment.paymentId);
    }
    if (changed.length === 0) {
      // Nothing under this payment in the LMS: the student's enrollment (if any) came from another
      // payment of the same course, which this money does not concern, or it is gone.
      const others = keys.filter(enrolledBefore);
      note(
        'unchanged',
        others.length > 0
          ? `${reason}; ${others.join(', ')} enrolled by another payment of the student first, left as it is`
          : `${reason}; the LMS holds no enrollment of this payment`,
      );
      publish();
      return 'none';
    }
    status.access = target;
    note(target, reason, changed);
    if (target === 'revoked') {
      metricMeter
        .createCounter(
          'enrollflow_access_revoked_total',
          '1',
          'Payments whose access was revoked, by what caused it',
        )
        .add(1, { provider: change.provider, reason: confirmed.state });
    }
    publish();

    const student = grant.student;
    if (isValidEmail(student.email)) {
      const recorded = await run('crm', () =>
        crm.upsertCrmContact({
          payment,
          email: student.email!,
          name: student.name,
          phone: normalisePhone(student.phone),
          courseId: grant.productId,
          enrolled: target === 'active',
          amountMinor: grant.amountMinor ?? 0,
          currency: grant.currency ?? 'XXX',
          access: { state: target, reason: reason.slice(0, 500) },
        }),
      );
      if (recorded === 'aborted') return 'aborted';
    } else {
      status.steps.crm.status = 'skipped';
      status.steps.crm.skippedBecause = 'no valid email to key the contact on';
    }

    const template = grant.policy.accessEndedTemplate;
    const phone = normalisePhone(student.phone);
    if (target === 'revoked' && template && phone && status.steps.notify.status === 'pending') {
      const sent = await run('notify', () =>
        whatsapp.sendWelcomeMessage({
          payment,
          phone,
          name: student.name ?? 'there',
          courseId: grant.productId ?? payment.paymentId,
          courseTitle: grant.productId,
          template,
        }),
      );
      if (sent === 'aborted') return 'aborted';
    }
    return 'done';
  }
}

/** What the provider's word means for this product, given what this change has done so far. */
export function planChange(
  confirmed: Pick<ConfirmAccessChangeResult, 'state' | 'detail' | 'paidUntil'>,
  grant: Pick<Granted, 'policy'>,
  current: AccessState | undefined,
  waitedForPeriodEnd: boolean,
): Plan {
  const { detail } = confirmed;
  const policy = grant.policy;
  switch (confirmed.state) {
    case 'full_refund':
    case 'dispute_lost':
      return { change: 'revoked', reason: detail };
    case 'partial_refund':
      if (policy.partialRefund === 'revoke')
        return { change: 'revoked', reason: `${detail} (policy: revoke)` };
      if (policy.partialRefund === 'keep') return { unchanged: `${detail} (policy: keep)` };
      return {
        decide: `${detail}: retry revokes access, skip keeps it (policy: review)`,
      };
    case 'dispute_open':
      if (policy.disputeOpened === 'keep') return { unchanged: `${detail} (policy: keep)` };
      return { change: 'suspended', reason: detail };
    case 'dispute_won':
      return current === 'suspended'
        ? { change: 'active', reason: detail }
        : { unchanged: `${detail}: nothing was suspended` };
    case 'subscription_ended': {
      const until = confirmed.paidUntil;
      if (
        policy.subscriptionEnded === 'period_end' &&
        until &&
        !waitedForPeriodEnd &&
        Date.parse(until) > Date.now()
      ) {
        return { waitUntil: until };
      }
      return { change: 'revoked', reason: detail };
    }
    default:
      return { unchanged: detail };
  }
}

/** The access workflow's current details in the Web UI (exported for its tests). */
export function renderAccessDetails(status: AccessStatus): string {
  // Ids, the provider's words and review reasons come from outside: escaped, so they render as text.
  const text = (value: string) => escapeMarkdown(redactContacts(value));
  const lines = [
    `**State:** ${status.state}`,
    '',
    `**${status.kind}** ${text(status.causeId)} of payment ${status.paymentId ? text(status.paymentId) : '(not known yet)'}`,
  ];
  if (status.confirmed) lines.push('', `**Provider:** ${text(status.confirmed.detail)}`);
  if (status.access) lines.push('', `**Access:** ${status.access}`);
  if (status.openReview)
    lines.push('', `**Review ${text(status.openReview.id)}:** ${text(status.openReview.reason)}`);
  return lines.join('\n');
}
