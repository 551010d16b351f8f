import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Stripe from 'stripe';
import { runSend } from '../../src/tools/send';
import { startSandbox, type RunningSandbox } from '../../src/sandbox/start';
import { credentials as sandboxCredentials } from '../sandbox/harness';
import { startRecordingServer, type RecordingServer } from './recording-server';

const RAZORPAY_SECRET = 'rzp_webhook_secret_9f8e7d';
const STRIPE_SECRET = 'whsec_test_4eC39HqLyjWDarjtT1zdp7dc';
const NO_DEV_ENV = path.join(tmpdir(), 'enrollflow-send-test-missing', 'dev.env');
const env = {
  RAZORPAY_WEBHOOK_SECRETS: `${RAZORPAY_SECRET},older_secret_123`,
  STRIPE_WEBHOOK_SECRETS: STRIPE_SECRET,
};

function capture() {
  const io = { out: '', err: '' };
  return {
    io,
    cli: { stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) },
  };
}

describe('send CLI', () => {
  let server: RecordingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('delivers a signed Razorpay payment and exits 0 when it is acknowledged', async () => {
    server = await startRecordingServer(() => ({ status: 200, body: '{"status":"accepted"}' }));
    const { io, cli } = capture();
    const code = await runSend(
      [
        'razorpay',
        '--no-sandbox',
        '--url',
        server.url,
        '--payment-id',
        'pay_Kx7Qm2Lp9Zr4Tb',
        '--course',
        'course_go301',
        '--amount',
        '99900',
      ],
      env,
      cli,
      NO_DEV_ENV,
    );

    expect(code).toBe(0);
    const [req] = server.requests;
    const entity = JSON.parse(req!.body).payload.payment.entity;
    expect(entity).toMatchObject({
      id: 'pay_Kx7Qm2Lp9Zr4Tb',
      amount: 99_900,
      notes: { course_id: 'course_go301' },
    });
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toBe(`POST ${server.url}/webhooks/razorpay  payment pay_Kx7Qm2Lp9Zr4Tb`);
    expect(lines[1]).toMatch(
      new RegExp(
        `^#1 payment.captured  ${String(req!.headers['x-razorpay-event-id'])}  \\d+ ms  200 \\{"status":"accepted"\\}$`,
      ),
    );
    expect(lines[2]).toBe('OK: 1/1 deliveries answered 2xx');
  });

  it('exits 1 and names the failing deliveries when a response is not 2xx', async () => {
    server = await startRecordingServer((_req, all) =>
      all.length === 2 ? { status: 500, body: '{"error":"boom"}' } : { status: 200, body: '{}' },
    );
    const { io, cli } = capture();
    const code = await runSend(
      ['stripe', '--no-sandbox', '--url', server.url, '--duplicates', '3'],
      env,
      cli,
      NO_DEV_ENV,
    );
    expect(code).toBe(1);
    expect(server.requests).toHaveLength(3);
    expect(io.out).toContain('FAIL: 2/3 deliveries answered 2xx (#');
    expect(io.out).toMatch(/ 500\)\n$/);
  });

  it('exits 0 for --tamper when every delivery is refused with 401', async () => {
    server = await startRecordingServer(() => ({ status: 401, body: '{"error":"invalid signature"}' }));
    const { io, cli } = capture();
    const code = await runSend(
      ['stripe', '--no-sandbox', '--url', server.url, '--tamper', '-n', '2'],
      env,
      cli,
      NO_DEV_ENV,
    );
    expect(code).toBe(0);
    expect(io.out).toContain('OK: 2/2 deliveries were refused with 401\n');
  });

  it('exits 1 for --wrong-secret when the receiver accepts the delivery', async () => {
    server = await startRecordingServer(() => ({ status: 200, body: '{}' }));
    const { cli } = capture();
    expect(
      await runSend(['razorpay', '--no-sandbox', '--url', server.url, '--wrong-secret'], {}, cli, NO_DEV_ENV),
    ).toBe(1);
  });

  it('prints machine-readable results with --json', async () => {
    server = await startRecordingServer(() => ({ status: 200, body: '{"status":"accepted"}' }));
    const { io, cli } = capture();
    const code = await runSend(
      [
        'stripe',
        '--no-sandbox',
        '--url',
        server.url,
        '--mix',
        '--payment-id',
        'pi_3QabcDEF456ghiJKL789mnoP',
        '--json',
      ],
      env,
      cli,
      NO_DEV_ENV,
    );
    expect(code).toBe(0);
    const out = JSON.parse(io.out) as { results: Array<{ eventType: string; status: number }> };
    expect(out).toMatchObject({
      provider: 'stripe',
      url: `${server.url}/webhooks/stripe`,
      paymentId: 'pi_3QabcDEF456ghiJKL789mnoP',
      expected: '2xx',
      ok: true,
    });
    expect(out.results.map((r) => [r.eventType, r.status])).toEqual([
      ['checkout.session.completed', 200],
      ['payment_intent.succeeded', 200],
    ]);
  });

  it('omits the course with --no-course and leaves notes as [] with --no-name too', async () => {
    server = await startRecordingServer();
    const { cli } = capture();
    await runSend(
      ['razorpay', '--no-sandbox', '--url', server.url, '--no-course', '--no-name'],
      env,
      cli,
      NO_DEV_ENV,
    );
    expect(JSON.parse(server.requests[0]!.body).payload.payment.entity.notes).toEqual([]);
  });

  it("reads the secret and port from the dev runner's .data/dev.env when the environment has none", async () => {
    server = await startRecordingServer();
    const devEnv = path.join(mkdtempSync(path.join(tmpdir(), 'enrollflow-send-')), 'dev.env');
    const port = new URL(server.url).port;
    writeFileSync(
      devEnv,
      `# written by the dev runner\nWEBHOOK_PORT=${port}\nSTRIPE_WEBHOOK_SECRETS=${STRIPE_SECRET},whsec_old_rotated_secret\n`,
    );
    const { cli } = capture();

    expect(await runSend(['stripe', '--no-sandbox'], {}, cli, devEnv)).toBe(0);
    const [req] = server.requests;
    expect(() =>
      Stripe.webhooks.constructEvent(req!.body, String(req!.headers['stripe-signature']), STRIPE_SECRET),
    ).not.toThrow();
  });

  it('explains where secrets come from when none can be found', async () => {
    const { cli } = capture();
    await expect(runSend(['razorpay', '--url', 'http://127.0.0.1:9'], {}, cli, NO_DEV_ENV)).rejects.toThrow(
      `No razorpay webhook secret: set RAZORPAY_WEBHOOK_SECRETS, pass --secret <secret>, or start the dev runner (it writes ${NO_DEV_ENV})`,
    );
  });

  it('rejects an unknown provider with a usage error', async () => {
    const { io, cli } = capture();
    expect(await runSend(['paypal'], env, cli, NO_DEV_ENV)).toBe(1);
    expect(io.err).toContain(`error: command-argument value 'paypal' is invalid for argument 'provider'.`);
  });

  it('prints help and exits 0', async () => {
    const { io, cli } = capture();
    expect(await runSend(['--help'], env, cli, NO_DEV_ENV)).toBe(0);
    expect(io.out.startsWith('Usage: send razorpay|stripe [options]\n')).toBe(true);
    expect(io.out).toContain('(default: "http://127.0.0.1:3000")');
    for (const flag of [
      '--dispute <payment or dispute id>',
      '--outcome <outcome>',
      '--cancel-subscription <subscription id>',
    ])
      expect(io.out).toContain(flag);
  });

  it('refuses --dispute with --refund, --outcome alone, and a bad outcome, before anything is sent', async () => {
    for (const [args, message] of [
      [['--dispute', 'pay_AAAAAAAAAAAAAA', '--refund', 'pay_AAAAAAAAAAAAAA'], /cannot be used with option/],
      [['--dispute', 'pay_AAAAAAAAAAAAAA', '--outcome', 'maybe'], /Allowed choices are won, lost/],
    ] as const) {
      const { io, cli } = capture();
      expect(await runSend(['razorpay', ...args], env, cli, NO_DEV_ENV)).toBe(1);
      expect(io.err).toMatch(message);
    }
    const { cli } = capture();
    await expect(
      runSend(['razorpay', '--outcome', 'lost', '--url', 'http://127.0.0.1:9'], env, cli, NO_DEV_ENV),
    ).rejects.toThrow('--outcome closes a dispute');
    await expect(
      runSend(['razorpay', '--dispute', 'disp_AAAAAAAAAAAAAA'], env, cli, NO_DEV_ENV),
    ).rejects.toThrow('disp_AAAAAAAAAAAAAA is a dispute: say how it closes with --outcome won|lost');
    await expect(
      runSend(['stripe', '--cancel-subscription', 'sub_x', '--no-sandbox'], env, cli, NO_DEV_ENV),
    ).rejects.toThrow('--cancel-subscription changes what the sandbox provider holds: drop --no-sandbox');
  });

  describe('acting as the provider, against the sandbox', () => {
    let sandbox: RunningSandbox;
    beforeAll(async () => {
      sandbox = await startSandbox({ credentials: sandboxCredentials, seed: 3 });
    });
    afterAll(async () => {
      await sandbox.close();
    });
    const razorpayApi = async (resource: string) => {
      const auth = Buffer.from(
        `${sandboxCredentials.RAZORPAY_KEY_ID}:${sandboxCredentials.RAZORPAY_KEY_SECRET}`,
      );
      const res = await fetch(`${sandbox.url}/razorpay/v1/${resource}`, {
        headers: { authorization: `Basic ${auth.toString('base64')}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it('buys the catalog product with a merchant order, adds the buyer notes to the payment, and delivers its webhooks', async () => {
      server = await startRecordingServer(() => ({ status: 200, body: '{"status":"started"}' }));
      const { io, cli } = capture();
      const code = await runSend(
        [
          'razorpay',
          '--url',
          server.url,
          '--sandbox',
          sandbox.url,
          '--course',
          'course-ml-101',
          '--payment-notes',
          '{"course_id":"course-ds-301"}',
        ],
        env,
        cli,
        NO_DEV_ENV,
      );
      expect(code).toBe(0);
      const bodies = server.requests.map((r) => JSON.parse(r.body) as { event: string; payload: any });
      expect(bodies.map((b) => b.event).sort()).toEqual(['order.paid', 'payment.captured']);
      const paid = bodies.find((b) => b.event === 'order.paid')!;
      expect(paid.payload.payment.entity).toMatchObject({
        amount: 499_900,
        notes: { course_id: 'course-ds-301' },
      });
      expect(paid.payload.order.entity.notes).toEqual({ product_id: 'course-ml-101' });
      // What the provider holds, as its API answers.
      const payment = await razorpayApi(`payments/${paid.payload.payment.entity.id}`);
      expect(payment.body).toMatchObject({ status: 'captured', amount: 499_900 });
      expect(io.out).toContain('OK: 2/2 deliveries answered 2xx');
    });

    it('with --no-webhook pays and delivers nothing', async () => {
      server = await startRecordingServer();
      const { io, cli } = capture();
      const code = await runSend(
        [
          'razorpay',
          '--url',
          server.url,
          '--sandbox',
          sandbox.url,
          '--no-webhook',
          '--payment-id',
          'pay_NoWebhook00001',
        ],
        env,
        cli,
        NO_DEV_ENV,
      );
      expect(code).toBe(0);
      expect(server.requests).toHaveLength(0);
      expect(io.out).toContain('payment pay_NoWebhook00001');
      expect((await razorpayApi('payments/pay_NoWebhook00001')).body).toMatchObject({ status: 'captured' });
    });

    it('with --refund refunds a payment the sandbox holds and delivers refund.created and refund.processed, signed', async () => {
      server = await startRecordingServer(() => ({ status: 200, body: '{"status":"ignored"}' }));
      const paymentId = 'pay_RefundMe000001';
      const args = ['razorpay', '--url', server.url, '--sandbox', sandbox.url];
      expect(
        await runSend([...args, '--no-webhook', '--payment-id', paymentId], env, capture().cli, NO_DEV_ENV),
      ).toBe(0);
      const { io, cli } = capture();
      const code = await runSend(
        [...args, '--refund', paymentId, '--amount', '100000', '--duplicates', '3'],
        env,
        cli,
        NO_DEV_ENV,
      );
      expect(code).toBe(0);
      expect(io.out).toContain('OK: 3/3 deliveries answered 2xx');
      const bodies = server.requests.map((r) => JSON.parse(r.body) as { event: string; payload: any });
      expect(bodies.map((b) => b.event)).toEqual(['refund.created', 'refund.processed', 'refund.created']);
      expect(bodies[1]!.payload.refund.entity).toMatchObject({ payment_id: paymentId, amount: 100_000 });
      // Signed as Razorpay signs: HMAC-SHA256 of the raw bytes with the webhook secret.
      for (const r of server.requests) {
        const expected = createHmac('sha256', RAZORPAY_SECRET).update(r.body).digest('hex');
        expect(r.headers['x-razorpay-signature']).toBe(expected);
      }
      expect((await razorpayApi(`payments/${paymentId}`)).body).toMatchObject({
        status: 'captured',
        amount_refunded: 100_000,
        refund_status: 'partial',
      });
      // Stripe: refund.created, then charge.refunded with the charge as it now stands.
      server.requests.length = 0;
      const stripeArgs = ['stripe', '--url', server.url, '--sandbox', sandbox.url];
      const bought = capture();
      expect(await runSend([...stripeArgs, '--no-webhook', '--json'], env, bought.cli, NO_DEV_ENV)).toBe(0);
      const intent = JSON.parse(bought.io.out).purchase.paymentId as string;
      expect(await runSend([...stripeArgs, '--refund', intent], env, capture().cli, NO_DEV_ENV)).toBe(0);
      const events = server.requests.map(
        (r) => JSON.parse(r.body) as { type: string; data: { object: any } },
      );
      expect(events.map((e) => e.type)).toEqual(['refund.created', 'charge.refunded']);
      expect(events[1]!.data.object).toMatchObject({ payment_intent: intent, refunded: true });
      for (const r of server.requests) {
        expect(
          Stripe.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), STRIPE_SECRET).type,
        ).toBeDefined();
      }
    });

    const signedByRazorpay = (r: { body: string; headers: Record<string, unknown> }) =>
      r.headers['x-razorpay-signature'] ===
      createHmac('sha256', RAZORPAY_SECRET).update(r.body).digest('hex');
    const signedByStripe = (r: { body: string; headers: Record<string, unknown> }) =>
      Stripe.webhooks.constructEvent(r.body, String(r.headers['stripe-signature']), STRIPE_SECRET).type;
    /** The provider played by the sandbox, its webhooks delivered to the recording server. */
    const against = (provider: string) => [provider, '--url', server!.url, '--sandbox', sandbox.url];
    /** Buys without delivering anything; returns what the sandbox answered. */
    const bought = async (provider: string, ...more: string[]) => {
      const { io, cli } = capture();
      const args = [...against(provider), '--no-webhook', '--json', ...more];
      expect(await runSend(args, env, cli, NO_DEV_ENV)).toBe(0);
      return JSON.parse(io.out).purchase as { paymentId: string; references: Record<string, string> };
    };

    it('with --dispute and --outcome opens and closes a Razorpay dispute, delivering both events, signed', async () => {
      server = await startRecordingServer(() => ({ status: 200, body: '{"status":"ignored"}' }));
      const { paymentId } = await bought('razorpay');
      const { io, cli } = capture();
      const code = await runSend(
        [...against('razorpay'), '--dispute', paymentId, '--outcome', 'lost', '--duplicates', '3'],
        env,
        cli,
        NO_DEV_ENV,
      );
      expect(code).toBe(0);
      const disputeId = /Razorpay dispute (disp_[A-Za-z0-9]{14}) of payment (\S+): open -> lost\n/.exec(
        io.out,
      );
      expect(disputeId?.[2]).toBe(paymentId);
      expect(io.out).toContain(`POST ${server.url}/webhooks/razorpay  payment ${paymentId}`);
      expect(io.out).toContain('OK: 3/3 deliveries answered 2xx');
      // Planned in the order the provider announced them, redeliveries cycling through them; sent at
      // once, so they may arrive in any order.
      expect([...io.out.matchAll(/^#\d (\S+) /gm)].map((m) => m[1])).toEqual([
        'payment.dispute.created',
        'payment.dispute.lost',
        'payment.dispute.created',
      ]);
      const bodies = server.requests.map((r) => JSON.parse(r.body) as { event: string; payload: any });
      const created = server.requests.filter((r) => r.body.includes('"payment.dispute.created"'));
      expect(created).toHaveLength(2);
      expect(created[1]!.body).toBe(created[0]!.body);
      expect(bodies.find((b) => b.event === 'payment.dispute.lost')!.payload.dispute.entity).toMatchObject({
        id: disputeId?.[1],
        payment_id: paymentId,
        status: 'lost',
      });
      for (const r of server.requests) expect(signedByRazorpay(r)).toBe(true);
      expect((await razorpayApi(`disputes/${disputeId?.[1]}`)).body).toMatchObject({
        status: 'lost',
        amount_deducted: 499_900,
      });
    });

    it('with --dispute opens one only; with a dispute id and --outcome closes that one', async () => {
      server = await startRecordingServer();
      const { paymentId } = await bought('razorpay');
      const args = [...against('razorpay'), '--json'];
      const opened = capture();
      expect(await runSend([...args, '--dispute', paymentId], env, opened.cli, NO_DEV_ENV)).toBe(0);
      const out = JSON.parse(opened.io.out);
      expect(out).toMatchObject({ ok: true, paymentId, dispute: { paymentId, status: 'open' } });
      expect(out.dispute.deliveries).toBeUndefined();
      const disputeId: string = out.dispute.disputeId;
      expect(disputeId).toMatch(/^disp_/);
      expect(server.requests.map((r) => JSON.parse(r.body).event)).toEqual(['payment.dispute.created']);

      const closed = capture();
      expect(
        await runSend([...args, '--dispute', disputeId, '--outcome', 'won'], env, closed.cli, NO_DEV_ENV),
      ).toBe(0);
      expect(JSON.parse(closed.io.out).dispute).toMatchObject({ disputeId, status: 'won' });
      expect(server.requests.map((r) => JSON.parse(r.body).event)).toEqual([
        'payment.dispute.created',
        'payment.dispute.won',
      ]);
      // The provider refuses to close it again, and send says so.
      await expect(
        runSend([...args, '--dispute', disputeId, '--outcome', 'lost'], env, capture().cli, NO_DEV_ENV),
      ).rejects.toThrow(/the sandbox provider refused the dispute close: 400 .*already in won state/);
      expect(server.requests).toHaveLength(2);
    });

    it('with --dispute disputes a Stripe payment and closes it: charge.dispute.created, then .closed', async () => {
      server = await startRecordingServer();
      const { paymentId } = await bought('stripe');
      const { io, cli } = capture();
      const code = await runSend(
        [...against('stripe'), '--dispute', paymentId, '--outcome', 'won'],
        env,
        cli,
        NO_DEV_ENV,
      );
      expect(code).toBe(0);
      expect(io.out).toMatch(/^Stripe dispute dp_\w+ of payment pi_\w+: needs_response -> won\n/);
      const events = server.requests.map(
        (r) => JSON.parse(r.body) as { type: string; data: { object: any } },
      );
      expect(events.map((e) => e.type).sort()).toEqual(['charge.dispute.closed', 'charge.dispute.created']);
      expect(events.find((e) => e.type === 'charge.dispute.closed')!.data.object).toMatchObject({
        payment_intent: paymentId,
        status: 'won',
      });
      for (const r of server.requests) expect(signedByStripe(r)).toBeDefined();
    });

    it('with --cancel-subscription cancels a subscription and delivers its end, for both providers', async () => {
      server = await startRecordingServer();
      const razorpay = await bought('razorpay', '--kind', 'subscription');
      const subscriptionId = razorpay.references.subscription!;
      const { io, cli } = capture();
      expect(
        await runSend(
          [...against('razorpay'), '--cancel-subscription', subscriptionId],
          env,
          cli,
          NO_DEV_ENV,
        ),
      ).toBe(0);
      expect(io.out).toContain(`Razorpay subscription ${subscriptionId}: cancelled, ended `);
      // Named by the payment that granted it.
      expect(io.out).toContain(`payment ${razorpay.paymentId}\n`);
      const [cancelled] = server.requests.map((r) => JSON.parse(r.body) as { event: string; payload: any });
      expect(cancelled).toMatchObject({
        event: 'subscription.cancelled',
        payload: { subscription: { entity: { id: subscriptionId, status: 'cancelled' } } },
      });
      expect(signedByRazorpay(server.requests[0]!)).toBe(true);
      expect((await razorpayApi(`subscriptions/${subscriptionId}`)).body).toMatchObject({
        status: 'cancelled',
      });

      server.requests.length = 0;
      const stripe = await bought('stripe', '--kind', 'subscription');
      const json = capture();
      expect(
        await runSend(
          [
            ...against('stripe'),
            '--cancel-subscription',
            stripe.references.subscription!,
            '-n',
            '2',
            '--json',
          ],
          env,
          json.cli,
          NO_DEV_ENV,
        ),
      ).toBe(0);
      expect(JSON.parse(json.io.out)).toMatchObject({
        paymentId: stripe.paymentId,
        subscription: { subscriptionId: stripe.references.subscription, status: 'canceled' },
      });
      const events = server.requests.map((r) => JSON.parse(r.body) as { id: string; type: string });
      expect(events.map((e) => e.type)).toEqual([
        'customer.subscription.deleted',
        'customer.subscription.deleted',
      ]);
      // A redelivery is the same event.
      expect(events[1]!.id).toBe(events[0]!.id);
      for (const r of server.requests) expect(signedByStripe(r)).toBeDefined();
    });

    it('sells a Stripe bundle with its price as the line item', async () => {
      server = await startRecordingServer(() => ({ status: 200, body: '{}' }));
      const { cli } = capture();
      const code = await runSend(
        [
          'stripe',
          '--url',
          server.url,
          '--sandbox',
          sandbox.url,
          '--course',
          'bundle-data-career',
          '--currency',
          'USD',
        ],
        env,
        cli,
        NO_DEV_ENV,
      );
      expect(code).toBe(0);
      const session = server.requests
        .map((r) => JSON.parse(r.body) as { type: string; data: { object: any } })
        .find((e) => e.type === 'checkout.session.completed')!.data.object;
      expect(session).toMatchObject({
        amount_total: 17_900,
        currency: 'usd',
        metadata: { product_id: 'bundle-data-career' },
      });
    });

    it('names what the catalog sells when the product is unknown', async () => {
      const { cli } = capture();
      await expect(
        runSend(
          ['razorpay', '--url', 'http://127.0.0.1:9', '--sandbox', sandbox.url, '--course', 'course-xx'],
          env,
          cli,
          NO_DEV_ENV,
        ),
      ).rejects.toThrow(
        /"course-xx" is not a product of .*sample\.yaml; it sells course-ml-101, course-ds-301, bundle-data-career/,
      );
    });
  });
});
