/**
 * One express app playing every downstream under its own prefix (the LMSs at `/lms`, `/moodle` and
 * `/canvas`, `/whatsapp`, `/hubspot`, the providers at `/razorpay` and `/v1`), plus the `/_sandbox`
 * control routes and `/healthz`. No listening here: `start.ts` (tests, dev runner) and `main.ts`
 * (standalone process) decide where it runs.
 */
import express, { type Express } from 'express';
import { z } from 'zod';
import { ConfigError } from '../config';
import { createLogger } from '../runtime/logger';
import {
  credentialNames,
  DEFAULT_HUBSPOT_TOKEN_TTL_SECONDS,
  type SandboxOptions,
  type SandboxService,
  type ServiceContext,
} from './context';
import { createControlRouter } from './control';
import { FaultInjector, sandboxFaultsSchema } from './faults';
import { observeRequests, notFound, reply } from './http';
import { createHubSpotService } from './hubspot';
import { Ledger, type LedgerSnapshot } from './ledger';
import { createLmsService } from './lms';
import { createMoodleService } from './moodle';
import { createCanvasService } from './canvas';
import { randomSeed, SeededRandom } from './random';
import { createStripeService } from './stripe';
import { createWhatsAppService } from './whatsapp';
import { createRazorpayService } from './razorpay';
import { describeIssues } from '../domain/zod-issues';

export interface SandboxState {
  /** The PRNG seed in use: pass it back as `seed` / SANDBOX_SEED to replay a fault run. */
  readonly seed: number;
  readonly ledger: Ledger;
  readonly faults: FaultInjector;
  snapshot(): LedgerSnapshot;
  /** Same as POST /_sandbox/reset: empty ledger, no faults, PRNG back at the seed. */
  reset(): void;
  /** Cancels pending latency waits so a closing server does not wait for them. */
  dispose(): void;
}

const optionsSchema = z.object({
  credentials: z.object(
    Object.fromEntries(
      credentialNames.map((name) => [
        name,
        z.string({ error: `credentials.${name} is required` }).min(1, `credentials.${name} is required`),
      ]),
    ),
    { error: 'credentials are required' },
  ),
  hubspotTokenTtlSeconds: z.number().int().min(1).max(86_400).optional(),
  faults: sandboxFaultsSchema.optional(),
  seed: z.number().int().min(0).max(0xffff_ffff).optional(),
});

/** Options come from code, not env, but a typo in a fault spec should still fail loudly at start. */
function checkOptions(options: SandboxOptions): void {
  const result = optionsSchema.safeParse(options);
  if (result.success) return;
  // Paths and rules only: values may be credentials.
  const lines = describeIssues(result.error, { whole: '(options)', separator: '\n', bullet: '  - ' });
  throw new ConfigError(`Invalid sandbox options:\n${lines}`);
}

export function createSandboxApp(options: SandboxOptions): { app: Express; state: SandboxState } {
  checkOptions(options);
  const now = options.now ?? Date.now;
  const random = new SeededRandom(options.seed ?? randomSeed());
  const ledger = new Ledger();
  const faults = new FaultInjector(random, now, options.faults);
  const shutdown = new AbortController();
  const configuredTtl = options.hubspotTokenTtlSeconds ?? DEFAULT_HUBSPOT_TOKEN_TTL_SECONDS;

  const ctx: ServiceContext = {
    credentials: { ...options.credentials },
    ledger,
    faults,
    now,
    logger: options.logger ?? createLogger('sandbox', 'warn'),
    shutdown: shutdown.signal,
    hubspotTokenTtlSeconds: () => faults.current().hubspotTokenTtlSeconds ?? configuredTtl,
  };

  const lms = createLmsService(ctx);
  const moodle = createMoodleService(ctx);
  const canvas = createCanvasService(ctx);
  const whatsapp = createWhatsAppService(ctx);
  const hubspot = createHubSpotService(ctx);
  const razorpay = createRazorpayService(ctx);
  const stripe = createStripeService(ctx);
  const services: SandboxService[] = [lms, moodle, canvas, whatsapp, hubspot, razorpay, stripe];

  const state: SandboxState = {
    seed: random.seed,
    ledger,
    faults,
    snapshot: () => ledger.snapshot(),
    reset: () => {
      ledger.clear();
      faults.clear();
      random.restart();
      for (const service of services) service.reset();
    },
    dispose: () => shutdown.abort(),
  };

  const app = express();
  app.disable('x-powered-by');
  // Every ledger read must be fresh; a 304 would make a test compare against a stale body.
  app.set('etag', false);

  app.get('/healthz', observeRequests(ctx, 'sandbox'), (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.use('/_sandbox/razorpay', observeRequests(ctx, 'sandbox'), razorpay.control);
  app.use('/_sandbox/stripe', observeRequests(ctx, 'sandbox'), stripe.controlRouter);
  app.use('/_sandbox/moodle', observeRequests(ctx, 'sandbox'), moodle.control);
  app.use('/_sandbox/canvas', observeRequests(ctx, 'sandbox'), canvas.control);
  app.use('/_sandbox', observeRequests(ctx, 'sandbox'), createControlRouter(ctx, state));
  app.use('/v1', observeRequests(ctx, 'stripe'), stripe.router);
  app.use('/razorpay', observeRequests(ctx, 'razorpay'), razorpay.router);
  // Three LMSs, one downstream: they share the `lms` faults and request log, and LMS_PROVIDER picks one.
  app.use('/lms', observeRequests(ctx, 'lms'), lms.router);
  app.use('/moodle', observeRequests(ctx, 'lms'), moodle.router);
  app.use('/canvas', observeRequests(ctx, 'lms'), canvas.router);
  app.use('/whatsapp', observeRequests(ctx, 'whatsapp'), whatsapp.router);
  app.use('/hubspot', observeRequests(ctx, 'hubspot'), hubspot.router);
  app.use(
    observeRequests(ctx, 'sandbox'),
    notFound({
      notFound: () =>
        reply(404, {
          error: 'not_found',
          hint: 'services live under /lms, /moodle, /canvas, /whatsapp, /hubspot, /razorpay, /v1',
        }),
      unreadableBody: (status, message) => reply(status, { error: 'invalid_request', message }),
    }),
  );

  return { app, state };
}
