/**
 * `npm run send -- razorpay|stripe [options]`: deliver realistic, correctly signed provider webhooks
 * to a running receiver, including the hostile cases (redeliveries, both paid events, tampered or
 * stale signatures). Exit code 0 when every delivery got the expected answer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import { type PaymentFixture, type PaymentProvider, providerNames, providers } from '../providers';
import type { ProviderDefinition } from '../providers/definition';
import {
  DEFAULT_TIMEOUT_MS,
  expectsRejection,
  isExpectedOutcome,
  sendDeliveries,
  webhookUrl,
  type DeliveryResult,
  type SendOptions,
} from './deliver';
import { processIo, runMain } from '../runtime/process';

/** Written by the dev runner; lets `send` find the secrets the local receiver was started with. */
export const DEV_ENV_PATH = path.resolve(__dirname, '..', '..', '.data', 'dev.env');

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Settings come from the environment first, then from the dev runner's file (read lazily, once). */
export function settingsLookup(
  env: NodeJS.ProcessEnv,
  devEnvPath: string,
): (name: string) => string | undefined {
  let devEnv: NodeJS.Dict<string> | undefined;
  return (name) => {
    const fromEnv = env[name]?.trim();
    if (fromEnv) return fromEnv;
    devEnv ??= readDevEnv(devEnvPath);
    return devEnv[name]?.trim() || undefined;
  };
}

function readDevEnv(file: string): NodeJS.Dict<string> {
  try {
    return parseEnv(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

/** The first (current) secret of the comma-separated list the receiver accepts. */
export function resolveSecret(
  provider: PaymentProvider,
  setting: (name: string) => string | undefined,
  devEnvPath: string,
): string {
  const name = providers[provider].secretVariable;
  const first = setting(name)
    ?.split(',')
    .map((s) => s.trim())
    .find(Boolean);
  if (first) return first;
  throw new Error(
    `No ${provider} webhook secret: set ${name}, pass --secret <secret>, or start the dev runner (it writes ${devEnvPath})`,
  );
}

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
      throw new InvalidArgumentError(`${what} must be a positive integer.`);
    }
    return n;
  };
}

interface CliFlags {
  url: string;
  event?: string;
  paymentId?: string;
  course?: string | false;
  email?: string | false;
  name?: string | false;
  phone?: string | false;
  amount?: number;
  currency?: string;
  duplicates?: number;
  mix?: boolean;
  tamper?: boolean;
  wrongSecret?: boolean;
  secret?: string;
  stale?: boolean;
  timeout: number;
  json?: boolean;
}

/** `--no-x` gives false (omit the field); an absent flag leaves the realistic default. */
const omitWhenFalse = (value: string | false | undefined): string | null | undefined =>
  value === false ? null : value;

function buildProgram(defaultUrl: string, io: CliIo): Command {
  const providerArgument = new Argument('<provider>', 'payment provider').choices(providerNames);
  return new Command('send')
    .description(
      'Deliver realistic, correctly signed provider webhooks to the enrollflow receiver.\n' +
        'Exit code 0 when every delivery answered 2xx (401 with --tamper, --wrong-secret or --stale).',
    )
    .usage(`${providerNames.join('|')} [options]`)
    .addArgument(providerArgument)
    .option('-u, --url <url>', 'receiver base URL; /webhooks/<provider> is appended', defaultUrl)
    .option(
      '-e, --event <type>',
      `event type (default ${providerNames.map((name) => providers[name].fixtures.defaultEventKind).join(' / ')})\n` +
        providerNames.map((name) => `${name}: ${providers[name].fixtures.eventKinds.join(', ')}`).join('\n'),
    )
    .option(
      '--payment-id <id>',
      `payment id (default: random ${providerNames.map((name) => `${providers[name].ids.paymentIdPrefix}...`).join(' / ')})`,
    )
    .option('--course <id>', 'course id (Razorpay notes.course_id, Stripe client_reference_id/metadata)')
    .option('--no-course', 'omit the course id')
    .option('--email <email>', 'student email')
    .option('--no-email', 'omit the student email')
    .option('--name <name>', 'student name')
    .option('--no-name', 'omit the student name')
    .option('--phone <e164>', 'student phone, e.g. +919876543210')
    .option('--no-phone', 'omit the student phone')
    .option('--amount <minor>', 'amount in minor units (paise, cents)', positiveInt('--amount'))
    .option('--currency <code>', 'ISO 4217 currency (default INR)')
    .option(
      '-n, --duplicates <n>',
      'deliver the same signed body n times concurrently (with --mix: n deliveries alternating)',
      positiveInt('--duplicates'),
    )
    .option(
      '--mix',
      'alternate both paid events of one payment (razorpay: payment.captured + order.paid; stripe: checkout.session.completed + payment_intent.succeeded)',
    )
    .option('--tamper', 'change one byte of the body after signing (expects 401)')
    .option('--wrong-secret', 'sign with a random secret (expects 401)')
    .option(
      '--secret <secret>',
      'signing secret (default: first of RAZORPAY_/STRIPE_WEBHOOK_SECRETS, env or .data/dev.env)',
    )
    .option('--stale', 'stripe: sign with a timestamp 10 minutes old (expects 401)')
    .option('--timeout <ms>', 'per-request timeout', positiveInt('--timeout'), DEFAULT_TIMEOUT_MS)
    .option('--json', 'print machine-readable results')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
}

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}...` : flat;
}

function printHuman(
  io: CliIo,
  provider: PaymentProvider,
  url: string,
  results: DeliveryResult[],
  expectRejection: boolean,
): boolean {
  const first = results[0];
  io.stdout(`POST ${url}  payment ${first?.paymentId ?? '?'}\n`);
  const width = Math.max(...results.map((r) => r.eventType.length));
  for (const r of results) {
    const outcome = r.status === 0 ? `ERROR ${r.error ?? ''}` : `${r.status} ${oneLine(r.body)}`;
    const { displayName, deliveryTimeoutMs }: ProviderDefinition = providers[provider];
    const slow =
      deliveryTimeoutMs !== undefined && r.durationMs > deliveryTimeoutMs
        ? `  (slower than ${displayName}'s ${deliveryTimeoutMs / 1000} s timeout: it would redeliver)`
        : '';
    io.stdout(
      `#${r.index} ${r.eventType.padEnd(width)}  ${r.eventId}  ${r.durationMs} ms  ${outcome}${slow}\n`,
    );
  }
  const good = results.filter((r) => isExpectedOutcome(r, expectRejection));
  const expected = expectRejection ? 'were refused with 401' : 'answered 2xx';
  const ok = good.length === results.length;
  const others = results
    .filter((r) => !isExpectedOutcome(r, expectRejection))
    .map((r) => `#${r.index} ${r.status === 0 ? 'no response' : r.status}`);
  io.stdout(
    ok
      ? `OK: ${good.length}/${results.length} deliveries ${expected}\n`
      : `FAIL: ${good.length}/${results.length} deliveries ${expected} (${others.join(', ')})\n`,
  );
  return ok;
}

/** Runs the CLI with injected argv (user arguments only), environment and output; returns the exit code. */
export async function runSend(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: CliIo,
  devEnvPath: string = DEV_ENV_PATH,
): Promise<number> {
  const setting = settingsLookup(env, devEnvPath);
  const program = buildProgram(`http://127.0.0.1:${setting('WEBHOOK_PORT') ?? 3000}`, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    // Commander has already printed help or the usage error.
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
  const provider = program.processedArgs[0] as PaymentProvider;
  const flags = program.opts<CliFlags>();

  const fixture: PaymentFixture = {
    paymentId: flags.paymentId,
    courseId: omitWhenFalse(flags.course),
    email: omitWhenFalse(flags.email),
    name: omitWhenFalse(flags.name),
    phone: omitWhenFalse(flags.phone),
    amountMinor: flags.amount,
    currency: flags.currency,
  };
  const options: SendOptions = {
    provider,
    url: flags.url,
    // A wrong-secret run signs with a random secret, so it must not demand the real one.
    secret: flags.secret ?? (flags.wrongSecret ? '' : resolveSecret(provider, setting, devEnvPath)),
    event: flags.event,
    fixture,
    duplicates: flags.duplicates,
    mix: flags.mix,
    tamper: flags.tamper,
    wrongSecret: flags.wrongSecret,
    stale: flags.stale,
    timeoutMs: flags.timeout,
  };

  const results = await sendDeliveries(options);
  const expectRejection = expectsRejection(options);
  const url = webhookUrl(options.url, provider);
  if (flags.json) {
    const ok = results.every((r) => isExpectedOutcome(r, expectRejection));
    const paymentId = results[0]?.paymentId;
    const expected = expectRejection ? '401' : '2xx';
    io.stdout(`${JSON.stringify({ provider, url, paymentId, expected, ok, results }, null, 2)}\n`);
    return ok ? 0 : 1;
  }
  return printHuman(io, provider, url, results, expectRejection) ? 0 : 1;
}

async function main(): Promise<void> {
  process.exitCode = await runSend(process.argv.slice(2), process.env, processIo);
}

if (require.main === module) runMain(main);
