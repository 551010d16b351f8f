/**
 * `/_sandbox`: the loopback-only control surface tests and people use to read the ledger, reset
 * between scenarios and change faults at run time. No auth: bind the sandbox to 127.0.0.1.
 */
import express, { type Router } from 'express';
import type { z } from 'zod';
import type { ServiceContext } from './context';
import {
  faultsForLog,
  mergeFaults,
  sandboxFaultsPatchSchema,
  sandboxFaultsSchema,
  type SandboxFaults,
} from './faults';
import { bodyIssueDetails, notFound, reply, send, serviceErrors, type ErrorDialect } from './http';

export interface SandboxControl {
  reset(): void;
}

type FaultsUpdate = { ok: true; faults: SandboxFaults } | { ok: false; error: z.ZodError };

const invalidFaults = (error: z.ZodError) =>
  reply(400, { error: 'invalid_faults', details: bodyIssueDetails(error) });

const controlDialect: ErrorDialect = {
  unreadableBody: (status, message) => reply(status, { error: 'invalid_json', message }),
  notFound: () => reply(404, { error: 'not_found' }),
};

export function createControlRouter(ctx: ServiceContext, control: SandboxControl): Router {
  const replaceFaults = (body: unknown): FaultsUpdate => {
    const parsed = sandboxFaultsSchema.safeParse(body ?? {});
    return parsed.success ? { ok: true, faults: parsed.data } : { ok: false, error: parsed.error };
  };

  const patchFaults = (body: unknown): FaultsUpdate => {
    const patch = sandboxFaultsPatchSchema.safeParse(body ?? {});
    if (!patch.success) return { ok: false, error: patch.error };
    // Re-validate the merged spec: a valid patch can still break a cross-field rule.
    return replaceFaults(mergeFaults(ctx.faults.current(), patch.data));
  };

  const applyFaults =
    (update: (body: unknown) => FaultsUpdate): express.RequestHandler =>
    (req, res) => {
      const result = update(req.body);
      if (!result.ok) return send(res, invalidFaults(result.error));
      ctx.faults.replace(result.faults);
      ctx.logger.info({ faults: faultsForLog(result.faults) }, 'faults changed');
      send(res, reply(200, ctx.faults.current()));
    };

  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  router.get('/ledger', (_req, res) => send(res, reply(200, ctx.ledger.snapshot())));
  router.post('/reset', (_req, res) => {
    control.reset();
    send(res, reply(200, { ok: true }));
  });
  router.get('/faults', (_req, res) => send(res, reply(200, ctx.faults.current())));
  router.put('/faults', applyFaults(replaceFaults));
  router.patch('/faults', applyFaults(patchFaults));
  router.use(notFound(controlDialect));
  router.use(serviceErrors(ctx, 'sandbox', controlDialect));
  return router;
}
