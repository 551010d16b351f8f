/**
 * Failure types the activities raise, shared with the workflow's retry policies (which list the
 * non-retryable ones declaratively). Plain data: imported by workflow code, so no Node built-ins.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'LmsRejected',
  'WhatsAppRejected',
  'WhatsAppOutcomeUnknown',
  'CrmRejected',
  'HubSpotAuthFailed',
  'InvalidActivityInput',
] as const;

export type NonRetryableErrorType = (typeof NON_RETRYABLE_ERROR_TYPES)[number];
