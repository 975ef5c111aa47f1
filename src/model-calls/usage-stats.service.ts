import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';
import { TYPE_LABELS } from './call-filters';
import { hybridSql, snapshotRead, SnapshotStatement, StatsWatermark } from './stats-sources';

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

/**
 * One row of the grouped read: a grouping set of the period's calls, `g` saying which
 * (GROUPING(day, model, type): 3 = per day, 5 = per model, 6 = per type, 7 = the whole period).
 * Sums as PostgreSQL prints them (exact decimals).
 */
interface GroupRow {
  g: number;
  day: string | null;
  model: string | null;
  type: string | null;
  calls: string;
  credits: string | null;
  tokens: string | null;
}

const PER_DAY = 3;
const PER_MODEL = 5;
const PER_TYPE = 6;

/** Per (UTC day, model, type) of the period. */
const GROUP_SELECT = {
  agg: `(s.hour AT TIME ZONE 'UTC')::date AS day, s.model, s.type, s.calls::bigint AS calls, s.credits, s.total_tokens::bigint AS tokens`,
  raw: `(mc.created_at AT TIME ZONE 'UTC')::date, mc.model, mc.type, 1::bigint, mc.credits, mc.total_tokens::bigint`,
};
/** Totals only (the previous period of the trend comparison). */
const TOTAL_SELECT = {
  agg: 'sum(s.calls)::bigint AS calls, sum(s.credits) AS credits',
  raw: 'count(*)::bigint, sum(mc.credits)',
};

/**
 * GET /user/usage-stats and /user/admin/user-stats (docs/api/model-calls.md), exact at any
 * volume and fresh to the last recorded call: whole aggregated hours come from the hourly
 * aggregates (one user's: model_call_hourly_stats; every user's: model_call_hourly_totals, so
 * the all-users figures read tens of rows per hour rather than one per active user), the rest
 * (edge hours, the current hour, calls recorded late) from the call log (stats-sources.ts). Both
 * periods are read in one round trip and one snapshot with the watermarks (snapshotRead), and
 * PostgreSQL does the sums (grouping sets per day, per model, per type and over the period, as
 * exact decimals), so the api only converts a few hundred figures.
 */
@Injectable()
export class UsageStatsService {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * `userId` null = all users. Range [start, end) in Unix seconds, end > start; the previous
   * period is [start − (end − start), start).
   * @throws the driver's error (500)
   */
  async stats(userId: string | null, startSec: number, endSec: number): Promise<UsageStats> {
    const start = startSec * 1000;
    const end = endSec * 1000;
    const [current, previous] = await snapshotRead(this.prisma.pool, (wm) => [
      groupsSql(userId, start, end, wm),
      totalsSql(userId, start - (end - start), start, wm),
    ]);
    const prev = previous[0] as { calls: string; credits: string };
    return shape(current as unknown as GroupRow[], { calls: Number(prev.calls), credits: new Decimal(prev.credits) });
  }
}

function groupsSql(userId: string | null, start: number, end: number, wm: StatsWatermark | null): SnapshotStatement {
  const q = hybridSql({ userId }, start, end, wm, GROUP_SELECT);
  return {
    sql: `WITH r (day, model, type, calls, credits, tokens) AS (${q.sql})
SELECT GROUPING(day, model, type) AS g, to_char(day, 'YYYY-MM-DD') AS day, model, type::text AS type, coalesce(sum(calls), 0)::text AS calls,
  sum(credits)::text AS credits, sum(tokens)::text AS tokens
FROM r GROUP BY GROUPING SETS ((day), (model), (type), ())`,
    params: q.params,
  };
}

function totalsSql(userId: string | null, start: number, end: number, wm: StatsWatermark | null): SnapshotStatement {
  const q = hybridSql({ userId }, start, end, wm, TOTAL_SELECT);
  return {
    sql: `WITH r (calls, credits) AS (${q.sql})
SELECT coalesce(sum(calls), 0)::text AS calls, coalesce(sum(credits), 0)::text AS credits FROM r`,
    params: q.params,
  };
}

/** The response from the grouping sets of the period and the previous period's totals. */
function shape(rows: GroupRow[], previous: { calls: number; credits: Decimal }): UsageStats {
  const byType: Record<string, number> = {};
  const dailyStats: UsageStats['dailyStats'] = [];
  const models: { model: string; calls: number; credits: string }[] = [];
  let totalCalls = 0;
  let totalCredits = new Decimal(0);
  let totalUsage = 0;
  for (const r of rows) {
    const calls = Number(r.calls);
    if (r.g === PER_DAY) dailyStats.push({ date: r.day as string, credits: Number(r.credits), calls });
    else if (r.g === PER_MODEL) models.push({ model: r.model as string, calls, credits: r.credits as string });
    else if (r.g === PER_TYPE) {
      const label = TYPE_LABELS[r.type as string] ?? (r.type as string);
      byType[label] = (byType[label] ?? 0) + calls;
    } else {
      totalCalls = calls;
      totalCredits = new Decimal(r.credits ?? 0);
      totalUsage = Number(r.tokens ?? 0);
    }
  }
  dailyStats.sort((x, y) => x.date.localeCompare(y.date));
  const modelCredits = new Map(models.map((m) => [m.model, new Decimal(m.credits)]));
  const credit = (model: string) => modelCredits.get(model) as Decimal;
  const modelStats = models
    .sort((x, y) => credit(y.model).cmp(credit(x.model)) || y.calls - x.calls || x.model.localeCompare(y.model))
    .map((m) => ({ model: m.model, totalCalls: m.calls, totalCredits: Number(m.credits) }));
  const prevCalls = previous.calls;
  const prevCredits = previous.credits;
  return {
    summary: { byType, totalCalls, totalCredits: totalCredits.toNumber(), modelCount: models.length, totalUsage },
    dailyStats,
    modelStats,
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
