/** The sandbox's Stripe: the API the confirmation step reads, and the control route that plays purchases. */
import type { Router } from 'express';
import type { SandboxService, ServiceContext } from '../context';
import { createStripeApiRouter } from './api';
import { createStripeControlRouter } from './control';
import { StripeStore } from './store';

export interface StripeService extends SandboxService {
  /** Mounted at `/_sandbox/stripe`. */
  controlRouter: Router;
}

export function createStripeService(ctx: ServiceContext): StripeService {
  const store = new StripeStore();
  return {
    router: createStripeApiRouter(ctx, store),
    controlRouter: createStripeControlRouter(ctx, store),
    reset: () => store.clear(),
  };
}
