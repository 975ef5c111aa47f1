import { Inject, Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';

/** Advisory lock key shared by every writer of model_call_hourly_stats (one at a time). */
const STATS_LOCK_KEY = 4_004_001;

/** Groups model_calls rows (alias mc, filtered by the caller's WHERE) into hourly stat rows. */
const AGGREGATE_SELECT = `
  SELECT date_trunc('hour', mc.created_at) AS hour, mc.user_id, mc.model, mc.type, mc.status,
    count(*)::int, coalesce(sum(mc.prompt_tokens), 0)::bigint, coalesce(sum(mc.completion_tokens), 0)::bigint,
    coalesce(sum(mc.total_tokens), 0)::bigint, coalesce(sum(mc.credits), 0), coalesce(sum(mc.duration_ms), 0)::bigint
  FROM model_calls mc`;
const AGGREGATE_INSERT = `INSERT INTO model_call_hourly_stats
  (hour, user_id, model, type, status, calls, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms)`;
const GROUP_BY = 'GROUP BY 1, 2, 3, 4, 5';

export interface AggregationResult {
  /** hours (re)aggregated in this run: newly closed ones plus hours that received late rows */
  hours: number;
  /** stat rows written */
  rows: number;
  hourWatermark: string;
  recordedWatermark: string;
}

export interface RecalculationResult {
  /** hourly buckets of the user whose stat rows were (or, dry run, would be) deleted */
  deleted: number;
  /** hourly buckets rebuilt (or, dry run, that would be) from the call log */
  success: number;
  /** always 0: the rebuild is one transaction, it succeeds or the job fails */
  failed: number;
}

/**
 * Maintains model_call_hourly_stats, the pre-aggregates behind the usage stats, with an exact
 * split between aggregated and not-yet-aggregated calls.
 *
 * State (model_call_stats_state): `recordedWatermark` R and `hourWatermark` H = the hour R falls
 * in. Invariant after each run: the stats hold exactly the calls with created_at < H and
 * recorded_at < R; readers take every other call from model_calls (the tail: created_at ≥ H, or
 * recorded_at ≥ R for calls recorded late, e.g. long streams whose created_at is their start).
 * A run moves R to now − settle (MODEL_CALL_STATS_SETTLE_MS, longer than any insert transaction,
 * so no row with recorded_at < R commits after the run) and replaces, per hour, the stats of the
 * newly closed hours [H_old, H_new) and of the older hours that got rows recorded in [R_old, R_new).
 * Each run replaces whole hours from the log, so running twice (BullMQ's at-least-once) is harmless.
 */
@Injectable()
export class HourlyAggregationService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** One aggregation run (job `model-call-stats.aggregate-hourly`). */
  async aggregate(): Promise<AggregationResult> {
    return this.inTransaction(async (c) => {
      const { rows: [s] } = await c.query<{ h_old: Date | null; r_old: Date | null; r_new: Date; h_new: Date }>(
        `WITH st AS (SELECT hour_watermark, recorded_watermark FROM model_call_stats_state WHERE id = 1),
              nw AS (SELECT greatest(now() - make_interval(secs => $1::double precision / 1000), (SELECT recorded_watermark FROM st)) AS r)
         SELECT (SELECT hour_watermark FROM st) AS h_old, (SELECT recorded_watermark FROM st) AS r_old,
                nw.r AS r_new, date_trunc('hour', nw.r) AS h_new FROM nw`,
        [this.config.modelCalls.statsSettleMs],
      );
      let hours = 0;
      let rows = 0;
      if (s.h_old === null || s.r_old === null) {
        // First run: everything before H_new.
        await c.query('DELETE FROM model_call_hourly_stats WHERE hour < $1', [s.h_new]);
        const ins = await c.query(`${AGGREGATE_INSERT} ${AGGREGATE_SELECT} WHERE mc.created_at < $1 AND mc.recorded_at < $2 ${GROUP_BY}`, [s.h_new, s.r_new]);
        rows += ins.rowCount ?? 0;
        hours += (await c.query<{ n: number }>('SELECT count(DISTINCT hour)::int AS n FROM model_call_hourly_stats')).rows[0].n;
      } else {
        // Older hours that received rows recorded since the last run.
        const late = await c.query<{ hour: Date }>(
          `SELECT DISTINCT date_trunc('hour', created_at) AS hour FROM model_calls
           WHERE recorded_at >= $1 AND recorded_at < $2 AND created_at < $3`,
          [s.r_old, s.r_new, s.h_old],
        );
        const lateHours = late.rows.map((r) => r.hour);
        if (lateHours.length) {
          await c.query('DELETE FROM model_call_hourly_stats WHERE hour = ANY($1::timestamptz[])', [lateHours]);
          const ins = await c.query(
            `${AGGREGATE_INSERT} ${AGGREGATE_SELECT}
             JOIN unnest($1::timestamptz[]) AS h(hour) ON mc.created_at >= h.hour AND mc.created_at < h.hour + interval '1 hour'
             WHERE mc.recorded_at < $2 ${GROUP_BY}`,
            [lateHours, s.r_new],
          );
          rows += ins.rowCount ?? 0;
        }
        // Hours closed since the last run.
        if (s.h_new > s.h_old) {
          await c.query('DELETE FROM model_call_hourly_stats WHERE hour >= $1 AND hour < $2', [s.h_old, s.h_new]);
          const ins = await c.query(
            `${AGGREGATE_INSERT} ${AGGREGATE_SELECT} WHERE mc.created_at >= $1 AND mc.created_at < $2 AND mc.recorded_at < $3 ${GROUP_BY}`,
            [s.h_old, s.h_new, s.r_new],
          );
          rows += ins.rowCount ?? 0;
        }
        hours = lateHours.length + Math.round((s.h_new.getTime() - s.h_old.getTime()) / 3_600_000);
      }
      await c.query(
        `INSERT INTO model_call_stats_state (id, hour_watermark, recorded_watermark, updated_at) VALUES (1, $1, $2, now())
         ON CONFLICT (id) DO UPDATE SET hour_watermark = EXCLUDED.hour_watermark, recorded_watermark = EXCLUDED.recorded_watermark, updated_at = now()`,
        [s.h_new, s.r_new],
      );
      return { hours, rows, hourWatermark: s.h_new.toISOString(), recordedWatermark: s.r_new.toISOString() };
    });
  }

  /**
   * Rebuilds one user's stats for the aggregated hours overlapping [start, end) from the call log
   * (job `model-call-stats.recalculate-user`, POST /user/recalculate-stats). Hours past the
   * watermark are not stored (readers take them from the log), so there is nothing to rebuild there.
   * With `dryRun` it only counts.
   */
  async recalculateUser(userId: string, start: Date, end: Date, dryRun: boolean): Promise<RecalculationResult> {
    return this.inTransaction(async (c) => {
      const { rows: [st] } = await c.query<{ h: Date | null; r: Date | null }>(
        'SELECT hour_watermark AS h, recorded_watermark AS r FROM model_call_stats_state WHERE id = 1',
      ).then((res) => (res.rows.length ? res : { rows: [{ h: null, r: null }] }));
      if (st.h === null || st.r === null) return { deleted: 0, success: 0, failed: 0 };
      const { rows: [range] } = await c.query<{ lo: Date; hi: Date }>(
        `SELECT date_trunc('hour', $1::timestamptz) AS lo,
                least(date_trunc('hour', $2::timestamptz - interval '1 microsecond') + interval '1 hour', $3::timestamptz) AS hi`,
        [start, end, st.h],
      );
      if (range.hi <= range.lo) return { deleted: 0, success: 0, failed: 0 };
      const deleted = (await c.query<{ n: number }>(
        'SELECT count(DISTINCT hour)::int AS n FROM model_call_hourly_stats WHERE user_id = $1 AND hour >= $2 AND hour < $3',
        [userId, range.lo, range.hi],
      )).rows[0].n;
      const success = (await c.query<{ n: number }>(
        `SELECT count(DISTINCT date_trunc('hour', created_at))::int AS n FROM model_calls
         WHERE user_id = $1 AND created_at >= $2 AND created_at < $3 AND recorded_at < $4`,
        [userId, range.lo, range.hi, st.r],
      )).rows[0].n;
      if (!dryRun) {
        await c.query('DELETE FROM model_call_hourly_stats WHERE user_id = $1 AND hour >= $2 AND hour < $3', [userId, range.lo, range.hi]);
        await c.query(
          `${AGGREGATE_INSERT} ${AGGREGATE_SELECT}
           WHERE mc.user_id = $1 AND mc.created_at >= $2 AND mc.created_at < $3 AND mc.recorded_at < $4 ${GROUP_BY}`,
          [userId, range.lo, range.hi, st.r],
        );
      }
      return { deleted, success, failed: 0 };
    });
  }

  /** Runs `fn` in one transaction holding the stats writers' advisory lock. */
  private async inTransaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.prisma.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock($1)', [STATS_LOCK_KEY]);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}
