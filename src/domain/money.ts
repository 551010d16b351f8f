interface CurrencyFormat {
  format: Intl.NumberFormat;
  /** The currency's minor-unit exponent: 2 for INR, 0 for JPY, 3 for KWD. */
  digits: number;
}

/**
 * One formatter per currency: building an `Intl.NumberFormat` costs far more than formatting with a
 * built one, and the receiver formats every payment twice on its acknowledgement path
 * (docs/benchmarks.md has the figures). `null` remembers a code Intl rejects.
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

/**
 * Amounts in words, for people: the Web UI's summary and details (`₹499.00`) and the ops CLI
 * (`499.00 INR`, as the providers' dashboards show it). Both take the currency's minor-unit exponent
 * from ICU, so zero-decimal (JPY) and three-decimal (KWD) currencies are right. Workflow-safe.
 */

/** `49900, 'INR'` -> `₹499.00`. */
export function formatAmount(amountMinor: number, currency: string): string {
  const cached = currencyFormat(currency);
  if (!cached) {
    // A code Intl does not accept: still show something an operator can read.
    return `${currency} ${(amountMinor / 100).toFixed(2)}`;
  }
  return cached.format.format(amountMinor / 10 ** cached.digits);
}

/** `49900, 'INR'` -> `499.00 INR`: major units and the code; `?` when either is unknown. */
export function formatMajorUnits(amountMinor: number | undefined, currency: string | undefined): string {
  if (amountMinor === undefined || !currency) return '?';
  const digits = currencyFormat(currency)?.digits ?? 2;
  return `${(amountMinor / 10 ** digits).toFixed(digits)} ${currency}`;
}
