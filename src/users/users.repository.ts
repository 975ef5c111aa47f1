import { Injectable } from '@nestjs/common';
import { escapeLike } from '../common/like-pattern';
import type { QueryConfig } from 'pg';
import type { Prisma } from '../generated/prisma/client';
import { UserRole, UserStatus } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';

/** Columns a user list can be sorted by (the `sort` query parameter of GET /admin/users); text sorts ignore case. */
export const USER_SORT_COLUMNS = {
  email: 'u.email',
  username: 'lower(u.username)',
  fullName: 'lower(u.full_name)',
  role: 'u.role',
  status: 'u.status',
  team: 'lower(t.name)',
  createdAt: 'u.created_at',
  lastLoginAt: 'u.last_login_at',
  balance: 'coalesce(ca.balance, 0)',
  creditsUsedThisMonth: 'sp.used',
  lastCallAt: 'sp.last_call_at',
} as const;
export type UserSortColumn = keyof typeof USER_SORT_COLUMNS;

/** Sort keys computed from the call log: sorting by them computes the spend of every matching user. */
const SPEND_SORTS: readonly UserSortColumn[] = ['creditsUsedThisMonth', 'lastCallAt'];

/** What selects users in a list (every field optional; `ids` is used by single-user reads). */
export interface UserFilter {
  ids?: readonly string[];
  /** case-insensitive substring of id, did, email, username, full name or team name */
  search?: string;
  role?: UserRole;
  roles?: readonly UserRole[];
  status?: UserStatus;
  teamId?: string;
}

export interface UserListQuery extends UserFilter {
  page: number;
  pageSize: number;
  sort: UserSortColumn;
  order: 'asc' | 'desc';
  /** start of the spend window ("this month"): the first instant of the current UTC month */
  monthStart: Date;
}

/** One row of a user list, as read (credits as exact decimal strings). */
export interface UserRow {
  id: string;
  did: string;
  email: string;
  username: string | null;
  full_name: string;
  role: UserRole;
  status: UserStatus;
  team_id: string | null;
  team_name: string | null;
  allowed_models: string[];
  allowed_services: string[];
  metadata: Record<string, unknown>;
  must_change_password: boolean;
  created_at: Date;
  last_login_at: Date | null;
  balance: string;
  used: string;
  last_call_at: Date | null;
}

/** `text` with `%`, `_` and `\` escaped for a LIKE pattern (PostgreSQL's default escape character is `\`). */

/** A LIKE pattern matching `text` literally anywhere in a value. */
export function likePattern(text: string): string {
  return `%${escapeLike(text)}%`;
}

/** WHERE clause and its values for a filter (parameters numbered from `first`). */
function whereOf(f: UserFilter, first = 1): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  const p = (v: unknown) => {
    values.push(v);
    return `$${first + values.length - 1}`;
  };
  if (f.ids) parts.push(`u.id = ANY(${p(f.ids)}::uuid[])`);
  if (f.search) {
    const s = p(likePattern(f.search));
    parts.push(
      `(u.id::text ILIKE ${s} OR u.did ILIKE ${s} OR u.email ILIKE ${s} OR u.username ILIKE ${s} OR u.full_name ILIKE ${s} OR t.name ILIKE ${s})`,
    );
  }
  if (f.role) parts.push(`u.role = ${p(f.role)}::"UserRole"`);
  if (f.roles) parts.push(`u.role = ANY(${p(f.roles)}::"UserRole"[])`);
  if (f.status) parts.push(`u.status = ${p(f.status)}::"UserStatus"`);
  if (f.teamId) parts.push(`u.team_id = ${p(f.teamId)}::uuid`);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', values };
}

const FROM = `FROM users u LEFT JOIN teams t ON t.id = u.team_id LEFT JOIN credit_accounts ca ON ca.user_id = u.id`;

/**
 * The spend of user `alias` (a LATERAL subquery, `sp.used` and `sp.last_call_at`): credits of
 * calls created since `$month`, from the hourly stats for what they hold and from the call log
 * for the rest (calls at or after the stats' hour watermark, or recorded at or after their
 * recorded watermark: src/model-calls/hourly-stats.repository.ts); the time of the latest call.
 */
function spendLateral(alias: string, month: string): string {
  return `LEFT JOIN LATERAL (
  SELECT coalesce((SELECT sum(s.credits) FROM model_call_hourly_stats s
      WHERE s.user_id = ${alias}.id AND s.hour >= ${month} AND wm.h IS NOT NULL AND s.hour < wm.h), 0)
    + coalesce((SELECT sum(m.credits) FROM model_calls m
      WHERE m.user_id = ${alias}.id AND m.created_at >= ${month}
        AND (wm.h IS NULL OR m.created_at >= wm.h OR m.recorded_at >= wm.r)), 0) AS used,
    (SELECT max(m.created_at) FROM model_calls m WHERE m.user_id = ${alias}.id) AS last_call_at
) sp ON true`;
}

const WATERMARKS = `wm AS (SELECT
  (SELECT hour_watermark FROM model_call_stats_state WHERE id = 1) AS h,
  (SELECT recorded_watermark FROM model_call_stats_state WHERE id = 1) AS r)`;

const ROW_COLUMNS = `u.id, u.did, u.email, u.username, u.full_name, u.role, u.status, u.team_id, t.name AS team_name,
  u.allowed_models, u.allowed_services, u.metadata, u.must_change_password, u.created_at, u.last_login_at,
  coalesce(ca.balance, 0)::text AS balance`;

/**
 * The statements of the user list (exported for reading; built per request because filters vary).
 * The spend columns are computed set-based, for the page only, unless the list is sorted by one of
 * them (then for every matching user, before the page is cut).
 */
export const userListQueries = {
  count: (f: UserFilter): QueryConfig => {
    const w = whereOf(f);
    return { text: `SELECT count(*)::int AS n ${FROM} ${w.sql}`, values: w.values };
  },
  page: (q: UserListQuery): QueryConfig => {
    const w = whereOf(q, 2);
    const dir = q.order === 'desc' ? 'DESC' : 'ASC';
    const order = `${USER_SORT_COLUMNS[q.sort]} ${dir} NULLS LAST, u.id ${dir}`;
    const limit = `LIMIT ${Math.trunc(q.pageSize)} OFFSET ${Math.trunc((q.page - 1) * q.pageSize)}`;
    const values = [q.monthStart, ...w.values];
    if (SPEND_SORTS.includes(q.sort)) {
      return {
        text: `WITH ${WATERMARKS}
SELECT ${ROW_COLUMNS}, sp.used::text AS used, sp.last_call_at
${FROM} CROSS JOIN wm ${spendLateral('u', '$1')} ${w.sql}
ORDER BY ${order} ${limit}`,
        values,
      };
    }
    return {
      text: `WITH ${WATERMARKS}, pg AS (
  SELECT ${ROW_COLUMNS}, ${USER_SORT_COLUMNS[q.sort]} AS sort_key ${FROM} ${w.sql} ORDER BY ${order} ${limit})
SELECT pg.*, sp.used::text AS used, sp.last_call_at
FROM pg CROSS JOIN wm ${spendLateral('pg', '$1')}
ORDER BY pg.sort_key ${dir} NULLS LAST, pg.id ${dir}`,
      values,
    };
  },
};

/**
 * SQL of user accounts that Prisma CRUD does not express well: the filtered, sorted list with the
 * spend columns, and the row locks that make admin-role checks race-safe (docs/data-access.md).
 */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Users matching the filter (all pages). */
  async count(f: UserFilter): Promise<number> {
    return (await this.prisma.pool.query<{ n: number }>(userListQueries.count(f))).rows[0].n;
  }

  /** One page of users with team, balance and spend. */
  async page(q: UserListQuery): Promise<UserRow[]> {
    return (await this.prisma.pool.query<UserRow>(userListQueries.page(q))).rows;
  }

  /**
   * Locks the active super admins' rows until the transaction ends (in id order, so concurrent
   * callers queue instead of deadlocking) and returns their ids. Every change that could remove a
   * super admin takes this lock first, so "the last one" is decided on committed data.
   */
  async lockActiveSuperAdmins(tx: Prisma.TransactionClient): Promise<string[]> {
    const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
      `SELECT id::text AS id FROM users WHERE role = 'super_admin' AND status = 'active' ORDER BY id FOR UPDATE`,
    );
    return rows.map((r) => r.id);
  }

  /** Locks these users' rows (id order) and returns what the rules need of each; unknown ids are absent. */
  async lockUsers(
    tx: Prisma.TransactionClient,
    ids: readonly string[],
  ): Promise<{ id: string; role: UserRole; status: UserStatus; email: string }[]> {
    if (ids.length === 0) return [];
    return tx.$queryRawUnsafe(
      `SELECT id::text AS id, role::text AS role, status::text AS status, email FROM users WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
      ids,
    );
  }
}
