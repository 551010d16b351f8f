/**
 * The sandbox Razorpay: its API (mounted at `/razorpay`) and the control route that creates paid
 * purchases (mounted at `/_sandbox/razorpay`), sharing one account's records.
 */
import express, { type Router } from 'express';
import type { SandboxService, ServiceContext } from '../context';
import { bodyIssueDetails, notFound, reply, send, serviceErrors, type ErrorDialect } from '../http';
import { createRazorpayApi } from './api';
import { buildRazorpayPurchase, idsOf, razorpayPurchaseSpecSchema } from './purchases';
import { buildRazorpayRefund, razorpayRefundSpecSchema } from './refunds';
import { RazorpayStore } from './store';

export interface RazorpaySandbox extends SandboxService {
  /**
   * `POST /purchases`: a `PurchaseSpec` in, 201 with a `PurchaseResult` out. `POST /refunds`:
   * `{paymentId, amountMinor?}` in (default: refund what is left), 201 with a `RefundResult` out.
   */
  control: Router;
}

const controlDialect: ErrorDialect = {
  unreadableBody: (status, message) => reply(status, { error: 'invalid_json', message }),
  notFound: () => reply(404, { error: 'not_found' }),
};

export function createRazorpayService(ctx: ServiceContext): RazorpaySandbox {
  const store = new RazorpayStore();

  const control = express.Router();
  control.use(express.json({ limit: '1mb' }));
  control.post('/purchases', (req, res) => {
    const spec = razorpayPurchaseSpecSchema.safeParse(req.body);
    if (!spec.success) {
      return send(res, reply(400, { error: 'invalid_purchase', details: bodyIssueDetails(spec.error) }));
    }
    const built = buildRazorpayPurchase(spec.data, Math.floor(ctx.now() / 1000));
    // A rerun with the same payment id would silently rewrite what a workflow already confirmed.
    if (store.holdsAny(idsOf(built.records))) {
      return send(res, reply(409, { error: 'conflict', message: 'a record with one of these ids exists' }));
    }
    store.add(built.records);
    send(res, reply(201, built.result));
  });
  control.post('/refunds', (req, res) => {
    const spec = razorpayRefundSpecSchema.safeParse(req.body);
    if (!spec.success) {
      return send(res, reply(400, { error: 'invalid_refund', details: bodyIssueDetails(spec.error) }));
    }
    const { paymentId } = spec.data;
    const built = buildRazorpayRefund(
      store.payment(paymentId),
      store.refundsOf(paymentId).length,
      spec.data,
      Math.floor(ctx.now() / 1000),
    );
    if (!built.ok)
      return send(res, reply(built.status, { error: 'refund_refused', message: built.description }));
    store.addRefund(built.refund, built.payment);
    send(res, reply(201, built.result));
  });
  control.use(notFound(controlDialect));
  control.use(serviceErrors(ctx, 'sandbox', controlDialect));

  return { router: createRazorpayApi(ctx, store), control, reset: () => store.clear() };
}
