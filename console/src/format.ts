/**
 * Display formats shared by every screen. Credits use the credit currency the api announces in
 * GET /user/info `currency` (`{name, symbol, decimal}`; docs/api/credits.md), which the session
 * installs with `setCreditCurrency` once known; until then (or with billing off) 2 decimals and
 * the symbol "CR".
 */
import dayjs from 'dayjs';
import type { CreditCurrency } from './api/types';

export const DEFAULT_CURRENCY: CreditCurrency = { name: 'Credit', symbol: 'CR', decimal: 2 };

let currency: CreditCurrency = DEFAULT_CURRENCY;

/** Installs the credit currency (from GET /user/info); null restores the default. */
export function setCreditCurrency(next: CreditCurrency | null | undefined): void {
  currency = next ?? DEFAULT_CURRENCY;
}

/** The credit currency in use. */
export function creditCurrency(): CreditCurrency {
  return currency;
}

function toNumber(value: string | number | null | undefined): number {
  if (value === null || value === undefined || value === '') return 0;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : 0;
}

/**
 * An amount of credits with the currency's decimals and symbol, e.g. `1,234.50 CR`.
 * @param value credits (a JSON number, or an exact decimal string as in CSV exports)
 * @param opts.symbol false leaves the symbol out (chart axes); opts.signed prefixes + on positives
 */
export function formatCredits(value: string | number | null | undefined, opts: { symbol?: boolean; signed?: boolean } = {}): string {
  const n = toNumber(value);
  const digits = Math.max(0, Math.min(10, currency.decimal));
  const text = new Intl.NumberFormat('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(n);
  const signed = opts.signed && n > 0 ? `+${text}` : text;
  return opts.symbol === false ? signed : `${signed} ${currency.symbol}`;
}

/** A count (calls, tokens) with thousands separators; `compact` gives 12.3K style. */
export function formatNumber(value: number | string | null | undefined, opts: { compact?: boolean; decimals?: number } = {}): string {
  const n = toNumber(value);
  return new Intl.NumberFormat('en-US', {
    notation: opts.compact ? 'compact' : 'standard',
    maximumFractionDigits: opts.decimals ?? (opts.compact ? 1 : 0),
  }).format(n);
}

/** A time (ISO string, Date or Unix ms) as `YYYY-MM-DD HH:mm:ss` in the browser's zone; '' for null. */
export function formatDateTime(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const d = dayjs(value);
  return d.isValid() ? d.format('YYYY-MM-DD HH:mm:ss') : '';
}

/** A day (`YYYY-MM-DD`). */
export function formatDate(value: string | number | Date | null | undefined): string {
  if (value === null || value === undefined || value === '') return '';
  const d = dayjs(value);
  return d.isValid() ? d.format('YYYY-MM-DD') : '';
}

/** Milliseconds as `850 ms` or `2.4 s`. */
export function formatDuration(ms: number | null | undefined): string {
  const n = toNumber(ms);
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

/** A percent change string of the api (`"12.18"`) as `+12.18 %`. */
export function formatChange(change: string | number): string {
  const n = toNumber(change);
  return `${n > 0 ? '+' : ''}${n.toFixed(2)} %`;
}
