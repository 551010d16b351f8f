/**
 * A payment's access timeline for `ops show`: every access change (refund, dispute, ended
 * subscription) that names the payment in `PaymentId`, each asked for its own status (a worker
 * answers), or, without a worker, read from its search attributes alone.
 */
import { ACCESS_WORKFLOW_TYPE, type AccessStatus, accessStatusQuery } from '../workflows/access-messages';
import { enrollmentStateSearchAttribute } from '../workflows/messages';
import type { OpsConnection } from './connect';
import { grpcMessage } from './grpc';
import { QUERY_TIMEOUT_MS } from './inspect';
import { oneLine } from './format';

export interface AccessChangeView {
  workflowId: string;
  execution: string;
  startTime: string;
  /** EnrollmentState as visibility shows it. */
  state?: string;
  /** The workflow's own account; absent when no worker answered. */
  status?: AccessStatus;
}

/** At most this many changes per payment are listed: a payment has a handful at most. */
const MAX_CHANGES = 50;

export async function listAccessChanges(
  ops: OpsConnection,
  paymentId: string,
): Promise<{ changes: AccessChangeView[]; error?: string }> {
  const changes: AccessChangeView[] = [];
  try {
    const query = `WorkflowType = "${ACCESS_WORKFLOW_TYPE}" AND PaymentId = "${paymentId}"`;
    for await (const wf of ops.client.workflow.list({ query })) {
      changes.push({
        workflowId: wf.workflowId,
        execution: wf.status.name,
        startTime: wf.startTime.toISOString(),
        state: wf.typedSearchAttributes.get(enrollmentStateSearchAttribute),
      });
      if (changes.length >= MAX_CHANGES) break;
    }
  } catch (err) {
    return { changes, error: `could not list access changes: ${grpcMessage(err)}` };
  }
  await Promise.all(
    changes.map(async (change) => {
      try {
        change.status = await ops.client.connection.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () =>
          ops.client.workflow.getHandle(change.workflowId).query(accessStatusQuery),
        );
      } catch {
        // Shown from visibility alone.
      }
    }),
  );
  changes.sort((a, b) => a.startTime.localeCompare(b.startTime));
  return { changes };
}

/** Granted, then every change in the order it happened, with what caused it. */
export function renderAccessTimeline(
  granted: { at?: string; what: string } | undefined,
  changes: AccessChangeView[],
): string[] {
  const rows: Array<{ at: string; line: string }> = [];
  if (granted) rows.push({ at: granted.at ?? '', line: `granted    ${granted.what}` });
  for (const change of changes) {
    const timeline = change.status?.timeline ?? [];
    for (const entry of timeline) {
      rows.push({
        at: entry.at,
        line: `${entry.access.padEnd(10)} ${oneLine(entry.cause)}: ${oneLine(entry.reason, 100)} [${change.workflowId}]`,
      });
    }
    if (timeline.length === 0) {
      rows.push({
        at: change.startTime,
        line: `${(change.state ?? 'unknown').padEnd(10)} ${change.execution.toLowerCase()} [${change.workflowId}]`,
      });
    }
    const open = change.status?.openReview;
    if (open) {
      rows.push({
        at: open.openedAt,
        line: `REVIEW ${open.id}: ${oneLine(open.reason, 100)}\n      Decide: temporal workflow signal --workflow-id ${change.workflowId} --name resolveReview --input '{"reviewId":"${open.id}","action":"retry|skip|abort","reviewer":"<you>"}'`,
      });
    }
  }
  rows.sort((a, b) => a.at.localeCompare(b.at));
  return rows.map((r) => `  ${r.at.padEnd(24)} ${r.line}`);
}

/** A payment enrollflow has no workflow for (its paid webhook never came), but that money went back on. */
export function renderAccessOnly(
  ref: { paymentId: string; workflowId: string },
  changes: AccessChangeView[],
): string {
  return [
    `Payment    ${ref.paymentId}: no payment workflow ${ref.workflowId} (its paid webhook never came): nothing was granted`,
    '',
    'Access:',
    ...renderAccessTimeline(undefined, changes),
    '',
  ].join('\n');
}
