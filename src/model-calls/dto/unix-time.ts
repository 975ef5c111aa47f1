import { Transform } from 'class-transformer';
import { ValidateBy, ValidationArguments, ValidationOptions } from 'class-validator';

/** Largest accepted Unix time (seconds): year 9999. */
export const MAX_UNIX_SECONDS = 253_402_300_799;

/**
 * Parses a Unix timestamp in seconds given as a string of digits (query strings, seed 004's
 * `"1698364800"` bodies) or a number. Anything else is left as is so @IsInt reports it.
 */
export const ToUnixSeconds = () =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value === 'string' && /^\d{1,12}$/.test(value.trim())) return Number(value.trim());
    return value;
  });

/** Parses "true"/"false" (query strings) to booleans; anything else is left for @IsBoolean. */
export const ToBoolean = () =>
  Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));

/** The property must be greater than the property `other` of the same object, when both are numbers. */
export function IsAfter(other: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isAfter',
      constraints: [other],
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => {
          const before = (args?.object as Record<string, unknown>)[other];
          return typeof value !== 'number' || typeof before !== 'number' || value > before;
        },
        defaultMessage: (args?: ValidationArguments) => `${args?.property} must be after ${other}`,
      },
    },
    options,
  );
}
