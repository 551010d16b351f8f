/**
 * Stripe's list of events for reconciliation (`GET /v1/events`, the last 30 days): every event a
 * webhook of ours acts on, created in a window, newest first and paged by `starting_after`. Each is
 * the body its webhook carried, read by the receiver's own adapter.
 *
 * Not filtered by `delivery_success=false`: Stripe counts a delivery successful when we answered 2xx,
 * which we do only once the workflow is durable, so the filter would be safe; but listing every event
 * is what proves that, run after run, and a duplicate start costs one Temporal call.
 */
import { RECONCILE_PAGE_SIZE, type ReconcileWindow } from '../../domain/reconcile';
import { STRIPE_WORKFLOW_EVENT_TYPES } from '../../providers/stripe';
import type { Logger } from '../../runtime/logger';
import { DownstreamFailure } from '../errors';
import type { ListedPage } from './razorpay-listing';
import { type StripeConfig, clientFor, reader } from './stripe';

export async function listStripeEventsPage(
  config: StripeConfig,
  logger: Logger | undefined,
  window: ReconcileWindow,
  cursor: string | undefined,
): Promise<ListedPage> {
  const stripe = clientFor(config);
  const page = await reader(undefined, logger)('list_events', () =>
    stripe.events.list({
      created: { gte: window.from, lte: window.to },
      // Stripe takes up to 20 types.
      types: [...STRIPE_WORKFLOW_EVENT_TYPES],
      limit: RECONCILE_PAGE_SIZE,
      ...(cursor !== undefined && { starting_after: cursor }),
    }),
  );
  // The cursor event aged out of Stripe's 30 days, or STRIPE_API_URL is wrong: never an empty window.
  if (!page) {
    throw new DownstreamFailure(
      'ProviderRejected',
      `Stripe list_events: not found (cursor ${cursor ?? 'none'})`,
    );
  }
  const events = page.data;
  return {
    listed: events.length,
    // Oldest first, so a dispute's workflow starts with its first event and is signalled the later ones.
    bodies: events.map((e) => e as unknown as Record<string, unknown>).reverse(),
    // Cursor paging from a fixed window: events created later sit outside it and cannot shift the pages.
    ...(page.has_more && events.length > 0 && { next: events.at(-1)!.id }),
  };
}
