/**
 * `npm run send -- razorpay|stripe [options]`: act like the provider. Creates the merchant-side object
 * for a catalog product in the sandbox provider (a Razorpay order, payment link or subscription; a
 * Stripe checkout, subscription or invoice), pays it, and delivers the webhooks the provider would,
 * correctly signed, including the hostile cases (redeliveries, tampered or stale signatures, notes a
 * buyer's browser added). `--refund`, `--dispute` and `--cancel-subscription` change what the sandbox
 * provider holds and deliver what it announces for that. `--no-sandbox` sends fixture bodies for a
 * payment no provider holds.
 * Exit code 0 when every delivery got the expected answer.
 */
import path from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { type PaymentFixture, type PaymentProvider, providerNames, providers } from '../providers';
import type { ProviderDefinition } from '../providers/definition';
import { fixtureDefaults } from '../providers/fixture';
import { loadCatalog } from '../catalog';
import type { PurchaseResult } from '../providers/purchase';
import {
  type DisputeOutcome,
  cancelSubscription,
  catalogPurchase,
  closeDispute,
  purchaseKinds,
  registerDispute,
  registerPurchase,
  registerRefund,
} from './purchase';
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
import { DEV_ENV_PATH, settingsLookup } from '../runtime/dev-env';

/** Where `npm run dev` serves the sandbox, unless SANDBOX_URL says otherwise. */
const DEFAULT_SANDBOX_URL = 'http://127.0.0.1:4010';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
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
  dispute?: string;
  outcome?: DisputeOutcome;
  cancelSubscription?: string;
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
    .addOption(
      new Option(
        '--refund <payment id>',
        'refund a payment the sandbox provider holds (pay_... or pi_...; --amount for a partial refund) and deliver its webhooks',
      ).conflicts(['dispute', 'cancelSubscription']),
    )
    .addOption(
      new Option(
        '--dispute <payment or dispute id>',
        "open a dispute on a payment the sandbox provider holds (pay_..., pi_... or in_...; --amount for part of it) and deliver its created event; with --outcome, close it too (both events); given a dispute's id (disp_... or dp_...) and --outcome, close that one",
      ).conflicts('cancelSubscription'),
    )
    .addOption(
      new Option('--outcome <outcome>', 'with --dispute: how the card network closes it').choices([
        'won',
        'lost',
      ]),
    )
    .option(
      '--cancel-subscription <subscription id>',
      'cancel at once a subscription the sandbox provider holds (sub_...) and deliver its event (Razorpay subscription.cancelled, Stripe customer.subscription.deleted)',
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
      'what the order and payment carry, in minor units (default: the catalog price); with --refund or --dispute, how much of the payment (default: all not yet refunded)',
      positiveInt('--amount'),
    )
    .option('--currency <code>', 'ISO 4217 currency (default INR)')
    .option(
      '-n, --duplicates <n>',
      'n deliveries in all, cycling through the webhooks of the purchase (or of the refund, dispute or cancellation); redeliveries are the same signed bytes',
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

/** What `--refund`, `--dispute` or `--cancel-subscription` made the sandbox provider do. */
interface SandboxChange extends Pick<PurchaseResult, 'paymentId' | 'deliveries'> {
  /** The key `--json` prints `record` under. */
  name: 'refund' | 'dispute' | 'subscription';
  /** What the sandbox answered, but the deliveries. */
  record: object;
  /** One line for people, naming what was changed by its provider id. */
  summary: string;
}

interface RequestedChange {
  flag: string;
  play(sandboxUrl: string): Promise<SandboxChange>;
}

/** Razorpay `disp_`, Stripe `dp_`: a dispute to close rather than a payment to dispute. */
const DISPUTE_ID = /^(disp|dp)_/;

function requestedChange(flags: CliFlags, provider: PaymentProvider): RequestedChange | undefined {
  const { displayName } = providers[provider];
  const { refund: refundOf, dispute, outcome, cancelSubscription: subscriptionId } = flags;
  if (outcome !== undefined && dispute === undefined) {
    throw new Error('--outcome closes a dispute: name it, or the payment to dispute, with --dispute');
  }
  if (refundOf !== undefined) {
    return {
      flag: '--refund',
      async play(sandboxUrl) {
        const refund = await registerRefund(sandboxUrl, provider, {
          paymentId: refundOf,
          amountMinor: flags.amount,
        });
        return {
          name: 'refund',
          record: { ...refund, deliveries: undefined },
          summary: `${displayName} refund ${refund.refundId} of payment ${refund.paymentId}: ${refund.amountMinor} (${refund.full ? 'full' : 'partial'})`,
          paymentId: refund.paymentId,
          deliveries: refund.deliveries,
        };
      },
    };
  }
  if (dispute !== undefined) {
    const closing = DISPUTE_ID.test(dispute);
    if (closing && outcome === undefined) {
      throw new Error(`${dispute} is a dispute: say how it closes with --outcome won|lost`);
    }
    return {
      flag: '--dispute',
      async play(sandboxUrl) {
        // Opened, then closed: each step's events in turn, as the provider announces them.
        const steps = closing
          ? []
          : [await registerDispute(sandboxUrl, provider, { paymentId: dispute, amountMinor: flags.amount })];
        if (outcome !== undefined) {
          const id = steps[0]?.disputeId ?? dispute;
          steps.push(await closeDispute(sandboxUrl, provider, id, outcome));
        }
        const last = steps[steps.length - 1]!;
        return {
          name: 'dispute',
          record: { ...last, deliveries: undefined },
          summary: `${displayName} dispute ${last.disputeId} of payment ${last.paymentId}: ${steps.map((step) => step.status).join(' -> ')}`,
          paymentId: last.paymentId,
          deliveries: steps.flatMap((step) => step.deliveries),
        };
      },
    };
  }
  if (subscriptionId !== undefined) {
    return {
      flag: '--cancel-subscription',
      async play(sandboxUrl) {
        const ended = await cancelSubscription(sandboxUrl, provider, subscriptionId);
        const endedAt = new Date(ended.endedAt * 1000).toISOString();
        return {
          name: 'subscription',
          record: { ...ended, deliveries: undefined },
          summary: `${displayName} subscription ${ended.subscriptionId}: ${ended.status}, ended ${endedAt}`,
          // The payment that granted it, so the output names what the cancellation takes back.
          paymentId: ended.paymentId ?? ended.subscriptionId,
          deliveries: ended.deliveries,
        };
      },
    };
  }
  return undefined;
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

  const sandboxUrl = () =>
    typeof flags.sandbox === 'string' ? flags.sandbox : (setting('SANDBOX_URL') ?? DEFAULT_SANDBOX_URL);
  const requested = requestedChange(flags, provider);
  let change: SandboxChange | undefined;
  let results: DeliveryResult[];
  if (requested !== undefined) {
    if (flags.sandbox === false) {
      throw new Error(`${requested.flag} changes what the sandbox provider holds: drop --no-sandbox`);
    }
    change = await requested.play(sandboxUrl());
    results = await sendPurchaseDeliveries({ ...common, secret: secret(), purchase: change });
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
    const purchase = await registerPurchase(sandboxUrl(), provider, spec);
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
    const changed = change && { [change.name]: change.record };
    io.stdout(
      `${JSON.stringify({ provider, url, paymentId, expected, ok, ...changed, results }, null, 2)}\n`,
    );
    return ok ? 0 : 1;
  }
  if (change) io.stdout(`${change.summary}\n`);
  return printHuman(io, provider, url, results, expectRejection) ? 0 : 1;
}

async function main(): Promise<void> {
  process.exitCode = await runSend(process.argv.slice(2), process.env, processIo);
}

if (require.main === module) runMain(main);
