import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';
import { TYPE_LABELS } from './call-filters';

/** The usage-stats response. Credits are numbers, summed exactly as decimals first. */
export interface UsageStats {
  summary: {
    /** calls per type label (chat, embedding, image) */
    byType: Record<string, number>;
    totalCalls: number;
    /** credits */
    totalCredits: number;
    /** distinct models called */
    modelCount: number;
    /** tokens (input + output) */
    totalUsage: number;
  };
  /** per UTC day with calls, ascending */
  dailyStats: { date: string; credits: number; calls: number }[];
  /** per model, most credits first */
  modelStats: { model: string; totalCalls: number; totalCredits: number }[];
  /** against the previous period of the same length; change in percent, 2 decimals, as a string */
  trendComparison: {
    totalCredits: { current: number; previous: number; change: string };
    totalCalls: { current: number; previous: number; change: string };
  };
}

interface Group {
  day: string;
  model: string;
  type: string;
  calls: string;
  credits: string;
  tokens: string;
}

const HOUR_MS = 3_600_000;

/**
 * Rows of one time range grouped by (UTC day, model, type): the whole hours that the worker has
 * aggregated come from model_call_hourly_stats, everything else from model_calls — the partial
 * hours at the range's edges, the hours past the watermark, and calls recorded after their hour
 * was aggregated (recorded_at ≥ the recorded watermark). See HourlyAggregationService for the
 * invariant that makes the two parts disjoint and complete. $1 user id or null (all users).
 */
const GROUPS_SQL = `
WITH rows AS (
  SELECT to_char(s.hour AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, s.model, s.type, s.calls::bigint AS calls, s.credits, s.total_tokens AS tokens
  FROM model_call_hourly_stats s
  WHERE s.hour >= $2 AND s.hour < $3 AND ($1::uuid IS NULL OR s.user_id = $1::uuid)
  UNION ALL
  SELECT to_char(mc.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), mc.model, mc.type, 1, mc.credits, mc.total_tokens::bigint
  FROM model_calls mc
  WHERE mc.created_at >= $4 AND mc.created_at < $5 AND ($1::uuid IS NULL OR mc.user_id = $1::uuid)
  UNION ALL
  SELECT to_char(mc.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), mc.model, mc.type, 1, mc.credits, mc.total_tokens::bigint
  FROM model_calls mc
  WHERE mc.created_at >= $6 AND mc.created_at < $7 AND ($1::uuid IS NULL OR mc.user_id = $1::uuid)
  UNION ALL
  SELECT to_char(mc.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), mc.model, mc.type, 1, mc.credits, mc.total_tokens::bigint
  FROM model_calls mc
  WHERE mc.recorded_at >= $8 AND mc.created_at >= $2 AND mc.created_at < $3 AND ($1::uuid IS NULL OR mc.user_id = $1::uuid)
)
SELECT day, model, type::text AS type, sum(calls)::text AS calls, sum(credits)::text AS credits, sum(tokens)::text AS tokens
FROM rows GROUP BY day, model, type`;

/**
 * GET /user/usage-stats and /user/admin/user-stats (docs/api/model-calls.md), exact at any
 * volume: read in one REPEATABLE READ snapshot so the watermark and the aggregates agree.
 */
@Injectable()
export class UsageStatsService {
  constructor(private readonly prisma: PrismaService) {}

  /** `userId` null = all users. Range [start, end) in Unix seconds, end > start. */
  async stats(userId: string | null, startSec: number, endSec: number): Promise<UsageStats> {
    const start = startSec * 1000;
    const end = endSec * 1000;
    const c = await this.prisma.pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const wm = await c.query<{ h: Date | null; r: Date | null }>(
        'SELECT hour_watermark AS h, recorded_watermark AS r FROM model_call_stats_state WHERE id = 1',
      );
      const watermark = wm.rows[0]?.h && wm.rows[0]?.r ? { hour: wm.rows[0].h.getTime(), recorded: wm.rows[0].r } : null;
      const current = await groups(c, userId, start, end, watermark);
      const previous = await groups(c, userId, start - (end - start), start, watermark);
      await c.query('COMMIT');
      return shape(current, previous);
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }
}

async function groups(
  c: PoolClient,
  userId: string | null,
  start: number,
  end: number,
  wm: { hour: number; recorded: Date } | null,
): Promise<Group[]> {
  // Whole aggregated hours [a, z); raw head [start, a) and tail [z, end).
  let a = Math.ceil(start / HOUR_MS) * HOUR_MS;
  let z = Math.min(Math.floor(end / HOUR_MS) * HOUR_MS, wm?.hour ?? -Infinity);
  if (!wm || z <= a) a = z = end; // nothing aggregated: all raw
  const t = (ms: number) => new Date(ms);
  const { rows } = await c.query<Group>(GROUPS_SQL, [userId, t(a), t(z), t(start), t(a), t(z), t(end), wm?.recorded ?? t(end)]);
  return rows;
}

function shape(current: Group[], previous: Group[]): UsageStats {
  const byType: Record<string, number> = {};
  const daily = new Map<string, { credits: Decimal; calls: number }>();
  const models = new Map<string, { calls: number; credits: Decimal }>();
  let totalCalls = 0;
  let totalCredits = new Decimal(0);
  let totalUsage = 0;
  for (const g of current) {
    const calls = Number(g.calls);
    const credits = new Decimal(g.credits);
    const label = TYPE_LABELS[g.type] ?? g.type;
    byType[label] = (byType[label] ?? 0) + calls;
    totalCalls += calls;
    totalCredits = totalCredits.plus(credits);
    totalUsage += Number(g.tokens);
    const d = daily.get(g.day) ?? { credits: new Decimal(0), calls: 0 };
    daily.set(g.day, { credits: d.credits.plus(credits), calls: d.calls + calls });
    const m = models.get(g.model) ?? { calls: 0, credits: new Decimal(0) };
    models.set(g.model, { calls: m.calls + calls, credits: m.credits.plus(credits) });
  }
  let prevCalls = 0;
  let prevCredits = new Decimal(0);
  for (const g of previous) {
    prevCalls += Number(g.calls);
    prevCredits = prevCredits.plus(new Decimal(g.credits));
  }
  return {
    summary: { byType, totalCalls, totalCredits: totalCredits.toNumber(), modelCount: models.size, totalUsage },
    dailyStats: [...daily.entries()]
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([date, d]) => ({ date, credits: d.credits.toNumber(), calls: d.calls })),
    modelStats: [...models.entries()]
      .map(([model, m]) => ({ model, totalCalls: m.calls, totalCredits: m.credits }))
      .sort((x, y) => y.totalCredits.cmp(x.totalCredits) || y.totalCalls - x.totalCalls || x.model.localeCompare(y.model))
      .map((m) => ({ ...m, totalCredits: m.totalCredits.toNumber() })),
    trendComparison: {
      totalCredits: { current: totalCredits.toNumber(), previous: prevCredits.toNumber(), change: change(totalCredits, prevCredits) },
      totalCalls: { current: totalCalls, previous: prevCalls, change: change(new Decimal(totalCalls), new Decimal(prevCalls)) },
    },
  };
}

/**
 * Percent change, 2 decimals, as a string ("12.23"). From a previous value of 0 the change
 * is "100.00" if there is any current value, else "0.00".
 */
export function change(current: Decimal, previous: Decimal): string {
  if (previous.isZero()) return current.isZero() ? '0.00' : '100.00';
  return current.minus(previous).div(previous).times(100).toFixed(2, Decimal.ROUND_HALF_UP);
}
