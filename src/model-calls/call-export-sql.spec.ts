import { buildExportCopySql } from './call-export-sql';

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
