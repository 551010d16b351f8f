import type { NativeConnection } from '@temporalio/worker';

/**
 * Workflow-ID uniqueness only rejects a redelivered payment while its closed workflow is retained.
 * If the namespace forgets closed workflows sooner than a provider may redeliver, a late redelivery
 * starts a second workflow: a second enrollment, a second welcome. So the worker refuses to run.
 */
export class RetentionTooShortError extends Error {
  override name = 'RetentionTooShortError';
}

export async function assertRetentionCoversRedelivery(
  connection: Pick<NativeConnection, 'workflowService'>,
  namespace: string,
  horizonHours: number,
): Promise<{ retentionHours: number }> {
  const { config } = await connection.workflowService.describeNamespace({ namespace });
  const ttl = config?.workflowExecutionRetentionTtl;
  const retentionHours = (Number(ttl?.seconds ?? 0) + (ttl?.nanos ?? 0) / 1e9) / 3600;
  if (retentionHours < horizonHours) {
    throw new RetentionTooShortError(
      `Namespace "${namespace}" keeps closed workflows for ${retentionHours} h, but payments may be redelivered ` +
        `for up to ${horizonHours} h (REDELIVERY_HORIZON_HOURS). A redelivery after the workflow is forgotten ` +
        `would enroll the student again. Raise the retention, e.g.\n` +
        `  temporal operator namespace update --namespace ${namespace} --retention ${Math.ceil(horizonHours * 2)}h\n` +
        `or, if you are sure, lower REDELIVERY_HORIZON_HOURS.`,
    );
  }
  return { retentionHours };
}
