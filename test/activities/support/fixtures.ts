import { DownstreamFailure } from '../../../src/activities/errors';
import pino from 'pino';
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { loadWorkerConfig, type WorkerConfig } from '../../../src/config';
import type { Logger } from '../../../src/runtime/logger';
import { newPayloadKeyEnv } from '../../../src/temporal/payload-codec';

export const SECRETS = {
  lmsApiKey: 'lms-key-SECRET-0001',
  whatsappToken: 'EAAG-wa-token-SECRET-0002',
  hubspotClientSecret: 'hs-client-secret-SECRET-0003',
  hubspotRefreshToken: 'hs-refresh-SECRET-0004',
};

/** The activities never seal payloads themselves; the schema still asks every worker for its ring. */
const TEST_PAYLOAD_KEYS = newPayloadKeyEnv('activities-test');

/** A worker config pointing every downstream at `baseUrl`, through the real schema. */
export function testConfig(baseUrl: string, overrides: Record<string, string> = {}): WorkerConfig {
  return loadWorkerConfig({
    LMS_BASE_URL: baseUrl,
    LMS_API_KEY: SECRETS.lmsApiKey,
    WHATSAPP_GRAPH_URL: baseUrl,
    WHATSAPP_API_VERSION: 'v21.0',
    WHATSAPP_PHONE_NUMBER_ID: '1234567890',
    WHATSAPP_ACCESS_TOKEN: SECRETS.whatsappToken,
    WHATSAPP_TEMPLATE_NAME: 'course_welcome',
    WHATSAPP_TEMPLATE_LANGUAGE: 'en_US',
    HUBSPOT_BASE_URL: baseUrl,
    HUBSPOT_CLIENT_ID: 'hs-client-id',
    HUBSPOT_CLIENT_SECRET: SECRETS.hubspotClientSecret,
    HUBSPOT_REFRESH_TOKEN: SECRETS.hubspotRefreshToken,
    RAZORPAY_API_URL: `${baseUrl}/razorpay`,
    RAZORPAY_KEY_ID: 'rzp_test_activities',
    RAZORPAY_KEY_SECRET: 'rzp-activities-secret',
    STRIPE_API_URL: baseUrl,
    STRIPE_API_KEY: 'sk_test_activities',
    CATALOG_PATH: 'catalog/sample.yaml',
    HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS: '120',
    HTTP_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'info',
    ...TEST_PAYLOAD_KEYS,
    ...overrides,
  });
}

export interface CapturedLogs {
  logger: Logger;
  lines: () => Record<string, unknown>[];
  text: () => string;
}

/** A pino logger writing into memory (a destination stream), to assert on what is logged. */
export function captureLogs(): CapturedLogs {
  const chunks: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void chunks.push(s) });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => chunks.join(''),
  };
}

/** An activity environment (Temporal's own test double) with a quiet SDK logger. */
export function activityEnv(attempt = 1, heartbeatDetails?: unknown): MockActivityEnvironment {
  return new MockActivityEnvironment({ attempt, heartbeatDetails }, { logger: new DefaultLogger('ERROR') });
}

/** Fixed jitter source: 0 adds no jitter, so delays can be asserted exactly. */
export const noJitter = () => 0;

/** Awaits a promise that must reject with an ApplicationFailure and returns the parts tests compare. */
export async function failureOf(promise: Promise<unknown>): Promise<{
  type: string | null | undefined;
  nonRetryable: boolean | null | undefined;
  nextRetryDelay: unknown;
  details: unknown[] | null | undefined;
  message: string;
}> {
  let error: unknown;
  try {
    await promise;
  } catch (err) {
    error = err;
  }
  if (!(error instanceof ApplicationFailure)) {
    throw new Error(
      `expected an ApplicationFailure, got ${error === undefined ? 'success' : error instanceof Error ? `${error.name}: ${error.message}` : JSON.stringify(error)}`,
    );
  }
  return {
    type: error.type,
    nonRetryable: error.nonRetryable,
    nextRetryDelay: error.nextRetryDelay,
    details: error.details,
    message: error.message,
  };
}

/** The DownstreamFailure a client call (outside an activity) rejected with; fails the test otherwise. */
export async function downstreamFailureOf(promise: Promise<unknown>): Promise<DownstreamFailure> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DownstreamFailure) return err;
    throw err;
  }
  throw new Error('expected a DownstreamFailure, got success');
}
