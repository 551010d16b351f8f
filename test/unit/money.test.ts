import { formatAmount } from '../../src/domain/money';

describe('formatAmount', () => {
  it('formats minor units with the currency exponent', () => {
    expect(formatAmount(49_900, 'INR')).toBe('₹499.00');
    expect(formatAmount(1_500, 'JPY')).toBe('¥1,500');
    expect(formatAmount(1_234, 'KWD')).toBe('KWD\u00a01.234');
    expect(formatAmount(5, 'USD')).toBe('$0.05');
  });

  it('gives the same answer from its cached formatter, currency by currency', () => {
    const first = ['INR', 'JPY', 'USD', 'INR', 'JPY'].map((c) => formatAmount(100_000, c));
    const again = ['INR', 'JPY', 'USD', 'INR', 'JPY'].map((c) => formatAmount(100_000, c));
    expect(again).toEqual(first);
    expect(first).toEqual(['₹1,000.00', '¥100,000', '$1,000.00', '₹1,000.00', '¥100,000']);
  });

  it('still shows a code Intl rejects, every time', () => {
    expect(formatAmount(49_900, '1X!')).toBe('1X! 499.00');
    expect(formatAmount(100, '1X!')).toBe('1X! 1.00');
  });
});
