import { Prisma } from '../generated/prisma/client';

/** Decimal.js as Prisma ships it: the one type for credits, rates and USD amounts. Never float. */
export const Decimal = Prisma.Decimal;
export type Decimal = Prisma.Decimal;

/** Scale of stored credit amounts (numeric(38,10)). */
export const CREDIT_SCALE = 10;

/**
 * Decimal.js keeps 20 significant digits by default, so a rate of 18 decimals times a token count
 * would be rounded before we round it to the credit scale (twice rounded, up to 1e-10 off what
 * PostgreSQL computes). Arithmetic on money goes through this class instead: 100 significant
 * digits hold any product and sum of numeric(38,18) rates and integer token counts exactly.
 */
const ExactDecimal = Prisma.Decimal.clone({ precision: 100 });

/** The same value as a Decimal whose arithmetic is exact (see ExactDecimal). */
export function exact(d: Decimal | string | number): Decimal {
  return new ExactDecimal(typeof d === 'object' ? d.toFixed() : d);
}

/** exactRate's conversions, by Decimal object (decimal.js values are immutable). */
const exactRates = new WeakMap<Decimal, Decimal>();

/**
 * exact(rate), converted once per rate object: the rates of the routing table live as long as the
 * table (src/providers/catalog.service.ts), and every gateway call prices its hold and its record
 * with them, so the conversion (a string round trip) is not repeated per call.
 */
export function exactRate(rate: Decimal): Decimal {
  let e = exactRates.get(rate);
  if (e === undefined) {
    e = exact(rate);
    exactRates.set(rate, e);
  }
  return e;
}

/**
 * Rounds a credit amount to the stored scale, half up, once; the result is a plain Decimal (the
 * rounded digits copied as they are: decimal.js's constructor does not round a Decimal it is given).
 */
export function roundCredits(d: Decimal): Decimal {
  const rounded = d.toDecimalPlaces(CREDIT_SCALE, Decimal.ROUND_HALF_UP);
  return rounded.isZero() ? new Decimal(0) : new Decimal(rounded);
}
