import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { KeyUsageResult } from '../../src/ops/payload-keys';
import { newPayloadKeyEnv, parsePayloadKeys } from '../../src/temporal/payload-codec';
import { eventually } from '../helpers/eventually';
import { useSystem } from '../helpers/system';
import {
  LmsBlocks,
  opsEnv,
  opsRunner,
  payIntoReview,
  runOpsWith,
  type OpsRun,
  type TestPayment,
} from './support';

/**
 * `payload-keys new` needs nothing but a clock; `payload-keys usage` reads the raw histories of a real
 * system, whose receiver and worker seal under key e2e-1, plus one workflow started without the codec.
 */
const system = useSystem();

const ops = (env: NodeJS.ProcessEnv, argv: string[], now = new Date()): Promise<OpsRun> =>
  runOpsWith(env, argv, now);

/** The cells of a table row whose first cell is `label`. */
function row(stdout: string, label: string): string[] | undefined {
  return stdout
    .split('\n')
    .map((line) => line.split(/\s{2,}/))
    .find((cells) => cells[0] === label);
}

describe('payload-keys new', () => {
  // Late evening in New York is already the next day in UTC.
  const evening = new Date('2025-03-01T23:30:00-05:00');

  it('prints one ring entry named after the UTC day, and what to do with it on stderr', async () => {
    const run = await ops({}, ['payload-keys', 'new'], evening);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^k-20250302:[A-Za-z0-9+/]{43}=\n$/);
    const ring = parsePayloadKeys(run.stdout.trim(), undefined);
    expect(ring.activeKeyId).toBe('k-20250302');
    expect(ring.keys.get('k-20250302')).toHaveLength(32);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/PAYLOAD_KEYS everywhere.*PAYLOAD_KEY_ID.*#payload-keys-rotated/);

    const again = await ops({}, ['payload-keys', 'new'], evening);
    expect(again.stdout).not.toBe(run.stdout);
  });

  it('takes an --id, and refuses one the ring would refuse', async () => {
    const named = await ops({}, ['payload-keys', 'new', '--id', 'spring.2025_b-1']);
    expect(named.code).toBe(0);
    expect(parsePayloadKeys(named.stdout, 'spring.2025_b-1').keys.size).toBe(1);

    for (const id of ['two words', 'k:1', 'x'.repeat(65)]) {
      const bad = await ops({}, ['payload-keys', 'new', '--id', id]);
      expect(bad).toEqual({
        code: 2,
        stdout: '',
        stderr: 'error: --id must be 1 to 64 letters, digits, dots, dashes or underscores\n',
      });
    }
  });

  it('--json gives the id and the entry', async () => {
    const run = await ops({}, ['payload-keys', 'new', '--json'], evening);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const parsed = JSON.parse(run.stdout) as { id: string; entry: string };
    expect(Object.keys(parsed).sort()).toEqual(['entry', 'id']);
    expect(parsed.id).toBe('k-20250302');
    expect(parsePayloadKeys(parsed.entry, parsed.id).activeKeyId).toBe('k-20250302');
  });
});

describe('payload-keys usage', () => {
  let payment: TestPayment;
  let run: ReturnType<typeof opsRunner>;

  beforeAll(async () => {
    run = opsRunner(system);
    payment = await payIntoReview(system, new LmsBlocks(system));
  }, 30_000);

  it('counts the running workflows sealed under e2e-1, the active key', async () => {
    const all = await run('payload-keys', 'usage');
    expect(all.code).toBe(0);
    expect(all.stdout.split('\n')[0]).toMatch(/^KEY ID\s+WORKFLOWS\s+PAYLOADS\s+IN PAYLOAD_KEYS$/);
    const [, workflows, payloads, inRing] = row(all.stdout, 'e2e-1')!;
    expect(Number(workflows)).toBeGreaterThanOrEqual(1);
    expect(Number(payloads)).toBeGreaterThanOrEqual(1);
    expect(inRing).toBe('active');
    expect(all.stdout).toMatch(
      /^Scanned \d+ workflows matching ExecutionStatus = "Running": all of them\.$/m,
    );

    // The payment's own history: sealed throughout (search attributes and headers are not payloads a codec sees).
    const one = await run(
      'payload-keys',
      'usage',
      '--query',
      `WorkflowId = "${payment.workflowId}"`,
      '--json',
    );
    expect(one.code).toBe(0);
    const result = JSON.parse(one.stdout) as KeyUsageResult;
    expect(result).toMatchObject({ scanned: 1, limitReached: false, activeKeyId: 'e2e-1', missing: [] });
    expect(result.keys).toEqual([
      { keyId: 'e2e-1', workflows: 1, payloads: expect.any(Number), inRing: 'active' },
    ]);
    expect(result.unencrypted).toEqual({ workflows: 0, payloads: 0 });
  });

  it('counts payloads written without the codec as unencrypted, and says when --limit cut the scan', async () => {
    const connection = await Connection.connect({ address: system.temporal.address });
    const plain = new Client({ connection });
    const workflowId = `payload-keys-plain-${randomUUID()}`;
    // No worker polls this queue: the workflow stays running with its input as the client wrote it.
    const handle = await plain.workflow.start('enrollflow-unknown-type', {
      workflowId,
      taskQueue: `payload-keys-nobody-${randomUUID()}`,
      args: [{ note: 'written without the codec' }],
    });
    try {
      const query = `WorkflowId = "${workflowId}" OR WorkflowId = "${payment.workflowId}"`;
      await eventually(async () => (await plain.workflow.count(query)).count === 2, 15_000, 100);
      const both = await run('payload-keys', 'usage', '--query', query);
      expect(both.code).toBe(0);
      expect(row(both.stdout, '(unencrypted)')).toEqual(['(unencrypted)', '1', '1', '-']);
      expect(row(both.stdout, 'e2e-1')?.slice(1, 2)).toEqual(['1']);

      const cut = await run('payload-keys', 'usage', '--query', query, '--limit', '1', '--json');
      // A cut scan cannot clear a key for removal: it exits 1 like a missing key.
      expect(cut.code).toBe(1);
      expect(JSON.parse(cut.stdout)).toMatchObject({ scanned: 1, limitReached: true });
      const cutText = await run('payload-keys', 'usage', '--query', query, '--limit', '1');
      expect(cutText.stdout).toContain('--limit cut the scan short, more match.');
    } finally {
      await handle.terminate('payload-keys test done').catch(() => undefined);
      await connection.close();
    }
  });

  it('exits 1 naming a key in use that PAYLOAD_KEYS lacks, and lists ring keys no workflow uses', async () => {
    const query = `WorkflowId = "${payment.workflowId}"`;
    const env = { ...opsEnv(system), ...newPayloadKeyEnv('other') };
    const lacking = await ops(env, ['payload-keys', 'usage', '--query', query]);
    expect(lacking.code).toBe(1);
    expect(row(lacking.stdout, 'e2e-1')?.slice(1)).toEqual(['1', expect.stringMatching(/^\d+$/), 'NO']);
    expect(row(lacking.stdout, 'other')).toEqual(['other', '0', '0', 'active']);
    expect(lacking.stdout).toContain('Not in PAYLOAD_KEYS: e2e-1. The worker cannot replay those workflows');
    const json = JSON.parse((await ops(env, ['payload-keys', 'usage', '--query', query, '--json'])).stdout);
    expect(json.missing).toEqual(['e2e-1']);

    const spare = newPayloadKeyEnv('spare').PAYLOAD_KEYS;
    const withSpare = await ops(
      { ...opsEnv(system), PAYLOAD_KEYS: `${system.env.PAYLOAD_KEYS},${spare}`, PAYLOAD_KEY_ID: 'e2e-1' },
      ['payload-keys', 'usage', '--query', query],
    );
    expect(withSpare.code).toBe(0);
    expect(row(withSpare.stdout, 'spare')).toEqual(['spare', '0', '0', 'yes']);
  });

  it('refuses an invalid query with exit 2, in one line', async () => {
    const bad = await run('payload-keys', 'usage', '--query', 'NoSuchAttribute ===');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^error: invalid visibility query NoSuchAttribute ===: .+\n$/);
  });
});
