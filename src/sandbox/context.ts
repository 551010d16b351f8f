/**
 * What `createSandboxApp` takes, and what every fake service is handed. Credentials use the
 * worker's own variable names so a dev runner can pass one object to both sides.
 */
import type { Router } from 'express';
import type { WorkerConfig } from '../config';
import type { Logger } from '../runtime/logger';
import type { FaultInjector, SandboxFaults } from './faults';
import type { Ledger } from './ledger';

export const credentialNames = [
  'LMS_API_KEY',
  'WHATSAPP_ACCESS_TOKEN',
  'WHATSAPP_PHONE_NUMBER_ID',
  'HUBSPOT_CLIENT_ID',
  'HUBSPOT_CLIENT_SECRET',
  'HUBSPOT_REFRESH_TOKEN',
  'RAZORPAY_KEY_ID',
  'RAZORPAY_KEY_SECRET',
  'STRIPE_API_KEY',
] as const satisfies ReadonlyArray<keyof WorkerConfig>;

/** The Moodle and Canvas emulations' tokens: without one, that emulation refuses every call. */
export const optionalCredentialNames = ['MOODLE_TOKEN', 'CANVAS_TOKEN'] as const satisfies ReadonlyArray<
  keyof WorkerConfig
>;

export type SandboxCredentials = Record<(typeof credentialNames)[number], string> &
  Partial<Record<(typeof optionalCredentialNames)[number], string>>;

export const DEFAULT_HUBSPOT_TOKEN_TTL_SECONDS = 1800;

export interface SandboxOptions {
  /** The only credentials the fake services accept. All required. */
  credentials: SandboxCredentials;
  /** HubSpot access-token lifetime (default 1800, like HubSpot); the fault spec can override it. */
  hubspotTokenTtlSeconds?: number;
  /** Fault spec applied at start (validated; throws on an invalid spec). */
  faults?: SandboxFaults;
  /** PRNG seed for fault decisions; random (and reported in `state.seed`) when omitted. */
  seed?: number;
  /** Clock in epoch milliseconds, for timestamps and token expiry. Latency still uses real timers. */
  now?: () => number;
  /** Request lines are logged at info; the default logger only shows warnings and errors. */
  logger?: Logger;
}

export interface ServiceContext {
  readonly credentials: SandboxCredentials;
  readonly ledger: Ledger;
  readonly faults: FaultInjector;
  readonly now: () => number;
  readonly logger: Logger;
  /** Aborted when the sandbox shuts down, so pending latency waits do not hold the process open. */
  readonly shutdown: AbortSignal;
  /** The lifetime for a token issued now (fault override, else configured). */
  hubspotTokenTtlSeconds(): number;
}

/** One fake downstream: its routes, plus how to forget protocol state (replays, tokens) on reset. */
export interface SandboxService {
  router: Router;
  reset(): void;
}

export const isoAt = (ms: number): string => new Date(ms).toISOString();
