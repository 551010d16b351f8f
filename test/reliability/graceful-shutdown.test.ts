import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { enrollmentWorkflowId } from '../../src/domain/ids';
import { freePort } from '../../scripts/temporal/free-port';
import { planDeliveries } from '../../src/tools/deliver';
import { fixturePurchase, registerPurchase } from '../../src/tools/purchase';
import { newPaymentId } from '../../src/providers';
import { type ChaosSystem, sleep, startChaosSystem } from '../../scripts/reliability/harness';
import { productNodeArgs } from '../../scripts/product-process';
import { newPayloadKeyEnv } from '../../src/temporal/payload-codec';

/** SIGTERM is how containers are stopped: in-flight work must finish, nothing may be cut off. */
const ROOT = path.resolve(__dirname, '..', '..');

describe('graceful shutdown', () => {
  it('the receiver answers the delivery in flight, refuses new connections, then exits 0', async () => {
    // A "Temporal" that accepts connections and never answers: the start runs into its deadline.
    const blackHole = net.createServer(() => undefined);
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    const secret = 'rzp_graceful_secret';
    const child = spawn(process.execPath, productNodeArgs('src/webhook/main.ts'), {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        TEMPORAL_ADDRESS: `127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`,
        WEBHOOK_PORT: String(port),
        WEBHOOK_START_TIMEOUT_MS: '1500',
        RAZORPAY_WEBHOOK_SECRETS: secret,
        STRIPE_WEBHOOK_SECRETS: 'whsec_graceful_secret',
        ...newPayloadKeyEnv(),
        LOG_LEVEL: 'silent',
      },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = `http://127.0.0.1:${port}`;
    for (
      let i = 0;
      !(await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 150) throw new Error('receiver did not start');
      await sleep(100);
    }

    const { deliveries } = planDeliveries({
      provider: 'razorpay',
      url,
      secret,
      fixture: { paymentId: newPaymentId('razorpay') },
    });
    const delivery = deliveries[0]!.signed;
    const inFlight = fetch(`${url}/webhooks/razorpay`, {
      method: 'POST',
      headers: delivery.headers,
      body: delivery.body,
    });
    await sleep(300);
    child.kill('SIGTERM');
    await sleep(200);

    // New connections are refused while the in-flight one is still being answered.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const response = await inFlight;
    expect(response.status).toBe(503);
    expect(await exited).toBe(0);
    blackHole.close();
  }, 60_000);

  describe('worker', () => {
    let sys: ChaosSystem;
    beforeAll(async () => {
      sys = await startChaosSystem({ faults: { lms: { latencyMs: 3000 } } });
    }, 120_000);
    afterAll(() => sys?.stop(), 60_000);

    it('lets the running activity finish before exiting 0, so it is not retried', async () => {
      const paymentId = newPaymentId('razorpay');
      const { deliveries, url, fixture } = planDeliveries({
        provider: 'razorpay',
        url: sys.receiverUrl,
        secret: sys.secrets.RAZORPAY_WEBHOOK_SECRETS!,
        fixture: { paymentId, courseId: 'course-ml-101' },
      });
      // Razorpay holds the payment before it sends the webhook: the confirmation step reads it there.
      await registerPurchase(sys.sandbox.url, 'razorpay', fixturePurchase('razorpay', fixture));
      const signed = deliveries[0]!.signed;
      expect((await fetch(url, { method: 'POST', headers: signed.headers, body: signed.body })).status).toBe(
        200,
      );

      // The LMS has the request (it answers after 3 s): stop the worker now.
      while (!sys.ledger().requests.some((r) => r.service === 'lms')) await sleep(50);
      await sys.worker.stop('SIGTERM');
      expect(sys.worker.exitCode).toBe(0);

      await sys.worker.start();
      const handle = sys.client.workflow.getHandle(enrollmentWorkflowId('razorpay', paymentId));
      await expect(handle.result()).resolves.toMatchObject({ outcome: 'completed' });
      const history = await handle.fetchHistory();
      const firstAttempts = (history.events ?? []).filter(
        (e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt === 1,
      );
      // Every activity (confirm, LMS, WhatsApp, CRM) completed on its first attempt: the drain did not
      // cut the LMS call off.
      expect(firstAttempts.length).toBe(4);
      expect(
        (history.events ?? []).some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1),
      ).toBe(false);
      expect(sys.ledger().enrollments).toHaveLength(1);
    }, 120_000);
  });
});
