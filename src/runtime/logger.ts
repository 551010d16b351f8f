/**
 * One place for structured logging: every process logs JSON through pino, and redaction of
 * credentials plus masking of student PII happens here, not at call sites. pino's default stdout
 * destination writes synchronously: a delivery's line is written before its 200 is sent. An
 * asynchronous destination would save next to nothing beside a Temporal start (docs/benchmarks.md).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type DestinationStream, type LogFn, type Logger } from 'pino';
import { type KeyMask, maskEmail, maskPhone, redactContacts, redactDeep } from '../domain/mask';
import { providerNames, providers, signatureHeaders } from '../providers';

export type { Logger };

/** Configuration variables that hold credentials (src/config.ts), each provider's webhook secrets included. */
const SECRET_VARIABLES = [
  ...providerNames.map((name) => providers[name].secretVariable),
  'TEMPORAL_API_KEY',
  'LMS_API_KEY',
  'MOODLE_TOKEN',
  'CANVAS_TOKEN',
  'WHATSAPP_ACCESS_TOKEN',
  'HUBSPOT_CLIENT_SECRET',
  'HUBSPOT_REFRESH_TOKEN',
  'RAZORPAY_KEY_SECRET',
  'STRIPE_API_KEY',
  'PAYLOAD_KEYS',
  'CODEC_AUTH',
  'OTEL_EXPORTER_OTLP_HEADERS',
];

/** Paths whose values are never written, wherever they appear in a log object. */
const REDACT_PATHS = [
  'authorization',
  'Authorization',
  '*.authorization',
  '*.Authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  ...signatureHeaders.map((header) => `headers["${header}"]`),
  'secret',
  '*.secret',
  'token',
  '*.token',
  'access_token',
  '*.access_token',
  'refresh_token',
  '*.refresh_token',
  'wstoken',
  '*.wstoken',
  'client_secret',
  '*.client_secret',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'password',
  '*.password',
  'cookie',
  '*.cookie',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  ...signatureHeaders.map((header) => `*.headers["${header}"]`),
  // The environment's credentials, should a config object (or a slice of it) ever be logged.
  ...SECRET_VARIABLES.flatMap((name) => [name, `*.${name}`]),
];

/**
 * Student fields, should one be logged by name: an email masked (`a***@example.com`), a phone masked
 * (`+91******3210`), a name not written. Any other string has `redactContacts` applied.
 */
const maskByKey: KeyMask = (key, value) => {
  switch (key) {
    case 'email':
      return maskEmail(value);
    case 'phone':
      return maskPhone(value);
    case 'firstname':
    case 'lastname':
    case 'studentName':
      return '[redacted]';
    default:
      return undefined;
  }
};

/**
 * The last line against student PII in logs: call sites log ids and masked forms, but a downstream's
 * error, a workflow's review reason or an SDK's failure can quote an email or a phone number. Every
 * string of the call (the object, its errors and their causes, the message) is masked before pino
 * writes it; what holds nothing to mask is passed on untouched.
 */
function maskStudentData(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
  const masked = args.map((arg: unknown) =>
    typeof arg === 'string' ? redactContacts(arg) : redactDeep(arg, maskByKey),
  ) as Parameters<LogFn>;
  method.apply(this, masked);
}

/**
 * Fields added to every line logged inside `withLogContext` (the receiver's request id), however deep
 * in the call chain the line is written and whoever writes it.
 */
const logContext = new AsyncLocalStorage<Record<string, unknown>>();

/** Runs `fn` with `fields` on every log line written during it, including after awaits. */
export function withLogContext<T>(fields: Record<string, unknown>, fn: () => T): T {
  return logContext.run({ ...logContext.getStore(), ...fields }, fn);
}

/** `destination`: where the JSON lines go (default stdout); tests pass a stream to read them back. */
export function createLogger(name: string, level: string = 'info', destination?: DestinationStream): Logger {
  const options = {
    name,
    level,
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: { logMethod: maskStudentData },
    // A field of the log call itself wins over the context (pino's default merge order).
    mixin: () => logContext.getStore() ?? {},
  };
  return destination ? pino(options, destination) : pino(options);
}

export { maskEmail, maskPhone } from '../domain/mask';
