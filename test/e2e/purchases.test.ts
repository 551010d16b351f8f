import { sendDeliveries, sendPurchaseDeliveries } from '../../src/tools/deliver';
import { catalogPurchase, registerPurchase, registerRefund } from '../../src/tools/purchase';
import { loadCatalog } from '../../src/catalog';
import { newPaymentId } from '../../src/providers';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import type { PaymentProvider } from '../../src/domain/payment-event';
import { statusQuery, type EnrollmentStatus, type EnrollmentSummary } from '../../src/workflows/messages';
import { MAX_DETAILS_SIGNALS } from '../../src/workflows/review';
import { eventually } from '../helpers/eventually';
import { type SendJson, sendJson } from '../helpers/send';
import { useSystem, studentEmail, sameEmail } from '../helpers/system';

/**
 * What gets enrolled, black-box: `npm run send` plays the provider (creates the merchant's object in
 * the sandbox provider, pays it, delivers its signed webhooks) against the real receiver, worker and a
 * Temporal dev server; the sandbox LMS ledger says what was granted.
 */
const system = useSystem();

const send = (provider: PaymentProvider, email: string, ...args: string[]) =>
  sendJson(system, provider, ['--email', email, ...args]);

const resultOf = (workflowId: string) =>
  system.client.workflow.getHandle(workflowId).result() as Promise<EnrollmentSummary>;
const statusOf = (workflowId: string) => system.client.workflow.getHandle(workflowId).query(statusQuery);

const enrolledCourses = async (email: string) =>
  (await system.ledger()).enrollments
    .filter((e) => sameEmail(e.email, email))
    .map((e) => e.course_id)
    .sort();

async function inReview(workflowId: string): Promise<EnrollmentStatus> {
  return eventually(
    async () => {
      const s = await statusOf(workflowId);
      return s.state === 'needs_review' ? s : undefined;
    },
    20_000,
    100,
  );
}

/** Every workflow the purchase's webhooks reached (the receiver names it), with how each ended. */
async function outcomesOf(sent: SendJson) {
  const ids = new Set<string>();
  for (const r of sent.results) {
    const { workflowId } = JSON.parse(r.body) as { workflowId?: string };
    if (workflowId) ids.add(workflowId);
  }
  const outcomes: Record<string, string> = {};
  for (const id of ids) outcomes[id] = (await resultOf(id)).outcome;
  return outcomes;
}

describe('what gets enrolled', () => {
  it('enrolls the course the merchant sold, not the one the buyer wrote into payment notes', async () => {
    const email = studentEmail('notes-attack');
    const sent = await send(
      'razorpay',
      email,
      '--course',
      'course-ml-101',
      '--payment-notes',
      '{"course_id":"course-ds-301","product_id":"bundle-data-career"}',
    );
    expect(sent.results.every((r) => r.status === 200)).toBe(true);
    const summary = await resultOf(enrollmentWorkflowId('razorpay', sent.paymentId));
    expect(summary).toMatchObject({ outcome: 'completed', productId: 'course-ml-101' });
    expect(await enrolledCourses(email)).toEqual(['ML-101']);
  });

  it('enrolls nothing when the amount paid is not the price, and opens a review that says so', async () => {
    const email = studentEmail('underpaid');
    const sent = await send('razorpay', email, '--course', 'course-ds-301', '--amount', '100');
    const workflowId = enrollmentWorkflowId('razorpay', sent.paymentId);
    const status = await inReview(workflowId);
    expect(status.openReview).toMatchObject({ id: 'confirm-1', step: 'confirm' });
    expect(status.openReview!.reason).toBe('paid ₹1.00 but the catalog price of course-ds-301 is ₹14,999.00');
    expect(await enrolledCourses(email)).toEqual([]);
    await system.client.workflow.getHandle(workflowId).signal('resolveReview', {
      reviewId: 'confirm-1',
      action: 'abort',
      reviewer: 'ops@example.com',
      note: 'underpaid: refund',
    });
    expect((await resultOf(workflowId)).outcome).toBe('aborted');
    expect(await enrolledCourses(email)).toEqual([]);
  });

  it('enrolls every course of a Stripe bundle exactly once, with one welcome that names them', async () => {
    const email = studentEmail('bundle');
    const phone = `+91987${String(Date.now()).slice(-7)}`;
    const before = (await system.ledger()).messages.length;
    const sent = await send('stripe', email, '--course', 'bundle-data-career', '--phone', phone, '-n', '4');
    expect(sent.results).toHaveLength(4);
    const outcomes = await outcomesOf(sent);
    expect(Object.values(outcomes)).toEqual(['completed']);
    expect(await enrolledCourses(email)).toEqual(['DS-301', 'ML-101']);
    const ledger = await system.ledger();
    const welcomes = ledger.messages.slice(before).filter((m) => m.to === phone.replace('+', ''));
    expect(welcomes).toHaveLength(1);
    expect(JSON.stringify(welcomes[0])).toMatch(/Machine Learning 101/);
    expect(JSON.stringify(welcomes[0])).toMatch(/Data Science 301/);
    if (system.lms === 'generic') {
      // One LMS call per course, each under its own idempotency key.
      const keys = ledger.requests
        .filter((r) => r.service === 'lms' && r.idempotencyKey?.includes(sent.paymentId))
        .map((r) => r.idempotencyKey);
      expect(new Set(keys).size).toBe(2);
    } else {
      // Moodle and Canvas: both courses in that LMS, under the one account made for the student.
      expect(ledger.enrollments.filter((e) => sameEmail(e.email, email)).map((e) => e.lms)).toEqual([
        system.lms,
        system.lms,
      ]);
      expect(ledger.lmsUsers.filter((u) => sameEmail(u.email, email))).toHaveLength(1);
    }
  });

  it('answers a signed Razorpay body created 40 days ago 200 stale, and starts nothing', async () => {
    const paymentId = newPaymentId('razorpay');
    const [delivery] = await sendDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      sandboxUrl: system.sandbox.url,
      fixture: {
        paymentId,
        courseId: 'course-ml-101',
        createdAt: Math.floor(Date.now() / 1000) - 40 * 24 * 3600,
      },
    });
    expect(delivery!.status).toBe(200);
    expect(JSON.parse(delivery!.body)).toMatchObject({ status: 'stale' });
    const { count } = await system.client.workflow.count(`PaymentId = "${paymentId}"`);
    expect(count).toBe(0);
  });

  const kinds: Array<[PaymentProvider, string, string[]]> = [
    ['razorpay', 'order', []],
    ['razorpay', 'payment-link', []],
    ['razorpay', 'subscription', ['--course', 'bundle-data-career', '--charges', '2']],
    ['stripe', 'checkout', ['--currency', 'USD']],
    ['stripe', 'subscription', ['--course', 'course-ml-101']],
    ['stripe', 'invoice', ['--course', 'course-ds-301']],
  ];
  it.each(kinds)('completes a %s %s purchase: access granted once', async (provider, kind, args) => {
    const email = studentEmail(`${provider}-${kind}`);
    const sent = await send(provider, email, '--kind', kind, ...args);
    expect(sent.results.every((r) => r.status === 200)).toBe(true);
    const outcomes = Object.values(await outcomesOf(sent));
    // One workflow grants; the others are a subscription's renewal, or a PaymentIntent whose
    // invoice's workflow grants.
    expect(outcomes.filter((o) => o === 'completed')).toHaveLength(1);
    expect(outcomes.filter((o) => !['completed', 'renewal', 'handled_elsewhere'].includes(o))).toEqual([]);
    if (kind === 'subscription' && provider === 'razorpay') expect(outcomes).toContain('renewal');
    const expected = args.includes('bundle-data-career')
      ? ['DS-301', 'ML-101']
      : args.includes('course-ds-301')
        ? ['DS-301']
        : ['ML-101'];
    expect(await enrolledCourses(email)).toEqual(expected);
  });
});

describe('a Razorpay order paid twice', () => {
  it('grants nothing by itself: both payments wait in review, and the operator grants one once', async () => {
    const email = studentEmail('paid-twice');
    const phone = `+91987${String(Date.now()).slice(-7)}`;
    const catalog = loadCatalog(system.env.CATALOG_PATH!);
    const spec = catalogPurchase(catalog, 'razorpay', {
      productId: 'course-ml-101',
      kind: 'order',
      currency: 'INR',
      customer: { email, name: 'Two Tabs', phone },
    });
    const before = (await system.ledger()).messages.length;
    const purchase = await registerPurchase(system.sandbox.url, 'razorpay', { ...spec, paidTwice: true });
    const sent = await sendPurchaseDeliveries({
      provider: 'razorpay',
      url: system.receiver.url,
      secret: system.secrets.razorpay,
      purchase,
    });
    expect(sent.every((r) => r.status === 200)).toBe(true);
    const [first, second] = purchase.paymentIds.map((id) => `payment-razorpay-${id}`);
    for (const id of [first!, second!]) {
      const review = (await inReview(id)).openReview!;
      expect(review).toMatchObject({ id: 'confirm-1', step: 'confirm' });
      expect(review.reason).toMatch(/was paid more than once: Razorpay holds another payment for it/);
    }
    expect(await enrolledCourses(email)).toEqual([]);
    // The operator grants one (naming the product) and aborts the other, to be refunded.
    await system.client.workflow.getHandle(first!).signal('resolveReview', {
      reviewId: 'confirm-1',
      action: 'retry',
      reviewer: 'ops@example.com',
      note: 'paid twice: keep this one',
      patch: { productId: 'course-ml-101' },
    });
    await system.client.workflow.getHandle(second!).signal('resolveReview', {
      reviewId: 'confirm-1',
      action: 'abort',
      reviewer: 'ops@example.com',
      note: 'paid twice: refund this one',
    });
    expect(await resultOf(first!)).toMatchObject({ outcome: 'completed' });
    expect(await resultOf(second!)).toMatchObject({ outcome: 'aborted' });
    expect(await enrolledCourses(email)).toEqual(['ML-101']);
    const welcomes = (await system.ledger()).messages.slice(before).filter((m) => m.to === phone.slice(1));
    expect(welcomes).toHaveLength(1);
  });
});

describe('a Stripe subscription with a free trial', () => {
  it('enrolls on the first charge that takes money; the trial itself grants nothing', async () => {
    const email = studentEmail('trial');
    const catalog = loadCatalog(system.env.CATALOG_PATH!);
    const spec = catalogPurchase(catalog, 'stripe', {
      productId: 'course-ml-101',
      kind: 'subscription',
      currency: 'INR',
      customer: { email, name: 'Trial Student', phone: '+919876500012' },
      charges: 2,
    });
    const purchase = await registerPurchase(system.sandbox.url, 'stripe', { ...spec, trialDays: 7 });
    const sent = await sendPurchaseDeliveries({
      provider: 'stripe',
      url: system.receiver.url,
      secret: system.secrets.stripe,
      purchase,
    });
    expect(sent.every((r) => r.status === 200)).toBe(true);
    const [first, renewal] = purchase.paymentIds.map((id) => `payment-stripe-${id}`);
    expect(await resultOf(first!)).toMatchObject({ outcome: 'completed', productId: 'course-ml-101' });
    expect(await resultOf(renewal!)).toMatchObject({ outcome: 'renewal' });
    expect(await enrolledCourses(email)).toEqual(['ML-101']);
  });
});

describe('money back before the payment was granted', () => {
  it.each([
    ['razorpay', 'order'],
    ['stripe', 'checkout'],
    ['stripe', 'subscription'],
  ] as const)(
    'grants nothing to a %s %s payment refunded in full before its own webhook arrived',
    async (provider, kind) => {
      const email = studentEmail(`refunded-first-${provider}`);
      const catalog = loadCatalog(system.env.CATALOG_PATH!);
      const purchase = await registerPurchase(
        system.sandbox.url,
        provider,
        catalogPurchase(catalog, provider, {
          productId: 'course-ml-101',
          kind,
          currency: 'INR',
          customer: { email, name: 'Late Webhook', phone: '+919876500011' },
        }),
      );
      const refund = await registerRefund(system.sandbox.url, provider, { paymentId: purchase.paymentId });
      expect(refund.full).toBe(true);
      const common = { provider, url: system.receiver.url, secret: system.secrets[provider] };
      const refunds = await sendPurchaseDeliveries({ ...common, purchase: refund });
      expect(refunds.map((r) => r.status)).toEqual([200, 200]);
      // The paid webhooks come late (a provider retrying after an outage): the provider says refunded,
      // or the refund's access workflow, still looking for the payment, tells it so first.
      const paid = await sendPurchaseDeliveries({ ...common, purchase });
      const workflowId = JSON.parse(paid[0]!.body).workflowId as string;
      expect(await resultOf(workflowId)).toMatchObject({
        outcome: 'refunded',
        reason: expect.stringMatching(/was refunded in full: nothing is granted|^the money went back: /),
      });
      expect(await enrolledCourses(email)).toEqual([]);
    },
  );
});

describe('replays cannot grow a workflow', () => {
  const signalsIn = async (workflowId: string) => {
    const history = await system.client.workflow.getHandle(workflowId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  };

  it('keeps the history of a payment in review bounded through storms of redeliveries, and its review decidable', async () => {
    const email = studentEmail('storm');
    // 300 deliveries of one purchase's webhooks: the provider's signed bytes, again and again.
    const sent = await send('razorpay', email, '--course', 'course-ml-101', '--amount', '4999', '-n', '300');
    expect(sent.results).toHaveLength(300);
    expect(sent.results.filter((r) => r.status !== 200)).toEqual([]);
    const workflowId = enrollmentWorkflowId('razorpay', sent.paymentId);
    await inReview(workflowId);
    const kinds = new Set(sent.results.map((r) => r.eventType)).size;
    expect(await signalsIn(workflowId)).toBeLessThanOrEqual(kinds);

    // Then bodies that differ in what they say about the student (an attacker re-signing is not
    // possible; this is the worst a provider's own redeliveries could vary): bounded all the same.
    for (let batch = 0; batch < 4; batch += 1) {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          sendDeliveries({
            provider: 'razorpay',
            url: system.receiver.url,
            secret: system.secrets.razorpay,
            fixture: {
              paymentId: sent.paymentId,
              email,
              name: `Storm Student ${batch * 10 + i}`,
              courseId: 'course-ml-101',
              amountMinor: 4999,
            },
          }),
        ),
      );
    }
    // Forwards run after each answer: wait until the payment is back in review and nothing moves.
    let lastSignals = -1;
    const status = await eventually(
      async () => {
        const [s, signals] = [await statusOf(workflowId), await signalsIn(workflowId)];
        const settled = s.openReview !== undefined && signals === lastSignals;
        lastSignals = signals;
        return settled ? s : undefined;
      },
      20_000,
      500,
    );
    expect(status.detailsSeen!.length).toBeLessThanOrEqual(MAX_DETAILS_SIGNALS);
    expect(await signalsIn(workflowId)).toBeLessThanOrEqual(MAX_DETAILS_SIGNALS);
    // A delivery at the confirm review asks the provider again (it may say paid by now); each such
    // round is one of the bounded signals, so the review was reopened a bounded number of times.
    expect(status.openReview!.id).toMatch(/^confirm-\d+$/);
    expect(status.reviews.length).toBeLessThanOrEqual(MAX_DETAILS_SIGNALS + 1);

    await system.client.workflow.getHandle(workflowId).signal('resolveReview', {
      reviewId: status.openReview!.id,
      action: 'abort',
      reviewer: 'ops@example.com',
      note: 'underpaid',
    });
    expect((await resultOf(workflowId)).outcome).toBe('aborted');
    expect(await enrolledCourses(email)).toEqual([]);
  }, 90_000);
});
