/**
 * `npm run send -- razorpay|stripe [options]`: act like the provider. Creates the merchant-side object
 * for a catalog product in the sandbox provider (a Razorpay order, payment link or subscription; a
 * Stripe checkout, subscription or invoice), pays it, and delivers the webhooks the provider would,
 * correctly signed, including the hostile cases (redeliveries, tampered or stale signatures, notes a
 * buyer's browser added). `--no-sandbox` sends fixture bodies for a payment no provider holds.
 * Exit code 0 when every delivery got the expected answer.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { Argument, Command, CommanderError, InvalidArgumentError } from 'commander';
import { type PaymentFixture, type PaymentProvider, providerNames, providers } from '../providers';
import type { ProviderDefinition } from '../providers/definition';
import { fixtureDefaults } from '../providers/fixture';
import { loadCatalog } from '../catalog';
import { catalogPurchase, purchaseKinds, registerPurchase, registerRefund } from './purchase';
import {
  DEFAULT_TIMEOUT_MS,
  expectsRejection,
  isExpectedOutcome,
  sendDeliveries,
  sendPurchaseDeliveries,
  webhookUrl,
  type DeliveryResult,
  type SendOptions,
} from './deliver';
import { processIo, runMain } from '../runtime/process';

/** Where `npm run dev` serves the sandbox, unless SANDBOX_URL says otherwise. */
const DEFAULT_SANDBOX_URL = 'http://127.0.0.1:4010';

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
  /** The sandbox playing the provider; false (`--no-sandbox`) sends fixture bodies no provider holds. */
  sandbox?: string | false;
  catalog?: string;
  kind?: string;
  paymentNotes?: Record<string, string>;
  charges?: number;
  refund?: string;
  webhook: boolean;
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
      `payment id (default: random ${providerNames.map((name) => `${providers[name].ids.paymentIdPrefixes[0]}...`).join(' / ')})`,
    )
    .option(
      '--course <product>',
      `catalog product to buy (default ${DEFAULT_PRODUCT}); with --no-sandbox, the course id the fixture names`,
    )
    .option('--no-course', 'with --no-sandbox: omit the course id')
    .option(
      '--kind <kind>',
      `what the merchant sells it with: ${providerNames.map((name) => `${name}: ${purchaseKinds[name].join('|')}`).join('; ')} (default: the first)`,
    )
    .option(
      '--payment-notes <json>',
      'what the buyer\'s browser adds: Razorpay payment notes (checkout.js), Stripe client_reference_id (a Payment Link URL), e.g. \'{"course_id":"course-ds-301"}\'',
      jsonNotes,
    )
    .option(
      '--charges <n>',
      'subscriptions: charges paid so far (each after the first is a renewal)',
      positiveInt('--charges'),
    )
    .option(
      '--refund <payment id>',
      'refund a payment the sandbox provider holds (pay_... or pi_...; --amount for a partial refund) and deliver its webhooks',
    )
    .option('--sandbox <url>', 'the sandbox playing the provider (default SANDBOX_URL, env or .data/dev.env)')
    .option('--no-sandbox', 'send fixture bodies for a payment no provider holds (it waits in review)')
    .option('--catalog <path>', 'catalog to buy from (default CATALOG_PATH, else catalog/sample.yaml)')
    .option('--no-webhook', 'create and pay the purchase, deliver nothing (the provider gave up)')
    .option('--email <email>', 'student email')
    .option('--no-email', 'omit the student email')
    .option('--name <name>', 'student name')
    .option('--no-name', 'omit the student name')
    .option('--phone <e164>', 'student phone, e.g. +919876543210')
    .option('--no-phone', 'omit the student phone')
    .option(
      '--amount <minor>',
      'what the order and payment carry, in minor units (default: the catalog price)',
      positiveInt('--amount'),
    )
    .option('--currency <code>', 'ISO 4217 currency (default INR)')
    .option(
      '-n, --duplicates <n>',
      "n deliveries in all, cycling through the purchase's webhooks (redeliveries are the same signed bytes)",
      positiveInt('--duplicates'),
    )
    .option(
      '--mix',
      'with --no-sandbox: alternate both paid events of one payment (with the sandbox, every webhook of the purchase is sent anyway)',
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

/** The product `send` buys when none is named: a sample-catalog course. */
const DEFAULT_PRODUCT = 'course-ml-101';
const DEFAULT_CATALOG = path.resolve(__dirname, '..', '..', 'catalog', 'sample.yaml');

function jsonNotes(value: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(
      '--payment-notes must be a JSON object, e.g. \'{"course_id":"course-ds-301"}\'',
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidArgumentError('--payment-notes must be a JSON object of strings');
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
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

  // A wrong-secret run signs with a random secret, so it must not demand the real one. Resolved first:
  // a missing secret must stop the run before anything is bought.
  const signingSecret =
    flags.secret ?? (flags.wrongSecret ? '' : resolveSecret(provider, setting, devEnvPath));
  const secret = () => signingSecret;
  const common = {
    provider,
    url: flags.url,
    event: flags.event,
    duplicates: flags.duplicates,
    tamper: flags.tamper,
    wrongSecret: flags.wrongSecret,
    stale: flags.stale,
    timeoutMs: flags.timeout,
  };

  let results: DeliveryResult[];
  if (flags.refund !== undefined) {
    if (flags.sandbox === false)
      throw new Error('--refund refunds a payment the sandbox holds: drop --no-sandbox');
    const sandboxUrl = flags.sandbox ?? setting('SANDBOX_URL') ?? DEFAULT_SANDBOX_URL;
    const refund = await registerRefund(sandboxUrl, provider, {
      paymentId: flags.refund,
      amountMinor: flags.amount,
    });
    results = await sendPurchaseDeliveries({ ...common, secret: secret(), purchase: refund });
  } else if (flags.sandbox === false) {
    const fixture: PaymentFixture = {
      paymentId: flags.paymentId,
      courseId: omitWhenFalse(flags.course),
      email: omitWhenFalse(flags.email),
      name: omitWhenFalse(flags.name),
      phone: omitWhenFalse(flags.phone),
      amountMinor: flags.amount,
      currency: flags.currency,
    };
    const options: SendOptions = { ...common, secret: secret(), fixture, mix: flags.mix };
    results = await sendDeliveries(options);
  } else {
    const catalog = loadCatalog(flags.catalog ?? setting('CATALOG_PATH') ?? DEFAULT_CATALOG);
    const spec = catalogPurchase(catalog, provider, {
      productId: typeof flags.course === 'string' ? flags.course : DEFAULT_PRODUCT,
      kind: flags.kind ?? purchaseKinds[provider][0]!,
      amountMinor: flags.amount,
      currency: flags.currency ?? 'INR',
      customer: {
        email: omitWhenFalse(flags.email) ?? fixtureDefaults.email,
        name: omitWhenFalse(flags.name) ?? fixtureDefaults.name,
        phone: omitWhenFalse(flags.phone) ?? fixtureDefaults.phone,
      },
      buyerNotes: flags.paymentNotes,
      paymentId: flags.paymentId,
      charges: flags.charges,
    });
    const sandboxUrl = flags.sandbox ?? setting('SANDBOX_URL') ?? DEFAULT_SANDBOX_URL;
    const purchase = await registerPurchase(sandboxUrl, provider, spec);
    if (!flags.webhook) {
      io.stdout(
        flags.json
          ? `${JSON.stringify({ provider, purchase: { ...purchase, deliveries: undefined }, delivered: 0 }, null, 2)}\n`
          : `${providers[provider].displayName} ${spec.kind} paid: payment ${purchase.paymentIds.join(', ')} (${Object.entries(
              purchase.references,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}); no webhook delivered\n`,
      );
      return 0;
    }
    results = await sendPurchaseDeliveries({ ...common, secret: secret(), purchase });
  }
  const expectRejection = expectsRejection(common);
  const url = webhookUrl(common.url, provider);
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
