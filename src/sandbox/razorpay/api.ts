/**
 * Razorpay's REST API (`/v1`), read-only, as the confirmation step calls it: HTTP Basic with the key
 * id and secret, entities shaped as Razorpay renders them, lists as `{entity: "collection", count,
 * items}`, and Razorpay's error body. Razorpay answers an unknown id with a 400 "The id provided does
 * not exist", not a 404; clients have to recognise it by the description.
 */
import express, { type Request, type Router } from 'express';
import type { ServiceContext } from '../context';
import {
  endpoint,
  notFound,
  reply,
  safeEqual,
  serviceErrors,
  type Reply,
  type ServiceProfile,
} from '../http';
import type { RazorpayStore } from './store';

const MAX_COUNT = 100;
const DEFAULT_COUNT = 10;

export function razorpayError(
  status: number,
  description: string,
  extra: Record<string, string> = {},
): Reply {
  return reply(status, {
    error: {
      code: status >= 500 ? 'SERVER_ERROR' : 'BAD_REQUEST_ERROR',
      description,
      source: 'NA',
      step: 'NA',
      reason: 'NA',
      metadata: {},
      ...extra,
    },
  });
}

const doesNotExist = () =>
  razorpayError(400, 'The id provided does not exist', {
    source: 'business',
    step: 'payment_initiation',
    reason: 'input_validation_failed',
  });

const profile: ServiceProfile = {
  service: 'razorpay',
  faultReply: (fault) =>
    fault.kind === 'rateLimited'
      ? {
          ...razorpayError(429, 'Too many requests'),
          ...(fault.retryAfter !== undefined && { headers: { 'Retry-After': fault.retryAfter } }),
        }
      : razorpayError(503, 'The server encountered an error. The incident has been reported to admins.'),
  unreadableBody: (status, message) => razorpayError(status, message),
  notFound: () => razorpayError(400, 'The requested URL was not found on the server'),
};

const collection = <T>(items: T[]) => reply(200, { entity: 'collection', count: items.length, items });

export function createRazorpayApi(ctx: ServiceContext, store: RazorpayStore): Router {
  const authorize = (req: Request): Reply | undefined => {
    const presented = basicCredentials(req);
    const idOk = safeEqual(presented?.user, ctx.credentials.RAZORPAY_KEY_ID);
    const secretOk = safeEqual(presented?.password, ctx.credentials.RAZORPAY_KEY_SECRET);
    return idOk && secretOk ? undefined : razorpayError(401, 'Authentication failed');
  };
  const get = (handle: (req: Request) => Reply) => endpoint(ctx, profile, { admit: authorize, handle });
  const byId =
    <T>(read: (id: string) => T | undefined) =>
    (req: Request): Reply => {
      const found = read(param(req, 'id'));
      return found === undefined ? doesNotExist() : reply(200, found);
    };

  /** Razorpay pages its top-level lists alike: `from`/`to` on `created_at` (inclusive), `count`, `skip`. */
  const listed = <T extends { created_at: number }>(all: () => T[]) =>
    get((req) => {
      const page = pageOf(req);
      if ('error' in page) return page.error;
      const items = all()
        .filter(
          (e) =>
            (page.from === undefined || e.created_at >= page.from) &&
            (page.to === undefined || e.created_at <= page.to),
        )
        .sort(newestFirst);
      return collection(items.slice(page.skip, page.skip + page.count));
    });

  const router = express.Router();
  router.get('/v1/payments', listed(store.allPayments));
  router.get('/v1/payments/:id', get(byId(store.payment)));
  router.get('/v1/orders/:id', get(byId(store.order)));
  router.get(
    '/v1/payments/:id/refunds',
    get((req) => {
      const id = param(req, 'id');
      if (!store.payment(id)) return doesNotExist();
      return collection(store.refundsOf(id).sort(newestFirst));
    }),
  );
  router.get('/v1/refunds', listed(store.allRefunds));
  router.get('/v1/refunds/:id', get(byId(store.refund)));
  router.get('/v1/disputes/:id', get(byId(store.dispute)));
  router.get(
    '/v1/orders/:id/payments',
    get((req) => {
      const id = param(req, 'id');
      if (!store.order(id)) return doesNotExist();
      return collection(store.paymentsOfOrder(id).sort(newestFirst));
    }),
  );
  router.get(
    '/v1/payment_links',
    get((req) => {
      const paymentId = query(req, 'payment_id');
      const links = store
        .allPaymentLinks()
        .filter((l) => paymentId === undefined || (l.payments ?? []).some((p) => p.payment_id === paymentId));
      // Razorpay lists payment links under their own key, not as a collection.
      return reply(200, { payment_links: links });
    }),
  );
  router.get('/v1/payment_links/:id', get(byId(store.paymentLink)));
  router.get('/v1/subscriptions/:id', get(byId(store.subscription)));
  router.get(
    '/v1/invoices',
    get((req) => {
      const subscriptionId = query(req, 'subscription_id');
      const paymentId = query(req, 'payment_id');
      const page = pageOf(req);
      if ('error' in page) return page.error;
      const items = store
        .allInvoices()
        .filter(
          (i) =>
            (subscriptionId === undefined || i.subscription_id === subscriptionId) &&
            (paymentId === undefined || i.payment_id === paymentId),
        )
        .sort(newestFirst);
      return collection(items.slice(page.skip, page.skip + page.count));
    }),
  );
  router.get('/v1/invoices/:id', get(byId(store.invoice)));
  router.use(notFound(profile));
  router.use(serviceErrors(ctx, profile.service, profile));
  return router;
}

const newestFirst = (a: { created_at: number }, b: { created_at: number }) => b.created_at - a.created_at;

type Page = { from?: number; to?: number; count: number; skip: number } | { error: Reply };

function pageOf(req: Request): Page {
  const numbers: Record<string, number | undefined> = {};
  for (const name of ['from', 'to', 'count', 'skip']) {
    const raw = query(req, name);
    if (raw === undefined) continue;
    if (!/^\d+$/.test(raw))
      return { error: razorpayError(400, `The ${name} must be an integer.`, { field: name }) };
    numbers[name] = Number(raw);
  }
  const count = numbers.count ?? DEFAULT_COUNT;
  if (count < 1) return { error: razorpayError(400, 'The count must be at least 1.', { field: 'count' }) };
  if (count > MAX_COUNT)
    return {
      error: razorpayError(400, `The count may not be greater than ${MAX_COUNT}.`, { field: 'count' }),
    };
  return { from: numbers.from, to: numbers.to, count, skip: numbers.skip ?? 0 };
}

function basicCredentials(req: Request): { user: string; password: string } | undefined {
  // Razorpay accepts only the exact scheme spelling `Basic`.
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(req.get('authorization') ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const param = (req: Request, name: string): string => String(req.params[name] ?? '');

function query(req: Request, name: string): string | undefined {
  const value: unknown = req.query[name];
  return typeof value === 'string' ? value : undefined;
}
