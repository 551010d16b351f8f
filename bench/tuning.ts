/**
 * The worker settings the ceiling worker shares with the product's worker (src/worker.ts), so the
 * paid-to-enrolled ceiling runs under the same settings as what it bounds.
 */
import type { WorkerOptions } from '@temporalio/worker';
import { favourMemoryOverSpeed } from '../src/worker';

export function workerTuningForBench(): Partial<WorkerOptions> {
  favourMemoryOverSpeed();
  return {};
}
