/**
 * The whole environment contract, parsed once at start-up. Each process takes the slice it needs
 * (`loadWebhookConfig`, `loadWorkerConfig`, ...) so a receiver does not demand CRM credentials.
 * Nothing else in the code reads `process.env`. `.env.example` documents every variable here.
 */
import { z } from 'zod';
import { describeIssues } from './domain/zod-issues';
import { parsePayloadKeys, PayloadKeyError, type PayloadKeyRing } from './temporal/payload-codec';
import { TASK_QUEUE_DEFAULT } from './workflows/messages';

const csvSecrets = (name: string) =>
  z
    .string({ error: `${name} is required (comma-separated list of active secrets)` })
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0, `${name} must contain at least one secret`)
    .refine(
      (list) => list.every((s) => s.length >= 8),
      `${name}: every secret must be at least 8 characters`,
    );

const required = (name: string) => z.string({ error: `${name} is required` }).min(1, `${name} is required`);
const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const url = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .url(`${name} must be an absolute URL`)
    .transform((u) => u.replace(/\/+$/, ''));

/**
 * Whether Stripe events and objects must be live-mode. A deployment says so explicitly in production
 * (NODE_ENV=production), so a test-mode key or event can never grant access there by default.
 */
const stripeLivemode = z.enum(['true', 'false']).transform((v) => v === 'true');
const requireLivemodeInProduction = (
  env: { NODE_ENV?: string; STRIPE_LIVEMODE?: boolean },
  ctx: z.RefinementCtx,
) => {
  if (env.NODE_ENV === 'production' && env.STRIPE_LIVEMODE === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['STRIPE_LIVEMODE'],
      message: 'STRIPE_LIVEMODE is required when NODE_ENV=production (true for live payments)',
    });
  }
};
/**
 * How long after a payment a provider may still deliver its event: Stripe retries for 3 days and a
 * Razorpay event can be replayed by hand for 15 days. The worker refuses to start if the namespace's
 * retention is shorter, since workflow-ID uniqueness would then no longer catch the redelivery; the
 * receiver starts nothing for a paid event created longer ago than this (a replayed captured body).
 */
const redeliveryHorizonHours = z.coerce.number().positive().default(360);

const temporalSchema = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default(TASK_QUEUE_DEFAULT),
  // Read by @temporalio/envconfig (src/temporal/connection-options.ts); validated here for a clear error.
  TEMPORAL_API_KEY: z.string().min(20, 'TEMPORAL_API_KEY looks truncated').optional(),
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  /**
   * The payload codec's key ring (src/temporal/payload-codec.ts): `id:base64key` pairs of 32-byte
   * AES keys, every key a retained history may still need; PAYLOAD_KEY_ID seals new payloads.
   */
  PAYLOAD_KEYS: z.string({
    error:
      'PAYLOAD_KEYS is required: id:base64key pairs that encrypt student data in Temporal (npm run ops -- payload-keys new)',
  }),
  PAYLOAD_KEY_ID: z.string().optional(),
});

/** The key ring must parse and name its active key; the message names ids and rules, never a key. */
const requirePayloadKeys = (
  env: { PAYLOAD_KEYS?: string; PAYLOAD_KEY_ID?: string },
  ctx: z.RefinementCtx,
) => {
  if (env.PAYLOAD_KEYS === undefined) return;
  try {
    parsePayloadKeys(env.PAYLOAD_KEYS, env.PAYLOAD_KEY_ID);
  } catch (err) {
    if (!(err instanceof PayloadKeyError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['PAYLOAD_KEYS'], message: err.message });
  }
};

/** The ring of an already validated configuration. */
export const payloadKeyRing = (
  config: Pick<TemporalConfig, 'PAYLOAD_KEYS' | 'PAYLOAD_KEY_ID'>,
): PayloadKeyRing => parsePayloadKeys(config.PAYLOAD_KEYS, config.PAYLOAD_KEY_ID);

const loggingSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** One `key=value` of OTEL_EXPORTER_OTLP_HEADERS, which the exporter percent-decodes. */
const otlpHeaderPair = (pair: string): boolean => {
  const at = pair.indexOf('=');
  if (at <= 0 || pair.slice(0, at).trim() === '') return false;
  try {
    decodeURIComponent(pair.slice(0, at));
    decodeURIComponent(pair.slice(at + 1));
    return true;
  } catch {
    return false;
  }
};

/**
 * OpenTelemetry traces (src/observability/tracing.ts), with the standard OTel variable names: off unless
 * an OTLP endpoint is set. Validated here like the rest, so a typo stops the process instead of silently
 * exporting nothing.
 */
const tracingSchema = z.object({
  /** The collector's base URL; spans go to `<endpoint>/v1/traces` (OTLP over HTTP, JSON). */
  OTEL_EXPORTER_OTLP_ENDPOINT: url('OTEL_EXPORTER_OTLP_ENDPOINT').optional(),
  /** The full traces URL, used as it is; wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .string()
    .url('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an absolute URL')
    .optional(),
  /** Headers sent with every export, `key=value` pairs, comma-separated (a vendor's API key: a secret). */
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .refine(
      (v) => v.split(',').every((pair) => pair.trim() === '' || otlpHeaderPair(pair)),
      'OTEL_EXPORTER_OTLP_HEADERS is key=value pairs separated by commas, values percent-encoded',
    )
    .optional(),
  /** The `service.name` of this process's spans; default enrollflow-webhook or enrollflow-worker. */
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  /** `true` turns tracing off even with an endpoint set (the OTel SDKs' own switch). */
  OTEL_SDK_DISABLED: z
    .enum(['true', 'false'], { error: 'OTEL_SDK_DISABLED must be true or false' })
    .default('false')
    .transform((v) => v === 'true'),
});
export type TracingConfig = z.output<typeof tracingSchema>;

const webhookSchema = temporalSchema
  .merge(loggingSchema)
  .merge(tracingSchema)
  .extend({
    WEBHOOK_HOST: z.string().default('127.0.0.1'),
    WEBHOOK_PORT: port(3000),
    RAZORPAY_WEBHOOK_SECRETS: csvSecrets('RAZORPAY_WEBHOOK_SECRETS'),
    STRIPE_WEBHOOK_SECRETS: csvSecrets('STRIPE_WEBHOOK_SECRETS').refine(
      (list) => list.every((s) => s.startsWith('whsec_')),
      'STRIPE_WEBHOOK_SECRETS: Stripe endpoint secrets start with whsec_',
    ),
    STRIPE_TOLERANCE_SECONDS: z.coerce.number().int().positive().default(300),
    /** Deadline for durably starting a workflow; well under Razorpay's 5 s delivery timeout. */
    WEBHOOK_START_TIMEOUT_MS: z.coerce.number().int().min(100).max(4000).default(2500),
    REDELIVERY_HORIZON_HOURS: redeliveryHorizonHours,
    NODE_ENV: z.string().optional(),
    STRIPE_LIVEMODE: stripeLivemode.optional(),
  });

/**
 * Which LMS enrolls (src/activities/lms): its settings are checked here, at start-up, and only the
 * chosen LMS's are required. docs/lms.md says what each one needs on the LMS's side.
 */
export const LMS_PROVIDERS = ['generic', 'moodle', 'canvas'] as const;
export type LmsProvider = (typeof LMS_PROVIDERS)[number];

const lmsSchema = z.object({
  LMS_PROVIDER: z
    .enum(LMS_PROVIDERS, { error: `LMS_PROVIDER must be one of ${LMS_PROVIDERS.join(', ')}` })
    .default('generic'),
  LMS_BASE_URL: url('LMS_BASE_URL').optional(),
  LMS_API_KEY: z.string().optional(),
  /** The site's root (the URL before `/webservice/rest/server.php`). */
  MOODLE_URL: url('MOODLE_URL').optional(),
  /** A web service token of a dedicated user, for a service holding exactly the functions we call. */
  MOODLE_TOKEN: z.string().regex(/^\S+$/, 'MOODLE_TOKEN must not contain spaces').optional(),
  /** The role enrolments give (5 is Moodle's student role on a standard site). */
  MOODLE_ROLE_ID: z.coerce.number().int().positive('MOODLE_ROLE_ID must be a role id').default(5),
  /** How the catalog's lmsCourseId names a Moodle course: its ID number, short name or numeric id. */
  MOODLE_COURSE_FIELD: z
    .enum(['idnumber', 'shortname', 'id'], { error: 'MOODLE_COURSE_FIELD must be idnumber, shortname or id' })
    .default('idnumber'),
  /** The auth plugin of users enrollflow creates (manual, oauth2, saml2, ...). */
  MOODLE_AUTH: z
    .string()
    .regex(/^[a-z0-9_]+$/, 'MOODLE_AUTH is an auth plugin name, e.g. manual or oauth2')
    .default('manual'),
  /** Prepended to the lower-cased email to make a new user's username (Moodle allows @ and . in them). */
  MOODLE_USERNAME_PREFIX: z
    .string()
    .regex(/^[a-z0-9_.@-]*$/, 'MOODLE_USERNAME_PREFIX may hold only a-z, 0-9, _ . @ -')
    .default(''),
  /** What a revocation does: unenrol (the enrolment is removed) or suspend (kept, without access). */
  MOODLE_REVOKE: z
    .enum(['unenrol', 'suspend'], { error: 'MOODLE_REVOKE must be unenrol or suspend' })
    .default('unenrol'),
  /** The Canvas instance, e.g. https://school.instructure.com. */
  CANVAS_URL: url('CANVAS_URL').optional(),
  /** An access token (or a developer key's token) of an admin user allowed to manage users and enrollments. */
  CANVAS_TOKEN: z.string().regex(/^\S+$/, 'CANVAS_TOKEN must not contain spaces').optional(),
  /** The account new users are created under (`self` = the root account of the domain). */
  CANVAS_ACCOUNT_ID: z
    .string()
    .regex(/^(self|\d+|sis_account_id:.+)$/, 'CANVAS_ACCOUNT_ID is self, a number or sis_account_id:<id>')
    .default('self'),
  /** How a student is found: by login (sis_login_id:<email>) or by SIS user id (sis_user_id:<email>). */
  CANVAS_USER_FIELD: z
    .enum(['login', 'sis'], { error: 'CANVAS_USER_FIELD must be login or sis' })
    .default('login'),
  /** The authentication provider of new logins (e.g. saml or an id); unset = Canvas's own. */
  CANVAS_AUTH_PROVIDER_ID: z.string().min(1).optional(),
  /** How the catalog's lmsCourseId names a Canvas course: its SIS course id or its numeric id. */
  CANVAS_COURSE_FIELD: z
    .enum(['sis', 'id'], { error: 'CANVAS_COURSE_FIELD must be sis or id' })
    .default('sis'),
  /** What a revocation does: delete the enrollment, or conclude it (read-only, kept in the gradebook). */
  CANVAS_REVOKE: z
    .enum(['delete', 'conclude'], { error: 'CANVAS_REVOKE must be delete or conclude' })
    .default('delete'),
});

const LMS_REQUIRED: Record<LmsProvider, Array<keyof z.output<typeof lmsSchema>>> = {
  generic: ['LMS_BASE_URL', 'LMS_API_KEY'],
  moodle: ['MOODLE_URL', 'MOODLE_TOKEN'],
  canvas: ['CANVAS_URL', 'CANVAS_TOKEN'],
};

/** The chosen LMS's own variables are required; the others' are ignored. */
const requireLmsSettings = (env: z.output<typeof lmsSchema>, ctx: z.RefinementCtx) => {
  for (const name of LMS_REQUIRED[env.LMS_PROVIDER]) {
    if (env[name] === undefined || env[name] === '') {
      ctx.addIssue({
        code: 'custom',
        path: [name],
        message: `${name} is required when LMS_PROVIDER=${env.LMS_PROVIDER}`,
      });
    }
  }
};

const workerSchema = temporalSchema
  .merge(loggingSchema)
  .merge(tracingSchema)
  .merge(lmsSchema)
  .extend({
    WHATSAPP_GRAPH_URL: url('WHATSAPP_GRAPH_URL').default('https://graph.facebook.com'),
    WHATSAPP_API_VERSION: z
      .string()
      .regex(/^v\d+\.\d+$/, 'WHATSAPP_API_VERSION looks like v21.0')
      .default('v21.0'),
    WHATSAPP_PHONE_NUMBER_ID: required('WHATSAPP_PHONE_NUMBER_ID'),
    WHATSAPP_ACCESS_TOKEN: required('WHATSAPP_ACCESS_TOKEN'),
    WHATSAPP_TEMPLATE_NAME: z.string().min(1).default('course_welcome'),
    WHATSAPP_TEMPLATE_LANGUAGE: z.string().min(2).default('en_US'),
    HUBSPOT_BASE_URL: url('HUBSPOT_BASE_URL').default('https://api.hubapi.com'),
    HUBSPOT_CLIENT_ID: required('HUBSPOT_CLIENT_ID'),
    HUBSPOT_CLIENT_SECRET: required('HUBSPOT_CLIENT_SECRET'),
    HUBSPOT_REFRESH_TOKEN: required('HUBSPOT_REFRESH_TOKEN'),
    /** The provider APIs the confirmation step reads: the webhook is a trigger, the provider's record the truth. */
    RAZORPAY_API_URL: url('RAZORPAY_API_URL').default('https://api.razorpay.com'),
    RAZORPAY_KEY_ID: required('RAZORPAY_KEY_ID'),
    RAZORPAY_KEY_SECRET: required('RAZORPAY_KEY_SECRET'),
    STRIPE_API_URL: url('STRIPE_API_URL').default('https://api.stripe.com'),
    STRIPE_API_KEY: required('STRIPE_API_KEY'),
    /** The course catalog (YAML or JSON): what each provider's items grant, and at what price. */
    CATALOG_PATH: required('CATALOG_PATH'),
    /** Refresh the cached access token this long before HubSpot says it expires. */
    HUBSPOT_TOKEN_REFRESH_MARGIN_SECONDS: z.coerce.number().int().min(0).default(120),
    REDELIVERY_HORIZON_HOURS: redeliveryHorizonHours,
    NODE_ENV: z.string().optional(),
    STRIPE_LIVEMODE: stripeLivemode.optional(),
    /** A prebuilt workflow bundle (`npm run build:workflows`); unset = bundle from source at start-up. */
    WORKFLOW_BUNDLE_PATH: z.string().optional(),
    /**
     * Per-request timeout of every downstream HTTP call; kept below the activities' 15 s
     * startToCloseTimeout (90 s for the LMS, whose Moodle and Canvas attempts make several calls).
     */
    HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(12_000).default(10_000),
    /** The worker's own listener: `GET /healthz` (200 while polling) and `GET /metrics` (business gauges). 0 = any free port. */
    WORKER_METRICS_PORT: port(9464),
    /** The Temporal SDK's Prometheus exporter (`/metrics`: SDK metrics and workflow metrics). 0 = any free port. */
    TEMPORAL_SDK_METRICS_PORT: port(9465),
    /** How often the business gauges are recomputed from Temporal visibility. */
    BUSINESS_METRICS_INTERVAL_SECONDS: z.coerce.number().min(1).max(3600).default(30),
    /**
     * Reconciliation (src/workflows/reconcile.ts): how often each provider's Schedule lists what it holds.
     * Fractions are allowed for a demo (0.5 = every 30 s).
     */
    RECONCILE_INTERVAL_MINUTES: z.coerce.number().min(0.1).max(1440).default(15),
    /**
     * false: this worker neither creates nor updates the Schedules (a benchmark, a worker sharing another
     * deployment's namespace). To stop reconciliation itself, pause the Schedules instead.
     */
    RECONCILE_SCHEDULES: z
      .enum(['true', 'false'])
      .default('true')
      .transform((v) => v === 'true'),
    /** How far a run looks back before the previous run's end: a capture a little late is still seen. */
    RECONCILE_OVERLAP_MINUTES: z.coerce.number().min(0).max(1440).default(60),
    /** How long before now a run's window ends, so a payment whose webhook is on its way is left to it. */
    RECONCILE_SETTLE_SECONDS: z.coerce.number().int().min(0).max(3600).default(120),
    /** How far back the first run of a new Schedule looks (never past REDELIVERY_HORIZON_HOURS). */
    RECONCILE_FIRST_LOOKBACK_HOURS: z.coerce.number().min(0).max(720).default(24),
  });

/** The codec server (src/codec-server): decodes payloads for operators' Web UI and `temporal` CLI. */
const codecServerSchema = loggingSchema.extend({
  PAYLOAD_KEYS: temporalSchema.shape.PAYLOAD_KEYS,
  PAYLOAD_KEY_ID: temporalSchema.shape.PAYLOAD_KEY_ID,
  CODEC_HOST: z.string().default('127.0.0.1'),
  CODEC_PORT: port(8089),
  /**
   * The token a caller must present: `Authorization: Bearer <token>` (the `temporal` CLI's
   * --codec-auth, the ops CLI), or as the path prefix `/auth/<token>` of the Web UI's codec endpoint.
   */
  CODEC_AUTH: z
    .string({ error: 'CODEC_AUTH is required: the token operators present to the codec server' })
    .min(24, 'CODEC_AUTH must be at least 24 characters (openssl rand -hex 24)'),
  /** The Web UI's origin(s), comma-separated: the only pages whose scripts may call the codec server. */
  CODEC_CORS_ORIGINS: z
    .string({
      error: 'CODEC_CORS_ORIGINS is required: the Temporal Web UI origin, e.g. http://127.0.0.1:8233',
    })
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every((o) => /^https?:\/\/[^/]+$/.test(o)), {
      message: 'CODEC_CORS_ORIGINS: origins look like http://127.0.0.1:8233 (scheme, host, port; no path)',
    }),
});

const webhookEnv = webhookSchema.superRefine(requireLivemodeInProduction).superRefine(requirePayloadKeys);
const workerEnv = workerSchema
  .superRefine(requireLivemodeInProduction)
  .superRefine(requirePayloadKeys)
  .superRefine(requireLmsSettings);
const temporalEnv = temporalSchema.superRefine(requirePayloadKeys);
const codecServerEnv = codecServerSchema.superRefine(requirePayloadKeys);

export type WebhookConfig = z.output<typeof webhookSchema>;
export type WorkerConfig = z.output<typeof workerSchema>;
export type TemporalConfig = z.output<typeof temporalSchema>;
export type CodecServerConfig = z.output<typeof codecServerSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** `VAR=` (as left by copying .env.example) means "not set", so defaults apply. */
export function withoutEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((kv): kv is [string, string] => !!kv[1]));
}

function parse<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv, what: string): z.output<S> {
  const result = schema.safeParse(withoutEmpty(env));
  if (result.success) return result.data;
  // Name the variable and the rule, never the value: a value may be a secret.
  const lines = describeIssues(result.error, { whole: '(env)', separator: '\n', bullet: '  - ' });
  throw new ConfigError(`Invalid ${what} configuration:\n${lines}\nSee .env.example for every variable.`);
}

export const loadWebhookConfig = (env: NodeJS.ProcessEnv = process.env): WebhookConfig =>
  parse(webhookEnv, env, 'webhook receiver');
export const loadWorkerConfig = (env: NodeJS.ProcessEnv = process.env): WorkerConfig =>
  parse(workerEnv, env, 'worker');
export const loadCodecServerConfig = (env: NodeJS.ProcessEnv = process.env): CodecServerConfig =>
  parse(codecServerEnv, env, 'codec server');
export const loadTemporalConfig = (env: NodeJS.ProcessEnv = process.env): TemporalConfig =>
  parse(temporalEnv, env, 'Temporal client');

/** Every variable each process reads, and which of them it cannot start without (for deployment checks). */
export function configVariables(): Record<
  'webhook' | 'worker' | 'codecServer',
  { all: string[]; required: string[] }
> {
  const describe = (schema: z.ZodObject<Record<string, z.ZodType>>) => {
    const entries = Object.entries(schema.shape);
    return {
      all: entries.map(([name]) => name),
      required: entries.filter(([, type]) => !type.safeParse(undefined).success).map(([name]) => name),
    };
  };
  return {
    webhook: describe(webhookSchema),
    worker: describe(workerSchema),
    codecServer: describe(codecServerSchema),
  };
}
