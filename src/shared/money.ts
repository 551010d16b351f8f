interface CurrencyFormat {
  format: Intl.NumberFormat;
  /** The currency's minor-unit exponent: 2 for INR, 0 for JPY, 3 for KWD. */
  digits: number;
}

/**
 * One formatter per currency: building an `Intl.NumberFormat` costs ~15 µs, formatting with a built
 * one ~0.3 µs, and the receiver formats every payment twice on its acknowledgement path (it was ~6 %
 * of the receiver's CPU, docs/benchmarks.md). `null` remembers a code Intl rejects.
 */
const formats = new Map<string, CurrencyFormat | null>();
/** Payment events carry 3-letter codes, so this is never reached by them; it bounds other callers. */
const MAX_CACHED_CURRENCIES = 512;

function currencyFormat(currency: string): CurrencyFormat | null {
  let cached = formats.get(currency);
  if (cached === undefined) {
    try {
      const format = new Intl.NumberFormat('en', { style: 'currency', currency });
      cached = { format, digits: format.resolvedOptions().maximumFractionDigits ?? 2 };
    } catch {
      cached = null;
    }
    if (formats.size < MAX_CACHED_CURRENCIES) formats.set(currency, cached);
  }
  return cached;
}

/** `49900, 'INR'` -> `₹499.00`; respects zero-decimal currencies (JPY) via Intl. No Node built-ins. */
export function formatAmount(amountMinor: number, currency: string): string {
  const cached = currencyFormat(currency);
  if (!cached) {
    // A code Intl does not accept: still show something an operator can read.
    return `${currency} ${(amountMinor / 100).toFixed(2)}`;
  }
  return cached.format.format(amountMinor / 10 ** cached.digits);
}
