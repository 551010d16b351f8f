/**
 * `/_sandbox/stripe`: play what happens to a payment and get the events Stripe would send for it.
 * `POST /purchases` (a `PurchaseSpec`), `POST /refunds` (`{paymentId, amountMinor?}`) and `POST
 * /disputes` (`{paymentId, amountMinor?}`) answer 201; `POST /disputes/:id/close` (`{outcome: "won" |
 * "lost"}`) and `POST /subscriptions/:id/cancel` answer 200. A refusal answers Stripe's status with
 * `{error, message}`, the message Stripe's. Every event answered is also kept for `GET /v1/events`.
 */
import express, { type Router } from 'express';
import type { z } from 'zod';
import type { PurchaseDelivery } from '../../providers/purchase';
import type { ServiceContext } from '../context';
import { bodyIssueDetails, notFound, reply, send, serviceErrors, type ErrorDialect } from '../http';
import {
  closeStripeDispute,
  openStripeDispute,
  stripeDisputeCloseSpecSchema,
  stripeDisputeSpecSchema,
} from './disputes';
import { playPurchase, purchaseSpecSchema } from './purchases';
import { refundPayment, stripeRefundSpecSchema } from './refunds';
import type { StripeStore } from './store';
import { cancelStripeSubscription } from './subscriptions';

const dialect: ErrorDialect = {
  unreadableBody: (status, message) => reply(status, { error: 'invalid_json', message }),
  notFound: () => reply(404, { error: 'not_found' }),
};

const invalid = (error: string, issues: z.ZodError) =>
  reply(400, { error, details: bodyIssueDetails(issues) });

export function createStripeControlRouter(ctx: ServiceContext, store: StripeStore): Router {
  const nowSeconds = () => Math.floor(ctx.now() / 1000);
  // Stripe keeps an event once it happens, whether or not a webhook ever reaches anyone (`send
  // --no-webhook`), so `GET /v1/events` can list it.
  const recorded = <T extends { deliveries: PurchaseDelivery[] }>(result: T): T => {
    store.recordEvents(result.deliveries);
    return result;
  };
  /** What a change answers: its result with `status`, or Stripe's refusal under `error`. */
  const answer = (
    status: number,
    error: string,
    done:
      | { ok: true; result: { deliveries: PurchaseDelivery[] } }
      | { ok: false; status: number; message: string },
  ) =>
    done.ok ? reply(status, recorded(done.result)) : reply(done.status, { error, message: done.message });
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  router.post('/purchases', (req, res) => {
    const spec = purchaseSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_purchase', spec.error));
    send(res, reply(201, recorded(playPurchase(store, spec.data, nowSeconds()))));
  });
  router.post('/refunds', (req, res) => {
    const spec = stripeRefundSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_refund', spec.error));
    send(res, answer(201, 'refund_refused', refundPayment(store, spec.data, nowSeconds())));
  });
  router.post('/disputes', (req, res) => {
    const spec = stripeDisputeSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_dispute', spec.error));
    send(res, answer(201, 'dispute_refused', openStripeDispute(store, spec.data, nowSeconds())));
  });
  router.post('/disputes/:id/close', (req, res) => {
    const spec = stripeDisputeCloseSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_dispute_close', spec.error));
    const closed = closeStripeDispute(store, String(req.params.id), spec.data, nowSeconds());
    send(res, answer(200, 'dispute_refused', closed));
  });
  router.post('/subscriptions/:id/cancel', (req, res) => {
    const canceled = cancelStripeSubscription(store, String(req.params.id), nowSeconds());
    send(res, answer(200, 'cancellation_refused', canceled));
  });
  router.use(notFound(dialect));
  router.use(serviceErrors(ctx, 'sandbox', dialect));
  return router;
}
