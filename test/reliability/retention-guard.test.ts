import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { NativeConnection } from '@temporalio/worker';
import { requireTemporalCli } from '../../scripts/temporal/binaries';
import { startDevServer, type DevServer } from '../../scripts/temporal/dev-server';
import { assertRetentionCoversRedelivery, RetentionTooShortError } from '../../src/temporal/retention-guard';
import { productNodeArgs } from '../../scripts/product-process';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');

let server: DevServer;
let cli: string;

beforeAll(async () => {
  cli = requireTemporalCli();
  server = await startDevServer({ cliPath: cli, headless: true });
}, 90_000);
afterAll(() => server?.stop());

const setRetention = (retention: string) =>
  run(cli, [
    'operator',
    'namespace',
    'update',
    '--address',
    server.address,
    '--namespace',
    'default',
    '--retention',
    retention,
  ]);

function runWorker(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, productNodeArgs('src/worker.ts'), {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        WORKER_METRICS_PORT: '0',
        TEMPORAL_SDK_METRICS_PORT: '0',
        TEMPORAL_ADDRESS: server.address,
        LMS_BASE_URL: 'http://127.0.0.1:9/lms',
        LMS_API_KEY: 'k',
        WHATSAPP_PHONE_NUMBER_ID: '1',
        WHATSAPP_ACCESS_TOKEN: 't',
        HUBSPOT_CLIENT_ID: 'c',
        HUBSPOT_CLIENT_SECRET: 's',
        HUBSPOT_REFRESH_TOKEN: 'r',
        RAZORPAY_KEY_ID: 'k',
        RAZORPAY_KEY_SECRET: 's',
        STRIPE_API_KEY: 'sk_test_x',
        CATALOG_PATH: 'catalog/sample.yaml',
        ...newPayloadKeyEnv(),
        ...env,
      },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('retention guard', () => {
  it('accepts the dev server retention set by our scripts (30 days) against the 15-day horizon', async () => {
    const connection = await NativeConnection.connect({ address: server.address });
    try {
      await expect(assertRetentionCoversRedelivery(connection, 'default', 360)).resolves.toEqual({
        retentionHours: 720,
      });
    } finally {
      await connection.close();
    }
  });

  it('refuses to start a worker when retention is shorter than the redelivery horizon, and says how to fix it', async () => {
    await setRetention('24h');
    try {
      const { code, output } = await runWorker({ REDELIVERY_HORIZON_HOURS: '72' });
      expect(code).toBe(1);
      expect(output).toContain('Namespace "default" keeps closed workflows for 24 h');
      expect(output).toContain('redelivered for up to 72 h');
      expect(output).toContain('temporal operator namespace update --namespace default --retention 144h');
      expect(output).not.toContain('worker polling');
    } finally {
      await setRetention('720h');
    }
  }, 60_000);

  it('names the error type so callers can tell it from a connection failure', async () => {
    const fake = {
      workflowService: {
        describeNamespace: async () => ({ config: { workflowExecutionRetentionTtl: { seconds: 3600 } } }),
      },
    };
    await expect(assertRetentionCoversRedelivery(fake as never, 'ns', 2)).rejects.toBeInstanceOf(
      RetentionTooShortError,
    );
  });
});
