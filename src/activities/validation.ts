/**
 * Input contracts checked at the activity boundary. A violation is InvalidActivityInput (not
 * retryable): the same input would fail the same way on every attempt. Messages name the field and
 * the rule, never the value (it is student PII).
 */
import { z } from 'zod';
import { paymentEventSchema } from '../domain/payment-event';
import { providerNames } from '../providers';
import { DownstreamFailure } from './errors';
import { E164_PATTERN, EMAIL_PATTERN } from '../domain/contact-rules';
import { describeIssues } from '../domain/zod-issues';

const paymentRef = z.object({
  provider: z.enum(providerNames),
  paymentId: paymentEventSchema.shape.paymentId,
});
const email = z.string().regex(EMAIL_PATTERN, 'must be an email address').max(320);
const name = z.string().trim().min(1, 'must not be empty').max(256);
const courseId = z.string().trim().min(1, 'must not be empty').max(256);
const phone = z.string().regex(E164_PATTERN, 'must be E.164: +, the country code and number, 7 to 15 digits');

const grantKey = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a catalog id (letters, digits, . _ -)');

export const enrollStudentInputSchema = z.object({
  payment: paymentRef,
  email,
  name,
  courseId,
  grantKey: grantKey.optional(),
});

export const changeAccessInputSchema = z.object({
  payment: paymentRef,
  grantKey: grantKey.optional(),
  status: z.enum(['active', 'suspended', 'revoked']),
  cause: z.object({
    kind: z.enum(['refund', 'dispute', 'subscription']),
    // A Stripe refund is keyed by its charge and the amount refunded so far (`ch_...-499900`).
    id: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be a provider id (letters, digits, _, -)'),
  }),
  reason: z.string().trim().min(1, 'must not be empty').max(256),
  email: email.optional(),
  enrolledBefore: z.boolean().optional(),
});

export const sendWelcomeInputSchema = z.object({
  payment: paymentRef,
  phone,
  name,
  courseId,
  courseTitle: z.string().trim().min(1).max(512).optional(),
  template: z
    .string()
    .regex(/^[a-z0-9_]{1,512}$/, 'must be a WhatsApp template name')
    .optional(),
});

export const confirmPurchaseInputSchema = z.object({
  payment: paymentRef,
  references: z.record(z.string(), z.string().max(255)).optional(),
  operatorProductId: z.string().trim().min(1).max(128).optional(),
});

export const upsertContactInputSchema = z.object({
  payment: paymentRef,
  email,
  name: name.optional(),
  phone: phone.optional(),
  courseId: courseId.optional(),
  enrolled: z.boolean(),
  amountMinor: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Za-z]{3}$/, 'must be an ISO 4217 code'),
  access: z
    .object({ state: z.enum(['active', 'suspended', 'revoked']), reason: z.string().min(1).max(500) })
    .optional(),
});

export function parseInput<S extends z.ZodType>(schema: S, input: unknown, activity: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new DownstreamFailure(
    'InvalidActivityInput',
    `${activity}: invalid input (${describeIssues(result.error)})`,
    {
      code: 'invalid_input',
    },
  );
}
