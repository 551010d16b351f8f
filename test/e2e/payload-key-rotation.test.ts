import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { payloadKeyRing } from '../../src/config';
import { dataConverter } from '../../src/temporal/data-converter';
import {
  AesGcmPayloadCodec,
  KEY_ID_METADATA,
  newPayloadKeyEnv,
  parsePayloadKeys,
  PayloadKeyError,
} from '../../src/temporal/payload-codec';
import { resolveReviewSignal, statusQuery } from '../../src/workflows/messages';
import { useSystem, sameEmail } from '../helpers/system';
import { LmsBlocks, payIntoReview, resultOf } from '../ops/support';

/**
 * A payload key rotated while a payment waits in review, as docs/operations.md ("Payload keys
 * rotated") says to do it: the new key joins every ring first, then becomes the one that seals. The
 * worker, restarted with the new ring, replays the history written under the old key, the payment
 * completes, and its history holds payloads under both keys, each still readable through the ring.
 */
const system = useSystem();

/** Every payload in a raw (undecoded) history, wherever the event carries it. */
function payloadsIn(node: unknown, found: Payload[] = []): Payload[] {
  if (Array.isArray(node)) node.forEach((n) => payloadsIn(n, found));
  else if (node && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (record.metadata && typeof record.metadata === 'object' && record.data instanceof Uint8Array) {
      found.push(record);
    }
    Object.values(record).forEach((v) => payloadsIn(v, found));
  }
  return found;
}

const keyIdOf = (p: Payload) => {
  const id = p.metadata?.[KEY_ID_METADATA];
  return id ? Buffer.from(id).toString() : 'unencrypted';
};

it('payloads sealed under the old key still decode after the switch, and the payment completes', async () => {
  const old = { PAYLOAD_KEYS: system.env.PAYLOAD_KEYS!, PAYLOAD_KEY_ID: system.env.PAYLOAD_KEY_ID! };
  expect(old.PAYLOAD_KEY_ID).toBe('e2e-1');
  const blocks = new LmsBlocks(system);
  const payment = await payIntoReview(system, blocks);

  // Step 1: every process gets the new key in its ring; the old one still seals.
  const added = newPayloadKeyEnv('e2e-2').PAYLOAD_KEYS;
  const both = `${old.PAYLOAD_KEYS},${added}`;
  await system.restartWorker({ PAYLOAD_KEYS: both, PAYLOAD_KEY_ID: 'e2e-1' });
  // Step 2: the new key seals. The restarted worker has no cached workflow: it replays the history.
  await system.restartWorker({ PAYLOAD_KEYS: both, PAYLOAD_KEY_ID: 'e2e-2' });
  const ring = payloadKeyRing({ PAYLOAD_KEYS: both, PAYLOAD_KEY_ID: 'e2e-2' });
  const client = new Client({ connection: system.client.connection, dataConverter: dataConverter(ring) });

  const handle = client.workflow.getHandle(payment.workflowId);
  const status = await handle.query(statusQuery);
  expect(status.openReview?.id).toBeDefined();
  await handle.signal(resolveReviewSignal, {
    reviewId: status.openReview!.id!,
    action: 'retry',
    reviewer: 'oncall@example.com',
    note: 'LMS fixed',
  });
  await blocks.unblockAll();
  expect(await handle.result()).toMatchObject({ outcome: 'completed' });
  expect((await system.ledger()).enrollments.filter((e) => sameEmail(e.email, payment.email))).toHaveLength(
    1,
  );

  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace: 'default',
    execution: { workflowId: payment.workflowId },
  });
  const payloads = payloadsIn(history?.events);
  // Search attributes (the server indexes them) and the SDK's patch markers stay clear by design; they
  // carry ids and states, never the student.
  const clear = payloads.filter((p) => keyIdOf(p) === 'unencrypted');
  expect(clear.map((p) => Buffer.from(p.data ?? []).toString()).join('\n')).not.toContain(payment.email);
  const byKey = new Set(payloads.filter((p) => !clear.includes(p)).map(keyIdOf));
  expect([...byKey].sort()).toEqual(['e2e-1', 'e2e-2']);

  // Every payload, whichever key sealed it, opens with the rotated ring; the input names the student.
  const codec = new AesGcmPayloadCodec(ring);
  const opened = await codec.decode(payloads);
  expect(
    opened.some((p) =>
      Buffer.from(p.data ?? [])
        .toString()
        .includes(payment.email),
    ),
  ).toBe(true);

  // Dropping the old key too early: its payloads no longer open, and the error names the key.
  const newOnly = new AesGcmPayloadCodec(parsePayloadKeys(added, 'e2e-2'));
  const sealedUnderOld = payloads.find((p) => keyIdOf(p) === 'e2e-1')!;
  await expect(newOnly.decode([sealedUnderOld])).rejects.toThrow(PayloadKeyError);
  await expect(newOnly.decode([sealedUnderOld])).rejects.toThrow(/key e2e-1/);
  // A process left out of step 1 (the system's own client, old ring) cannot read what the new key
  // sealed: why the runbook has every process take the key before any of them seals with it.
  await expect(resultOf(system, payment.workflowId)).rejects.toThrow(/key e2e-2/);
}, 120_000);
