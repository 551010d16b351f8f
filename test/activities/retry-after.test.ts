import {
  jitteredDelayMs,
  MAX_RETRY_DELAY_MS,
  parseRetryAfterMs,
  retryDelayFromHeaders,
} from '../../src/activities/retry-after';
import { classifyStatus, loggableUrl } from '../../src/activities/http';
import { NON_RETRYABLE_ERROR_TYPES, RETRYABLE_ERROR_TYPES } from '../../src/domain/failures';

const NOW = Date.UTC(2026, 10, 2, 10, 0, 0);

describe('Retry-After', () => {
  it.each([
    ['0', 0],
    ['30', 30_000],
    [' 120 ', 120_000],
  ])('reads delay-seconds %p as %i ms', (value, ms) => {
    expect(parseRetryAfterMs(value, NOW)).toBe(ms);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfterMs('Mon, 02 Nov 2026 10:01:30 GMT', NOW)).toBe(90_000);
  });

  it('reads an asctime date', () => {
    expect(parseRetryAfterMs('Mon Nov  2 10:00:05 2026 GMT', NOW)).toBe(5_000);
  });

  it('treats a date in the past as 0', () => {
    expect(parseRetryAfterMs('Mon, 02 Nov 2026 09:00:00 GMT', NOW)).toBe(0);
  });

  it.each([null, undefined, '', '-5', '1.5', 'soon', 'Mon, 99 Foo 2026'])('ignores %p', (value) => {
    expect(parseRetryAfterMs(value, NOW)).toBeUndefined();
  });

  it('clamps to 15 minutes and adds up to 1 s of jitter without exceeding the cap', () => {
    expect(MAX_RETRY_DELAY_MS).toBe(900_000);
    expect(jitteredDelayMs(5_000, () => 0)).toBe(5_000);
    expect(jitteredDelayMs(5_000, () => 0.999)).toBe(5_999);
    expect(jitteredDelayMs(86_400_000, () => 0.5)).toBe(900_000);
    expect(jitteredDelayMs(899_500, () => 0.9)).toBe(900_000);
  });

  it('uses the header first, then the fallback, else leaves the delay to the retry policy', () => {
    const h = (v?: string) => new Headers(v === undefined ? {} : { 'Retry-After': v });
    expect(retryDelayFromHeaders(h('2'), NOW, () => 0, 60_000)).toBe(2_000);
    expect(retryDelayFromHeaders(h(), NOW, () => 0, 60_000)).toBe(60_000);
    expect(retryDelayFromHeaders(h('garbage'), NOW, () => 0, 60_000)).toBe(60_000);
    expect(retryDelayFromHeaders(h(), NOW, () => 0)).toBeUndefined();
  });
});

describe('status classification', () => {
  it.each([
    [200, 'ok'],
    [201, 'ok'],
    [204, 'ok'],
    [301, 'non_retryable'],
    [400, 'non_retryable'],
    [401, 'non_retryable'],
    [404, 'non_retryable'],
    [408, 'retryable'],
    [409, 'retryable'],
    [422, 'non_retryable'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
  ] as const)('HTTP %i is %s', (status, expected) => {
    expect(classifyStatus(status)).toBe(expected);
  });

  it('logs URLs without query, credentials or fragment', () => {
    expect(loggableUrl('https://user:pw@api.example.test/v1/x?access_token=abc#frag')).toBe(
      'https://api.example.test/v1/x',
    );
  });
});

describe('error types', () => {
  it('publishes the non-retryable types the workflow puts in nonRetryableErrorTypes', () => {
    expect([...NON_RETRYABLE_ERROR_TYPES].sort()).toEqual([
      'CrmRejected',
      'HubSpotAuthFailed',
      'InvalidActivityInput',
      'LmsMisconfigured',
      'LmsRejected',
      'ProviderRejected',
      'WhatsAppOutcomeUnknown',
      'WhatsAppRejected',
    ]);
    expect(RETRYABLE_ERROR_TYPES).toEqual([
      'DownstreamUnavailable',
      'RateLimited',
      'DownstreamTimeout',
      'DownstreamBadResponse',
      'PaymentStillRunning',
    ]);
  });
});
