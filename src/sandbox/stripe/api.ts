/**
 * Stripe's REST API at its own root path (`/v1/...`): the SDK takes a host, port and protocol but no
 * base path. Errors are Stripe's `{error:{type, code, message, param, doc_url}}`, which the SDK turns
 * into its error classes by status and type, so a client written against the SDK sees what it would
 * see in production.
 */
import { randomBytes } from 'node:crypto';
import express, { type Request, type Router } from 'express';
import type Stripe from 'stripe';
import type { ServiceContext } from '../context';
import {
  bearerToken,
  endpoint,
  reply,
  safeEqual,
  serviceErrors,
  send,
  type Reply,
  type ServiceProfile,
} from '../http';
import { emptyList } from './objects';
import type { StripeStore } from './store';

const DOCS = 'https://docs.stripe.com/error-codes';

const stripeError = (status: number, error: Record<string, string>): Reply => reply(status, { error });

const profile: ServiceProfile = {
  service: 'stripe',
  faultReply: (fault) =>
    fault.kind === 'rateLimited'
      ? reply(
          429,
          {
            error: {
              code: 'rate_limit',
              doc_url: `${DOCS}/rate-limit`,
              message:
                'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
              type: 'invalid_request_error',
            },
          },
          fault.retryAfter === undefined ? undefined : { 'Retry-After': fault.retryAfter },
        )
      : stripeError(503, { message: 'An unknown error occurred', type: 'api_error' }),
  unreadableBody: (status, message) => stripeError(status, { message, type: 'invalid_request_error' }),
  notFound: () =>
    stripeError(404, {
      message:
        'Unrecognized request URL. Please see https://docs.stripe.com or we can help at https://support.stripe.com/.',
      type: 'invalid_request_error',
    }),
};

/** Stripe's own masking of a presented key: its prefix and last four characters. */
function maskKey(key: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}****${key.slice(-4)}`;
}

/** Bearer is what the SDK sends; Stripe also takes Basic with the key as the user name. */
function presentedKey(req: Request): string | undefined {
  const bearer = bearerToken(req);
  if (bearer) return bearer;
  const basic = /^Basic\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')?.[1];
  if (!basic) return undefined;
  const user = Buffer.from(basic, 'base64').toString('utf8').split(':')[0];
  return user || undefined;
}

const missing = (object: string, id: string, param: string): Reply =>
  stripeError(404, {
    code: 'resource_missing',
    doc_url: `${DOCS}/resource-missing`,
    message: `No such ${object}: '${id}'`,
    param,
    type: 'invalid_request_error',
  });

/**
 * The query as Stripe reads it: the SDK encodes arrays with indices (`expand[0]=line_items`) and
 * nested params with brackets (`payment[type]=...`), which express's default parser keeps as flat keys.
 */
function queryOf(req: Request): URLSearchParams {
  return new URL(req.originalUrl, 'http://sandbox').searchParams;
}

function expands(req: Request): string[] {
  const out: string[] = [];
  for (const [key, value] of queryOf(req)) if (/^expand(\[\d*\])?$/.test(key)) out.push(value);
  return out;
}

/** Stripe's cursor pagination: newest first, `limit` 1..100 (default 10), `starting_after` an id. */
function page<T extends { id: string }>(req: Request, url: string, items: T[]): Reply {
  const query = queryOf(req);
  const limitText = query.get('limit');
  const limit = limitText === null ? 10 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
    return stripeError(400, {
      code: 'parameter_invalid_integer',
      message: 'Invalid integer: limit must be between 1 and 100',
      param: 'limit',
      type: 'invalid_request_error',
    });
  }
  const after = query.get('starting_after');
  let start = 0;
  if (after !== null) {
    const at = items.findIndex((item) => item.id === after);
    if (at < 0) return missing('object', after, 'starting_after');
    start = at + 1;
  }
  const data = items.slice(start, start + limit);
  return reply(200, { ...emptyList(url, data), has_more: start + limit < items.length });
}

const newestFirst = <T extends { created: number }>(items: Iterable<T>): T[] =>
  [...items].reverse().sort((a, b) => b.created - a.created);

const invalid = (param: string, message: string, code?: string): Reply =>
  stripeError(400, { ...(code && { code }), message, param, type: 'invalid_request_error' });

const BOUNDS = {
  gt: (a: number, b: number) => a > b,
  gte: (a: number, b: number) => a >= b,
  lt: (a: number, b: number) => a < b,
  lte: (a: number, b: number) => a <= b,
} as const;

/** `created=N` or `created[gt|gte|lt|lte]=N`, as a test on an object's `created`, or Stripe's 400. */
function createdFilter(query: URLSearchParams): ((created: number) => boolean) | Reply {
  const tests: ((created: number) => boolean)[] = [];
  for (const [key, text] of query) {
    const bound = /^created(?:\[(\w*)\])?$/.exec(key);
    if (!bound) continue;
    const op = bound[1];
    if (op !== undefined && !Object.hasOwn(BOUNDS, op)) {
      return invalid(key, `Received unknown parameter: ${key}`, 'parameter_unknown');
    }
    const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value)) {
      return invalid(key, `Invalid integer: ${text}`, 'parameter_invalid_integer');
    }
    const compare = op === undefined ? (a: number, b: number) => a === b : BOUNDS[op as keyof typeof BOUNDS];
    tests.push((created) => compare(created, value));
  }
  return (created) => tests.every((test) => test(created));
}

/** Stripe's `type` takes `*` as a wildcard (`charge.dispute.*`); here it matches any run of characters. */
function typeMatcher(pattern: string): (type: string) => boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`^${escaped.join('.*')}$`);
  return (type) => re.test(type);
}

const MAX_TYPES = 20;

export function createStripeApiRouter(ctx: ServiceContext, store: StripeStore): Router {
  const admit = (req: Request): Reply | undefined => {
    const key = presentedKey(req);
    if (key === undefined) {
      return stripeError(401, {
        message:
          "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        type: 'invalid_request_error',
      });
    }
    if (safeEqual(key, ctx.credentials.STRIPE_API_KEY)) return undefined;
    return stripeError(401, {
      message: `Invalid API Key provided: ${maskKey(key)}`,
      type: 'invalid_request_error',
    });
  };

  const get = (path: string, handle: (req: Request) => Reply) =>
    router.get(path, endpoint(ctx, profile, { admit, handle }));

  const router = express.Router();
  router.use((_req, res, next) => {
    // Every answer, errors included, carries one: it is what Stripe support asks for.
    res.setHeader('Request-Id', `req_${randomBytes(7).toString('hex')}`);
    next();
  });

  const lineItemsList = (sessionId: string): Stripe.ApiList<Stripe.LineItem> =>
    emptyList(`/v1/checkout/sessions/${sessionId}/line_items`, store.sessionLineItems.get(sessionId) ?? []);

  get('/checkout/sessions', (req) => {
    const query = queryOf(req);
    const filters = ['payment_intent', 'subscription', 'customer'] as const;
    const sessions = newestFirst(store.sessions.values()).filter((s) =>
      filters.every((name) => {
        const wanted = query.get(name);
        return wanted === null || s[name] === wanted;
      }),
    );
    const withItems = expands(req).includes('data.line_items');
    return page(
      req,
      '/v1/checkout/sessions',
      withItems ? sessions.map((s) => ({ ...s, line_items: lineItemsList(s.id) })) : sessions,
    );
  });
  get('/checkout/sessions/:id/line_items', (req) => {
    const id = String(req.params.id);
    if (!store.sessions.has(id)) return missing('checkout.session', id, 'session');
    return page(req, `/v1/checkout/sessions/${id}/line_items`, store.sessionLineItems.get(id) ?? []);
  });
  get('/checkout/sessions/:id', (req) => {
    const id = String(req.params.id);
    const session = store.sessions.get(id);
    if (!session) return missing('checkout.session', id, 'session');
    return reply(
      200,
      expands(req).includes('line_items') ? { ...session, line_items: lineItemsList(id) } : session,
    );
  });
  get('/payment_intents/:id', (req) => {
    const id = String(req.params.id);
    const intent = store.paymentIntents.get(id);
    if (!intent) return missing('payment_intent', id, 'intent');
    const chargeId = typeof intent.latest_charge === 'string' ? intent.latest_charge : undefined;
    const charge = chargeId ? store.charges.get(chargeId) : undefined;
    return reply(
      200,
      expands(req).includes('latest_charge') && charge ? { ...intent, latest_charge: charge } : intent,
    );
  });
  get('/invoices/:id', (req) => {
    const id = String(req.params.id);
    const inv = store.invoices.get(id);
    if (!inv) return missing('invoice', id, 'invoice');
    if (!expands(req).includes('payments')) return reply(200, inv);
    const payments = newestFirst(store.invoicePayments.values()).filter((p) => p.invoice === id);
    return reply(200, { ...inv, payments: emptyList(`/v1/invoice_payments?invoice=${id}`, payments) });
  });
  get('/invoices', (req) => {
    const query = queryOf(req);
    const subscription = query.get('subscription');
    const status = query.get('status');
    const invoices = newestFirst(store.invoices.values()).filter(
      (inv) =>
        (subscription === null ||
          (inv.parent?.subscription_details?.subscription ?? null) === subscription) &&
        (status === null || inv.status === status),
    );
    return page(req, '/v1/invoices', invoices);
  });
  get('/invoice_payments', (req) => {
    const query = queryOf(req);
    const invoiceId = query.get('invoice');
    const type = query.get('payment[type]');
    const intentId = query.get('payment[payment_intent]');
    if (intentId !== null && type !== 'payment_intent') {
      return stripeError(400, {
        message: 'payment[type] must be payment_intent when payment[payment_intent] is given',
        param: 'payment[type]',
        type: 'invalid_request_error',
      });
    }
    const payments = newestFirst(store.invoicePayments.values()).filter(
      (p) =>
        (invoiceId === null || p.invoice === invoiceId) &&
        (intentId === null || p.payment.payment_intent === intentId),
    );
    return page(req, '/v1/invoice_payments', payments);
  });
  get('/events', (req) => {
    const query = queryOf(req);
    // The sandbox hands its events to whoever calls it (`send`, or nobody with --no-webhook) and never
    // learns whether a delivery succeeded, so it cannot answer this filter truthfully.
    if (query.has('delivery_success')) {
      return invalid(
        'delivery_success',
        'The sandbox does not deliver webhooks itself, so it cannot tell delivery outcomes: delivery_success is not supported.',
      );
    }
    const type = query.get('type');
    const types = [...query].filter(([key]) => /^types(\[\d*\])?$/.test(key)).map(([, value]) => value);
    if (type !== null && types.length > 0) {
      return invalid('type', 'You may only specify one of these parameters: type, types.');
    }
    if (types.length > MAX_TYPES) {
      return invalid('types', `Invalid array: types may contain at most ${MAX_TYPES} items`);
    }
    const inWindow = createdFilter(query);
    if (typeof inWindow !== 'function') return inWindow;
    const typeMatches = type === null ? () => true : typeMatcher(type);
    const events = newestFirst(store.events.values()).filter(
      (evt) =>
        inWindow(evt.created) && typeMatches(evt.type) && (types.length === 0 || types.includes(evt.type)),
    );
    return page(req, '/v1/events', events);
  });
  for (const [path, map, object] of [
    ['customers', store.customers, 'customer'],
    ['charges', store.charges, 'charge'],
    ['subscriptions', store.subscriptions, 'subscription'],
    ['refunds', store.refunds, 'refund'],
    ['disputes', store.disputes, 'dispute'],
    ['events', store.events, 'event'],
  ] as const) {
    get(`/${path}/:id`, (req) => {
      const id = String(req.params.id);
      const found = (map as Map<string, unknown>).get(id);
      return found ? reply(200, found) : missing(object, id, 'id');
    });
  }
  router.use((req, res) => {
    // Unknown routes are authenticated first, as Stripe does.
    send(res, admit(req) ?? profile.notFound());
  });
  router.use(serviceErrors(ctx, profile.service, profile));
  return router;
}
