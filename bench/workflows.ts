/**
 * The ceilings' workflows, bundled on their own (never part of the product bundle): a workflow that
 * does nothing (for the raw start ceiling) and one with `activities` no-op activities in sequence,
 * the shape of a payment (confirm with the provider, enroll, welcome, CRM: `CEILING_ACTIVITIES` in
 * phases.ts) without its bookkeeping and HTTP calls.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { noopActivities } from './noop-activities';

export async function noopWorkflow(): Promise<void> {
  // Nothing: the start is what is measured.
}

const { noop } = proxyActivities<typeof noopActivities>({ startToCloseTimeout: '15s' });

export async function noopActivitiesWorkflow(id: string, activities: number): Promise<string> {
  for (let i = 0; i < activities; i++) await noop(id);
  return id;
}
