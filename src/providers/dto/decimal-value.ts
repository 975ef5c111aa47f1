import { registerDecorator, ValidationOptions } from 'class-validator';
import { Decimal } from '../../common/decimal';

/** A non-negative decimal given as a JSON number or a numeric string ("0.000015", "1.5e-5"). */
export type DecimalInput = number | string;

const DECIMAL_TEXT = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/** Parses a validated DecimalInput exactly: numbers through their shortest decimal text. */
export function toDecimal(v: DecimalInput): Decimal {
  return new Decimal(typeof v === 'number' ? String(v) : v.trim());
}

/**
 * Validates a non-negative decimal (number or numeric string) that fits numeric(38,18):
 * at most 20 integer digits. Strings keep every digit; numbers are read as their shortest text.
 */
export function IsNonNegativeDecimal(options: { positive?: boolean; maxIntegerDigits?: number } = {}, validationOptions?: ValidationOptions) {
  return (object: object, propertyName: string) =>
    registerDecorator({
      name: 'isNonNegativeDecimal',
      target: object.constructor,
      propertyName,
      options: { message: `${propertyName} must be a ${options.positive ? 'positive' : 'non-negative'} decimal number`, ...validationOptions },
      validator: {
        validate(value: unknown): boolean {
          let d: Decimal;
          if (typeof value === 'number') {
            if (!Number.isFinite(value)) return false;
            d = new Decimal(String(value));
          } else if (typeof value === 'string' && DECIMAL_TEXT.test(value.trim())) {
            d = new Decimal(value.trim());
          } else return false;
          if (d.isNegative() || (options.positive && d.isZero())) return false;
          return d.trunc().toFixed().replace(/^0$/, '').length <= (options.maxIntegerDigits ?? 20);
        },
      },
    });
}
