/**
 * Razorpay's lists for reconciliation: payments and refunds created in a window, `count` at most 100
 * and paged by `skip`, newest first. Razorpay keeps no list of events, so each record is wrapped in
 * the envelope of the webhook that announces it (`payment.captured`, `refund.processed`) and read by
 * the receiver's own adapter: a payment found here is keyed, checked and started exactly as its
 * webhook would have been.
 */
import { z } from 'zod';
import { RECONCILE_PAGE_SIZE, type ReconcileStream, type ReconcileWindow } from '../../domain/reconcile';
import { DownstreamFailure } from '../errors';
import type { ClassifyDeps, HttpDeps } from '../http';
import { type RazorpayApiConfig, razorpayApi } from './razorpay';

const collectionSchema = z.object({
  items: z.array(z.looseObject({ id: z.string(), status: z.string(), created_at: z.number() })),
});

/** The webhook each listed record stands for (a payment not captured is read as one, and ignored). */
const ANNOUNCED_BY: Record<'payments' | 'refunds', { path: string; event: string; entity: string }> = {
  payments: { path: '/v1/payments', event: 'payment.captured', entity: 'payment' },
  refunds: { path: '/v1/refunds', event: 'refund.processed', entity: 'refund' },
};

export interface ListedPage {
  /** Records the provider listed. */
  listed: number;
  /** Event envelopes, oldest first, for the provider's adapter to interpret. */
  bodies: Array<Record<string, unknown>>;
  next?: string;
}

export async function listRazorpayPage(
  config: RazorpayApiConfig,
  deps: HttpDeps & ClassifyDeps,
  stream: ReconcileStream,
  window: ReconcileWindow,
  cursor: string | undefined,
): Promise<ListedPage> {
  if (stream !== 'payments' && stream !== 'refunds') throw new Error(`Razorpay lists no ${stream}`);
  const { path, event, entity } = ANNOUNCED_BY[stream];
  const skip = cursor === undefined ? 0 : Number(cursor);
  const query = new URLSearchParams({
    from: String(window.from),
    to: String(window.to),
    count: String(RECONCILE_PAGE_SIZE),
    skip: String(skip),
  });
  const page = await razorpayApi(config, deps).read(
    `list_${stream}`,
    `${path}?${query.toString()}`,
    collectionSchema,
  );
  // A list is never "not found": a 404 here is a wrong RAZORPAY_API_URL, which must not pass for an
  // empty window.
  if (!page) {
    throw new DownstreamFailure(
      'ProviderRejected',
      `Razorpay list_${stream}: ${path} not found (check RAZORPAY_API_URL)`,
    );
  }
  const { items } = page;
  // Only a processed refund has taken the money back; the receiver ignores `refund.created` too.
  const bodies = items
    .filter((item) => stream === 'payments' || item.status === 'processed')
    .map((item) => ({
      entity: 'event',
      event,
      created_at: item.created_at,
      payload: { [entity]: { entity: item } },
    }))
    .reverse();
  return {
    listed: items.length,
    bodies,
    // The window's end is in the past, so no record enters it while it is paged: `skip` is stable.
    ...(items.length === RECONCILE_PAGE_SIZE && { next: String(skip + items.length) }),
  };
}
