import { maskEmail, maskPhone, redactContacts, redactDeep, redactError } from '../../src/domain/mask';

describe('redactContacts on long text', () => {
  it('cuts what it scans at 8192 characters and still masks what is in it', () => {
    const text = `${'x'.repeat(100)} asha@example.com ${'y'.repeat(20_000)}@`;
    const masked = redactContacts(text);
    expect(masked.length).toBeLessThanOrEqual(8193);
    expect(masked).toContain('a***@example.com');
  });
});

describe('masking', () => {
  it('masks an email to its first letter and domain, and a phone to its prefix and last four digits', () => {
    expect(maskEmail('asha.verma@example.com')).toBe('a***@example.com');
    expect(maskEmail('@example.com')).toBe('***');
    expect(maskEmail(undefined)).toBeUndefined();
    expect(maskPhone('+919876543210')).toBe('+91******3210');
    expect(maskPhone('12345')).toBe('***');
    expect(maskPhone(undefined)).toBeUndefined();
  });
});

describe('redactContacts', () => {
  it('masks the email a HubSpot error body echoes', () => {
    const body =
      'Property values were not valid: [{"isValid":false,"message":"Email address asha.verma@example.com is invalid","error":"INVALID_EMAIL","name":"email"}]';
    const redacted = redactContacts(body);
    expect(redacted).not.toContain('asha.verma@example.com');
    expect(redacted).toContain('"message":"Email address a***@example.com is invalid"');
    // What names no one is left as it was.
    expect(redactContacts('Contact already exists. Existing ID: 12345')).toBe(
      'Contact already exists. Existing ID: 12345',
    );
  });

  it('masks the phone a WhatsApp error echoes, with or without its +', () => {
    const redacted = redactContacts(
      '(#131026) Message Undeliverable: cannot deliver to +919876543210 (wa_id 919876543210); also +1 415-555-0100',
    );
    expect(redacted).toBe(
      '(#131026) Message Undeliverable: cannot deliver to +91******3210 (wa_id 919*****3210); also +14*****0100',
    );
    expect(redacted).not.toMatch(/9876543210|415-555/);
  });

  it('leaves ids, codes, times and amounts alone, and masked forms as they are', () => {
    for (const text of [
      'pay_12345678901234 and pi_3NabcdEF12345678901 at 2026-11-20T10:00:00.000Z+05:30',
      'HTTP 429, 131026, 1700000000 (seconds), ₹4,999.00, v21.0, 10.0.0.1:8080',
      'enrollflow-razorpay-pay_Q1w2E3r4T5y6U7-enroll, 8c4f3a1e-1234-4b2c-9d3e-123456789012',
      'a***@example.com, +91******3210',
    ]) {
      expect(redactContacts(text)).toBe(text);
    }
    expect(redactContacts(redactContacts('x asha@example.com +919876543210'))).toBe(
      'x a***@example.com +91******3210',
    );
  });
});

describe('redactDeep and redactError', () => {
  it('masks strings in plain objects and arrays, copying only what changed', () => {
    const untouched = { a: 'pay_1', b: [1, 'x'], c: { d: 'e' } };
    expect(redactDeep(untouched)).toBe(untouched);
    const value = { ids: ['pay_1'], nested: { body: 'to asha@example.com' }, list: ['+919876543210'] };
    const redacted = redactDeep(value) as typeof value;
    expect(redacted).toEqual({
      ids: ['pay_1'],
      nested: { body: 'to a***@example.com' },
      list: ['+91******3210'],
    });
    expect(redacted.ids).toBe(value.ids);
    expect(value.nested.body).toBe('to asha@example.com');
  });

  it('masks an error: message, stack, own fields and cause, keeping its class and name', () => {
    class SdkError extends Error {
      override name = 'SdkError';
      raw = { message: 'email asha@example.com taken' };
    }
    const root = new Error('for +919876543210');
    const err = new SdkError('Invalid email: asha@example.com', { cause: root });
    const redacted = redactError(err);
    expect(redacted).not.toBe(err);
    expect(redacted).toBeInstanceOf(SdkError);
    expect(redacted.name).toBe('SdkError');
    expect(redacted.message).toBe('Invalid email: a***@example.com');
    expect(redacted.stack).not.toContain('asha@example.com');
    expect(redacted.raw).toEqual({ message: 'email a***@example.com taken' });
    expect((redacted.cause as Error).message).toBe('for +91******3210');
    // The original is left as it was, and an error with nothing to mask is itself.
    expect(err.message).toBe('Invalid email: asha@example.com');
    const clean = new Error('LMS unavailable (HTTP 503)');
    expect(redactError(clean)).toBe(clean);
  });
});
