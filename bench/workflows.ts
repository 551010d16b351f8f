/**
 * The ceilings' workflows, bundled on their own (never part of the product bundle): a workflow that
 * does nothing (for the raw start ceiling) and one with three no-op activities in sequence, the
 * shape of the enrollment (enroll, welcome, CRM) without its bookkeeping and HTTP calls.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { noopActivities } from './noop-activities';

export async function noopWorkflow(): Promise<void> {
  // Nothing: the start is what is measured.
}

const { noop } = proxyActivities<typeof noopActivities>({ startToCloseTimeout: '15s' });

export async function threeNoopActivitiesWorkflow(id: string): Promise<string> {
  await noop(id);
  await noop(id);
  await noop(id);
  return id;
}
