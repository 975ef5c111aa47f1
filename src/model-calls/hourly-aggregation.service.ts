import { Inject, Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { withPoolTransaction } from '../prisma/pool-transaction';
import { PrismaService } from '../prisma/prisma.service';
import { HourlyStatsRepository } from './hourly-stats.repository';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The UTC midnight (epoch ms) of the day holding `ms`. */
function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** The distinct UTC days holding these instants that are complete below the hour watermark `h` (day end ≤ h). */
function completeDays(instants: readonly number[], h: Date): Date[] {
  const days = new Set(instants.map(dayOf).filter((d) => d + DAY_MS <= h.getTime()));
  return [...days].sort((a, b) => a - b).map((d) => new Date(d));
}

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
 * Every change to the per-user rows is followed in the same transaction by a rebuild of the
 * all-users rollup (model_call_hourly_totals) of the same hours from them, so the rollup obeys
 * the same invariant (it is the per-user rows summed over users). Likewise the daily levels
 * (model_call_daily_stats, model_call_daily_totals) hold, for each complete UTC day (ending at
 * or before H), exactly the sums of that day's hourly rows: every change to hourly rows of a
 * complete day, and every day H moves past, rewrites that day's daily rows in the transaction.
 * This class holds the rules and the transaction; the statements are in HourlyStatsRepository.
 */
@Injectable()
export class HourlyAggregationService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly stats: HourlyStatsRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** One aggregation run (job `model-call-stats.aggregate-hourly`). */
  async aggregate(): Promise<AggregationResult> {
    return this.inTransaction(async (c) => {
      const s = await this.stats.nextRun(this.config.modelCalls.statsSettleMs, c);
      let hours = 0;
      let rows = 0;
      if (s.hOld === null || s.rOld === null) {
        // First run: everything before H_new, one day per statement, so that a large existing
        // log (minutes of work at ten million calls) never needs one statement longer than the
        // pool's query timeout (DATABASE_QUERY_TIMEOUT_MS).
        await this.stats.deleteBefore(s.hNew, c);
        await this.stats.rebuildTotalsBefore(s.hNew, c);
        await this.stats.deleteDailyBefore(s.hNew, c);
        const oldest = await this.stats.oldestHour(s.hNew, c);
        for (let from = oldest; from !== null && from < s.hNew;) {
          // Chunks end at UTC midnights, so each complete day is summed right after its hours.
          const to = new Date(Math.min(dayOf(from.getTime()) + DAY_MS, s.hNew.getTime()));
          rows += await this.stats.aggregateRange(from, to, s.rNew, c);
          await this.stats.rebuildTotalsRange(from, to, c);
          await this.stats.rebuildDays(completeDays([from.getTime()], s.hNew), null, c);
          from = to;
        }
        hours += await this.stats.countHours(c);
      } else {
        // Older hours that received rows recorded since the last run.
        const lateHours = await this.stats.lateHours(s.rOld, s.rNew, s.hOld, c);
        if (lateHours.length) {
          await this.stats.deleteHours(lateHours, c);
          rows += await this.stats.aggregateHours(lateHours, s.rNew, c);
          await this.stats.rebuildTotalsHours(lateHours, c);
        }
        // Hours closed since the last run.
        if (s.hNew > s.hOld) {
          await this.stats.deleteRange(s.hOld, s.hNew, c);
          rows += await this.stats.aggregateRange(s.hOld, s.hNew, s.rNew, c);
          await this.stats.rebuildTotalsRange(s.hOld, s.hNew, c);
        }
        hours = lateHours.length + Math.round((s.hNew.getTime() - s.hOld.getTime()) / 3_600_000);
        // Complete days whose hours changed: the late hours' days and the newly closed hours' days.
        const touched = lateHours.map((h) => h.getTime());
        for (let h = s.hOld.getTime(); h < s.hNew.getTime(); h += HOUR_MS) touched.push(h);
        await this.stats.rebuildDays(completeDays(touched, s.hNew), null, c);
      }
      await this.stats.saveWatermarks(s.hNew, s.rNew, c);
      return { hours, rows, hourWatermark: s.hNew.toISOString(), recordedWatermark: s.rNew.toISOString() };
    });
  }

  /**
   * Rebuilds one user's stats for the aggregated hours overlapping [start, end) from the call log
   * (job `model-call-stats.recalculate-user`, POST /user/recalculate-stats). Hours past the
   * watermark are not stored (readers take them from the log), so there is nothing to rebuild there.
   * The all-users rollup of the whole hour range is then rebuilt from the per-user rows (it reads
   * every user's rows of the range: seconds for a month at ten million calls, a worker job).
   * With `dryRun` it only counts.
   */
  async recalculateUser(userId: string, start: Date, end: Date, dryRun: boolean): Promise<RecalculationResult> {
    return this.inTransaction(async (c) => {
      const st = await this.stats.watermarks(c);
      if (st.h === null || st.r === null) return { deleted: 0, success: 0, failed: 0 };
      const range = await this.stats.hourRange(start, end, st.h, c);
      if (range.hi <= range.lo) return { deleted: 0, success: 0, failed: 0 };
      const deleted = await this.stats.countUserStatHours(userId, range.lo, range.hi, c);
      const success = await this.stats.countUserCallHours(userId, range.lo, range.hi, st.r, c);
      if (!dryRun) {
        await this.stats.deleteUserRange(userId, range.lo, range.hi, c);
        await this.stats.aggregateUserRange(userId, range.lo, range.hi, st.r, c);
        await this.stats.rebuildTotalsRange(range.lo, range.hi, c);
        const days: number[] = [];
        for (let d = dayOf(range.lo.getTime()); d < range.hi.getTime(); d += DAY_MS) days.push(d);
        await this.stats.rebuildDays(completeDays(days, st.h), userId, c);
      }
      return { deleted, success, failed: 0 };
    });
  }

  /** Runs `fn` in one transaction holding the stats writers' advisory lock. */
  private inTransaction<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    return withPoolTransaction(this.prisma.pool, async (c) => {
      await this.stats.lockWriters(c);
      return fn(c);
    });
  }
}
