/**
 * What counts as a usable email address and WhatsApp number. One definition for every party that
 * checks them: the workflow (before it calls anything downstream), the activities' input contracts,
 * and the ops CLI's patches. Two rules that disagreed used to let data the workflow accepted fail the
 * activity's check, and open a review at `enroll` instead of at `details`. Workflow-safe.
 */

/**
 * zod's `z.email()` pattern (`z.regexes.email`), written out here so the workflow bundle does not
 * carry zod; test/unit/contact-rules.test.ts keeps the two identical.
 */
/* eslint-disable no-useless-escape -- kept character for character as zod writes it */
export const EMAIL_PATTERN =
  /^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$/;
/* eslint-enable no-useless-escape */

/** `+` then 7 to 15 digits, no leading zero in the country code (ITU-T E.164). */
export const E164_PATTERN = /^\+[1-9]\d{6,14}$/;

export const isValidEmail = (email: string | undefined): email is string =>
  !!email && EMAIL_PATTERN.test(email);

/** Strips spaces, dashes, dots and brackets; returns the E.164 number or undefined. */
export function normalisePhone(phone: string | undefined): string | undefined {
  if (!phone) return undefined;
  const compact = phone.replace(/[\s\-().]/g, '');
  return E164_PATTERN.test(compact) ? compact : undefined;
}
