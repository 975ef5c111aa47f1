import { Decimal } from '../common/decimal';
import { expiringRemainder } from './grant-expiry.service';

const d = (v: string | number) => new Decimal(v);
const remainder = (grantAmount: string, balance: string, later = '0', permanent = '0') =>
  expiringRemainder({ grantAmount: d(grantAmount), balance: d(balance), later: d(later), permanent: d(permanent) }).toFixed();

describe('expiringRemainder (grant expiry rule)', () => {
  it('an unspent grant expires whole', () => {
    expect(remainder('100', '100')).toBe('100');
  });

  it('a partly spent grant expires with what is left of it', () => {
    expect(remainder('100', '37.5')).toBe('37.5');
  });

  it('a wholly spent grant expires with 0', () => {
    expect(remainder('100', '0')).toBe('0');
  });

  it('an account in the red loses nothing', () => {
    expect(remainder('100', '-3')).toBe('0');
  });

  it('later-expiring grants are kept: what they account for is not taken from this one', () => {
    // Spending is attributed to the soonest-expiring grant first, so a later grant of 80 is
    // whole while this one is not: of a balance of 150, 80 is the later grant's, 70 this one's.
    expect(remainder('100', '150', '80')).toBe('70');
    expect(remainder('100', '60', '80')).toBe('0');
  });

  it('permanent credit (refunds, positive adjustments) is never taken by an expiry', () => {
    expect(remainder('100', '120', '0', '20')).toBe('100');
    expect(remainder('100', '110', '0', '20')).toBe('90');
  });

  it('never more than the grant, even with a larger balance', () => {
    expect(remainder('10', '1000')).toBe('10');
  });

  it('is exact in decimals (no float rounding)', () => {
    expect(remainder('0.3', '0.30000000000000000001', '0.1')).toBe('0.20000000000000000001');
  });
});
