/**
 * `payload-keys new` and `payload-keys usage`: the two steps of a payload key rotation an operator
 * cannot do by editing the environment alone. `new` makes a ring entry (no Temporal needed); `usage`
 * reads the raw histories in Temporal and counts which key sealed each payload, to know when an old
 * key can leave PAYLOAD_KEYS. Runbook: docs/operations.md#payload-keys-rotated.
 */
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { ENCRYPTED_ENCODING, isValidKeyId, KEY_ID_METADATA, newPayloadKey } from '../temporal/payload-codec';
import type { OpsConnection } from './connect';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, OpsError, UsageError } from './errors';
import { table } from './format';
import { grpcMessage, isGrpcInvalidArgument, isGrpcNotFound } from './grpc';
import { mapWithConcurrency } from './pool';

export const KEY_ID_RULE = '1 to 64 letters, digits, dots, dashes or underscores';

export interface NewKey {
  id: string;
  /** `id:base64`, as PAYLOAD_KEYS lists it. */
  entry: string;
}

/** `k-YYYYMMDD` (UTC): says when the key was made, which tells the operator which key is the older. */
export const defaultKeyId = (now: Date): string => `k-${now.toISOString().slice(0, 10).replace(/-/g, '')}`;

export function newKey(id: string | undefined, now: Date): NewKey {
  const keyId = id ?? defaultKeyId(now);
  if (!isValidKeyId(keyId)) throw new UsageError(`--id must be ${KEY_ID_RULE}`);
  return { id: keyId, entry: `${keyId}:${newPayloadKey()}` };
}

export const NEW_KEY_NEXT_STEP =
  'Add it to PAYLOAD_KEYS everywhere, keep PAYLOAD_KEY_ID, deploy; then switch PAYLOAD_KEY_ID (docs/operations.md#payload-keys-rotated)\n';

/**
 * A running workflow replays its whole history on any worker, so every key it was written under
 * must stay in the ring until it closes.
 */
export const DEFAULT_USAGE_QUERY = 'ExecutionStatus = "Running"';

export interface UsageOptions {
  query: string;
  limit: number;
  concurrency: number;
}

export type InRing = 'active' | 'yes' | 'NO';

export interface KeyUsage {
  keyId: string;
  workflows: number;
  payloads: number;
  inRing: InRing;
}

export interface KeyUsageResult {
  query: string;
  activeKeyId: string;
  /** Workflows whose history was read. */
  scanned: number;
  /** More workflows matched than --limit: the counts are a lower bound. */
  limitReached: boolean;
  /** Every key in use and every key of the ring, in use or not. */
  keys: KeyUsage[];
  unencrypted: { workflows: number; payloads: number };
  /** Key ids in use that PAYLOAD_KEYS lacks: the worker cannot replay those workflows. */
  missing: string[];
}

export interface PayloadShape {
  metadata: Record<string, Uint8Array>;
  data?: Uint8Array;
}

/** A temporal.api.common.v1.Payload as the raw gRPC answer carries it (bytes metadata, a data field). */
function isPayload(value: object): value is PayloadShape {
  const { metadata } = value as { metadata?: unknown };
  return (
    'data' in value &&
    typeof metadata === 'object' &&
    metadata !== null &&
    !Array.isArray(metadata) &&
    Object.values(metadata).every((v) => v instanceof Uint8Array)
  );
}

/**
 * Fields whose payloads no codec ever sees: the server indexes search attributes, and the SDK hands
 * headers over as they are. Counting them would call every workflow partly unencrypted.
 */
const NEVER_ENCODED = new Set(['searchAttributes', 'header']);

/**
 * Markers (patches, local activities) carry the SDK core's own bookkeeping, written in clear below
 * the codec; a sealed payload in one (a local activity's result) still needs its key.
 */
const MARKER = 'markerRecordedEventAttributes';

type Visit = (payload: PayloadShape, inMarker: boolean) => void;

/** Walks any event generically, so a payload in an event type added later is counted too. */
function visitPayloads(value: unknown, visit: Visit, inMarker = false): void {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    for (const item of value) visitPayloads(item, visit, inMarker);
    return;
  }
  if (isPayload(value)) {
    visit(value, inMarker);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (!NEVER_ENCODED.has(key)) visitPayloads(child, visit, inMarker || key === MARKER);
  }
}

const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes ? Buffer.from(bytes).toString() : undefined;

/** The key id a payload was sealed under, or undefined when it is not sealed. */
function sealedUnder(payload: PayloadShape): string | undefined {
  if (text(payload.metadata[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return undefined;
  // The codec cannot open a sealed payload without an id either: it counts as a key the ring lacks.
  return text(payload.metadata[KEY_ID_METADATA]) ?? '(none)';
}

/** Every sealed payload in raw history events: what a worker opens when it replays them (the bench). */
export function sealedPayloads(events: unknown): PayloadShape[] {
  const found: PayloadShape[] = [];
  visitPayloads(events, (payload) => {
    if (sealedUnder(payload) !== undefined) found.push(payload);
  });
  return found;
}

const UNENCRYPTED = Symbol('unencrypted');
type Tally = Map<string | typeof UNENCRYPTED, number>;

interface Execution {
  workflowId: string;
  runId?: string;
}

/** Payloads per key id in one workflow's history, read page by page, raw (no codec decodes it). */
async function tallyHistory(ops: OpsConnection, execution: Execution): Promise<Tally | undefined> {
  const tally: Tally = new Map();
  let nextPageToken: Uint8Array | undefined;
  do {
    let response;
    try {
      response = await ops.client.workflowService.getWorkflowExecutionHistory({
        namespace: ops.namespace,
        execution,
        nextPageToken,
      });
    } catch (err) {
      // Deleted since it was listed (retention): nothing left that needs a key.
      if (isGrpcNotFound(err)) return undefined;
      throw new OpsError(`could not read the history of ${execution.workflowId}: ${grpcMessage(err)}`);
    }
    visitPayloads(response.history?.events ?? [], (payload, inMarker) => {
      const key = sealedUnder(payload) ?? UNENCRYPTED;
      if (key === UNENCRYPTED && inMarker) return;
      tally.set(key, (tally.get(key) ?? 0) + 1);
    });
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
  } while (nextPageToken);
  return tally;
}

/**
 * Listed through the raw service rather than `client.workflow.list`, which decodes each memo: a memo
 * sealed under a key the ring lacks would stop the very scan meant to find such keys.
 */
async function listExecutions(
  ops: OpsConnection,
  query: string,
  limit: number,
): Promise<{ executions: Execution[]; more: boolean }> {
  const executions: Execution[] = [];
  let nextPageToken: Uint8Array | undefined;
  try {
    do {
      const response = await ops.client.workflowService.listWorkflowExecutions({
        namespace: ops.namespace,
        query,
        pageSize: Math.min(limit + 1, 1000),
        nextPageToken,
      });
      for (const info of response.executions ?? []) {
        if (executions.length === limit) return { executions, more: true };
        const workflowId = info.execution?.workflowId;
        if (workflowId) executions.push({ workflowId, runId: info.execution?.runId ?? undefined });
      }
      nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
    } while (nextPageToken);
  } catch (err) {
    if (isGrpcInvalidArgument(err)) {
      throw new OpsError(`invalid visibility query ${query}: ${grpcMessage(err)}`, EXIT_USAGE);
    }
    throw new OpsError(`could not list workflows: ${grpcMessage(err)}`);
  }
  return { executions, more: false };
}

export async function keyUsage(ops: OpsConnection, options: UsageOptions): Promise<KeyUsageResult> {
  const { executions, more } = await listExecutions(ops, options.query, options.limit);
  const tallies = await mapWithConcurrency(executions, options.concurrency, (e) => tallyHistory(ops, e));

  const ring = ops.payloadKeys;
  const byKey = new Map<string, { workflows: number; payloads: number }>();
  for (const id of ring.keys.keys()) byKey.set(id, { workflows: 0, payloads: 0 });
  const unencrypted = { workflows: 0, payloads: 0 };
  let scanned = 0;
  for (const tally of tallies) {
    if (!tally) continue;
    scanned += 1;
    for (const [key, payloads] of tally) {
      const counts =
        key === UNENCRYPTED
          ? unencrypted
          : (byKey.get(key) ?? byKey.set(key, { workflows: 0, payloads: 0 }).get(key)!);
      counts.workflows += 1;
      counts.payloads += payloads;
    }
  }

  const keys = [...byKey]
    .map(([keyId, counts]): KeyUsage => {
      const inRing: InRing = keyId === ring.activeKeyId ? 'active' : ring.keys.has(keyId) ? 'yes' : 'NO';
      return { keyId, ...counts, inRing };
    })
    .sort((a, b) => a.keyId.localeCompare(b.keyId));
  return {
    query: options.query,
    activeKeyId: ring.activeKeyId,
    scanned,
    limitReached: more,
    keys,
    unencrypted,
    missing: keys.filter((k) => k.inRing === 'NO').map((k) => k.keyId),
  };
}

/** Not 0 when a key in use is missing, or when the scan did not see everything: no key may go then. */
export const exitCodeOfKeyUsage = (result: KeyUsageResult): number =>
  result.missing.length > 0 || result.limitReached ? EXIT_FAILURE : EXIT_OK;

interface Row {
  label: string;
  workflows: number;
  payloads: number;
  inRing: string;
}

export function renderKeyUsage(result: KeyUsageResult): string {
  const rows: Row[] = [
    ...result.keys.map((k) => ({ label: k.keyId, ...k })),
    // In parentheses: a key id cannot hold them, so this row never reads as a key named so.
    { label: '(unencrypted)', ...result.unencrypted, inRing: '-' },
  ];
  const lines = [
    table(rows, [
      { header: 'KEY ID', value: (r) => r.label },
      { header: 'WORKFLOWS', value: (r) => String(r.workflows) },
      { header: 'PAYLOADS', value: (r) => String(r.payloads) },
      { header: 'IN PAYLOAD_KEYS', value: (r) => r.inRing },
    ]).trimEnd(),
    '',
    result.limitReached
      ? `Scanned ${result.scanned} workflows matching ${result.query}: --limit cut the scan short, more match.`
      : `Scanned ${result.scanned} workflows matching ${result.query}: all of them.`,
  ];
  if (result.missing.length > 0) {
    lines.push(
      `Not in PAYLOAD_KEYS: ${result.missing.join(', ')}. The worker cannot replay those workflows: add the key back to the ring.`,
    );
  }
  return `${lines.join('\n')}\n`;
}
