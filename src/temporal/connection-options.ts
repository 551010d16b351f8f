/**
 * How every process reaches Temporal, from the environment only: our schema fixes the address and
 * namespace (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE), and Temporal's own envconfig adds what a real
 * deployment needs (TEMPORAL_API_KEY for Temporal Cloud, TEMPORAL_TLS / TEMPORAL_TLS_CLIENT_CERT_PATH
 * / ..._KEY_PATH / TEMPORAL_TLS_SERVER_CA_CERT_PATH for mTLS, TEMPORAL_GRPC_META_*, or a profile file
 * via TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE). Same variables as the `temporal` CLI.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { type TemporalConfig, withoutEmpty } from '../config';

export function temporalConnectionOptions(
  config: Pick<TemporalConfig, 'TEMPORAL_ADDRESS'>,
  env: NodeJS.ProcessEnv,
): NativeConnectionOptions {
  const vars = withoutEmpty(env);
  const { connectionOptions } = loadClientConnectConfig({
    overrideEnvVars: vars,
    // Without an explicit file, do not pick up a developer's ~/.config/temporalio profile by surprise.
    disableFile: !vars.TEMPORAL_CONFIG_FILE,
  });
  return { ...connectionOptions, address: config.TEMPORAL_ADDRESS };
}
