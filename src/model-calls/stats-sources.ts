import { type Pool, type QueryResult } from 'pg';
import { inlineParams } from '../database/sql-literals';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The hourly aggregation's state (model_call_stats_state): see HourlyAggregationService. */
export interface StatsWatermark {
  /** hour watermark H, epoch ms: the aggregates hold no call created at or after it */
  hour: number;
  /**
   * recorded watermark R: the aggregates hold no call recorded at or after it. As PostgreSQL
   * prints a timestamptz (microseconds kept: a JavaScript Date would cut them, and a call
   * recorded in the cut-off part of the millisecond before R would be read twice).
   */
  recorded: string;
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

/** Opens the snapshot of a hybrid read (see snapshotRead). */
const BEGIN_SNAPSHOT =
  'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off';
/** The watermarks, or no row before the first aggregation run. */
const WATERMARK_SQL =
  'SELECT extract(epoch FROM hour_watermark) * 1000 AS h, recorded_watermark::text AS r FROM model_call_stats_state WHERE id = 1';
/** Results of BEGIN_SNAPSHOT in a multi-statement answer (BEGIN and two SETs), then the watermarks. */
const WATERMARK_RESULT = 3;

type WatermarkRow = { h: string | null; r: string | null };

function toWatermark(row: WatermarkRow | undefined): StatsWatermark | null {
  return row?.h != null && row.r != null ? { hour: Number(row.h), recorded: row.r } : null;
}

function sameWatermark(x: StatsWatermark | null, y: StatsWatermark | null): boolean {
  return x === null || y === null ? x === y : x.hour === y.hour && x.recorded === y.recorded;
}

/** A statement of a hybrid read: SQL with `$n` placeholders and their values (inlined by snapshotRead). */
export interface SnapshotStatement {
  sql: string;
  params: unknown[];
}

/**
 * The watermarks last seen through each pool (none: not read yet; null: no aggregation run yet).
 * Hybrid reads build their statements with them; snapshotRead checks them in the statements' own
 * snapshot.
 */
const lastWatermarks = new WeakMap<Pool, StatsWatermark | null>();

/** Attempts of snapshotRead with watermarks that moved in between, before it gives up. */
const SNAPSHOT_ATTEMPTS = 3;

/**
 * Runs the statements of a hybrid read in one round trip: one simple-protocol message
 * `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL max_parallel_workers_per_gather = 0;
 * SET LOCAL jit = off; <read the watermarks>; <statements>; COMMIT`. So the watermarks and every
 * statement come from one snapshot, with parallel query and JIT off (the statements read a few
 * thousand rows at most, where starting parallel workers or compiling costs more than it saves:
 * tens of ms on a busy machine). `build` makes the statements from the watermarks this process
 * saw last (read first, in a round trip of their own, when there are none yet); when the
 * snapshot holds other ones (the aggregation job ran since, every 5 minutes at most) the answer
 * is dropped and the read made again with those. The figures are therefore exactly those of a
 * transaction that read the watermarks first and then the statements (as HourlyAggregationService's
 * invariant needs), without the round trips. Values are inlined as literals (inlineParams): the
 * simple protocol takes no bind parameters.
 * @returns the rows of each statement, in order
 * @throws the driver's error; Error when the watermarks moved at each of SNAPSHOT_ATTEMPTS attempts
 */
export async function snapshotRead(
  pool: Pool,
  build: (wm: StatsWatermark | null) => SnapshotStatement[],
): Promise<Record<string, unknown>[][]> {
  let wm = lastWatermarks.get(pool);
  if (wm === undefined) {
    wm = toWatermark((await pool.query<WatermarkRow>(WATERMARK_SQL)).rows[0]);
    lastWatermarks.set(pool, wm);
  }
  for (let attempt = 1; ; attempt++) {
    const statements = build(wm);
    const text = [BEGIN_SNAPSHOT, WATERMARK_SQL, ...statements.map((s) => inlineParams(s.sql, s.params)), 'COMMIT'].join(';\n');
    const results = await runInSnapshot(pool, text);
    const seen = toWatermark(results[WATERMARK_RESULT].rows[0] as WatermarkRow | undefined);
    if (sameWatermark(seen, wm)) return statements.map((_, i) => results[WATERMARK_RESULT + 1 + i].rows);
    wm = seen;
    lastWatermarks.set(pool, wm);
    if (attempt >= SNAPSHOT_ATTEMPTS) throw new Error('stats watermarks kept moving during the read');
  }
}

/** Sends a multi-statement message that opens a transaction; rolls it back if a statement fails. */
async function runInSnapshot(pool: Pool, text: string): Promise<QueryResult[]> {
  const c = await pool.connect();
  try {
    return (await c.query(text)) as unknown as QueryResult[];
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
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
