#!/usr/bin/env node
/**
 * `npm run ops -- <command>`: the operator's tool for payments in manual review, over the Temporal
 * client (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, or --address / --namespace). Runbook: docs/operations.md.
 *
 *   reviews                      the review queue: reason, age, amount, course, student (masked)
 *   show <payment>               one payment: steps, attempts, errors, results, reviews, outcome
 *   resolve <payment> --action   retry | skip | abort one review, then report where it went
 *   retry-all [--query] [--yes]  one decision for every matching review; dry run unless --yes
 *                                (--step / --reason narrow it)
 *   reconcile --provider --since start what no webhook started in a window; dry run unless --yes
 *   catalog check [file]         validate a catalog file and print what it sells (no Temporal needed)
 *   payload-keys new [--id]      a new PAYLOAD_KEYS entry id:base64key (no Temporal needed)
 *   payload-keys usage [--query] which keys seal the payloads of matching workflows, and whether
 *                                PAYLOAD_KEYS holds them all (when an old key can leave the ring)
 *
 * Exit codes: 0 done, 1 refused or failed (unknown payment, not in review, Temporal unreachable),
 * 2 bad command line. Expected failures print one line, never a stack trace.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isPaymentProvider, type PaymentProvider, providerNames } from '../providers';
import { reviewActions, type ReviewAction, type StepName } from '../workflows/messages';
import { connectOps, resolveTarget, type OpsConnection, type TargetFlags } from './connect';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, OpsError, UsageError } from './errors';
import { json } from './format';
import type { OpsIo } from './io';
import { parsePaymentRef } from './payment-ref';
import { listReviews, renderReviews } from './reviews';
import { buildResolveInput, exitCodeOf, renderResolve, resolvePayment, type PatchFlags } from './resolve';
import { exitCodeOfRetryAll, NEEDS_REVIEW_QUERY, renderRetryAll, retryAll } from './retry-all';
import { STEP_NAMES } from '../workflows/steps';
import { renderShow, showPayment } from './show';
import { listAccessChanges, renderAccessOnly } from './access';
import { catalogPathOf, checkCatalogFile, renderCatalog } from './catalog';
import { parseTime, reconcile, renderReconcile } from './reconcile';
import {
  DEFAULT_USAGE_QUERY,
  exitCodeOfKeyUsage,
  keyUsage,
  NEW_KEY_NEXT_STEP,
  newKey,
  renderKeyUsage,
} from './payload-keys';
import { loadTemporalConfig } from '../config';
import { processIo, runMain } from '../runtime/process';

export type { OpsIo };

const BULK_ACTIONS: readonly ReviewAction[] = ['retry', 'skip'];

const positiveInt =
  (flag: string, max = Number.MAX_SAFE_INTEGER) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from 1 to ${max}`);
    }
    return n;
  };

const seconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 300) throw new InvalidArgumentError('--wait is 0 to 300 seconds');
  return n;
};

const provider = (value: string): string => {
  if (!isPaymentProvider(value)) {
    throw new InvalidArgumentError(`valid providers are ${providerNames.join(', ')}`);
  }
  return value;
};

const step = (value: string): StepName => {
  const found = STEP_NAMES.find((s) => s === value);
  if (!found) throw new InvalidArgumentError(`valid steps are ${STEP_NAMES.join(', ')}`);
  return found;
};

interface JsonFlag {
  json?: boolean;
}

function buildProgram(io: OpsIo, setExit: (code: number) => void): Command {
  /** Connects for one command, always closes, and records the command's exit code. */
  const withOps = async (cmd: Command, fn: (ops: OpsConnection) => Promise<number>): Promise<void> => {
    const ops = await connectOps(resolveTarget(cmd.optsWithGlobals<TargetFlags>(), io.env));
    try {
      setExit(await fn(ops));
    } finally {
      await ops.close().catch(() => undefined);
    }
  };

  const program = new Command('ops')
    .description('Operate enrollflow payments on Temporal: the review queue, one payment, decisions.')
    .option('--address <host:port>', 'Temporal frontend (default: TEMPORAL_ADDRESS, else 127.0.0.1:7233)')
    .option('--namespace <namespace>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else default)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 refused or failed, 2 bad command line. Runbook: docs/operations.md',
    );

  program
    .command('reviews')
    .description('list payments waiting in manual review (EnrollmentState="needs_review"), oldest first')
    .option('--provider <provider>', `only this provider (${providerNames.join('|')})`, provider)
    .option('--limit <n>', 'show at most n', positiveInt('--limit', 10_000), 200)
    .option('--json', 'machine-readable output')
    .action(async (flags: JsonFlag & { provider?: PaymentProvider; limit: number }, cmd: Command) =>
      withOps(cmd, async (ops) => {
        const result = await listReviews(ops, {
          provider: flags.provider,
          limit: flags.limit,
          now: io.now(),
        });
        io.stdout(flags.json ? json(result) : renderReviews(result, flags.limit));
        return EXIT_OK;
      }),
    );

  program
    .command('show')
    .description('everything about one payment: steps, attempts, errors, results, reviews, outcome')
    .argument(
      '<payment>',
      'payment id (pay_... razorpay, pi_... stripe) or workflow id payment-<provider>-<id>',
    )
    .option(
      '--provider <provider>',
      `provider of a payment id without a known prefix (${providerNames.join('|')})`,
    )
    .option('--json', 'machine-readable output')
    .action(async (payment: string, flags: JsonFlag & { provider?: string }, cmd: Command) => {
      const ref = parsePaymentRef(payment, flags.provider);
      await withOps(cmd, async (ops) => {
        let result;
        try {
          result = await showPayment(ops, ref);
        } catch (err) {
          // No payment workflow (its paid webhook never came), but a refund or dispute may name it.
          const { changes } = await listAccessChanges(ops, ref.paymentId);
          if (changes.length === 0) throw err;
          io.stdout(flags.json ? json({ payment: null, access: changes }) : renderAccessOnly(ref, changes));
          return EXIT_OK;
        }
        io.stdout(flags.json ? json(result) : renderShow(result, io.now()));
        return EXIT_OK;
      });
    });

  program
    .command('resolve')
    .description('decide a payment in review: retry the failed step, skip it, or abort the enrollment')
    .argument('<payment>', 'payment id (pay_..., pi_...) or workflow id')
    .requiredOption('--action <action>', `one of ${reviewActions.join(', ')}`)
    .requiredOption('--reviewer <who>', 'who decides (kept in the review history)')
    .requiredOption('--note <text>', 'why (kept in the review history)')
    .option('--review <id>', 'the review you decide (as `show` prints it); refused if another is open')
    .option('--product <id>', 'confirmation reviews: enroll this catalog product anyway (no price check)')
    .option('--course-id <id>', 'corrected course id (data reviews of payments started before the catalog)')
    .option('--email <email>', 'corrected student email')
    .option('--phone <e164>', 'corrected student phone, E.164')
    .option('--name <name>', 'corrected student name')
    .option(
      '--provider <provider>',
      `provider of a payment id without a known prefix (${providerNames.join('|')})`,
    )
    .option('--wait <seconds>', 'how long to watch the workflow after signalling (0: do not)', seconds, 10)
    .option('--json', 'machine-readable output')
    .action(
      async (
        payment: string,
        flags: JsonFlag &
          PatchFlags & {
            action: string;
            reviewer: string;
            note: string;
            provider?: string;
            wait: number;
            review?: string;
          },
        cmd: Command,
      ) => {
        const input = buildResolveInput({
          action: flags.action,
          reviewer: flags.reviewer,
          note: flags.note,
          patch: {
            product: flags.product,
            courseId: flags.courseId,
            email: flags.email,
            phone: flags.phone,
            name: flags.name,
          },
        });
        if (flags.review !== undefined) input.reviewId = flags.review;
        const ref = parsePaymentRef(payment, flags.provider);
        const waitMs = flags.wait * 1000;
        await withOps(cmd, async (ops) => {
          const result = await resolvePayment(ops, ref, input, waitMs);
          io.stdout(flags.json ? json(result) : renderResolve(result, waitMs));
          return exitCodeOf(result);
        });
      },
    );

  program
    .command('retry-all')
    .description(
      'send one decision to every payment in review matching a visibility query (dry run unless --yes)',
    )
    .option(
      '--query <query>',
      'visibility query, combined with ExecutionStatus="Running"',
      NEEDS_REVIEW_QUERY,
    )
    .option('--action <action>', `${BULK_ACTIONS.join(' or ')} (abort is never done in bulk)`, 'retry')
    .requiredOption('--reviewer <who>', 'who decides (kept in each review history)')
    .requiredOption('--note <text>', 'why (kept in each review history)')
    .option('--step <step>', `only reviews at this step (${STEP_NAMES.join('|')})`, step)
    .option('--reason <text>', 'only reviews whose reason contains this text, e.g. "error 190"')
    .option('--yes', 'really send; without it nothing is sent')
    .option('--concurrency <n>', 'signals in flight at once', positiveInt('--concurrency', 32), 4)
    .option(
      '--limit <n>',
      'refuse when more workflows than this match',
      positiveInt('--limit', 100_000),
      1000,
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        flags: JsonFlag & {
          query: string;
          action: string;
          reviewer: string;
          note: string;
          step?: StepName;
          reason?: string;
          yes?: boolean;
          concurrency: number;
          limit: number;
        },
        cmd: Command,
      ) => {
        const input = buildResolveInput(flags, BULK_ACTIONS);
        if (!flags.query.trim()) throw new UsageError('--query must not be empty');
        await withOps(cmd, async (ops) => {
          const result = await retryAll(ops, {
            query: flags.query,
            input,
            step: flags.step,
            reasonContains: flags.reason,
            yes: Boolean(flags.yes),
            concurrency: flags.concurrency,
            limit: flags.limit,
          });
          io.stdout(flags.json ? json(result) : renderRetryAll(result));
          return exitCodeOfRetryAll(result);
        });
      },
    );

  program
    .command('reconcile')
    .description(
      "list the provider's payments and refunds (Stripe: also disputes and ended subscriptions) in a window and start what no webhook started (dry run unless --yes)",
    )
    .requiredOption('--provider <provider>', `the provider (${providerNames.join('|')})`, provider)
    .requiredOption(
      '--since <time>',
      'window start: ISO 8601 time or an age (90m, 6h, 2d)',
      parseTime('--since', io.now()),
    )
    .option('--until <time>', 'window end (default: now)', parseTime('--until', io.now()))
    .option('--yes', 'really start them; without it nothing is started')
    .option('--json', 'machine-readable output')
    .action(
      async (
        flags: JsonFlag & { provider: PaymentProvider; since: Date; until?: Date; yes?: boolean },
        cmd: Command,
      ) => {
        const taskQueue = loadTemporalConfig(io.env).TEMPORAL_TASK_QUEUE;
        await withOps(cmd, async (ops) => {
          const report = await reconcile(
            ops,
            {
              provider: flags.provider,
              since: flags.since,
              until: flags.until ?? io.now(),
              yes: Boolean(flags.yes),
              taskQueue,
            },
            io.now(),
            (workflowId) => {
              if (!flags.json) io.stderr(`running ${workflowId} (stopping this command leaves it running)\n`);
            },
          );
          io.stdout(flags.json ? json(report) : renderReconcile(report));
          return EXIT_OK;
        });
      },
    );

  program
    .command('catalog')
    .description('the course catalog (CATALOG_PATH)')
    .command('check')
    .description('validate a catalog file and print what it sells: products, courses, prices, provider ids')
    .argument('[file]', 'catalog file, .yaml/.yml/.json (default: CATALOG_PATH, else catalog/sample.yaml)')
    .action((file: string | undefined) => {
      const catalog = checkCatalogFile(catalogPathOf(file, io.env));
      io.stdout(renderCatalog(catalog));
      setExit(EXIT_OK);
    });

  const payloadKeys = program
    .command('payload-keys')
    .description('the payload codec key ring (PAYLOAD_KEYS / PAYLOAD_KEY_ID) and its rotation');

  payloadKeys
    .command('new')
    .description('print a new PAYLOAD_KEYS entry, id:base64 of 32 random bytes (no Temporal needed)')
    .option('--id <id>', 'key id (default: k-YYYYMMDD, today in UTC)')
    .option('--json', 'machine-readable output')
    .action((flags: JsonFlag & { id?: string }) => {
      const key = newKey(flags.id, io.now());
      if (flags.json) {
        io.stdout(json(key));
      } else {
        io.stdout(`${key.entry}\n`);
        // On stderr, so `$(npm run ops -- payload-keys new)` captures the entry alone.
        io.stderr(NEW_KEY_NEXT_STEP);
      }
      setExit(EXIT_OK);
    });

  payloadKeys
    .command('usage')
    .description(
      'count the payloads in matching workflows by the key that sealed them; exit 1 if PAYLOAD_KEYS lacks one in use',
    )
    .option('--query <query>', 'visibility query', DEFAULT_USAGE_QUERY)
    .option('--limit <n>', 'read at most n workflows', positiveInt('--limit', 100_000), 1000)
    .option('--concurrency <n>', 'histories read at once', positiveInt('--concurrency', 32), 4)
    .option('--json', 'machine-readable output')
    .action(async (flags: JsonFlag & { query: string; limit: number; concurrency: number }, cmd: Command) => {
      if (!flags.query.trim()) throw new UsageError('--query must not be empty');
      await withOps(cmd, async (ops) => {
        const { query, limit, concurrency } = flags;
        const result = await keyUsage(ops, { query, limit, concurrency });
        io.stdout(flags.json ? json(result) : renderKeyUsage(result));
        return exitCodeOfKeyUsage(result);
      });
    });

  return program;
}

/**
 * Runs the CLI with user arguments (no `node script` prefix) and injected output; returns the exit code.
 * Never throws and never calls process.exit, so tests run it in-process.
 */
export async function runOps(
  argv: readonly string[],
  io: Pick<OpsIo, 'stdout' | 'stderr'> & Partial<OpsIo>,
): Promise<number> {
  const full: OpsIo = { env: process.env, now: () => new Date(), ...io };
  let exitCode = EXIT_OK;
  const program = buildProgram(full, (code) => (exitCode = code));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    // Commander has already printed the usage error (or the help, which exits 0).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    if (err instanceof OpsError) {
      full.stderr(`error: ${err.message}\n`);
      return err.exitCode;
    }
    const message = err instanceof Error ? err.message : String(err);
    full.stderr(`error: ${message}\n`);
    if (full.env.OPS_DEBUG && err instanceof Error) full.stderr(`${err.stack}\n`);
    else full.stderr('(unexpected: set OPS_DEBUG=1 for the stack trace)\n');
    return EXIT_FAILURE;
  }
}

async function main(): Promise<void> {
  process.exitCode = await runOps(process.argv.slice(2), processIo);
}

if (require.main === module) runMain(main);
