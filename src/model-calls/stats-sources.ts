import type { PoolClient } from 'pg';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The hourly aggregation's state (model_call_stats_state): see HourlyAggregationService. */
export interface StatsWatermark {
  /** hour watermark H, epoch ms: the aggregates hold no call created at or after it */
  hour: number;
  /** recorded watermark R: the aggregates hold no call recorded at or after it */
  recorded: Date;
}

/** Which calls: one user's (or every user's, null), optionally some statuses and one model. */
export interface CallScope {
  userId: string | null;
  /** ModelCallStatus values; undefined = every status */
  statuses?: readonly string[];
  model?: string;
}

/**
 * What each part of a hybrid read selects. `agg` over an aggregate table (alias `s`: columns
 * hour, model, type, status, calls, prompt_tokens, completion_tokens, total_tokens, credits,
 * duration_ms; over the daily tables `s.hour` is read as their `s.day`, the UTC midnight),
 * `raw` over model_calls (alias `mc`); both must yield the same columns. An aggregate function
 * (sum, count) without GROUP BY is allowed in both.
 */
export interface HybridSelect {
  agg: string;
  raw: string;
}

/**
 * Opens the REPEATABLE READ, read-only transaction of a hybrid read on `c`, with parallel query
 * and JIT off for it: the statements read a few thousand rows at most, where starting parallel
 * workers or compiling costs more than it saves (tens of ms on a busy machine).
 */
export async function beginSnapshot(c: Pick<PoolClient, 'query'>): Promise<void> {
  await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off');
}

/**
 * Reads the watermarks, or null before the first aggregation run. Call it inside the
 * REPEATABLE READ transaction of the statements that use it, so the aggregates and the
 * watermarks come from one snapshot.
 */
export async function readWatermark(c: Pick<PoolClient, 'query'>): Promise<StatsWatermark | null> {
  const { rows } = await c.query<{ h: Date | null; r: Date | null }>(
    'SELECT hour_watermark AS h, recorded_watermark AS r FROM model_call_stats_state WHERE id = 1',
  );
  return rows[0]?.h && rows[0]?.r ? { hour: rows[0].h.getTime(), recorded: rows[0].r } : null;
}

/**
 * One SQL statement (UNION ALL of up to four parts) reading exactly the calls of `scope` created
 * in [start, end) (epoch ms), each call once: the whole aggregated hours [a, z) from the
 * aggregates — the whole UTC days inside them from the daily level (model_call_daily_stats for
 * one user, model_call_daily_totals for every user), the hours around those days from the
 * hourly level (model_call_hourly_stats, model_call_hourly_totals) — and from model_calls the partial hours at the edges [start, a) and [z, end), the hours past
 * the watermark (z ≤ H), and the calls of [a, z) recorded late (recorded_at ≥ R), which the
 * aggregates do not hold (HourlyAggregationService's invariant). Parts that are empty are left
 * out. Parameters are numbered from $1.
 */
export function hybridSql(scope: CallScope, start: number, end: number, wm: StatsWatermark | null, select: HybridSelect) {
  let a = Math.ceil(start / HOUR_MS) * HOUR_MS;
  let z = Math.min(Math.floor(end / HOUR_MS) * HOUR_MS, wm?.hour ?? -Infinity);
  if (!wm || z <= a) a = z = end; // no whole aggregated hour: everything from the log
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const aggConds: string[] = [];
  const rawConds: string[] = [];
  if (scope.userId !== null) {
    const u = p(scope.userId);
    aggConds.push(`s.user_id = ${u}::uuid`);
    rawConds.push(`mc.user_id = ${u}::uuid`);
  }
  if (scope.statuses) {
    const st = p(scope.statuses);
    aggConds.push(`s.status = ANY(${st}::"ModelCallStatus"[])`);
    rawConds.push(`mc.status = ANY(${st}::"ModelCallStatus"[])`);
  }
  if (scope.model !== undefined) {
    const m = p(scope.model);
    aggConds.push(`s.model = ${m}`);
    rawConds.push(`mc.model = ${m}`);
  }
  const and = (conds: string[]) => conds.map((c) => ` AND ${c}`).join('');
  const hourly = scope.userId !== null ? 'model_call_hourly_stats' : 'model_call_hourly_totals';
  const daily = scope.userId !== null ? 'model_call_daily_stats' : 'model_call_daily_totals';
  const parts: string[] = [];
  const raw = (from: number, to: number, extra = '') =>
    `SELECT ${select.raw} FROM model_calls mc WHERE mc.created_at >= ${p(new Date(from))} AND mc.created_at < ${p(new Date(to))}${extra}${and(rawConds)}`;
  const agg = (table: string, col: string, from: number, to: number) =>
    `SELECT ${select.agg.replace(/\bs\.hour\b/g, `s.${col}`)} FROM ${table} s WHERE s.${col} >= ${p(new Date(from))} AND s.${col} < ${p(new Date(to))}${and(aggConds)}`;
  if (z > a) {
    // Whole UTC days [A, Z) inside [a, z) from the daily level (complete: they end by z ≤ H).
    const A = Math.ceil(a / DAY_MS) * DAY_MS;
    const Z = Math.floor(z / DAY_MS) * DAY_MS;
    if (Z > A) {
      if (A > a) parts.push(agg(hourly, 'hour', a, A));
      parts.push(agg(daily, 'day', A, Z));
      if (z > Z) parts.push(agg(hourly, 'hour', Z, z));
    } else {
      parts.push(agg(hourly, 'hour', a, z));
    }
    parts.push(raw(a, z, ` AND mc.recorded_at >= ${p((wm as StatsWatermark).recorded)}`));
  }
  if (a > start) parts.push(raw(start, a));
  if (end > z) parts.push(raw(z, end));
  if (parts.length === 0) parts.push(`${raw(start, start)}`); // an empty range still yields the columns
  return { sql: parts.join('\nUNION ALL\n'), params };
}

/** ModelCallStatus values of a list/export `status` filter; undefined = every status. */
export function statusesOf(filter: string | undefined): readonly string[] | undefined {
  switch (filter ?? 'all') {
    case 'success':
      return ['success'];
    case 'failed':
      return ['failed', 'aborted', 'interrupted'];
    case 'aborted':
      return ['aborted'];
    default:
      return undefined;
  }
}
