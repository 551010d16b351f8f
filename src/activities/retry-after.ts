/**
 * Turning a server's "come back later" into a Temporal `nextRetryDelay`.
 * RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date; a date in the past means now.
 */

/** No downstream gets to park an activity longer than this per attempt. */
export const MAX_RETRY_DELAY_MS = 15 * 60 * 1000;
/** Upper bound of the jitter added to every server-requested delay, so a burst of rate-limited
 *  activities does not come back in the same millisecond. */
export const RETRY_JITTER_MAX_MS = 1000;

/** Milliseconds to wait according to a `Retry-After` value, or undefined when absent or unparseable. */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Only accept something that looks like a date: Date.parse is lenient with bare numbers and words.
  if (!/[a-z]/i.test(trimmed) || !/\d{1,2}:\d{2}/.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Clamp to MAX_RETRY_DELAY_MS and add up to RETRY_JITTER_MAX_MS of jitter (never beyond the max). */
export function jitteredDelayMs(baseMs: number, random: () => number = Math.random): number {
  const base = Math.min(Math.max(0, baseMs), MAX_RETRY_DELAY_MS);
  const jitter = Math.floor(random() * RETRY_JITTER_MAX_MS);
  return Math.min(base + jitter, MAX_RETRY_DELAY_MS);
}

/**
 * The delay for a retryable answer: `Retry-After` when the server sent one, else the caller's
 * fallback (a provider-specific default), else undefined to let the workflow's retry policy decide.
 */
export function retryDelayFromHeaders(
  headers: Headers,
  nowMs: number,
  random: () => number,
  fallbackMs?: number,
): number | undefined {
  const fromHeader = parseRetryAfterMs(headers.get('retry-after'), nowMs);
  const base = fromHeader ?? fallbackMs;
  return base === undefined ? undefined : jitteredDelayMs(base, random);
}
