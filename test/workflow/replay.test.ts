import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkflowBundle } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { WORKFLOW_TRACING_MODULE } from '../../src/observability/tracing';
import { dataConverter, FAILURE_CONVERTER_PATH } from '../../src/temporal/data-converter';
import { newPayloadKeyEnv, parsePayloadKeys } from '../../src/temporal/payload-codec';

/**
 * Workflows already running when a new version is deployed are replayed by the new code, which must
 * issue the same commands for the events they already have, or they stop with a non-determinism
 * error. These histories were recorded (test/workflow/record-histories.ts) from earlier versions of
 * the workflow, including ones still waiting in review; the current code must replay every one, with
 * the worker's data converter: histories written before the payload codec hold clear payloads, which
 * the codec passes through, and failures without encoded attributes.
 */
const DIR = path.join(__dirname, 'histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
const historyOf = (file: string): History =>
  historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')));

let workflowBundle: WorkflowBundle;
const workerConverter = dataConverter(parsePayloadKeys(newPayloadKeyEnv().PAYLOAD_KEYS, undefined));
beforeAll(async () => {
  workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    // As the worker bundles them: a history recorded before tracing replays through its interceptors.
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    logger: new DefaultLogger('WARN'),
  });
}, 120_000);

describe('replaying recorded histories on the current workflow code', () => {
  it('has histories from each recorded version, in flight and finished', () => {
    expect(files.some((f) => f.startsWith('v1-') && f.includes('in-review'))).toBe(true);
    expect(files.some((f) => f.startsWith('v2-') && f.includes('in-review'))).toBe(true);
    expect(files.some((f) => f.startsWith('v4-') && f.includes('in-review'))).toBe(true);
    expect(files.some((f) => f.startsWith('v4-') && f.includes('purchase-review'))).toBe(true);
    expect(files).toContain('v5-part-paid-recheck.json');
    expect(files).toContain('v6-money-back.json');
    // Access workflows (refunds, disputes) in flight and finished.
    expect(files).toContain('v6-access-dispute-open.json');
    expect(files).toContain('v6-access-refund.json');
    // Reconciliation: a scheduled run paged (one page throttled), and a long window continued as new.
    expect(files).toContain('v7-reconcile-pages.json');
    expect(files).toContain('v7-reconcile-continued.json');
  });

  it("bundles no zod: the SDK evaluates a workflow's modules again for every workflow it creates", () => {
    // Schema construction per workflow cost the worker ~a third more CPU per payment (docs/benchmarks.md).
    expect(workflowBundle.code).not.toMatch(/node_modules\/zod\//);
  });

  it.each(files)('replays %s', async (file) => {
    await Worker.runReplayHistory({ workflowBundle, dataConverter: workerConverter }, historyOf(file), file);
  });

  it('notices a history the code no longer matches (the check can fail)', async () => {
    // As if an earlier version had called the LMS activity by another name.
    const history = historyOf('v1-completed.json');
    const events = history.events!.map((e) =>
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'enrollStudent'
        ? {
            ...e,
            activityTaskScheduledEventAttributes: {
              ...e.activityTaskScheduledEventAttributes,
              activityType: { name: 'enrollStudentV0' },
            },
          }
        : e,
    );
    const replay = Worker.runReplayHistory({ workflowBundle }, { ...history, events }, 'renamed');
    await expect(replay).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
