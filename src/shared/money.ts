/** `49900, 'INR'` -> `₹499.00`; respects zero-decimal currencies (JPY) via Intl. No Node built-ins. */
export function formatAmount(amountMinor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency });
    const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
    return format.format(amountMinor / 10 ** digits);
  } catch {
    // An ISO code Intl does not know: still show something an operator can read.
    return `${currency} ${(amountMinor / 100).toFixed(2)}`;
  }
}
