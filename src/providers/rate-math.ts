import { Decimal } from '../common/decimal';

/** Rates are stored as numeric(38,18): 18 decimal places, at most 20 integer digits. */
export const RATE_SCALE = 18;
export const RATE_MAX_INTEGER_DIGITS = 20;

/** The first value a rate column cannot hold: 10^20. */
const RATE_LIMIT = new Decimal(10).pow(RATE_MAX_INTEGER_DIGITS);

/** Enough significant digits that the product and quotient below are exact before the final rounding. */
const Exact = Decimal.clone({ precision: 120, rounding: Decimal.ROUND_HALF_UP });

/**
 * Credits per token for a unit cost (USD per token) at a profit margin (percent) and a credit
 * price (USD per credit), as docs/api/providers.md "Bulk rate update" defines it:
 * `newRate = unitCost × (1 + profitMargin/100) / creditPrice`.
 * Computed with 120 significant digits, then rounded half up to the stored scale (18 places),
 * so the result is the exact quotient correctly rounded once.
 * @throws RangeError when creditPrice ≤ 0 or the result does not fit numeric(38,18)
 */
export function rateFromUnitCost(unitCost: Decimal, profitMargin: Decimal, creditPrice: Decimal): Decimal {
  if (creditPrice.lte(0)) throw new RangeError('creditPrice must be positive');
  const factor = new Exact(1).plus(new Exact(profitMargin.toString()).div(100));
  const raw = new Exact(unitCost.toString()).times(factor).div(new Exact(creditPrice.toString()));
  // range-checked before it is ever formatted: toFixed of a huge value would expand every digit
  const rounded = raw.toDecimalPlaces(RATE_SCALE, Decimal.ROUND_HALF_UP);
  if (rounded.isNegative()) throw new RangeError('the profit margin makes the rate negative');
  if (rounded.gte(RATE_LIMIT))
    throw new RangeError(
      `the rate (${rounded.toSignificantDigits(6).toExponential()}) does not fit numeric(38,18): at most ${RATE_MAX_INTEGER_DIGITS} integer digits`,
    );
  return new Decimal(rounded.toFixed());
}

/** A Decimal as a JSON number (the API answers rates as numbers, docs/api/providers.md): the nearest double to the exact value. */
export function decimalToNumber(d: Decimal | null | undefined): number | null {
  return d == null ? null : Number(d.toFixed());
}
