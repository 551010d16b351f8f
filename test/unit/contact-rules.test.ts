import { z } from 'zod';
import { E164_PATTERN, EMAIL_PATTERN, isValidEmail, normalisePhone } from '../../src/domain/contact-rules';
import { enrollStudentInputSchema, sendWelcomeInputSchema } from '../../src/activities/validation';
import { enrollmentProblems } from '../../src/workflows/student-data';

const payment = { provider: 'razorpay' as const, paymentId: 'pay_Rules0000000001' };

describe('contact rules: one definition for the workflow, the activities and the ops CLI', () => {
  it('the email rule is zod’s own z.email() pattern, written out for the workflow bundle', () => {
    expect(EMAIL_PATTERN.source).toBe(z.regexes.email.source);
    expect(EMAIL_PATTERN.flags).toBe(z.regexes.email.flags);
  });

  it.each(['asha@example.com', 'a.b+tag@mail.example.co.in', "o'neil@example.org"])(
    'an email the workflow enrolls passes the LMS activity’s input check: %s',
    (email) => {
      expect(enrollmentProblems({ email, courseId: 'course-ml-101' })).toEqual([]);
      expect(enrollStudentInputSchema.safeParse({ payment, email, name: 'A', courseId: 'c' }).success).toBe(
        true,
      );
    },
  );

  it.each([
    'asha@',
    'asha@localhost',
    'as ha@example.com',
    'asha@example.c',
    '@example.com',
    'a..b@example.com',
  ])('an email the activity would refuse stops the workflow at details: %s', (email) => {
    expect(isValidEmail(email)).toBe(false);
    expect(enrollmentProblems({ email, courseId: 'course-ml-101' })).toEqual(['student email is not valid']);
    expect(enrollStudentInputSchema.safeParse({ payment, email, name: 'A', courseId: 'c' }).success).toBe(
      false,
    );
  });

  it.each([
    ['+919876543210', '+919876543210'],
    ['+91 98765-43210', '+919876543210'],
    ['+(683) 4002', '+6834002'], // Niue: 7 digits in all
    ['+123456789012345', '+123456789012345'], // 15 digits, the E.164 maximum
  ])('a phone the workflow welcomes passes the WhatsApp activity’s input check: %s', (raw, e164) => {
    expect(normalisePhone(raw)).toBe(e164);
    expect(sendWelcomeInputSchema.safeParse({ payment, phone: e164, name: 'A', courseId: 'c' }).success).toBe(
      true,
    );
  });

  it.each(['+683400', '+1234567890123456', '+0919876543210', '919876543210', 'call me'])(
    'a phone outside E.164 is not welcomed: %s',
    (raw) => {
      expect(normalisePhone(raw)).toBeUndefined();
      expect(E164_PATTERN.test(raw)).toBe(false);
    },
  );
});
