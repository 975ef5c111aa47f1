import { registerDecorator, ValidationOptions } from 'class-validator';
import { Decimal } from '../../common/decimal';

/** A decimal given as a JSON number or a numeric string ("0.000015", "1.5e-5"). */
export type DecimalInput = number | string;

/** Longest accepted numeric string (characters). */
export const DECIMAL_MAX_TEXT_LENGTH = 100;
/**
 * Exponent bounds of an accepted non-zero decimal: 1e-100 ≤ |value| < 1e101. Checked on the
 * parsed value before anything formats or computes with it, so "1e-99999999999999" is refused
 * at once instead of being expanded to a string of 10^14 digits.
 */
export const DECIMAL_MIN_EXPONENT = -100;
export const DECIMAL_MAX_EXPONENT = 100;

/** numeric(38,18), the rate and unit-cost columns: 18 decimal places, at most 20 integer digits. */
export const COLUMN_SCALE = 18;
export const COLUMN_MAX_INTEGER_DIGITS = 20;

/** Sign, digits, point, and an exponent of at most 4 digits (so no value silently underflows to 0). */
const DECIMAL_TEXT = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d{1,4})?$/;

/**
 * Parses a decimal input within the bounds above, or null: a finite JSON number (read through its
 * shortest text) or a numeric string of at most DECIMAL_MAX_TEXT_LENGTH characters (a written
 * exponent of at most 4 digits) whose value is zero or has an exponent in
 * [DECIMAL_MIN_EXPONENT, DECIMAL_MAX_EXPONENT].
 */
export function parseDecimalInput(value: unknown): Decimal | null {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
    if (text.length > DECIMAL_MAX_TEXT_LENGTH || !DECIMAL_TEXT.test(text)) return null;
  } else return null;
  // Decimal keeps the exponent as a number: parsing is cheap whatever the exponent
  const d = new Decimal(text);
  if (!d.isFinite()) return null;
  if (!d.isZero() && (d.e < DECIMAL_MIN_EXPONENT || d.e > DECIMAL_MAX_EXPONENT)) return null;
  return d;
}

/** Parses a validated DecimalInput exactly: numbers through their shortest decimal text. */
export function toDecimal(v: DecimalInput): Decimal {
  const d = parseDecimalInput(v);
  if (!d) throw new RangeError('not a validated decimal input');
  return d;
}

/** Whether `d` rounded half up to `scale` places has at most `maxIntegerDigits` integer digits. */
export function fitsColumn(d: Decimal, scale = COLUMN_SCALE, maxIntegerDigits = COLUMN_MAX_INTEGER_DIGITS): boolean {
  return d.abs().toDecimalPlaces(scale, Decimal.ROUND_HALF_UP).lt(new Decimal(10).pow(maxIntegerDigits));
}

/**
 * Validates a non-negative decimal (number or numeric string, bounded as parseDecimalInput) that
 * fits numeric(38,18) once rounded to 18 places: at most 20 integer digits. Strings keep every digit.
 */
export function IsNonNegativeDecimal(options: { positive?: boolean } = {}, validationOptions?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isNonNegativeDecimal',
      target: object.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be a ${options.positive ? 'positive' : 'non-negative'} decimal number (a JSON number or a numeric string of at most ${DECIMAL_MAX_TEXT_LENGTH} characters, exponent ${DECIMAL_MIN_EXPONENT} to ${DECIMAL_MAX_EXPONENT}) with at most ${COLUMN_MAX_INTEGER_DIGITS} integer digits once rounded to ${COLUMN_SCALE} places`,
        ...validationOptions,
      },
      validator: {
        validate(value: unknown): boolean {
          const d = parseDecimalInput(value);
          if (!d || d.isNegative() || (options.positive && d.isZero())) return false;
          return fitsColumn(d);
        },
      },
    });
}

/** Validates a decimal (number or numeric string, bounded as parseDecimalInput) with `greaterThan < value ≤ max`. */
export function IsDecimalInRange(range: { greaterThan: number; max: number }, validationOptions?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isDecimalInRange',
      target: object.constructor,
      propertyName,
      options: {
        message: `${propertyName} must be a decimal number (a JSON number or a numeric string) greater than ${range.greaterThan} and at most ${range.max}`,
        ...validationOptions,
      },
      validator: {
        validate(value: unknown): boolean {
          const d = parseDecimalInput(value);
          return d !== null && d.gt(range.greaterThan) && d.lte(range.max);
        },
      },
    });
}
