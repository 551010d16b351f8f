/**
 * `/_sandbox/stripe`: play a purchase (`POST /purchases`) or refund one (`POST /refunds`,
 * `{paymentId, amountMinor?}`) and get the events Stripe would send for it.
 */
import express, { type Router } from 'express';
import type { ServiceContext } from '../context';
import { bodyIssueDetails, notFound, reply, send, serviceErrors, type ErrorDialect } from '../http';
import { playPurchase, purchaseSpecSchema } from './purchases';
import { refundPayment, stripeRefundSpecSchema } from './refunds';
import type { StripeStore } from './store';

const dialect: ErrorDialect = {
  unreadableBody: (status, message) => reply(status, { error: 'invalid_json', message }),
  notFound: () => reply(404, { error: 'not_found' }),
};

export function createStripeControlRouter(ctx: ServiceContext, store: StripeStore): Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  router.post('/purchases', (req, res) => {
    const spec = purchaseSpecSchema.safeParse(req.body);
    if (!spec.success) {
      return send(res, reply(400, { error: 'invalid_purchase', details: bodyIssueDetails(spec.error) }));
    }
    send(res, reply(201, playPurchase(store, spec.data, Math.floor(ctx.now() / 1000))));
  });
  router.post('/refunds', (req, res) => {
    const spec = stripeRefundSpecSchema.safeParse(req.body);
    if (!spec.success) {
      return send(res, reply(400, { error: 'invalid_refund', details: bodyIssueDetails(spec.error) }));
    }
    const done = refundPayment(store, spec.data, Math.floor(ctx.now() / 1000));
    send(
      res,
      done.ok
        ? reply(201, done.result)
        : reply(done.status, { error: 'refund_refused', message: done.message }),
    );
  });
  router.use(notFound(dialect));
  router.use(serviceErrors(ctx, 'sandbox', dialect));
  return router;
}
