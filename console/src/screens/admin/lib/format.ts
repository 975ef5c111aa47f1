/**
 * Formatting for the admin screens, on top of the console's shared formats (src/format.ts): credits
 * in the credit currency of GET /user/info, times in the browser's zone, and rates (credits or USD
 * per token), which need more digits than amounts.
 */
import { useSession } from '../../../auth/session';
import { formatCredits, formatDateTime, formatNumber } from '../../../format';

export { formatNumber };

/**
 * A credits formatter that re-renders when the session learns the currency:
 * `const credits = useCredits(); credits(u.spend.balance)` → "12.50 CR".
 */
export function useCredits(): (value: number | string | null | undefined) => string {
  useSession(); // subscribe: the session installs the currency that formatCredits reads
  return (value) => (value === null || value === undefined || value === '' ? '–' : formatCredits(value));
}

/** A rate (credits or USD per token): up to 12 significant digits, never in exponent form; exact for decimal strings. */
export function formatRate(value: number | string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '–';
  return new Intl.NumberFormat('en-US', { maximumSignificantDigits: 12, useGrouping: false }).format(value as Intl.StringNumericLiteral);
}

/** ISO time → "2026-12-01 10:05:00" (browser zone); "–" when absent. */
export function formatTime(value: string | null | undefined): string {
  return formatDateTime(value) || '–';
}
