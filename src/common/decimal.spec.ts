import { randomInt } from 'node:crypto';
import { CREDIT_SCALE, Decimal, exact, exactRate, roundCredits } from './decimal';

/** roundCredits as it was written before it copied the rounded digits: through their text. */
const viaText = (d: Decimal) => new Decimal(d.toDecimalPlaces(CREDIT_SCALE, Decimal.ROUND_HALF_UP).toFixed());

/** A random decimal string with up to `intDigits` integer and `fracDigits` fraction digits. */
function randomDecimal(intDigits: number, fracDigits: number): string {
  const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
  const int = digits(randomInt(intDigits + 1)).replace(/^0+(?=\d)/, '') || '0';
  const frac = digits(randomInt(fracDigits + 1));
  return frac ? `${int}.${frac}` : int;
}

describe('exactRate', () => {
  it('is exact(rate), converted once per rate object', () => {
    const rate = new Decimal('0.000000123456789012345678');
    const first = exactRate(rate);
    expect(first.toFixed()).toBe(exact(rate).toFixed());
    expect(exactRate(rate)).toBe(first);
    // another object of the same value converts on its own (nothing keyed by value)
    const twin = new Decimal(rate.toFixed());
    expect(exactRate(twin)).not.toBe(first);
    expect(exactRate(twin).eq(first)).toBe(true);
  });

  it('keeps exact arithmetic: a product of 18-decimal rates and large token counts is not rounded', () => {
    const rate = new Decimal('0.971394666473253629');
    expect(exactRate(rate).mul(166_574).toFixed()).toBe('161809.095173115749997046');
  });
});

describe('roundCredits', () => {
  it('gives what rounding through the text gives, for 20,000 random amounts', () => {
    for (let i = 0; i < 20_000; i++) {
      const amount = exact(randomDecimal(22, 24)).mul(i % 3 === 0 ? 1 : randomInt(1, 1_000_000));
      const rounded = roundCredits(amount);
      const expected = viaText(amount);
      expect(rounded.toFixed()).toBe(expected.toFixed());
      expect(rounded.decimalPlaces()).toBeLessThanOrEqual(CREDIT_SCALE);
      expect(rounded).toBeInstanceOf(Decimal);
    }
  });

  it('rounds half up at the tenth place, and a zero is a plain positive zero', () => {
    expect(roundCredits(exact('0.00000000005')).toFixed()).toBe('0.0000000001');
    expect(roundCredits(exact('0.000000000049999')).toFixed()).toBe('0');
    expect(roundCredits(exact('-0.00000000004')).isNegative()).toBe(false);
    expect(roundCredits(exact('0')).toFixed()).toBe('0');
  });

  it('returns a plain Decimal, with its default precision for what follows', () => {
    const r = roundCredits(exact('1234567890123456789012345678.0123456789'));
    expect(r.toFixed()).toBe('1234567890123456789012345678.0123456789');
    // a plain Decimal's own arithmetic keeps 20 significant digits, as before
    expect(r.mul(3).toFixed()).toBe(viaText(exact('1234567890123456789012345678.0123456789')).mul(3).toFixed());
  });
});
