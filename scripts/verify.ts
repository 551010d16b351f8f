/**
 * `npm run verify`: the reliability suite at full size. Runs every attack scenario on a fresh system
 * of real processes, the hostile-input corpus, the fuzzers and the rotation checks, scans every log
 * for leaks, prints one figures table and exits non-zero if anything was lost, duplicated or leaked,
 * a fully refunded payment kept access (or had it revoked twice), or reconciliation missed a payment
 * whose webhooks were abandoned (or started one a webhook had).
 * With `--engine cluster` every scenario runs on the production engine (PostgreSQL, a process per
 * Temporal service) instead of the dev server, and three faults only a cluster has are added: kill -9
 * of a history node during the duplicate storm, a PostgreSQL crash and restart, a frontend restart.
 * Usage: npm run verify [-- --payments 200] [--engine cluster]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { refundRacingPayment, refundStorm, workerCrashDuringRevocation } from './reliability/money-back';
import { isReconciliationReport, reconciliationTable, webhookPathDown } from './reliability/reconciliation';
import {
  downstreamFaults,
  duplicateStorm,
  figuresTable,
  receiverCrash,
  reviewUnderLoad,
  scanLogs,
  type ScenarioReport,
  frontendRestart,
  historyNodeKill,
  postgresRestart,
  temporalRestart,
  workerCrash,
} from './reliability/scenarios';
import { ENGINES, parseEngine } from './temporal/engine';

const ROOT = path.resolve(__dirname, '..');

interface JestJson {
  numPassedTests: number;
  numFailedTests: number;
  testResults: Array<{ name: string; assertionResults: Array<{ status: string }> }>;
}

function runAdversarialSuites(): { hostile: number; fuzz: number; rotation: number; failed: number } {
  const out = path.join(os.tmpdir(), `enrollflow-verify-${process.pid}.json`);
  spawnSync(
    process.execPath,
    [
      require.resolve('jest/bin/jest'),
      'test/reliability/hostile',
      'test/reliability/fuzz',
      'test/reliability/rotation',
      '--json',
      `--outputFile=${out}`,
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const results = JSON.parse(fs.readFileSync(out, 'utf8')) as JestJson;
  const countIn = (word: string) =>
    results.testResults
      .filter((s) => s.name.includes(word))
      .reduce((n, s) => n + s.assertionResults.length, 0);
  return {
    hostile: countIn('hostile'),
    fuzz: countIn('fuzz'),
    rotation: countIn('rotation'),
    failed: results.numFailedTests,
  };
}

async function main() {
  const opts = new Command()
    .option(
      '--payments <n>',
      'payments per scenario (the duplicate storm and the webhook outage use this many, the others half; the refund scenarios refund half of theirs, the outage abandons half of its webhooks)',
      '200',
    )
    .option('--engine <engine>', `the Temporal the scenarios run on: ${ENGINES.join(' or ')}`, 'dev')
    .parse()
    .opts<{ payments: string; engine: string }>();
  const engine = parseEngine(opts.engine);
  const n = Number(opts.payments);
  const half = Math.max(10, Math.round(n / 2));
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'enrollflow-verify-bundle-'));
  const options = { bundleFile: path.join(bundleDir, 'workflow-bundle.js'), engine };

  const scenarios: Array<[string, () => Promise<ScenarioReport>]> = [
    ['duplicate storm', () => duplicateStorm(n, options)],
    ...(engine === 'cluster'
      ? ([
          ['duplicate storm, a history node killed (-9)', () => historyNodeKill(n, options)],
          ['PostgreSQL crash and restart', () => postgresRestart(half, options)],
          ['frontend restart', () => frontendRestart(half, options)],
        ] as Array<[string, () => Promise<ScenarioReport>]>)
      : []),
    ['downstream faults', () => downstreamFaults(half, options)],
    ['downstream faults (moodle)', () => downstreamFaults(half, { ...options, lms: 'moodle' })],
    ['worker crash', () => workerCrash(half, options)],
    ['temporal restart', () => temporalRestart(half, options)],
    ['receiver crash', () => receiverCrash(half, options)],
    ['manual review under load', () => reviewUnderLoad(half, options)],
    ['refund storm', () => refundStorm(half, options)],
    ['refund racing its payment', () => refundRacingPayment(half, options)],
    ['worker crash during revocation', () => workerCrashDuringRevocation(half, options)],
    ['webhook path down for a day', () => webhookPathDown(n, options)],
  ];
  const reports: ScenarioReport[] = [];
  for (const [name, runScenario] of scenarios) {
    process.stderr.write(`running ${name} ...\n`);
    const report = await runScenario();
    reports.push(report);
    process.stderr.write(
      `  ${report.completed}/${report.payments} completed, lost ${report.lost}, duplicated ${report.duplicated}, ` +
        (report.refunds
          ? `${report.refunds} refunds, access kept ${report.accessKept}, revoked twice ${report.revokedTwice}, `
          : '') +
        (isReconciliationReport(report)
          ? `${report.reconciled} of ${report.abandoned} abandoned started by reconciliation, ${report.healthyStarted} with webhooks healthy, `
          : '') +
        `${report.seconds} s\n`,
    );
  }
  const leaks = scanLogs(reports);
  for (const r of reports) fs.rmSync(r.dir, { recursive: true, force: true });
  fs.rmSync(bundleDir, { recursive: true, force: true });

  process.stderr.write('running hostile inputs, fuzzers and secret rotation ...\n');
  const adversarial = runAdversarialSuites();

  const sum = (f: (r: ScenarioReport) => number) => reports.reduce((s, r) => s + f(r), 0);
  const lost = sum((r) => r.lost);
  const duplicated = sum((r) => r.duplicated);
  const unmatched = sum((r) => r.unmatched);
  const accessKept = sum((r) => r.accessKept);
  const revokedTwice = sum((r) => r.revokedTwice);
  const outages = reports.filter(isReconciliationReport);
  const sumOutages = (f: (r: (typeof outages)[number]) => number) => outages.reduce((s, r) => s + f(r), 0);
  const problems = reports.flatMap((r) => r.problems.map((p) => `${r.scenario}: ${p}`));
  const summary = [
    ['payments sent', sum((r) => r.payments)],
    ['deliveries (incl. duplicates)', sum((r) => r.deliveries)],
    ['HTTP attempts (incl. redeliveries)', sum((r) => r.httpAttempts)],
    ['downstream faults injected', sum((r) => r.faultsInjected)],
    ['process crashes / restarts', sum((r) => r.crashes)],
    ['hostile inputs tried', adversarial.hostile],
    ['fuzz properties / rotation checks', `${adversarial.fuzz} / ${adversarial.rotation}`],
    ['workflows started', sum((r) => r.workflows)],
    ['course grants paid for', sum((r) => r.grants)],
    ['enrollments (LMS)', sum((r) => r.enrollments)],
    ['welcome messages (WhatsApp)', sum((r) => r.messages)],
    ['contacts (CRM)', sum((r) => r.contacts)],
    ['manual reviews resolved', sum((r) => r.reviewsResolved)],
    ['full refunds', sum((r) => r.refunds)],
    ['access workflows', sum((r) => r.accessWorkflows)],
    ['enrollments revoked', sum((r) => r.revoked)],
    ['payments whose webhooks were abandoned', sumOutages((r) => r.abandoned)],
    ['started by reconciliation', sumOutages((r) => r.reconciled)],
    ['started by reconciliation with webhooks healthy', sumOutages((r) => r.healthyStarted)],
    ['log leaks', leaks.length],
    ['lost', lost],
    ['duplicated', duplicated],
    ['enrolled without a matching payment', unmatched],
    ['access kept after full refund', accessKept],
    ['revoked twice', revokedTwice],
  ];
  console.log(`\n${figuresTable(reports)}\n`);
  if (outages.length) console.log(`${reconciliationTable(outages)}\n`);
  console.log('| figure | value |\n| --- | --- |');
  for (const [k, v] of summary) console.log(`| ${k} | ${v} |`);
  const failures = [
    ...problems,
    ...leaks,
    ...(adversarial.failed ? [`${adversarial.failed} hostile/fuzz/rotation tests failed`] : []),
  ];
  if (lost || duplicated || unmatched || accessKept || revokedTwice || failures.length) {
    console.log(`\nVERIFY FAILED\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `\nverify passed on ${engine === 'cluster' ? 'the Temporal cluster (PostgreSQL, 2 history nodes)' : 'the Temporal dev server'}: lost = 0, duplicated = 0, enrolled without a matching payment = 0, access kept after full refund = 0, revoked twice = 0 (${os.cpus().length} cores, Node ${process.version})`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
