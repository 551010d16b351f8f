/**
 * The paid-to-enrolled ceiling's worker: the bench workflows with no-op activities, on its own task
 * queue, with exactly the worker settings the product's worker uses (`enrollmentWorkerTuning`).
 * Env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_BUNDLE (prebuilt bundle of bench/workflows.ts).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { noopActivities } from './noop-activities';
import { workerTuningForBench } from './tuning';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.BENCH_TASK_QUEUE!,
    workflowBundle: { codePath: process.env.BENCH_BUNDLE! },
    activities: noopActivities,
    ...workerTuningForBench(),
  });
  console.log('ceiling worker polling');
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
