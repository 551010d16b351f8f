/**
 * What `npm run dev` generated into `.data/dev.env` (sandbox credentials, the payload key ring), for the
 * developer tools that run beside it: `npm run send` and the ops CLI against a local Temporal.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';

/** Written by the dev runner; lets the tools find what the local processes were started with. */
export const DEV_ENV_PATH = path.resolve(__dirname, '..', '..', '.data', 'dev.env');

/** Settings come from the environment first, then from the dev runner's file (read lazily, once). */
export function settingsLookup(
  env: NodeJS.ProcessEnv,
  devEnvPath: string,
): (name: string) => string | undefined {
  let devEnv: NodeJS.Dict<string> | undefined;
  return (name) => {
    const fromEnv = env[name]?.trim();
    if (fromEnv) return fromEnv;
    devEnv ??= readDevEnv(devEnvPath);
    return devEnv[name]?.trim() || undefined;
  };
}

function readDevEnv(file: string): NodeJS.Dict<string> {
  try {
    return parseEnv(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}
