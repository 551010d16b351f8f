import type { PaymentEvent } from '../../src/domain/payment-event';

let counter = 0;

/** A paid Razorpay-shaped PaymentEvent with usable student data; override what a test is about. */
export function paymentEvent(overrides: Partial<PaymentEvent> = {}): PaymentEvent {
  counter += 1;
  const suffix = `${Date.now().toString(36)}${counter.toString(36)}`.padStart(14, '0').slice(-14);
  return {
    provider: 'razorpay',
    paymentId: `pay_${suffix}`,
    eventId: `evt_${suffix}`,
    eventType: 'payment.captured',
    amountMinor: 499_00,
    currency: 'INR',
    student: { email: 'asha.verma@example.com', name: 'Asha Verma', phone: '+919876543210' },
    courseId: 'course-ml-101',
    paidAt: '2026-11-20T10:00:00.000Z',
    ...overrides,
  };
}
