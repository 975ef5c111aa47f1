import { buildExportCopySql, inlineParams, sqlLiteral } from './call-export-sql';

describe('sqlLiteral', () => {
  it('writes finite numbers as they are and quotes strings, doubling quotes and escaping backslashes', () => {
    expect(sqlLiteral(1769904000)).toBe('1769904000');
    expect(sqlLiteral("o'brien")).toBe("'o''brien'");
    expect(sqlLiteral('a\\b')).toBe(" E'a\\\\b'");
    expect(sqlLiteral("x' OR '1'='1")).toBe("'x'' OR ''1''=''1'");
  });

  it('turns a string holding NUL into NULL (no stored text can hold it, and a statement ends at NUL)', () => {
    expect(sqlLiteral('a\u0000b')).toBe('NULL');
  });

  it('refuses anything else', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, null, undefined, true, {}, ['a']]) expect(() => sqlLiteral(v)).toThrow();
  });
});

describe('inlineParams', () => {
  it('replaces every placeholder once, $10 not taken for $1, a literal never scanned again', () => {
    const params = ['$2', 'b', 3, 4, 5, 6, 7, 8, 9, 'ten'];
    expect(inlineParams('a = $1 AND b = $2 AND j = $10', params)).toBe("a = '$2' AND b = 'b' AND j = 'ten'");
  });

  it('throws for a placeholder without a parameter', () => {
    expect(() => inlineParams('a = $2', ['x'])).toThrow('no parameter for $2');
    expect(() => inlineParams('a = $0', ['x'])).toThrow('no parameter for $0');
  });
});

describe('buildExportCopySql', () => {
  it('is one COPY of the filtered, ordered, limited calls, the filters as literals', () => {
    const sql = buildExportCopySql({ model: "o'x", startTime: 100, search: 'a%' }, '0b7c5a8e-8a56-4b8e-9c1e-5d6f7a8b9c0d', 500);
    expect(sql.startsWith('COPY (')).toBe(true);
    expect(sql.endsWith(') TO STDOUT WITH (FORMAT csv)')).toBe(true);
    expect(sql).toContain("mc.user_id = '0b7c5a8e-8a56-4b8e-9c1e-5d6f7a8b9c0d'::uuid");
    expect(sql).toContain('mc.created_at >= to_timestamp(100)');
    expect(sql).toContain("mc.model = 'o''x'");
    expect(sql).toContain("mc.model ILIKE  E'%a\\\\%%'");
    expect(sql).toContain('ORDER BY mc.created_at DESC, mc.id DESC');
    expect(sql).toContain('LIMIT 500');
    expect(sql).not.toMatch(/\$\d/);
  });

  it('refuses a limit that is not a positive integer', () => {
    for (const limit of [0, -1, 1.5, Number.NaN]) expect(() => buildExportCopySql({}, null, limit)).toThrow();
  });
});
