import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';
import { TYPE_LABELS } from './call-filters';
import { beginSnapshot, hybridSql, readWatermark, StatsWatermark } from './stats-sources';

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
 * (edge hours, the current hour, calls recorded late) from the call log (stats-sources.ts). All
 * of it is read in one REPEATABLE READ snapshot so the watermark and the aggregates agree.
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
      await beginSnapshot(c);
      const wm = await readWatermark(c);
      const current = await groups(c, userId, start, end, wm);
      const previous = await totals(c, userId, start - (end - start), start, wm);
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

async function groups(c: PoolClient, userId: string | null, start: number, end: number, wm: StatsWatermark | null): Promise<Group[]> {
  const q = hybridSql({ userId }, start, end, wm, GROUP_SELECT);
  const { rows } = await c.query<Group>(
    `WITH r (day, model, type, calls, credits, tokens) AS (${q.sql})
SELECT to_char(day, 'YYYY-MM-DD') AS day, model, type::text AS type, sum(calls)::text AS calls, sum(credits)::text AS credits,
  sum(tokens)::text AS tokens
FROM r GROUP BY day, model, type`,
    q.params,
  );
  return rows;
}

async function totals(
  c: PoolClient,
  userId: string | null,
  start: number,
  end: number,
  wm: StatsWatermark | null,
): Promise<{ calls: number; credits: Decimal }> {
  const q = hybridSql({ userId }, start, end, wm, TOTAL_SELECT);
  const { rows } = await c.query<{ calls: string; credits: string }>(
    `WITH r (calls, credits) AS (${q.sql})
SELECT coalesce(sum(calls), 0)::text AS calls, coalesce(sum(credits), 0)::text AS credits FROM r`,
    q.params,
  );
  return { calls: Number(rows[0].calls), credits: new Decimal(rows[0].credits) };
}

function shape(current: Group[], previous: { calls: number; credits: Decimal }): UsageStats {
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
  const prevCalls = previous.calls;
  const prevCredits = previous.credits;
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
