import path from 'node:path';
import { v8FlagsForScript } from '../src/runtime/v8-flags';

const ROOT = path.resolve(__dirname, '..');

/**
 * `node` arguments that run a product entry point (`src/worker.ts`, `src/webhook/main.ts`, ...) from
 * source as `npm run dev` does: its V8 flags, then tsx.
 */
export function productNodeArgs(script: string): string[] {
  return [...v8FlagsForScript(script), '--import', 'tsx', path.join(ROOT, script)];
}
