/**
 * Access follows the money back, checked against the ground truth: after a full refund no enrollment
 * of the payment is active or suspended in the LMS, no enrollment was revoked twice, and every refund
 * started exactly one access workflow, which completed. Runs after every scenario (those without
 * refunds must show none of it).
 */
import type { Client } from '@temporalio/client';
import type { LedgerSnapshot } from '../../src/sandbox/ledger';
import { ACCESS_WORKFLOW_TYPE, type AccessSummary } from '../../src/workflows/access-messages';
import { paymentIdSearchAttribute, paymentProviderSearchAttribute } from '../../src/workflows/messages';
import { paymentKey, paymentKeyOfEnrollment, type TestRefund } from './provider';

export interface AccessFigures {
  refunds: number;
  /**
   * When each refund reached its payment: `before` its payment's workflow existed (the access change
   * found no payment; the payment, confirmed later, granted nothing), `during` its run before anything
   * was granted, `mid-grant` (it stopped a payment that had enrolled some courses), `after` it completed.
   */
  landed: Record<string, number>;
  /** Access workflows started, however they ended. */
  accessWorkflows: number;
  /** How the completed ones ended: `revoked`, `unchanged`, ... */
  accessOutcomes: Record<string, number>;
  /** LMS enrollments revoked. */
  revoked: number;
  /** Enrollments of a payment refunded in full still `active` or `suspended`: must be 0. */
  accessKept: number;
  /** Enrollments with more than one change to `revoked`: must be 0. */
  revokedTwice: number;
}

/** Words of the access workflow's reason when the payment's own workflow did not exist yet. */
const NEVER_SAW = 'never saw';

export interface AccessWorkflowRow {
  workflowId: string;
  /** Temporal's execution status: COMPLETED, RUNNING, ... */
  status: string;
  /** The `paymentKey` of the payment it concerns, from its search attributes. */
  payment: string;
}

/** Every access workflow (those matching `where` too, when given), with the payment it concerns. */
export async function listAccessWorkflows(client: Client, where?: string): Promise<AccessWorkflowRow[]> {
  const rows: AccessWorkflowRow[] = [];
  const query = `WorkflowType = "${ACCESS_WORKFLOW_TYPE}"${where ? ` AND ${where}` : ''}`;
  for await (const wf of client.workflow.list({ query })) {
    const attribute = wf.typedSearchAttributes;
    rows.push({
      workflowId: wf.workflowId,
      status: wf.status.name,
      payment: `${attribute.get(paymentProviderSearchAttribute)}:${attribute.get(paymentIdSearchAttribute)}`,
    });
  }
  return rows;
}

const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/**
 * `paymentOutcomes`: the outcome of each refunded payment's completed workflow (`completed`,
 * `refunded`), by `paymentKey`.
 */
export async function checkAccess(
  client: Client,
  ledger: LedgerSnapshot,
  refunds: TestRefund[],
  paymentOutcomes: ReadonlyMap<string, string>,
  /** For Moodle's and Canvas's enrollments, which carry no reference of ours: the payment of each student. */
  byEmail: ReadonlyMap<string, { provider: TestRefund['provider']; paymentId: string }> = new Map(),
): Promise<{ figures: AccessFigures; problems: string[] }> {
  const problems: string[] = [];
  const note = (problem: string) => {
    if (problems.length < 10) problems.push(problem);
  };
  const fullyRefunded = new Set(refunds.filter((r) => r.full).map(paymentKey));

  let accessKept = 0;
  let revokedTwice = 0;
  let revoked = 0;
  const enrolled = new Map<string, number>();
  for (const e of ledger.enrollments) {
    const payment = paymentKeyOfEnrollment(e, byEmail);
    enrolled.set(payment, (enrolled.get(payment) ?? 0) + 1);
    if (e.status === 'revoked') revoked += 1;
    if (fullyRefunded.has(payment) && e.status !== 'revoked') {
      accessKept += 1;
      note(`${e.id} (${payment}) is ${e.status} after a full refund`);
    }
    const revocations = e.access_changes.filter((c) => c.to === 'revoked');
    if (revocations.length > 1) {
      revokedTwice += 1;
      note(`${e.id} (${payment}) revoked ${revocations.length} times`);
    }
  }

  // Every access workflow, by the payment it concerns.
  const byPayment = new Map<string, Array<{ workflowId: string; summary?: AccessSummary }>>();
  const accessOutcomes: Record<string, number> = {};
  const rows = await listAccessWorkflows(client);
  for (const { workflowId, status, payment } of rows) {
    const summary =
      status === 'COMPLETED'
        ? ((await client.workflow.getHandle(workflowId).result()) as AccessSummary)
        : undefined;
    if (summary) bump(accessOutcomes, summary.outcome);
    else note(`${workflowId} is ${status}, not completed`);
    byPayment.set(payment, [...(byPayment.get(payment) ?? []), { workflowId, summary }]);
  }
  const accessWorkflows = rows.length;
  if (accessWorkflows !== refunds.length)
    note(`${accessWorkflows} access workflows for ${refunds.length} refunds`);

  const landed: Record<string, number> = {};
  for (const refund of refunds) {
    const key = paymentKey(refund);
    const found = byPayment.get(key) ?? [];
    if (found.length !== 1) {
      note(
        `refund ${refund.refundId} of ${key}: ${found.length} access workflows (${found.map((f) => f.workflowId).join(', ')})`,
      );
    }
    const summary = found[0]?.summary;
    if (!summary) continue;
    const outcome = paymentOutcomes.get(key) ?? 'unknown';
    if (summary.reason.includes(NEVER_SAW)) bump(landed, 'before');
    else if (outcome === 'refunded') bump(landed, (enrolled.get(key) ?? 0) > 0 ? 'mid-grant' : 'during');
    else if (outcome.startsWith('completed')) bump(landed, 'after');
    else bump(landed, outcome);
  }

  return {
    figures: {
      refunds: refunds.length,
      landed,
      accessWorkflows,
      accessOutcomes,
      revoked,
      accessKept,
      revokedTwice,
    },
    problems,
  };
}
