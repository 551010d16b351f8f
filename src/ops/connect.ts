/**
 * Where the ops CLI talks to: TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (the same variables the worker,
 * the receiver and the `temporal` CLI read), overridden by --address / --namespace, and PAYLOAD_KEYS /
 * PAYLOAD_KEY_ID to seal and open payloads as the worker does (else those of `npm run dev`).
 */
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { temporalConnectionOptions } from '../temporal/connection-options';
import type { PayloadKeyRing } from '../temporal/payload-codec';
import { dataConverter } from '../temporal/data-converter';
import { ConfigError, loadTemporalConfig, payloadKeyRing } from '../config';
import { DEV_ENV_PATH, settingsLookup } from '../runtime/dev-env';
import { OpsError, UsageError } from './errors';
import { grpcMessage, isGrpcNotFound } from './grpc';

export interface TargetFlags {
  address?: string;
  namespace?: string;
}

export interface OpsTarget {
  address: string;
  namespace: string;
  /** TLS / API key etc. from TEMPORAL_* variables, as for the worker and receiver. */
  connection: ConnectionOptions;
  /** PAYLOAD_KEYS: ops reads and writes payloads through the same codec as the worker. */
  payloadKeys: PayloadKeyRing;
}

export interface OpsConnection extends OpsTarget {
  client: Client;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 5_000;

export function resolveTarget(flags: TargetFlags, env: NodeJS.ProcessEnv): OpsTarget {
  const merged: NodeJS.ProcessEnv = { ...env };
  if (flags.address) merged.TEMPORAL_ADDRESS = flags.address;
  if (flags.namespace) merged.TEMPORAL_NAMESPACE = flags.namespace;
  const address = merged.TEMPORAL_ADDRESS?.trim() || '127.0.0.1:7233';
  if (!merged.PAYLOAD_KEYS?.trim() && /^(127\.0\.0\.1|localhost|\[::1\]):/.test(address)) {
    // On a developer's machine the ring is the one `npm run dev` generated, as `send` finds its secrets.
    // Never for a remote cluster: a signal sealed under the dev key would be one its workers cannot open.
    const devSetting = settingsLookup({}, DEV_ENV_PATH);
    merged.PAYLOAD_KEYS = devSetting('PAYLOAD_KEYS');
    merged.PAYLOAD_KEY_ID = devSetting('PAYLOAD_KEY_ID');
  }
  try {
    const config = loadTemporalConfig(merged);
    return {
      address: config.TEMPORAL_ADDRESS,
      namespace: config.TEMPORAL_NAMESPACE,
      connection: temporalConnectionOptions(config, merged),
      payloadKeys: payloadKeyRing(config),
    };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Connects and checks the namespace exists, so a typo is one clear line instead of "not found" later. */
export async function connectOps(target: OpsTarget): Promise<OpsConnection> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...target.connection, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (err) {
    throw new OpsError(
      `cannot reach Temporal at ${target.address}: ${grpcMessage(err)} (set TEMPORAL_ADDRESS or --address)`,
    );
  }
  try {
    await connection.withDeadline(Date.now() + CONNECT_TIMEOUT_MS, () =>
      connection.workflowService.describeNamespace({ namespace: target.namespace }),
    );
  } catch (err) {
    await connection.close().catch(() => undefined);
    if (isGrpcNotFound(err)) {
      throw new OpsError(`namespace ${target.namespace} does not exist on ${target.address}`);
    }
    throw new OpsError(`cannot reach Temporal at ${target.address}: ${grpcMessage(err)}`);
  }
  const client = new Client({
    connection,
    namespace: target.namespace,
    dataConverter: dataConverter(target.payloadKeys),
  });
  return {
    ...target,
    client,
    close: () => connection.close(),
  };
}
