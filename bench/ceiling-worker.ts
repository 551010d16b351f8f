/**
 * The paid-to-enrolled ceiling's worker: the bench workflows with no-op activities, on its own task
 * queue. The product's worker sets no WorkerOptions tuning (SDK defaults), so neither does this one;
 * it is started with the product worker's V8 flags (bench/system.ts).
 * Env: TEMPORAL_ADDRESS, BENCH_TASK_QUEUE, BENCH_BUNDLE (prebuilt bundle of bench/workflows.ts),
 * PAYLOAD_KEYS / PAYLOAD_KEY_ID: the product's codec, so the ceiling pays what the product pays to seal.
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadTemporalConfig, payloadKeyRing } from '../src/config';
import { dataConverter } from '../src/temporal/data-converter';
import { noopActivities } from './noop-activities';

async function main() {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.BENCH_TASK_QUEUE!,
    dataConverter: dataConverter(payloadKeyRing(loadTemporalConfig())),
    workflowBundle: { codePath: process.env.BENCH_BUNDLE! },
    activities: noopActivities,
  });
  console.log('ceiling worker polling');
  await worker.run();
  await connection.close();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
