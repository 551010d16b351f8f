/**
 * The sandbox Razorpay: its API (mounted at `/razorpay`) and the control routes that play what happens
 * to a payment (mounted at `/_sandbox/razorpay`), sharing one account's records.
 */
import express, { type Router } from 'express';
import type { z } from 'zod';
import type { SandboxService, ServiceContext } from '../context';
import { bodyIssueDetails, notFound, reply, send, serviceErrors, type ErrorDialect } from '../http';
import { createRazorpayApi } from './api';
import {
  closeRazorpayDispute,
  disputeCloseSpecSchema,
  openRazorpayDispute,
  razorpayDisputeSpecSchema,
} from './disputes';
import { buildRazorpayPurchase, idsOf, razorpayPurchaseSpecSchema } from './purchases';
import { buildRazorpayRefund, razorpayRefundSpecSchema } from './refunds';
import { RazorpayStore } from './store';
import { cancelRazorpaySubscription, razorpayCancelSpecSchema } from './subscriptions';

export interface RazorpaySandbox extends SandboxService {
  /**
   * `POST /purchases`: a `PurchaseSpec` in, 201 with a `PurchaseResult` out. `POST /refunds`:
   * `{paymentId, amountMinor?}` in (default: refund what is left), 201 with a `RefundResult` out.
   * `POST /disputes`: `{paymentId, amountMinor?}` in, 201 with a `DisputeResult` out; `POST
   * /disputes/:id/close`: `{outcome: "won" | "lost"}` in, 200 with a `DisputeResult` out. `POST
   * /subscriptions/:id/cancel`: `{atCycleEnd?}` in, 200 with a `SubscriptionEndResult` out. A refusal
   * answers Razorpay's status with `{error, message}`, the message Razorpay's description.
   */
  control: Router;
}

const controlDialect: ErrorDialect = {
  unreadableBody: (status, message) => reply(status, { error: 'invalid_json', message }),
  notFound: () => reply(404, { error: 'not_found' }),
};

const invalid = (error: string, issues: z.ZodError) =>
  reply(400, { error, details: bodyIssueDetails(issues) });
const refusal = (error: string, refused: { status: number; description: string }) =>
  reply(refused.status, { error, message: refused.description });

export function createRazorpayService(ctx: ServiceContext): RazorpaySandbox {
  const store = new RazorpayStore();
  const nowSeconds = () => Math.floor(ctx.now() / 1000);

  const control = express.Router();
  control.use(express.json({ limit: '1mb' }));
  control.post('/purchases', (req, res) => {
    const spec = razorpayPurchaseSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_purchase', spec.error));
    const built = buildRazorpayPurchase(spec.data, nowSeconds());
    // A rerun with the same payment id would silently rewrite what a workflow already confirmed.
    if (store.holdsAny(idsOf(built.records))) {
      return send(res, reply(409, { error: 'conflict', message: 'a record with one of these ids exists' }));
    }
    store.add(built.records);
    send(res, reply(201, built.result));
  });
  control.post('/refunds', (req, res) => {
    const spec = razorpayRefundSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_refund', spec.error));
    const { paymentId } = spec.data;
    const built = buildRazorpayRefund(
      store.payment(paymentId),
      store.refundsOf(paymentId).length,
      spec.data,
      nowSeconds(),
    );
    if (!built.ok) return send(res, refusal('refund_refused', built));
    store.addRefund(built.refund, built.payment);
    send(res, reply(201, built.result));
  });
  control.post('/disputes', (req, res) => {
    const spec = razorpayDisputeSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_dispute', spec.error));
    const { paymentId } = spec.data;
    const built = openRazorpayDispute(
      store.payment(paymentId),
      store.disputesOf(paymentId),
      spec.data,
      nowSeconds(),
    );
    if (!built.ok) return send(res, refusal('dispute_refused', built));
    store.add({ disputes: [built.dispute], payments: [built.payment] });
    send(res, reply(201, built.result));
  });
  control.post('/disputes/:id/close', (req, res) => {
    const spec = disputeCloseSpecSchema.safeParse(req.body);
    if (!spec.success) return send(res, invalid('invalid_dispute_close', spec.error));
    const dispute = store.dispute(String(req.params.id));
    const payment = dispute && store.payment(dispute.payment_id);
    const built = closeRazorpayDispute(dispute, payment, spec.data, nowSeconds());
    if (!built.ok) return send(res, refusal('dispute_refused', built));
    store.add({ disputes: [built.dispute] });
    send(res, reply(200, built.result));
  });
  control.post('/subscriptions/:id/cancel', (req, res) => {
    // The options are optional, and so is a body to carry them.
    const spec = razorpayCancelSpecSchema.safeParse(req.body ?? {});
    if (!spec.success) return send(res, invalid('invalid_cancellation', spec.error));
    const id = String(req.params.id);
    const built = cancelRazorpaySubscription(
      store.subscription(id),
      store.firstPaymentOf(id),
      spec.data,
      nowSeconds(),
    );
    if (!built.ok) return send(res, refusal('cancellation_refused', built));
    store.add({ subscriptions: [built.subscription] });
    send(res, reply(200, built.result));
  });
  control.use(notFound(controlDialect));
  control.use(serviceErrors(ctx, 'sandbox', controlDialect));

  return { router: createRazorpayApi(ctx, store), control, reset: () => store.clear() };
}
