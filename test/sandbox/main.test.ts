/**
 * The standalone entry point as an operator runs it: a real child process configured by env,
 * announcing itself as one JSON log line and stopping cleanly on SIGTERM.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { credentials } from './harness';

const root = path.resolve(__dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

function run(env: Record<string, string>): ChildProcessWithoutNullStreams {
  return spawn(tsx, ['src/sandbox/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}

function collect(child: ChildProcessWithoutNullStreams) {
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (out.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { out, exited };
}

async function firstLine(out: { stdout: string }, ms = 20_000): Promise<string> {
  const deadline = Date.now() + ms;
  while (!out.stdout.includes('\n')) {
    if (Date.now() > deadline) throw new Error('no log line from the sandbox');
    await new Promise((r) => setTimeout(r, 25));
  }
  return out.stdout.split('\n')[0]!;
}

describe('sandbox main entry point', () => {
  it('logs its URL as JSON, serves, and exits 0 on SIGTERM without logging secrets', async () => {
    const child = run({
      ...credentials,
      SANDBOX_PORT: '0',
      SANDBOX_SEED: '9',
      SANDBOX_FAULTS: '{"lms":{"failNext":1}}',
    });
    const { out, exited } = collect(child);
    try {
      const line = JSON.parse(await firstLine(out));
      expect(line).toMatchObject({
        level: 30,
        service: 'sandbox',
        msg: 'sandbox listening',
        seed: 9,
        faults: { lms: { failNext: 1 } },
      });
      expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(line.lms).toBe(`${line.url}/lms`);

      const health = await fetch(`${line.url}/healthz`);
      expect(health.status).toBe(200);
      const enroll = await fetch(`${line.url}/lms/api/enrollments`, {
        method: 'POST',
        headers: {
          'x-api-key': credentials.LMS_API_KEY,
          'idempotency-key': 'k',
          'content-type': 'application/json',
        },
        body: '{}',
      });
      expect(enroll.status).toBe(503);
    } finally {
      child.kill('SIGTERM');
    }

    expect(await exited).toBe(0);
    for (const secret of Object.values(credentials)) {
      if (secret !== credentials.WHATSAPP_PHONE_NUMBER_ID) expect(out.stdout).not.toContain(secret);
    }
    expect(out.stdout).toContain('"path":"/lms/api/enrollments","status":503');
  });

  it('exits 1 with a readable message naming the missing variables', async () => {
    const child = run({ LMS_API_KEY: 'visible-if-leaked' });
    const { out, exited } = collect(child);

    expect(await exited).toBe(1);
    expect(out.stderr).toContain('Invalid sandbox configuration');
    expect(out.stderr).toContain('HUBSPOT_REFRESH_TOKEN: HUBSPOT_REFRESH_TOKEN is required');
    expect(out.stderr).not.toContain('visible-if-leaked');
  });
});
