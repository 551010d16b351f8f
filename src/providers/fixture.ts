/**
 * Provider-neutral plumbing for the realistic event builders in each provider's `fixtures.ts`.
 * Pure apart from id randomness and the default clock.
 */
import { createHash, randomInt } from 'node:crypto';

/**
 * What a test or a person wants to vary about a payment. `undefined` means "realistic default".
 * `null` on an enrollment field removes it: the key is left out of `notes`/`metadata` (maps), and
 * fixed-schema fields carry `null`, as the providers' own objects do (`client_reference_id: null`).
 */
export interface PaymentFixture {
  paymentId?: string;
  orderId?: string;
  amountMinor?: number;
  currency?: string;
  email?: string | null;
  name?: string | null;
  phone?: string | null;
  courseId?: string | null;
  paymentStatus?: 'paid' | 'unpaid';
  /** Unix seconds. */
  createdAt?: number;
}

/** A fixture with every default applied; resolve once to build several events of one payment. */
export type ResolvedFixture = Required<PaymentFixture>;

/** A sample-catalog course at its INR price (catalog/sample.yaml), so a default payment enrolls. */
export const fixtureDefaults = {
  amountMinor: 499_900,
  currency: 'INR',
  email: 'asha.rao@example.com',
  name: 'Asha Rao',
  phone: '+919876543210',
  courseId: 'course-ml-101',
  paymentStatus: 'paid',
} as const;

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlphanumeric(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/**
 * Ids that belong to the payment (its order, session, charge) are derived from the payment id, so
 * building two events for one payment yields the same related ids without threading them around.
 */
export function derivedAlphanumeric(seed: string, length: number): string {
  let out = '';
  for (let round = 0; out.length < length; round++) {
    const digest = createHash('sha256').update(`${seed}#${round}`).digest();
    for (const byte of digest) {
      if (out.length === length) break;
      out += ALPHANUMERIC[byte % ALPHANUMERIC.length];
    }
  }
  return out;
}

/** Decimal digits derived from `seed` (bank reference numbers and the like). */
export function derivedDigits(seed: string, length: number): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return BigInt(`0x${hex}`).toString().slice(0, length).padStart(length, '0');
}

/** Applies the defaults; `newPaymentId` is the provider's, used only when the fixture names none. */
export function resolveFixtureWith(newPaymentId: () => string, p: PaymentFixture = {}): ResolvedFixture {
  const paymentId = p.paymentId ?? newPaymentId();
  const pick = <T>(value: T | null | undefined, fallback: T): T | null =>
    value === undefined ? fallback : value;
  return {
    paymentId,
    orderId: p.orderId ?? `order_${derivedAlphanumeric(`order:${paymentId}`, 14)}`,
    amountMinor: p.amountMinor ?? fixtureDefaults.amountMinor,
    currency: p.currency ?? fixtureDefaults.currency,
    email: pick(p.email, fixtureDefaults.email),
    name: pick(p.name, fixtureDefaults.name),
    phone: pick(p.phone, fixtureDefaults.phone),
    courseId: pick(p.courseId, fixtureDefaults.courseId),
    paymentStatus: p.paymentStatus ?? fixtureDefaults.paymentStatus,
    createdAt: p.createdAt ?? Math.floor(Date.now() / 1000),
  };
}

/** Keeps only the entries whose value is a string (maps leave absent keys out). */
export function presentEntries(entries: Record<string, string | null>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(entries)) if (value !== null) out[key] = value;
  return out;
}

/** A builder's guard: the kinds a provider's builder produces, as a type predicate. */
export const isOneOf =
  <K extends string>(kinds: readonly K[]) =>
  (kind: string): kind is K =>
    (kinds as readonly string[]).includes(kind);
