import { UsageError } from '../../src/ops/errors';
import { formatMajorUnits as formatAmount } from '../../src/domain/money';
import { formatAge, oneLine, table } from '../../src/ops/format';
import { mapWithConcurrency } from '../../src/ops/pool';
import { parsePaymentRef } from '../../src/ops/payment-ref';
import { buildResolveInput } from '../../src/ops/resolve';
import { onlyRunning } from '../../src/ops/visibility';
import { parseRunbook, quotesTestedCommand, substitute } from './runbook-doc';

describe('payment references', () => {
  it('infers the provider from the payment id prefix, or takes the workflow id as is', () => {
    expect(parsePaymentRef('pay_29QQoUBi66xm2f')).toEqual({
      provider: 'razorpay',
      paymentId: 'pay_29QQoUBi66xm2f',
      workflowId: 'payment-razorpay-pay_29QQoUBi66xm2f',
    });
    expect(parsePaymentRef(' pi_3Qabc ')).toMatchObject({
      provider: 'stripe',
      workflowId: 'payment-stripe-pi_3Qabc',
    });
    expect(parsePaymentRef('payment-stripe-pi_3Qabc')).toMatchObject({
      provider: 'stripe',
      paymentId: 'pi_3Qabc',
    });
    expect(parsePaymentRef('in_1Qsub')).toMatchObject({
      provider: 'stripe',
      workflowId: 'payment-stripe-in_1Qsub',
    });
    expect(parsePaymentRef('legacy_42', 'razorpay').workflowId).toBe('payment-razorpay-legacy_42');
  });

  it('explains ids that are not payment ids', () => {
    expect(() => parsePaymentRef('cs_test_1')).toThrow(/Checkout Session id/);
    expect(() => parsePaymentRef('order_1')).toThrow(/Razorpay order id/);
    expect(() => parsePaymentRef('abc')).toThrow(/cannot tell the provider of "abc"/);
    expect(() => parsePaymentRef('pay_1; rm -rf')).toThrow(/neither a payment id/);
    expect(() => parsePaymentRef('pay_1', 'paypal')).toThrow(
      'unknown provider "paypal": valid providers are razorpay, stripe',
    );
    expect(() => parsePaymentRef('payment-stripe-pi_1', 'razorpay')).toThrow(/contradicts/);
    expect(() => parsePaymentRef('abc')).toThrow(UsageError);
  });
});

describe('resolve input', () => {
  const base = { action: 'retry', reviewer: ' ops@example.com ', note: ' fixed ' };

  it('trims, validates and normalises the patch', () => {
    expect(buildResolveInput({ ...base, patch: { phone: '+91 98765-43210', courseId: 'c1' } })).toEqual({
      action: 'retry',
      reviewer: 'ops@example.com',
      note: 'fixed',
      patch: { phone: '+919876543210', courseId: 'c1' },
    });
    expect(buildResolveInput({ ...base, patch: {} })).not.toHaveProperty('patch');
  });

  it('refuses what the workflow would ignore or misapply', () => {
    expect(() => buildResolveInput({ ...base, action: 'redo' })).toThrow(
      'invalid action "redo": valid actions are retry, skip, abort',
    );
    expect(() => buildResolveInput({ ...base, action: 'abort' }, ['retry', 'skip'])).toThrow(
      'valid actions are retry, skip',
    );
    expect(() => buildResolveInput({ ...base, reviewer: ' ' })).toThrow(/--reviewer/);
    expect(() => buildResolveInput({ ...base, note: '' })).toThrow(/--note/);
    expect(() => buildResolveInput({ ...base, patch: { email: 'nope' } })).toThrow(/not an email/);
    expect(() => buildResolveInput({ ...base, patch: { phone: '98765' } })).toThrow(/E\.164/);
    expect(() => buildResolveInput({ ...base, action: 'abort', patch: { courseId: 'c' } })).toThrow(/abort/);
  });
});

describe('formatting', () => {
  it('prints amounts in major units with the currency exponent', () => {
    expect(formatAmount(49_900, 'INR')).toBe('499.00 INR');
    expect(formatAmount(1_500, 'JPY')).toBe('1500 JPY');
    expect(formatAmount(1_234, 'KWD')).toBe('1.234 KWD');
    expect(formatAmount(undefined, 'INR')).toBe('?');
  });

  it('prints ages coarsely and tables aligned', () => {
    expect([0, 42_000, 192_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(formatAge)).toEqual([
      '0s',
      '42s',
      '3m 12s',
      '2h 5m',
      '3d 4h',
    ]);
    expect(
      table(
        [{ a: 'x', b: 'long value' }],
        [
          { header: 'A', value: (r) => r.a },
          { header: 'BEE', value: (r) => r.b, max: 6 },
        ],
      ),
    ).toBe('A  BEE\nx  long …\n');
    expect(oneLine(' a\n  b ')).toBe('a b');
  });

  it('narrows every bulk query to running payment workflows', () => {
    expect(onlyRunning('EnrollmentState="needs_review" OR PaymentProvider="stripe"')).toBe(
      '(EnrollmentState="needs_review" OR PaymentProvider="stripe") AND ExecutionStatus = "Running" AND WorkflowType = "enrollmentWorkflow"',
    );
  });

  it('bounds concurrency and keeps order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapWithConcurrency([5, 1, 3, 2, 4], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight -= 1;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(peak).toBe(2);
  });
});

describe('runbook parsing', () => {
  const doc = [
    'Use `temporal workflow describe` or `temporal workflow query --workflow-id payment-x --name status`.',
    '```bash ops-test=one',
    '# a comment',
    'temporal workflow query --workflow-id <WORKFLOW_ID> \\',
    '  --name status',
    '',
    'npm run ops -- show <PAYMENT_ID>',
    '```',
    '```bash',
    'export TEMPORAL_ADDRESS=x',
    'temporal workflow terminate --workflow-id y',
    '```',
  ].join('\n');

  it('finds tagged blocks, untagged commands and inline commands', () => {
    const parsed = parseRunbook(doc);
    expect(parsed.blocks).toEqual([
      {
        scenario: 'one',
        line: 2,
        commands: [
          'temporal workflow query --workflow-id <WORKFLOW_ID> --name status',
          'npm run ops -- show <PAYMENT_ID>',
        ],
      },
    ]);
    expect(parsed.untaggedCommands).toEqual(['temporal workflow terminate --workflow-id y']);
    const tested = parsed.blocks[0]!.commands;
    expect(parsed.inlineTemporal.map((c) => quotesTestedCommand(c, tested))).toEqual([false, true]);
    expect(quotesTestedCommand('temporal workflow query', tested)).toBe(true);
    expect(substitute(tested[1]!, { PAYMENT_ID: 'pay_1' })).toBe('npm run ops -- show pay_1');
    expect(() => substitute(tested[0]!, {})).toThrow('no value for placeholder <WORKFLOW_ID>');
  });
});
