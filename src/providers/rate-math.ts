import { Decimal } from '../common/decimal';

/** Rates are stored as numeric(38,18): 18 decimal places, at most 20 integer digits. */
export const RATE_SCALE = 18;
export const RATE_MAX_INTEGER_DIGITS = 20;

/** Enough significant digits that the product and quotient below are exact before the final rounding. */
const Exact = Decimal.clone({ precision: 120, rounding: Decimal.ROUND_HALF_UP });

/**
 * Credits per token for a unit cost (USD per token) at a profit margin (percent) and a credit
 * price (USD per credit), seed 004: `newRate = unitCost × (1 + profitMargin/100) / creditPrice`.
 * Computed with 120 significant digits, then rounded half up to the stored scale (18 places),
 * so the result is the exact quotient correctly rounded once.
 * @throws RangeError when creditPrice ≤ 0 or the result does not fit numeric(38,18)
 */
export function rateFromUnitCost(unitCost: Decimal, profitMargin: Decimal, creditPrice: Decimal): Decimal {
  if (creditPrice.lte(0)) throw new RangeError('creditPrice must be positive');
  const factor = new Exact(1).plus(new Exact(profitMargin.toString()).div(100));
  const raw = new Exact(unitCost.toString()).times(factor).div(new Exact(creditPrice.toString()));
  const rounded = new Decimal(raw.toDecimalPlaces(RATE_SCALE, Decimal.ROUND_HALF_UP).toFixed());
  if (rounded.isNegative()) throw new RangeError('the profit margin makes the rate negative');
  if (rounded.trunc().toFixed().length > RATE_MAX_INTEGER_DIGITS) throw new RangeError('the rate does not fit numeric(38,18)');
  return rounded;
}

/** A Decimal as a JSON number (seed 004 shows rates as numbers): the nearest double to the exact value. */
export function decimalToNumber(d: Decimal | null | undefined): number | null {
  return d == null ? null : Number(d.toFixed());
}
