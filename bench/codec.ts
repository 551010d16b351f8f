/**
 * What the payload codec costs a payment: the sealed payloads of real payments' histories (as the
 * worker replays them) opened, then sealed and opened again in a loop, in this process. Seal + open is
 * what a payload costs at least once in its life (the process that writes it seals, the worker or a
 * client that reads it opens); a worker that replays a history opens its payloads again.
 */
import type { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { sealedPayloads } from '../src/ops/payload-keys';
import { AesGcmPayloadCodec, type PayloadKeyRing } from '../src/temporal/payload-codec';

export interface CodecCost {
  /** Histories read. */
  payments: number;
  /** Sealed payloads per payment history, and their plaintext bytes. */
  payloadsPerPayment: number;
  bytesPerPayment: number;
  /** One payment's payloads sealed and opened once, µs (one figure per repetition). */
  microsPerPayment: number[];
}

const ITERATIONS = 400;

export async function codecCost(
  client: Client,
  ring: PayloadKeyRing,
  workflowIds: string[],
  reps: number,
): Promise<CodecCost> {
  const codec = new AesGcmPayloadCodec(ring);
  const perPayment: Payload[][] = [];
  if (workflowIds.length === 0) throw new Error('codec cost: no payment of ours to read');
  for (const workflowId of workflowIds) {
    const events: unknown[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await client.workflowService.getWorkflowExecutionHistory({
        namespace: client.options.namespace,
        execution: { workflowId },
        nextPageToken,
      });
      events.push(...(page.history?.events ?? []));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    perPayment.push(await codec.decode(sealedPayloads(events)));
  }
  const all = perPayment.flat();
  const roundTrip = async () => codec.decode(await codec.encode(all));
  for (let i = 0; i < 20; i++) await roundTrip();
  const microsPerPayment: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) await roundTrip();
    const micros = Number(process.hrtime.bigint() - started) / 1000;
    microsPerPayment.push(micros / ITERATIONS / perPayment.length);
  }
  return {
    payments: perPayment.length,
    payloadsPerPayment: all.length / perPayment.length,
    bytesPerPayment: all.reduce((n, p) => n + (p.data?.length ?? 0), 0) / perPayment.length,
    microsPerPayment,
  };
}
