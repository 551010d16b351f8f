import { Context, type Info } from '@temporalio/activity';

/**
 * The current activity's info, or undefined when called outside an activity (unit tests, scripts).
 * `Context.current()` throws outside an activity; that is the only error swallowed here.
 */
export function currentActivityInfo(): Info | undefined {
  try {
    return Context.current().info;
  } catch {
    return undefined;
  }
}

/** Temporal's attempt number (1-based), 1 outside an activity. */
export function currentAttempt(): number {
  return currentActivityInfo()?.attempt ?? 1;
}

/** Fires when Temporal cancels the activity (only delivered to heartbeating activities). */
export function currentCancellationSignal(): AbortSignal | undefined {
  try {
    return Context.current().cancellationSignal;
  } catch {
    return undefined;
  }
}

/** The details the previous attempt last heartbeated, if any (Temporal keeps them across attempts). */
export function previousHeartbeatDetails(): unknown {
  return currentActivityInfo()?.heartbeatDetails;
}

/** Records heartbeat details with the server; a no-op outside an activity. */
export function recordHeartbeat(details: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Outside an activity there is nothing to record.
  }
}

/**
 * What every activity log line carries to find its workflow and attempt in Temporal: workflow id,
 * activity id and type, attempt (1-based). Outside an activity only `attempt: 1`.
 */
export function activityLogFields(): {
  workflowId?: string;
  activityId?: string;
  activityType?: string;
  attempt: number;
} {
  const info = currentActivityInfo();
  return {
    workflowId: info?.workflowExecution?.workflowId,
    activityId: info?.activityId,
    activityType: info?.activityType,
    attempt: info?.attempt ?? 1,
  };
}
