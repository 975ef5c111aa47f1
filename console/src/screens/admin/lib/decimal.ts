/**
 * Exact decimal arithmetic (BigInt) for the bulk rate update's preview. The api has no preview or
 * dry run for `POST /ai-providers/bulk-rate-update`, so the console computes the new rates with the
 * formula docs/api/providers.md "Bulk rate update" documents (and src/providers/rate-math.ts
 * implements): `rate = unitCost × (1 + profitMargin / 100) / creditPrice`, exact, rounded half up to
 * 18 decimal places; a result with more than 20 integer digits does not fit numeric(38,18).
 */

/** A decimal as `digits / 10^scale`. */
interface Dec {
  digits: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d{1,4}))?$/;

/** Parse "12.5", "-3", "1.5e-7" (or a JSON number) exactly; null when it is not a decimal. */
export function parseDecimal(value: string | number): Dec | null {
  const text = String(value).trim();
  const m = DECIMAL_TEXT.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return null;
  const [, sign, intPart, fracPart = '', exp = '0'] = m;
  let digits = BigInt((intPart || '0') + fracPart);
  let scale = fracPart.length - Number(exp);
  if (scale < 0) {
    digits *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { digits: sign === '-' ? -digits : digits, scale };
}

const RATE_SCALE = 18;
const RATE_LIMIT = 10n ** BigInt(20 + RATE_SCALE);

export type RatePreview = { ok: true; value: string } | { ok: false; reason: 'out_of_range' | 'negative' };

/**
 * The new rate for a unit cost (USD per token) at a profit margin (percent) and a credit price (USD
 * per credit), as a decimal string with at most 18 places (trailing zeros dropped).
 */
export function rateFromUnitCost(unitCost: Dec, profitMargin: Dec, creditPrice: Dec): RatePreview {
  // unitCost × (100 + margin) / (100 × price), all as integers over powers of ten
  const hundred = 100n * 10n ** BigInt(profitMargin.scale);
  let num = unitCost.digits * (hundred + profitMargin.digits) * 10n ** BigInt(creditPrice.scale);
  let den = 10n ** BigInt(unitCost.scale + profitMargin.scale) * 100n * creditPrice.digits;
  if (den < 0n) {
    den = -den;
    num = -num;
  }
  if (num < 0n) return { ok: false, reason: 'negative' };
  const scaled = num * 10n ** BigInt(RATE_SCALE);
  const q = (2n * scaled + den) / (2n * den); // half up
  if (q >= RATE_LIMIT) return { ok: false, reason: 'out_of_range' };
  return { ok: true, value: formatScaled(q, RATE_SCALE) };
}

function formatScaled(q: bigint, scale: number): string {
  const s = q.toString().padStart(scale + 1, '0');
  const int = s.slice(0, s.length - scale);
  const frac = s.slice(s.length - scale).replace(/0+$/, '');
  return frac ? `${int}.${frac}` : int;
}
