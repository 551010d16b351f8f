/**
 * Every `patched()` id the enrollment workflow has used. A patch lets workflows an earlier build started
 * replay on this one: `patched(id)` is true where this code reaches the call first (it records a marker,
 * and the SDK adds the id to the `TemporalChangeVersion` search attribute), false where the history got
 * past that point without the marker. The histories test/workflow/replay.test.ts replays are named by
 * the build that recorded them: v1 before any patch, v2 with show-steps-late, v3 with cancel-ends-payment
 * too, v4 with confirm-with-provider (v4-purchase-review, v4-bundle and v4-renewal take paths only it has),
 * v5 with recheck-partial-order (v5-part-paid-recheck), v6 with money-back (v6-money-back). The access
 * workflow (./access.ts) has no patch yet; its histories, v6-access-*, are replayed the same way, and
 * so are reconciliation's (./reconcile.ts), v7-reconcile-*.
 *
 * Replay is not only for running payments: a query on a closed one (`npm run ops -- show`) replays its
 * history too, for as long as the namespace retains it. So an old path may go once no payment that needs
 * it is running, and none has closed within the retention period. Then: replace `patched(id)` with
 * `deprecatePatch(id)`, delete the old path and the histories that take it; once no retained payment
 * carries the marker either, delete the call (docs/operations.md, "Deploying a change to the workflow").
 */

/**
 * Steps show in `EnrollmentState` late (see `VISIBLE_STEP_DELAY` in ./visibility): a timer per payment
 * instead of an upsert at every state change. Checked once, at the start of every workflow, before the
 * first command. Since it shipped, leaving review is shown at once as well, under the same id (the v2
 * histories were recorded again from that build).
 *
 * Old path (false): the v1-* histories. New path (true): v2-*, v3-*.
 * Retire when no payment without it in `TemporalChangeVersion` is running
 * (`TemporalChangeVersion IS NULL`, the runbook's patch census) or retained. With the old path go the
 * v1-* histories, and the replay test's v1 expectations (its check that a renamed activity fails to
 * replay uses v1-completed.json).
 */
export const SHOW_STEPS_LATE_PATCH = 'show-steps-late';

/**
 * A cancelled workflow ends Canceled: before, the cancelled step's activity failure opened a review
 * (EnrollmentState `needs_review` and a "payment needs review" log on a workflow that was in fact being
 * cancelled). Checked only when a step's activity comes back cancelled, so only cancelled payments carry
 * it, and the census by `TemporalChangeVersion` cannot find the ones that need the old path.
 *
 * Old path (false): v1-cancelled, v2-cancelled. New path (true): v3-cancelled.
 * A payment takes the old path only if an earlier build handled its cancellation, and that closed it, so
 * none is running: retire once the last build without the patch stopped and the retention period has
 * passed since. With the old path go v1-cancelled and v2-cancelled.
 */
export const CANCEL_ENDS_PAYMENT_PATCH = 'cancel-ends-payment';

/**
 * The payment is confirmed with its provider and resolved against the catalog before anything is
 * granted (the `confirm` step), a bundle enrolls each course with its own key, and a review decision
 * must name its review. Checked first thing in every workflow, so the census by `TemporalChangeVersion`
 * finds the payments that still need the old path.
 *
 * Old path (false): every v1-*, v2-* and v3-* history (the course came from the webhook). New path
 * (true): v4-*. Retire when no payment without it in `TemporalChangeVersion` is running or retained;
 * with the old path go `legacyFlow` in ./enrollment and the v1-v3 histories.
 */
export const CONFIRM_WITH_PROVIDER_PATCH = 'confirm-with-provider';

/**
 * A welcome step that fails without the activity's own word (it timed out mid-call, its worker was
 * lost on the last attempt) opens an outcome-unknown review (`welcome-unknown-<n>`), which batch
 * tools and step wildcards never retry: before, it was an ordinary `welcome-<n>` failure, and a batch
 * retry could send a second message. Checked only when such a failure happens, so only those payments
 * carry it, and no recorded history reaches it.
 *
 * Old path (false): a payment whose welcome failed that way before this build, which a decision may
 * already have named `welcome-<n>`. Retire once the last build without it stopped and the retention
 * period has passed since.
 */
export const WELCOME_UNCERTAIN_PATCH = 'welcome-uncertain';

/**
 * A payment of a Razorpay order taking partial payments that finds money still due asks again a few
 * times (a timer between, eight minutes in all) before it ends `partial_payment`: a payment created before it may be
 * captured after it, and the order's completing payment is the latest created one, so without a
 * second look nobody would grant a fully paid order. Checked only on that path, so only such payments
 * carry it; v5-part-paid-recheck takes it.
 *
 * Old path (false): such a payment that an earlier build already ended, or is ending. Retire once the
 * last build without it stopped and the retention period has passed since.
 */
export const RECHECK_PARTIAL_ORDER_PATCH = 'recheck-partial-order';

/**
 * A payment still running takes `moneyBack` (sent by an access change when the provider says the money
 * went back for good): it grants nothing more, skips any review, and ends `refunded`. Checked when the
 * signal is taken, so only payments that got one carry it; v6-money-back takes it.
 *
 * Old path (false): a payment an earlier build ran while the signal came, which it did not act on.
 * Retire once the last build without it stopped and the retention period has passed since.
 */
export const MONEY_BACK_PATCH = 'money-back';
