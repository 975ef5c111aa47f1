import { inlineParams, sqlLiteral } from './sql-literals';

describe('sqlLiteral', () => {
  it('quotes strings with doubled quotes, in an E literal when they hold a backslash', () => {
    expect(sqlLiteral("o'brien")).toBe("'o''brien'");
    expect(sqlLiteral('a\\b')).toBe(" E'a\\\\b'");
    expect(sqlLiteral("x'); DROP TABLE users; --")).toBe("'x''); DROP TABLE users; --'");
    expect(sqlLiteral("x' OR '1'='1")).toBe("'x'' OR ''1''=''1'");
  });

  it('writes numbers as they are and refuses NaN and infinities', () => {
    expect(sqlLiteral(51)).toBe('51');
    expect(sqlLiteral(1.5)).toBe('1.5');
    expect(() => sqlLiteral(Number.NaN)).toThrow();
    expect(() => sqlLiteral(Number.POSITIVE_INFINITY)).toThrow();
  });

  it('writes a Date as UTC timestamptz input, years past 9999 included', () => {
    expect(sqlLiteral(new Date(Date.UTC(2026, 11, 1, 20, 5, 3, 7)))).toBe("'2026-12-01 20:05:03.007+00'");
    expect(sqlLiteral(new Date(253_402_300_800_000))).toBe("'10000-01-01 00:00:00.000+00'");
    expect(() => sqlLiteral(new Date(Number.NaN))).toThrow();
  });

  it('writes string arrays as array literals, elements quoted and escaped', () => {
    expect(sqlLiteral(['failed', 'aborted'])).toBe(`'{"failed","aborted"}'`);
    expect(sqlLiteral(['a"b', 'c\\d'])).toBe(` E'{"a\\\\"b","c\\\\\\\\d"}'`);
  });

  it('writes null as NULL and refuses other types and U+0000', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(() => sqlLiteral(undefined)).toThrow();
    expect(() => sqlLiteral({})).toThrow();
    expect(() => sqlLiteral(true)).toThrow();
    expect(() => sqlLiteral('a\u0000b')).toThrow();
    expect(() => sqlLiteral(['a\u0000'])).toThrow();
  });
});

describe('inlineParams', () => {
  it('replaces every placeholder once, $10 apart from $1, and never rescans a literal', () => {
    const params = ['$2', 'two', 3, 4, 5, 6, 7, 8, 9, 'ten'];
    expect(inlineParams('a = $1 AND b = $2 AND c = $10 AND d = $1', params)).toBe("a = '$2' AND b = 'two' AND c = 'ten' AND d = '$2'");
  });

  it('refuses a placeholder without a parameter', () => {
    expect(() => inlineParams('a = $2', ['x'])).toThrow('no parameter for $2');
    expect(() => inlineParams('a = $0', ['x'])).toThrow('no parameter for $0');
  });
});
