/**
 * Signed Razorpay `payment.captured` deliveries of distinct payments, built by the same code as
 * `npm run send` (planDeliveries: realistic event, PHP-style serialisation, provider-exact HMAC).
 * Built ahead of each measurement so signing does not load the generator while it measures.
 *
 * Each payment buys the sample catalog's `course-ml-101` at its INR price (the fixture defaults), so
 * once the sandbox provider holds it (`registerPurchases`) the confirmation step grants that course and
 * the payment runs to its end: confirm, enroll, welcome, CRM.
 */
import { planDeliveries } from '../src/tools/deliver';
import { fixturePurchase, registerPurchase } from '../src/tools/purchase';
import { newPaymentId, type ResolvedFixture } from '../src/providers';
import { enrollmentWorkflowId } from '../src/domain/ids';

export interface Delivery {
  paymentId: string;
  workflowId: string;
  body: string;
  headers: Record<string, string>;
  /** What the payment is: what the sandbox provider must hold for the confirmation step to find it. */
  fixture: ResolvedFixture;
}

let counter = 0;

export function razorpayDelivery(secret: string): Delivery {
  const paymentId = newPaymentId('razorpay');
  counter += 1;
  const plan = planDeliveries({
    provider: 'razorpay',
    url: 'http://unused',
    secret,
    event: 'payment.captured',
    fixture: {
      paymentId,
      email: `student.${paymentId.toLowerCase()}@example.com`,
      phone: `+9198${String(counter % 1e8).padStart(8, '0')}`,
      name: `Student ${counter}`,
    },
  });
  const { body, headers } = plan.deliveries[0]!.signed;
  return {
    paymentId,
    workflowId: enrollmentWorkflowId('razorpay', paymentId),
    body,
    headers,
    fixture: plan.fixture,
  };
}

/**
 * Has the sandbox provider create and pay each delivery's purchase (an order whose merchant notes name
 * the fixture's product), as a real provider holds a payment before it sends its webhook. Run before
 * the measured window: the measurement is the receiver and the workflow, not the registration.
 */
export async function registerPurchases(
  sandboxUrl: string,
  deliveries: readonly Delivery[],
  concurrency = 8,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const d = deliveries[next++];
        if (!d) return;
        await registerPurchase(sandboxUrl, 'razorpay', fixturePurchase('razorpay', d.fixture));
      }
    }),
  );
}

/** An endless supply: pre-built deliveries first, then built on demand. */
export class DeliveryPool {
  private items: Delivery[] = [];
  private index = 0;

  constructor(
    private readonly make: () => Delivery,
    prebuild: number,
  ) {
    for (let i = 0; i < prebuild; i++) this.items.push(make());
  }

  next(): Delivery {
    const item = this.items[this.index] ?? this.make();
    this.items[this.index] = undefined as unknown as Delivery; // let it be collected
    this.index += 1;
    return item;
  }

  get used(): number {
    return this.index;
  }
}

/**
 * Every payment delivered `copies` times, the copies of a block of payments shuffled together, so
 * duplicates of one payment arrive close together and concurrently, as in a provider's retry storm.
 */
export function duplicatePool(secret: string, copies: number, prebuildPayments: number): DeliveryPool {
  const block = 20;
  let pending: Delivery[] = [];
  const refill = () => {
    const deliveries: Delivery[] = [];
    for (let p = 0; p < block; p++) {
      const d = razorpayDelivery(secret);
      for (let c = 0; c < copies; c++) deliveries.push(d);
    }
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    pending = deliveries;
  };
  const make = () => {
    if (pending.length === 0) refill();
    return pending.pop()!;
  };
  return new DeliveryPool(make, prebuildPayments * copies);
}
