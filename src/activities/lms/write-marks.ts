/**
 * What an attempt records just before a write whose answer may be lost, for the next attempt to read
 * (Temporal hands an activity's last heartbeat details to its retry). Moodle and Canvas keep no
 * reference of ours on an enrollment, so this is how a retry tells its own write from another
 * payment's. Best effort: a worker killed before the heartbeat reached Temporal leaves no mark.
 */
import { previousHeartbeatDetails, recordHeartbeat } from '../activity-context';

export type WriteKind = 'enrolling' | 'unenrolling';

export function markWriting(kind: WriteKind, enrollmentId: string): void {
  recordHeartbeat({ [kind]: enrollmentId });
}

export function wasWriting(kind: WriteKind, enrollmentId: string): boolean {
  const details = previousHeartbeatDetails() as Partial<Record<WriteKind, unknown>> | undefined;
  return details?.[kind] === enrollmentId;
}
