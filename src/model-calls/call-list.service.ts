import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import { buildCallWhere, decodeCallCursor, encodeCallCursor, SqlWhere, TYPE_LABELS } from './call-filters';
import { MAX_UNIX_SECONDS } from './dto/unix-time';
import { hybridSql, snapshotRead, SnapshotStatement, statusesOf, StatsWatermark } from './stats-sources';
import { ListModelCallsDto } from './dto/model-call-filters.dto';

/** `appInfo` of a listed call. No apps registry yet: only `appDid` is known, the rest is null. */
export interface AppInfo {
  appName: string | null;
  appDid: string;
  appLogo: string | null;
  appUrl: string | null;
}

/** `userInfo` of a listed call. */
export interface UserInfo {
  did: string;
  fullName: string;
  email: string;
  avatar: string | null;
}

/** One call of the list (docs/api/model-calls.md). */
export interface ModelCallItem {
  id: string;
  requestId: string;
  userDid: string;
  model: string;
  /** type label: chat | embedding | image */
  type: string;
  status: 'success' | 'failed' | 'aborted' | 'interrupted';
  providerId: string | null;
  providerName: string | null;
  stream: boolean;
  /** prompt tokens */
  inputTokens: number;
  /** completion tokens */
  outputTokens: number;
  /** tokens, input + output */
  totalUsage: number;
  usageSource: string;
  /** credits charged (a number, exact to the stored 10 decimals as far as a double carries) */
  credits: number;
  /** ms */
  duration: number;
  appDid: string | null;
  upstreamStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  appInfo: AppInfo | null;
  userInfo: UserInfo;
}

export interface ModelCallPage {
  /** calls matching the filters over all pages: exact unless `totalIsEstimate` */
  count: number;
  /**
   * false: `count` is exact (from the hourly aggregates plus the call log, counted when at most
   * EXACT_COUNT_CAP rows match, or known from a page-based answer's last page); true: a filter
   * the aggregates cannot answer (search, providerId, appDid) is set, the planner expects more
   * than EXACT_COUNT_CAP matches or more than that many match, and `count` is the planner's estimate.
   */
  totalIsEstimate: boolean;
  list: ModelCallItem[];
  paging: { page: number; pageSize: number };
  /** pass as `cursor` for the rows after this page; null when there are none */
  nextCursor: string | null;
}

/**
 * Up to this many matching rows the list counts exactly even when the aggregates cannot answer;
 * when the planner expects more than this many, it does not count at all (see estimatedCount()).
 */
export const EXACT_COUNT_CAP = 1000;

interface Row {
  id: string;
  request_id: string;
  model: string;
  type: string;
  status: ModelCallItem['status'];
  stream: boolean;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  usage_source: string;
  credits: string;
  duration_ms: number;
  app_did: string | null;
  provider_id: string | null;
  provider_name: string | null;
  upstream_status: number | null;
  error_code: string | null;
  error_message: string | null;
  created_at: Date;
  cursor_ts: string;
  did: string;
  full_name: string;
  email: string;
  avatar: string | null;
}

/**
 * GET /user/model-calls (docs/api/model-calls.md): one page of the call log, newest first
 * ((created_at, id) descending), with the total count. Paging by `page` (OFFSET: cost grows with
 * the depth) or by `cursor` (keyset: `(created_at, id) <` the cursor, served by the
 * (user_id, created_at) and (created_at) indexes at any depth). When the count comes from the
 * aggregates, the page and the count are one round trip in one snapshot (snapshotRead); otherwise
 * they run in parallel on two pool connections.
 *
 * The count: with no filter but time, status and model, exact from the hourly aggregates plus
 * the call log (stats-sources.ts: one user's aggregates or the all-users rollups, a few rows
 * per day or hour, however many calls). Otherwise, when the planner expects more than
 * EXACT_COUNT_CAP matches its estimate is the count; else the matching rows are counted up
 * to EXACT_COUNT_CAP + 1, and past the cap the count is the planner's estimate (at least
 * EXACT_COUNT_CAP + 1). Counting only pays when few rows are expected: no index serves these
 * filters, so counting to the cap reads about EXACT_COUNT_CAP / selectivity of the scope's rows
 * (measured at 10M calls: appDid over a user with 30k-100k calls took 0.2-0.8 s when the
 * planner expected 1,000-10,000 matches and they were counted). A page-based answer whose page
 * is the last one (no row after it) has the exact count whatever the filters: the rows before
 * the page plus its own. `totalIsEstimate` says which.
 */
@Injectable()
export class CallListService {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * `userId` null = every user (admin, allUsers=true).
   * @throws DomainError 400 `invalid_cursor` when `q.cursor` is not a nextCursor of this endpoint
   */
  async list(userId: string | null, q: ListModelCallsDto): Promise<ModelCallPage> {
    const cursor = q.cursor !== undefined ? decodeCallCursor(q.cursor) : null;
    const where = buildCallWhere(q, userId);
    const params = [...where.params];
    let after = '';
    if (cursor) {
      params.push(cursor.ts, cursor.id);
      after = ` AND (mc.created_at, mc.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(q.pageSize + 1, cursor ? 0 : (q.page - 1) * q.pageSize);
    const pageSql = `
      SELECT mc.id, mc.request_id, mc.model, mc.type, mc.status, mc.stream, mc.prompt_tokens,
        mc.completion_tokens, mc.total_tokens, mc.usage_source, trim_scale(mc.credits)::text AS credits,
        mc.duration_ms, mc.app_did, mc.provider_id, p.display_name AS provider_name, mc.upstream_status,
        mc.error_code, mc.error_message, mc.created_at, mc.created_at::text AS cursor_ts, u.did, u.full_name, u.email, u.avatar
      FROM model_calls mc
      JOIN users u ON u.id = mc.user_id
      LEFT JOIN ai_providers p ON p.id = mc.provider_id
      WHERE ${where.sql}${after}
      ORDER BY mc.created_at DESC, mc.id DESC
      LIMIT $${params.length - 1} OFFSET $${params.length}`;
    let pageRows: Row[];
    let total: { n: number; estimate: boolean };
    if (countsFromAggregates(q)) {
      // One round trip: the count and the page in one snapshot (snapshotRead).
      const [counted, page] = await snapshotRead(this.prisma.pool, (wm) => [
        this.aggregateCountSql(userId, q, wm),
        { sql: pageSql, params },
      ]);
      pageRows = page as unknown as Row[];
      total = { n: Number((counted[0] as { n: string }).n), estimate: false };
    } else {
      const [page, counted] = await Promise.all([this.prisma.pool.query<Row>(pageSql, params), this.estimatedCount(where)]);
      pageRows = page.rows;
      total = counted;
      // The last page of a page-based answer knows the total (a page past the end does not).
      const lastPage = !cursor && pageRows.length <= q.pageSize && (pageRows.length > 0 || q.page === 1);
      if (lastPage) total = { n: (q.page - 1) * q.pageSize + pageRows.length, estimate: false };
    }
    const rows = pageRows.slice(0, q.pageSize);
    const last = rows[rows.length - 1];
    return {
      count: total.n,
      totalIsEstimate: total.estimate,
      list: rows.map(toItem),
      paging: { page: q.page, pageSize: q.pageSize },
      nextCursor: pageRows.length > q.pageSize ? encodeCallCursor({ ts: last.cursor_ts, id: last.id }) : null,
    };
  }

  /**
   * The total when a filter the aggregates cannot answer is set (search, providerId, appDid):
   * the planner's estimate, or the rows counted up to EXACT_COUNT_CAP + 1 (see the class comment).
   */
  private async estimatedCount(where: SqlWhere): Promise<{ n: number; estimate: boolean }> {
    const from = `FROM model_calls mc ${where.usesUsers ? 'JOIN users u ON u.id = mc.user_id' : ''} WHERE ${where.sql}`;
    // The planner's estimate first (no rows read): above the cap, counting would read about
    // EXACT_COUNT_CAP / selectivity rows to confirm what is then shown as an estimate anyway.
    const plan = await this.prisma.pool.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 ${from}`,
      where.params,
    );
    const estimated = Math.round(plan.rows[0]['QUERY PLAN'][0].Plan['Plan Rows']);
    if (estimated > EXACT_COUNT_CAP) return { n: estimated, estimate: true };
    const capped = await this.prisma.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 ${from} LIMIT ${EXACT_COUNT_CAP + 1}) m`,
      where.params,
    );
    const n = capped.rows[0].n;
    if (n <= EXACT_COUNT_CAP) return { n, estimate: false };
    return { n: Math.max(EXACT_COUNT_CAP + 1, estimated), estimate: true };
  }

  /** Exact count of the calls matching time, status and model, from the aggregates and the log (a statement for snapshotRead). */
  private aggregateCountSql(userId: string | null, q: ListModelCallsDto, wm: StatsWatermark | null): SnapshotStatement {
    const start = (q.startTime ?? 0) * 1000;
    const end = (q.endTime ?? MAX_UNIX_SECONDS + 1) * 1000;
    const h = hybridSql({ userId, statuses: statusesOf(q.status), model: q.model }, start, end, wm, {
      agg: 'sum(s.calls)::bigint',
      raw: 'count(*)::bigint',
    });
    return { sql: `SELECT coalesce(sum(n), 0)::text AS n FROM (${h.sql}) AS parts (n)`, params: h.params };
  }
}

/** Whether the list's total comes from the aggregates: no filter but time, status and model. */
function countsFromAggregates(q: ListModelCallsDto): boolean {
  return !q.search?.trim() && q.providerId === undefined && q.appDid === undefined;
}

function toItem(r: Row): ModelCallItem {
  return {
    id: r.id,
    requestId: r.request_id,
    userDid: r.did,
    model: r.model,
    type: TYPE_LABELS[r.type] ?? r.type,
    status: r.status,
    providerId: r.provider_id,
    providerName: r.provider_name,
    stream: r.stream,
    inputTokens: r.prompt_tokens,
    outputTokens: r.completion_tokens,
    totalUsage: r.total_tokens,
    usageSource: r.usage_source,
    credits: Number(r.credits),
    duration: r.duration_ms,
    appDid: r.app_did,
    upstreamStatus: r.upstream_status,
    errorCode: r.error_code,
    errorMessage: r.error_message,
    createdAt: r.created_at.toISOString(),
    appInfo: r.app_did === null ? null : { appName: null, appDid: r.app_did, appLogo: null, appUrl: null },
    userInfo: { did: r.did, fullName: r.full_name, email: r.email, avatar: r.avatar },
  };
}
