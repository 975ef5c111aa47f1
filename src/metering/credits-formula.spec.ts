import { Decimal } from '../common/decimal';
import { creditsFor } from './credits-formula';

const d = (s: string) => new Decimal(s);
const credits = (prompt: number, completion: number, inputRate: string, outputRate: string) =>
  creditsFor(prompt, completion, d(inputRate), d(outputRate)).toFixed();

describe('creditsFor', () => {
  it('is prompt × input rate + completion × output rate', () => {
    expect(credits(1000, 500, '0.5', '1.5')).toBe('1250');
    expect(credits(7, 0, '0.5', '1.5')).toBe('3.5');
    expect(credits(0, 7, '0.5', '1.5')).toBe('10.5');
    expect(credits(0, 0, '0.5', '1.5')).toBe('0');
  });

  it('is decimal-exact where binary floating point is not', () => {
    expect(3 * 0.1).toBe(0.30000000000000004);
    expect(credits(3, 0, '0.1', '0')).toBe('0.3');
    expect(credits(1, 2, '0.1', '0.1')).toBe('0.3');
    expect(credits(10, 10, '0.000001', '0.000002')).toBe('0.00003');
  });

  it('rounds half up at 10 decimal places', () => {
    expect(credits(1, 0, '0.00000000005', '0')).toBe('0.0000000001'); // half of the last place rounds up
    expect(credits(1, 0, '0.000000000049999999', '0')).toBe('0');
    expect(credits(1, 0, '0.00000000015', '0')).toBe('0.0000000002');
    // half up, not half even: …25 → …3
    expect(credits(1, 0, '0.00000000025', '0')).toBe('0.0000000003');
    expect(credits(3, 0, '0.333333333333333333', '0')).toBe('1'); // 0.999999999999999999 → 1
    expect(credits(1, 0, '0.123456789012345678', '0')).toBe('0.123456789');
    expect(credits(1, 1, '0.00000000003', '0.00000000002')).toBe('0.0000000001'); // the sum is rounded, not each term
  });

  it('has at most 10 decimal places', () => {
    const c = creditsFor(123_457, 98_765, d('0.000000123456789012'), d('0.000000987654321098'));
    expect(c.decimalPlaces()).toBeLessThanOrEqual(10);
    // 0.015241604801054484 + 0.09754567902324397 = 0.112787283824298454 exactly
    expect(c.toFixed()).toBe('0.1127872838');
  });

  it('handles big token counts exactly', () => {
    expect(credits(1_000_000_000, 1_000_000_000, '0.000002', '0.000008')).toBe('10000');
    expect(credits(Number.MAX_SAFE_INTEGER, 0, '1', '0')).toBe('9007199254740991');
    expect(credits(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, '0.5', '0.5')).toBe('9007199254740991');
    expect(credits(2_000_000_000, 0, '0.0000001234', '0')).toBe('246.8');
    // 10^12 tokens at a rate with 18 decimals: 123456.789012345678 → rounded to 10 places
    expect(credits(1_000_000_000_000, 0, '0.000000123456789012', '0')).toBe('123456.789012');
    expect(credits(999_999_999, 0, '0.000000001', '0')).toBe('0.999999999');
  });

  it('zero rates cost nothing', () => {
    expect(credits(1_000_000, 1_000_000, '0', '0')).toBe('0');
    expect(credits(1_000_000, 5, '0', '0.2')).toBe('1');
    expect(credits(5, 1_000_000, '0.2', '0')).toBe('1');
  });

  // Decimal.js rounds to 20 significant digits by default; creditsFor computes with more, so a
  // product that needs more digits is rounded once, as PostgreSQL numeric would.
  it('rounds the exact value once, however many digits the product has', () => {
    // exact: 0.971394666473253629 × 166574 = 161809.095173115749997046 → …1157
    expect(credits(166_574, 0, '0.971394666473253629', '0')).toBe('161809.0951731157');
    // exact: 0.155897133227294109 × 1891377 = 294860.252152039849998093 → …0398
    expect(credits(1_891_377, 0, '0.155897133227294109', '0')).toBe('294860.2521520398');
  });
});
