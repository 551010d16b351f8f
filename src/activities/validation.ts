/**
 * Input contracts checked at the activity boundary. A violation is InvalidActivityInput (not
 * retryable): the same input would fail the same way on every attempt. Messages name the field and
 * the rule, never the value (it is student PII).
 */
import { z } from 'zod';
import { paymentEventSchema, paymentProviders } from '../shared/payment-event';
import { DownstreamFailure } from './errors';

/** `+` then 7 to 15 digits, no leading zero in the country code (ITU-T E.164). */
export const E164 = /^\+[1-9]\d{6,14}$/;

const paymentRef = z.object({
  provider: z.enum(paymentProviders),
  paymentId: paymentEventSchema.shape.paymentId,
});
const email = z.email('must be an email address').max(320);
const name = z.string().trim().min(1, 'must not be empty').max(256);
const courseId = z.string().trim().min(1, 'must not be empty').max(256);
const phone = z.string().regex(E164, 'must be E.164, e.g. +919876543210');

export const enrollStudentInputSchema = z.object({ payment: paymentRef, email, name, courseId });

export const sendWelcomeInputSchema = z.object({ payment: paymentRef, phone, name, courseId });

export const upsertContactInputSchema = z.object({
  payment: paymentRef,
  email,
  name: name.optional(),
  phone: phone.optional(),
  courseId: courseId.optional(),
  enrolled: z.boolean(),
  amountMinor: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code'),
});

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, activity: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`);
  throw new DownstreamFailure('InvalidActivityInput', `${activity}: invalid input (${problems.join('; ')})`, {
    code: 'invalid_input',
  });
}
