/** PII masking for logs and operator views. Pure: also used by workflow code (no Node built-ins). */

/** `asha.verma@example.com` -> `a***@example.com`: enough to correlate, not enough to identify. */
export function maskEmail(email: string | undefined): string | undefined {
  if (!email) return email;
  const at = email.lastIndexOf('@');
  if (at < 1) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

/**
 * A URL path with the student taken out: Canvas finds a user by `sis_login_id:<email>` (or an SIS
 * user id) in the path, percent-encoded, where the email masking of log lines does not see it.
 */
export function redactUserPath(path: string): string {
  return path.replace(/\/(sis_login_id|sis_user_id|sis_integration_id)(?::|%3A)[^/]*/gi, '/$1:[redacted]');
}

/** `+919876543210` -> `+91******3210`. */
export function maskPhone(phone: string | undefined): string | undefined {
  if (!phone) return phone;
  if (phone.length <= 6) return '***';
  return `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}`;
}

/**
 * An email address in free text (a downstream's error body, say); ASCII local parts and any domain.
 * The lookbehind makes a match start only where a local part starts: without it, a long run of
 * local-part characters before an `@` is rescanned from each of its positions (quadratic time).
 */
const EMAIL_IN_TEXT = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+/gu;
/** Longer text is cut before masking: an error body that size says nothing more, and is bounded work. */
const REDACT_MAX_CHARS = 8192;
/**
 * A phone number in free text: E.164-ish `+` and 7 to 15 digits (single spaces, dots or dashes
 * between them allowed), or a bare run of 11 to 15 digits, as WhatsApp writes `wa_id` (no `+`). A
 * bare run next to a letter, `_`, `-`, `.` or `+` is part of an id, a version or a decimal, not a phone.
 */
const PHONE_IN_TEXT = /(?<![\w+])\+\d(?:[ .-]?\d){6,14}(?!\d)|(?<![\w.+-])\d{11,15}(?![\w]|[.-]\d)/g;

/**
 * Masks every email address and phone number found in `text` (`a***@example.com`, `+91******3210`),
 * for text that came from outside (a downstream's error message) before it goes into an error message,
 * a review reason or a log line. Masked forms are left as they are, so applying it twice changes nothing.
 */
export function redactContacts(whole: string): string {
  const text = whole.length > REDACT_MAX_CHARS ? `${whole.slice(0, REDACT_MAX_CHARS)}…` : whole;
  if (!text.includes('@') && !/\d{7}|\d[ .-]\d/.test(text)) return text;
  return text
    .replace(EMAIL_IN_TEXT, (email) => maskEmail(email)!)
    .replace(PHONE_IN_TEXT, (phone) => maskPhone(phone.replace(/[ .-]/g, ''))!);
}

/** Masks a string found under `key`, or returns undefined to leave it to `redactContacts`. */
export type KeyMask = (key: string, value: string) => string | undefined;

/** How deep `redactDeep` looks into objects, arrays and cause chains. */
const MAX_REDACT_DEPTH = 6;

const isErrorLike = (value: unknown): value is Error =>
  value instanceof Error ||
  (typeof value === 'object' &&
    value !== null &&
    typeof (value as Error).message === 'string' &&
    'stack' in value);

const isPlainObject = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
};

/**
 * `value` with `redactContacts` applied to every string in it: in plain objects and arrays, and in an
 * error's message, stack, cause and own fields (an SDK's error can hold the request or response it
 * quotes). What holds nothing to mask is returned as it is (the same object); what does is copied,
 * never changed in place. Other objects (class instances, Buffers) are left alone.
 */
export function redactDeep(value: unknown, keyMask?: KeyMask, depth = 0, key?: string): unknown {
  if (typeof value === 'string') {
    return (key !== undefined ? keyMask?.(key, value) : undefined) ?? redactContacts(value);
  }
  if (typeof value !== 'object' || value === null || depth >= MAX_REDACT_DEPTH) return value;
  if (isErrorLike(value)) return redactError(value, keyMask, depth);
  if (Array.isArray(value)) {
    const items = value as unknown[];
    let copy: unknown[] | undefined;
    items.forEach((item, i) => {
      const redacted = redactDeep(item, keyMask, depth + 1);
      if (redacted !== item) (copy ??= [...items])[i] = redacted;
    });
    return copy ?? value;
  }
  if (!isPlainObject(value)) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const redacted = redactDeep(v, keyMask, depth + 1, k);
    if (redacted !== v) (copy ??= { ...(value as Record<string, unknown>) })[k] = redacted;
  }
  return copy ?? value;
}

/**
 * An error with the emails and phone numbers in it masked (`redactDeep`): itself when it holds none,
 * else a copy with the same prototype (its class and name stay), message, stack, cause and own fields.
 */
export function redactError<E extends Error>(err: E, keyMask?: KeyMask, depth = 0): E {
  const message = redactContacts(err.message);
  const stack = typeof err.stack === 'string' ? redactContacts(err.stack) : err.stack;
  const inner = (err as { cause?: unknown }).cause;
  const cause = redactDeep(inner, keyMask, depth + 1);
  const fields: Record<string, unknown> = {};
  let changed = message !== err.message || stack !== err.stack || cause !== inner;
  for (const [k, v] of Object.entries(err)) {
    if (k === 'message' || k === 'stack' || k === 'cause') continue;
    fields[k] = redactDeep(v, keyMask, depth + 1, k);
    if (fields[k] !== v) changed = true;
  }
  if (!changed) return err;
  const copy = Object.create(Object.getPrototypeOf(err) as object | null) as E;
  Object.assign(copy, fields);
  const hidden = { writable: true, configurable: true, enumerable: false };
  Object.defineProperty(copy, 'message', { ...hidden, value: message });
  Object.defineProperty(copy, 'stack', { ...hidden, value: stack });
  if (inner !== undefined) Object.defineProperty(copy, 'cause', { ...hidden, value: cause });
  if (!Object.prototype.hasOwnProperty.call(fields, 'name') && err.name !== copy.name) {
    Object.defineProperty(copy, 'name', { ...hidden, value: err.name });
  }
  return copy;
}
