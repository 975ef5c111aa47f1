/**
 * stats-sources.ts: the literals snapshotRead inlines (the simple protocol takes no bind
 * parameters) and the statements hybridSql builds around the watermarks. The literals are checked
 * against PostgreSQL itself in test/model-calls-api.e2e-spec.ts (a model name full of quotes).
 */
import { hybridSql, inlineParams, sqlLiteral, StatsWatermark } from './stats-sources';

describe('sqlLiteral', () => {
  it('quotes strings with doubled quotes, in an E literal when they hold a backslash', () => {
    expect(sqlLiteral("o'brien")).toBe("'o''brien'");
    expect(sqlLiteral('a\\b')).toBe(" E'a\\\\b'");
    expect(sqlLiteral("x'); DROP TABLE users; --")).toBe("'x''); DROP TABLE users; --'");
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

describe('hybridSql', () => {
  const wm: StatsWatermark = { hour: Date.UTC(2026, 0, 20, 10), recorded: '2026-01-20 10:05:00.123456+00' };
  const select = { agg: 'sum(s.calls)::bigint', raw: 'count(*)::bigint' };

  it('passes the recorded watermark to the microsecond (the late calls of the aggregated hours)', () => {
    const q = hybridSql({ userId: null }, Date.UTC(2026, 0, 10, 9, 30), Date.UTC(2026, 0, 20, 12), wm, select);
    expect(q.params).toContain('2026-01-20 10:05:00.123456+00');
    expect(inlineParams(q.sql, q.params)).toContain("mc.recorded_at >= '2026-01-20 10:05:00.123456+00'");
  });

  it('reads whole days from the daily level, the hours around them hourly, the edges and the tail from the log', () => {
    const start = Date.UTC(2026, 0, 10, 9, 30);
    const q = hybridSql({ userId: null }, start, Date.UTC(2026, 0, 20, 12), wm, select);
    const sql = inlineParams(q.sql, q.params);
    expect(sql).toContain(
      "FROM model_call_daily_totals s WHERE s.day >= '2026-01-11 00:00:00.000+00' AND s.day < '2026-01-20 00:00:00.000+00'",
    );
    expect(sql).toContain(
      "FROM model_call_hourly_totals s WHERE s.hour >= '2026-01-10 10:00:00.000+00' AND s.hour < '2026-01-11 00:00:00.000+00'",
    );
    expect(sql).toContain(
      "FROM model_call_hourly_totals s WHERE s.hour >= '2026-01-20 00:00:00.000+00' AND s.hour < '2026-01-20 10:00:00.000+00'",
    );
    expect(sql).toContain("mc.created_at >= '2026-01-10 09:30:00.000+00' AND mc.created_at < '2026-01-10 10:00:00.000+00'");
    expect(sql).toContain("mc.created_at >= '2026-01-20 10:00:00.000+00' AND mc.created_at < '2026-01-20 12:00:00.000+00'");
  });

  it('reads everything from the log before the first aggregation run', () => {
    const q = hybridSql({ userId: null }, Date.UTC(2026, 0, 10), Date.UTC(2026, 0, 20), null, select);
    expect(q.sql).not.toMatch(/model_call_(hourly|daily)_/);
    expect(q.sql.match(/FROM model_calls mc/g)).toHaveLength(1);
  });
});
