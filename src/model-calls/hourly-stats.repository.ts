import { Injectable } from '@nestjs/common';
import type { PoolClient, QueryConfig } from 'pg';
import { PrismaService } from '../prisma/prisma.service';

/** Advisory lock key shared by every writer of model_call_hourly_stats (one at a time). */
export const STATS_LOCK_KEY = 4_004_001;

/** Groups model_calls rows (alias mc, filtered by the statement's WHERE) into hourly stat rows. */
const AGGREGATE_INSERT = `INSERT INTO model_call_hourly_stats
  (hour, user_id, model, type, status, calls, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms)
SELECT date_trunc('hour', mc.created_at) AS hour, mc.user_id, mc.model, mc.type, mc.status,
  count(*)::int, coalesce(sum(mc.prompt_tokens), 0)::bigint, coalesce(sum(mc.completion_tokens), 0)::bigint,
  coalesce(sum(mc.total_tokens), 0)::bigint, coalesce(sum(mc.credits), 0), coalesce(sum(mc.duration_ms), 0)::bigint
FROM model_calls mc`;
const GROUP_BY = 'GROUP BY 1, 2, 3, 4, 5';

/** Sums model_call_hourly_stats rows (alias s, filtered by the statement's WHERE) over users into model_call_hourly_totals rows. */
const TOTALS_INSERT = `INSERT INTO model_call_hourly_totals
  (hour, model, type, status, calls, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms)
SELECT s.hour, s.model, s.type, s.status, sum(s.calls)::bigint, sum(s.prompt_tokens)::bigint, sum(s.completion_tokens)::bigint,
  sum(s.total_tokens)::bigint, sum(s.credits), sum(s.duration_ms)::bigint
FROM model_call_hourly_stats s`;
const TOTALS_GROUP_BY = 'GROUP BY 1, 2, 3, 4';

/** Sums per UTC day the model_call_hourly_stats rows (alias s) of the days $1 into model_call_daily_stats rows. */
const DAILY_STATS_INSERT = `INSERT INTO model_call_daily_stats
  (day, user_id, model, type, status, calls, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms)
SELECT d.day, s.user_id, s.model, s.type, s.status, sum(s.calls)::bigint, sum(s.prompt_tokens)::bigint, sum(s.completion_tokens)::bigint,
  sum(s.total_tokens)::bigint, sum(s.credits), sum(s.duration_ms)::bigint
FROM unnest($1::timestamptz[]) AS d(day)
JOIN model_call_hourly_stats s ON s.hour >= d.day AND s.hour < d.day + interval '1 day'`;

/**
 * The statements of model_call_hourly_stats and model_call_stats_state, one builder each
 * (text and values). Exported for the SQL snapshots (src/database/sql-snapshots.spec.ts).
 */
export const hourlyStatsQueries = {
  lockWriters: (): QueryConfig => ({
    text: 'SELECT pg_advisory_xact_lock($1)',
    values: [STATS_LOCK_KEY],
  }),
  nextRun: (settleMs: number): QueryConfig => ({
    text: `WITH st AS (SELECT hour_watermark, recorded_watermark FROM model_call_stats_state WHERE id = 1),
  nw AS (SELECT greatest(now() - make_interval(secs => $1::double precision / 1000), (SELECT recorded_watermark FROM st)) AS r)
SELECT (SELECT hour_watermark FROM st) AS h_old, (SELECT recorded_watermark FROM st) AS r_old,
  nw.r AS r_new, date_trunc('hour', nw.r) AS h_new FROM nw`,
    values: [settleMs],
  }),
  deleteBefore: (hour: Date): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_stats WHERE hour < $1',
    values: [hour],
  }),
  oldestHour: (before: Date): QueryConfig => ({
    text: `SELECT date_trunc('hour', min(created_at)) AS hour FROM model_calls WHERE created_at < $1`,
    values: [before],
  }),
  countHours: (): QueryConfig => ({
    text: 'SELECT count(DISTINCT hour)::int AS n FROM model_call_hourly_stats',
  }),
  lateHours: (recordedFrom: Date, recordedBefore: Date, createdBefore: Date): QueryConfig => ({
    text: `SELECT DISTINCT date_trunc('hour', created_at) AS hour FROM model_calls
WHERE recorded_at >= $1 AND recorded_at < $2 AND created_at < $3`,
    values: [recordedFrom, recordedBefore, createdBefore],
  }),
  deleteHours: (hours: readonly Date[]): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_stats WHERE hour = ANY($1::timestamptz[])',
    values: [hours],
  }),
  aggregateHours: (hours: readonly Date[], recordedBefore: Date): QueryConfig => ({
    text: `${AGGREGATE_INSERT}
JOIN unnest($1::timestamptz[]) AS h(hour) ON mc.created_at >= h.hour AND mc.created_at < h.hour + interval '1 hour'
WHERE mc.recorded_at < $2
${GROUP_BY}`,
    values: [hours, recordedBefore],
  }),
  deleteRange: (from: Date, to: Date): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_stats WHERE hour >= $1 AND hour < $2',
    values: [from, to],
  }),
  aggregateRange: (from: Date, to: Date, recordedBefore: Date): QueryConfig => ({
    text: `${AGGREGATE_INSERT}
WHERE mc.created_at >= $1 AND mc.created_at < $2 AND mc.recorded_at < $3
${GROUP_BY}`,
    values: [from, to, recordedBefore],
  }),
  saveWatermarks: (hour: Date, recorded: Date): QueryConfig => ({
    text: `INSERT INTO model_call_stats_state (id, hour_watermark, recorded_watermark, updated_at) VALUES (1, $1, $2, now())
ON CONFLICT (id) DO UPDATE SET hour_watermark = EXCLUDED.hour_watermark, recorded_watermark = EXCLUDED.recorded_watermark, updated_at = now()`,
    values: [hour, recorded],
  }),
  deleteTotalsBefore: (hour: Date): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_totals WHERE hour < $1',
    values: [hour],
  }),
  sumTotalsBefore: (hour: Date): QueryConfig => ({
    text: `${TOTALS_INSERT}
WHERE s.hour < $1
${TOTALS_GROUP_BY}`,
    values: [hour],
  }),
  deleteTotalsHours: (hours: readonly Date[]): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_totals WHERE hour = ANY($1::timestamptz[])',
    values: [hours],
  }),
  sumTotalsHours: (hours: readonly Date[]): QueryConfig => ({
    text: `${TOTALS_INSERT}
WHERE s.hour = ANY($1::timestamptz[])
${TOTALS_GROUP_BY}`,
    values: [hours],
  }),
  deleteTotalsRange: (from: Date, to: Date): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_totals WHERE hour >= $1 AND hour < $2',
    values: [from, to],
  }),
  sumTotalsRange: (from: Date, to: Date): QueryConfig => ({
    text: `${TOTALS_INSERT}
WHERE s.hour >= $1 AND s.hour < $2
${TOTALS_GROUP_BY}`,
    values: [from, to],
  }),
  deleteDailyBefore: (day: Date): QueryConfig => ({
    text: 'WITH t AS (DELETE FROM model_call_daily_totals WHERE day < $1) DELETE FROM model_call_daily_stats WHERE day < $1',
    values: [day],
  }),
  deleteDailyStats: (days: readonly Date[]): QueryConfig => ({
    text: 'DELETE FROM model_call_daily_stats WHERE day = ANY($1::timestamptz[])',
    values: [days],
  }),
  sumDailyStats: (days: readonly Date[]): QueryConfig => ({
    text: `${DAILY_STATS_INSERT}
GROUP BY 1, 2, 3, 4, 5`,
    values: [days],
  }),
  deleteUserDailyStats: (days: readonly Date[], userId: string): QueryConfig => ({
    text: 'DELETE FROM model_call_daily_stats WHERE day = ANY($1::timestamptz[]) AND user_id = $2',
    values: [days, userId],
  }),
  sumUserDailyStats: (days: readonly Date[], userId: string): QueryConfig => ({
    text: `${DAILY_STATS_INSERT}
WHERE s.user_id = $2
GROUP BY 1, 2, 3, 4, 5`,
    values: [days, userId],
  }),
  deleteDailyTotals: (days: readonly Date[]): QueryConfig => ({
    text: 'DELETE FROM model_call_daily_totals WHERE day = ANY($1::timestamptz[])',
    values: [days],
  }),
  sumDailyTotals: (days: readonly Date[]): QueryConfig => ({
    text: `INSERT INTO model_call_daily_totals
  (day, model, type, status, calls, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms)
SELECT d.day, t.model, t.type, t.status, sum(t.calls)::bigint, sum(t.prompt_tokens)::bigint, sum(t.completion_tokens)::bigint,
  sum(t.total_tokens)::bigint, sum(t.credits), sum(t.duration_ms)::bigint
FROM unnest($1::timestamptz[]) AS d(day)
JOIN model_call_hourly_totals t ON t.hour >= d.day AND t.hour < d.day + interval '1 day'
GROUP BY 1, 2, 3, 4`,
    values: [days],
  }),
  watermarks: (): QueryConfig => ({
    text: 'SELECT hour_watermark AS h, recorded_watermark AS r FROM model_call_stats_state WHERE id = 1',
  }),
  hourRange: (start: Date, end: Date, limit: Date): QueryConfig => ({
    text: `SELECT date_trunc('hour', $1::timestamptz) AS lo,
  least(date_trunc('hour', $2::timestamptz - interval '1 microsecond') + interval '1 hour', $3::timestamptz) AS hi`,
    values: [start, end, limit],
  }),
  countUserStatHours: (userId: string, from: Date, to: Date): QueryConfig => ({
    text: 'SELECT count(DISTINCT hour)::int AS n FROM model_call_hourly_stats WHERE user_id = $1 AND hour >= $2 AND hour < $3',
    values: [userId, from, to],
  }),
  countUserCallHours: (userId: string, from: Date, to: Date, recordedBefore: Date): QueryConfig => ({
    text: `SELECT count(DISTINCT date_trunc('hour', created_at))::int AS n FROM model_calls
WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 AND recorded_at < $4`,
    values: [userId, from, to, recordedBefore],
  }),
  deleteUserRange: (userId: string, from: Date, to: Date): QueryConfig => ({
    text: 'DELETE FROM model_call_hourly_stats WHERE user_id = $1 AND hour >= $2 AND hour < $3',
    values: [userId, from, to],
  }),
  aggregateUserRange: (userId: string, from: Date, to: Date, recordedBefore: Date): QueryConfig => ({
    text: `${AGGREGATE_INSERT}
WHERE mc.user_id = $1 AND mc.created_at >= $2 AND mc.created_at < $3 AND mc.recorded_at < $4
${GROUP_BY}`,
    values: [userId, from, to, recordedBefore],
  }),
};

/** Watermarks of one aggregation run: the stored ones (null before the first run) and the new ones. */
export interface StatsRunWindow {
  hOld: Date | null;
  rOld: Date | null;
  rNew: Date;
  hNew: Date;
}

/**
 * SQL of the hourly usage aggregates (model_call_hourly_stats) and their watermarks
 * (model_call_stats_state); the rules are in HourlyAggregationService. Every method takes an
 * optional `PoolClient`: pass the transaction's client to make it part of that transaction
 * (docs/data-access.md); without one it runs on its own on the pool.
 */
@Injectable()
export class HourlyStatsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Takes the stats writers' advisory lock until `c`'s transaction ends (so `c` is required). */
  async lockWriters(c: PoolClient): Promise<void> {
    await c.query(hourlyStatsQueries.lockWriters());
  }

  /** Stored watermarks and the new ones: R_new = max(now − settle, R_old), H_new its hour. */
  async nextRun(settleMs: number, c?: PoolClient): Promise<StatsRunWindow> {
    type Row = { h_old: Date | null; r_old: Date | null; r_new: Date; h_new: Date };
    const s = (await this.db(c).query<Row>(hourlyStatsQueries.nextRun(settleMs))).rows[0];
    return { hOld: s.h_old, rOld: s.r_old, rNew: s.r_new, hNew: s.h_new };
  }

  /** Deletes every stat row of an hour before `hour`. */
  async deleteBefore(hour: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(hourlyStatsQueries.deleteBefore(hour));
  }

  /** Distinct hours in the stats. */
  async countHours(c?: PoolClient): Promise<number> {
    return (await this.db(c).query<{ n: number }>(hourlyStatsQueries.countHours())).rows[0].n;
  }

  /** Hours before `createdBefore` that got calls recorded in [recordedFrom, recordedBefore). */
  async lateHours(recordedFrom: Date, recordedBefore: Date, createdBefore: Date, c?: PoolClient): Promise<Date[]> {
    const res = await this.db(c).query<{ hour: Date }>(hourlyStatsQueries.lateHours(recordedFrom, recordedBefore, createdBefore));
    return res.rows.map((r) => r.hour);
  }

  /** Deletes the stat rows of these hours. */
  async deleteHours(hours: readonly Date[], c?: PoolClient): Promise<void> {
    await this.db(c).query(hourlyStatsQueries.deleteHours(hours));
  }

  /** Aggregates these hours' calls recorded before `recordedBefore`. @returns stat rows written */
  async aggregateHours(hours: readonly Date[], recordedBefore: Date, c?: PoolClient): Promise<number> {
    return (await this.db(c).query(hourlyStatsQueries.aggregateHours(hours, recordedBefore))).rowCount ?? 0;
  }

  /** Deletes the stat rows of the hours in [from, to). */
  async deleteRange(from: Date, to: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(hourlyStatsQueries.deleteRange(from, to));
  }

  /** Aggregates calls created in [from, to) and recorded before `recordedBefore`. @returns stat rows written */
  async aggregateRange(from: Date, to: Date, recordedBefore: Date, c?: PoolClient): Promise<number> {
    return (await this.db(c).query(hourlyStatsQueries.aggregateRange(from, to, recordedBefore))).rowCount ?? 0;
  }

  /**
   * Rewrites the all-users rollup (model_call_hourly_totals) of the hours before `hour` from the
   * per-user rows. Every change to model_call_hourly_stats is followed, in its transaction, by
   * one of these rebuilds over the same hours, so both tables always cover the same calls.
   * @returns rollup rows written
   */
  async rebuildTotalsBefore(hour: Date, c?: PoolClient): Promise<number> {
    await this.db(c).query(hourlyStatsQueries.deleteTotalsBefore(hour));
    return (await this.db(c).query(hourlyStatsQueries.sumTotalsBefore(hour))).rowCount ?? 0;
  }

  /** Rewrites the all-users rollup of these hours from the per-user rows. @returns rollup rows written */
  async rebuildTotalsHours(hours: readonly Date[], c?: PoolClient): Promise<number> {
    await this.db(c).query(hourlyStatsQueries.deleteTotalsHours(hours));
    return (await this.db(c).query(hourlyStatsQueries.sumTotalsHours(hours))).rowCount ?? 0;
  }

  /** Rewrites the all-users rollup of the hours in [from, to) from the per-user rows. @returns rollup rows written */
  async rebuildTotalsRange(from: Date, to: Date, c?: PoolClient): Promise<number> {
    await this.db(c).query(hourlyStatsQueries.deleteTotalsRange(from, to));
    return (await this.db(c).query(hourlyStatsQueries.sumTotalsRange(from, to))).rowCount ?? 0;
  }

  /** Deletes the daily rows (per user and all users) of the days before `day`. */
  async deleteDailyBefore(day: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(hourlyStatsQueries.deleteDailyBefore(day));
  }

  /**
   * Rewrites the daily rows of these UTC days (midnights; complete days only) from the hourly
   * rows: every user's model_call_daily_stats rows of the days, or only `userId`'s, and the
   * model_call_daily_totals rows of the days (from model_call_hourly_totals). Called after every
   * change to the hourly rows of a complete day, in the same transaction.
   */
  async rebuildDays(days: readonly Date[], userId: string | null, c?: PoolClient): Promise<void> {
    if (days.length === 0) return;
    if (userId === null) {
      await this.db(c).query(hourlyStatsQueries.deleteDailyStats(days));
      await this.db(c).query(hourlyStatsQueries.sumDailyStats(days));
    } else {
      await this.db(c).query(hourlyStatsQueries.deleteUserDailyStats(days, userId));
      await this.db(c).query(hourlyStatsQueries.sumUserDailyStats(days, userId));
    }
    await this.db(c).query(hourlyStatsQueries.deleteDailyTotals(days));
    await this.db(c).query(hourlyStatsQueries.sumDailyTotals(days));
  }

  /** The hour of the oldest call created before `before`, or null if there is none. */
  async oldestHour(before: Date, c?: PoolClient): Promise<Date | null> {
    return (await this.db(c).query<{ hour: Date | null }>(hourlyStatsQueries.oldestHour(before))).rows[0].hour;
  }

  /** Stores the watermarks (the single model_call_stats_state row). */
  async saveWatermarks(hour: Date, recorded: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(hourlyStatsQueries.saveWatermarks(hour, recorded));
  }

  /** Stored watermarks: hour `h` and recorded `r`, both null before the first run. */
  async watermarks(c?: PoolClient): Promise<{ h: Date | null; r: Date | null }> {
    const res = await this.db(c).query<{ h: Date | null; r: Date | null }>(hourlyStatsQueries.watermarks());
    return res.rows[0] ?? { h: null, r: null };
  }

  /** [start, end) widened to whole hours, the end capped at `limit`. */
  async hourRange(start: Date, end: Date, limit: Date, c?: PoolClient): Promise<{ lo: Date; hi: Date }> {
    return (await this.db(c).query<{ lo: Date; hi: Date }>(hourlyStatsQueries.hourRange(start, end, limit))).rows[0];
  }

  /** Distinct hours of the user's stat rows in [from, to). */
  async countUserStatHours(userId: string, from: Date, to: Date, c?: PoolClient): Promise<number> {
    return (await this.db(c).query<{ n: number }>(hourlyStatsQueries.countUserStatHours(userId, from, to))).rows[0].n;
  }

  /** Distinct hours of the user's calls created in [from, to) and recorded before `recordedBefore`. */
  async countUserCallHours(userId: string, from: Date, to: Date, recordedBefore: Date, c?: PoolClient): Promise<number> {
    return (await this.db(c).query<{ n: number }>(hourlyStatsQueries.countUserCallHours(userId, from, to, recordedBefore))).rows[0].n;
  }

  /** Deletes the user's stat rows of the hours in [from, to). */
  async deleteUserRange(userId: string, from: Date, to: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(hourlyStatsQueries.deleteUserRange(userId, from, to));
  }

  /** Aggregates the user's calls created in [from, to) and recorded before `recordedBefore`. @returns stat rows written */
  async aggregateUserRange(userId: string, from: Date, to: Date, recordedBefore: Date, c?: PoolClient): Promise<number> {
    return (await this.db(c).query(hourlyStatsQueries.aggregateUserRange(userId, from, to, recordedBefore))).rowCount ?? 0;
  }

  private db(c?: PoolClient): Pick<PoolClient, 'query'> {
    return c ?? this.prisma.pool;
  }
}
