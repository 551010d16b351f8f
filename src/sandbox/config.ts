/**
 * Environment contract of the standalone sandbox process (`main.ts`). The credential variables
 * carry the same names as the worker's, so one `.env` can drive both sides of a local run.
 */
import { z } from 'zod';
import { ConfigError } from '../config';
import {
  credentialNames,
  DEFAULT_HUBSPOT_TOKEN_TTL_SECONDS,
  optionalCredentialNames,
  type SandboxCredentials,
} from './context';
import { sandboxFaultsSchema } from './faults';
import { describeIssues } from '../domain/zod-issues';

/** An exported-but-empty variable means "use the default", not "0" (what z.coerce would make of it). */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

const required = (name: string) => z.string({ error: `${name} is required` }).min(1, `${name} is required`);

const faultsJson = z
  .string()
  .transform((text, ctx): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'SANDBOX_FAULTS must be a JSON object (see src/sandbox/faults.ts)',
      });
      return z.NEVER;
    }
  })
  .pipe(sandboxFaultsSchema);

const sandboxEnvSchema = z.object({
  SANDBOX_HOST: z.preprocess(unsetIfEmpty, z.string().default('127.0.0.1')),
  SANDBOX_PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(4010)),
  SANDBOX_HUBSPOT_TOKEN_TTL_SECONDS: z.preprocess(
    unsetIfEmpty,
    z.coerce.number().int().min(1).max(86_400).default(DEFAULT_HUBSPOT_TOKEN_TTL_SECONDS),
  ),
  SANDBOX_FAULTS: z.preprocess(unsetIfEmpty, faultsJson.optional()),
  SANDBOX_SEED: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(0xffff_ffff).optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ...(Object.fromEntries(credentialNames.map((name) => [name, required(name)])) as Record<
    (typeof credentialNames)[number],
    ReturnType<typeof required>
  >),
  // The Moodle and Canvas emulations refuse every call without their token.
  MOODLE_TOKEN: z.preprocess(unsetIfEmpty, z.string().optional()),
  CANVAS_TOKEN: z.preprocess(unsetIfEmpty, z.string().optional()),
});

export type SandboxConfig = z.output<typeof sandboxEnvSchema>;

export function loadSandboxConfig(env: NodeJS.ProcessEnv = process.env): SandboxConfig {
  const result = sandboxEnvSchema.safeParse(env);
  if (result.success) return result.data;
  // Name the variable and the rule, never the value: most of these are secrets.
  const lines = describeIssues(result.error, { whole: '(env)', separator: '\n', bullet: '  - ' });
  throw new ConfigError(`Invalid sandbox configuration:\n${lines}`);
}

export const credentialsFrom = (config: SandboxConfig): SandboxCredentials => ({
  LMS_API_KEY: config.LMS_API_KEY,
  WHATSAPP_ACCESS_TOKEN: config.WHATSAPP_ACCESS_TOKEN,
  WHATSAPP_PHONE_NUMBER_ID: config.WHATSAPP_PHONE_NUMBER_ID,
  HUBSPOT_CLIENT_ID: config.HUBSPOT_CLIENT_ID,
  HUBSPOT_CLIENT_SECRET: config.HUBSPOT_CLIENT_SECRET,
  HUBSPOT_REFRESH_TOKEN: config.HUBSPOT_REFRESH_TOKEN,
  RAZORPAY_KEY_ID: config.RAZORPAY_KEY_ID,
  RAZORPAY_KEY_SECRET: config.RAZORPAY_KEY_SECRET,
  STRIPE_API_KEY: config.STRIPE_API_KEY,
  ...Object.fromEntries(
    optionalCredentialNames.flatMap((name) => (config[name] ? [[name, config[name]]] : [])),
  ),
});
