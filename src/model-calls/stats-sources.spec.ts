/**
 * stats-sources.ts: the statements hybridSql builds around the watermarks (the literals they are
 * sent with: src/database/sql-literals.spec.ts, and against PostgreSQL itself in
 * test/model-calls-api.e2e-spec.ts, a model name full of quotes).
 */
import { inlineParams } from '../database/sql-literals';
import { hybridSql, StatsWatermark } from './stats-sources';

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
