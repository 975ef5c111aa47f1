import { Prisma } from '../generated/prisma/client';

/** Decimal.js as Prisma ships it: the one type for credits, rates and USD amounts. Never float. */
export const Decimal = Prisma.Decimal;
export type Decimal = Prisma.Decimal;

/** Scale of stored credit amounts (numeric(38,10)). */
export const CREDIT_SCALE = 10;

/** Rounds a credit amount to the stored scale, half up. */
export function roundCredits(d: Decimal): Decimal {
  return d.toDecimalPlaces(CREDIT_SCALE, Decimal.ROUND_HALF_UP);
}
