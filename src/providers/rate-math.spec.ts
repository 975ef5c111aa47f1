import { Decimal } from '../common/decimal';
import { rateFromUnitCost } from './rate-math';

describe('rateFromUnitCost', () => {
  const d = (s: string) => new Decimal(s);

  it('computes exactly: 0.00001 USD/token, 20 %, 0.00001 USD/credit → 1.2 credits/token', () => {
    expect(rateFromUnitCost(d('0.00001'), d('20'), d('0.00001')).toFixed()).toBe('1.2');
  });

  it('is decimal-exact where floats are not (0.00003 × 1.2 / 0.00001)', () => {
    expect((0.00003 * (1 + 20 / 100)) / 0.00001).toBe(3.5999999999999996); // the float answer is off
    expect(rateFromUnitCost(d('0.00003'), d('20'), d('0.00001')).toFixed()).toBe('3.6');
    expect(rateFromUnitCost(d('0.0000025'), d('10'), d('0.000001')).toFixed()).toBe('2.75');
  });

  it('rounds a non-terminating quotient half up at 18 places, once', () => {
    // 0.000002 × 1.15 / 0.000003 = 0.7666…
    expect(rateFromUnitCost(d('0.000002'), d('15'), d('0.000003')).toFixed()).toBe('0.766666666666666667');
    // 1 / 3 → …333 (rounded down), 2 / 3 → …667 (rounded up)
    expect(rateFromUnitCost(d('1'), d('0'), d('3')).toFixed()).toBe('0.333333333333333333');
    expect(rateFromUnitCost(d('2'), d('0'), d('3')).toFixed()).toBe('0.666666666666666667');
  });

  it('keeps all digits of long operands (beyond double and decimal.js default precision)', () => {
    // 0.000000123456789012345678 × 1.125 / 0.0000001 = 1.38888887638888887750 (exact: 1.3888888763888888775)
    expect(rateFromUnitCost(d('0.000000123456789012345678'), d('12.5'), d('0.0000001')).toFixed()).toBe('1.388888876388888878');
  });

  it('handles negative margins and zero costs; refuses a zero credit price and overflow', () => {
    expect(rateFromUnitCost(d('0.00003'), d('-50'), d('0.00001')).toFixed()).toBe('1.5');
    expect(rateFromUnitCost(d('0'), d('20'), d('0.00001')).toFixed()).toBe('0');
    expect(() => rateFromUnitCost(d('1'), d('0'), d('0'))).toThrow(RangeError);
    expect(() => rateFromUnitCost(d('1000'), d('0'), d('0.000000000000000001'))).toThrow(RangeError);
  });
});
