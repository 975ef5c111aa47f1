import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';
import { buildCallWhere, TYPE_LABELS } from './call-filters';
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
  count: number;
  list: ModelCallItem[];
  paging: { page: number; pageSize: number };
}

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
  did: string;
  full_name: string;
  email: string;
  avatar: string | null;
}

/**
 * GET /user/model-calls (docs/api/model-calls.md): one page of the call log, newest first, with
 * the total count. Two statements on the pool (page and count) run in parallel.
 */
@Injectable()
export class CallListService {
  constructor(private readonly prisma: PrismaService) {}

  /** `userId` null = every user (admin, allUsers=true). */
  async list(userId: string | null, q: ListModelCallsDto): Promise<ModelCallPage> {
    const where = buildCallWhere(q, userId);
    const n = where.params.length;
    const pageSql = `
      SELECT mc.id, mc.request_id, mc.model, mc.type, mc.status, mc.stream, mc.prompt_tokens,
        mc.completion_tokens, mc.total_tokens, mc.usage_source, trim_scale(mc.credits)::text AS credits,
        mc.duration_ms, mc.app_did, mc.provider_id, p.display_name AS provider_name, mc.upstream_status,
        mc.error_code, mc.error_message, mc.created_at, u.did, u.full_name, u.email, u.avatar
      FROM model_calls mc
      JOIN users u ON u.id = mc.user_id
      LEFT JOIN ai_providers p ON p.id = mc.provider_id
      WHERE ${where.sql}
      ORDER BY mc.created_at DESC, mc.id DESC
      LIMIT $${n + 1} OFFSET $${n + 2}`;
    const countSql = `SELECT count(*)::int AS n FROM model_calls mc ${where.usesUsers ? 'JOIN users u ON u.id = mc.user_id' : ''} WHERE ${where.sql}`;
    const [page, count] = await Promise.all([
      this.prisma.pool.query<Row>(pageSql, [...where.params, q.pageSize, (q.page - 1) * q.pageSize]),
      this.prisma.pool.query<{ n: number }>(countSql, where.params),
    ]);
    return { count: count.rows[0].n, list: page.rows.map(toItem), paging: { page: q.page, pageSize: q.pageSize } };
  }
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
    credits: new Decimal(r.credits).toNumber(),
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
