/**
 * Prebuilds the workflow bundle so workers start without running webpack: used by the Docker image
 * and by tests that restart workers. Usage: tsx scripts/bundle-workflows.ts [out file]
 */
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_TRACING_MODULE } from '../src/observability/tracing';
import { FAILURE_CONVERTER_PATH } from '../src/temporal/data-converter';

export async function writeWorkflowBundle(outFile: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../src/workflows'),
    // The worker's failure converter, inside the sandbox too: a workflow's own failures are sealed.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    // A worker given this bundle ignores its own interceptor modules: tracing must be in here, and
    // costs an untraced workflow nothing (src/workflows/tracing.ts).
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
  });
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, code);
  return outFile;
}

if (require.main === module) {
  const out = path.resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  writeWorkflowBundle(out).then(
    (file) => console.log(`workflow bundle written to ${file}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
