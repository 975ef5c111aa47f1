import { Transform } from 'class-transformer';
import { ValidateBy, ValidationArguments, ValidationOptions } from 'class-validator';

/** Largest accepted Unix time (seconds): year 9999. */
export const MAX_UNIX_SECONDS = 253_402_300_799;

/**
 * Parses a Unix timestamp in seconds given as a string of digits (query strings, bodies such as
 * `"1698364800"`) or a number. Anything else is left as is so @IsInt reports it.
 */
export const ToUnixSeconds = () =>
  Transform(({ value }: { value: unknown }) => {
    if (typeof value === 'string' && /^\d{1,12}$/.test(value.trim())) return Number(value.trim());
    return value;
  });

/** Parses "true"/"false" (query strings) to booleans; anything else is left for @IsBoolean. */
export const ToBoolean = () => Transform(({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value));

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

/** 0001-01-01T00:00:00Z in Unix seconds: the earliest time a usage-stats previous period may start. */
export const MIN_PREVIOUS_PERIOD_START = -62_135_596_800;

/**
 * For usage stats, which compare [startTime, endTime) with the period of equal length just before
 * it: that previous period must start on or after 0001-01-01T00:00:00Z, i.e.
 * startTime − (endTime − startTime) ≥ MIN_PREVIOUS_PERIOD_START. Put on endTime.
 */
export function PreviousPeriodRepresentable(start: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'previousPeriodRepresentable',
      constraints: [start],
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => {
          const from = (args?.object as Record<string, unknown>)[start];
          return typeof value !== 'number' || typeof from !== 'number' || 2 * from - value >= MIN_PREVIOUS_PERIOD_START;
        },
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} is too far after ${start}: the previous period of equal length (compared in trendComparison) must start on or after 0001-01-01T00:00:00Z, so ${args?.property} − ${start} may be at most ${start} + ${-MIN_PREVIOUS_PERIOD_START}`,
      },
    },
    options,
  );
}
