import type StripeSdk from 'stripe';

let loaded: typeof StripeSdk | undefined;

/**
 * The official SDK, loaded on first use rather than at import: every process reads the provider
 * registry (the worker's activities check provider names, the logger redacts signature headers), and
 * only the receiver and the tools verify or sign. The receiver loads it at start-up, when its adapter
 * is built, so no delivery waits for it.
 */
export function stripeSdk(): typeof StripeSdk {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('stripe') as typeof StripeSdk;
  return loaded;
}
