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

/** Rounds a credit amount to the stored scale, half up, once; the result is a plain Decimal. */
export function roundCredits(d: Decimal): Decimal {
  return new Decimal(d.toDecimalPlaces(CREDIT_SCALE, Decimal.ROUND_HALF_UP).toFixed());
}
