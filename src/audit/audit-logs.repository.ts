import { Injectable } from '@nestjs/common';
import { escapeLike } from '../common/like-pattern';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';
import { AuditLogFiltersDto } from './dto/audit-log-query.dto';

/** One audit entry as the API shows it (docs/audit-log.md "Row"). */
export interface AuditLogView {
  id: string;
  /** ISO-8601, microseconds */
  createdAt: string;
  actorType: string;
  actorUserId: string | null;
  actorKeyId: string | null;
  actorLabel: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  result: string;
  /** HTTP status answered */
  status: number;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  method: string | null;
  path: string | null;
  changes: unknown;
}

/** A keyset position: the (created_at, id) of the last row of a page. */
export interface AuditCursor {
  /** created_at as PostgreSQL prints it (microsecond precision, kept exact) */
  ts: string;
  id: string;
}

interface Row {
  id: string;
  created_at: string;
  cursor_ts: string;
  actor_type: string;
  actor_user_id: string | null;
  actor_key_id: string | null;
  actor_label: string | null;
  actor_role: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  result: string;
  status: number;
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  method: string | null;
  path: string | null;
  changes: unknown;
}

const SELECT = `SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
  created_at::text AS cursor_ts, actor_type, actor_user_id, actor_key_id, actor_label, actor_role, action, target_type,
  target_id, result, status, request_id, ip, user_agent, method, path, changes
  FROM audit_logs`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads of audit_logs (docs/audit-log.md "Reading the log"; docs/data-access.md): filtered,
 * newest first, keyset-paged on (created_at, id) so the `audit_logs_created_at_id_idx` index
 * serves both the order and the cursor, whatever the page depth. Entries are written by
 * AuditService only; retention deletes them (./audit-retention.repository.ts).
 */
@Injectable()
export class AuditLogsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * At most `limit` entries matching `filters`, strictly after `cursor` in newest-first order.
   * @returns the rows and the cursor of the last one
   */
  async page(
    filters: AuditLogFiltersDto,
    limit: number,
    cursor: AuditCursor | null,
  ): Promise<{ rows: AuditLogView[]; last: AuditCursor | null }> {
    const where = buildWhere(filters);
    const params = [...where.params];
    let after = '';
    if (cursor) {
      params.push(cursor.ts, cursor.id);
      after = `${where.sql ? ' AND' : ' WHERE'} (created_at, id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`;
    }
    params.push(limit);
    const { rows } = await this.prisma.pool.query<Row>(
      `${SELECT}${where.sql}${after} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    const lastRow = rows[rows.length - 1];
    return { rows: rows.map(toView), last: lastRow ? { ts: lastRow.cursor_ts, id: lastRow.id } : null };
  }

  /** One entry by id, or null. */
  async byId(id: string): Promise<AuditLogView | null> {
    if (!UUID.test(id)) return null;
    const { rows } = await this.prisma.pool.query<Row>(`${SELECT} WHERE id = $1::uuid`, [id]);
    return rows[0] ? toView(rows[0]) : null;
  }
}

/**
 * SQL conditions for the filters (docs/audit-log.md): exact matches, `actor` as a case-insensitive
 * substring, `action` exact or a `prefix*`, time in [from, to).
 * @throws 400 validation_failed (field from/to) when a bound is neither ISO-8601 nor Unix seconds, or from ≥ to
 */
export function buildWhere(f: AuditLogFiltersDto): { sql: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  const add = (sql: (n: string) => string, value: unknown) => {
    params.push(value);
    conds.push(sql(`$${params.length}`));
  };
  if (f.actorUserId) add((n) => `actor_user_id = ${n}::uuid`, f.actorUserId);
  if (f.actorKeyId) add((n) => `actor_key_id = ${n}::uuid`, f.actorKeyId);
  if (f.actor) add((n) => `actor_label ILIKE ${n}`, `%${escapeLike(f.actor)}%`);
  if (f.action) {
    if (f.action.endsWith('*')) add((n) => `action LIKE ${n}`, `${escapeLike(f.action.slice(0, -1))}%`);
    else add((n) => `action = ${n}`, f.action);
  }
  if (f.targetType) add((n) => `target_type = ${n}`, f.targetType);
  if (f.targetId) add((n) => `target_id = ${n}`, f.targetId);
  if (f.result) add((n) => `result = ${n}`, f.result);
  if (f.status !== undefined) add((n) => `status = ${n}`, f.status);
  if (f.requestId) add((n) => `request_id = ${n}`, f.requestId);
  const from = f.from !== undefined ? parseInstant('from', f.from) : null;
  const to = f.to !== undefined ? parseInstant('to', f.to) : null;
  if (from && to && from.getTime() >= to.getTime()) throw DomainError.validationFailed('to', 'to must be after from');
  if (from) add((n) => `created_at >= ${n}::timestamptz`, from.toISOString());
  if (to) add((n) => `created_at < ${n}::timestamptz`, to.toISOString());
  return { sql: conds.length ? ` WHERE ${conds.join(' AND ')}` : '', params };
}

/**
 * A time bound: Unix seconds (digits, optionally with a fraction) or an ISO-8601 date/time.
 * @throws 400 validation_failed
 */
export function parseInstant(field: string, value: string): Date {
  let d: Date | null = null;
  if (/^\d{1,12}(\.\d{1,6})?$/.test(value)) d = new Date(Number(value) * 1000);
  else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) d = new Date(value);
  if (!d || Number.isNaN(d.getTime()) || d.getUTCFullYear() > 9999) {
    throw DomainError.validationFailed(field, `${field} must be ISO-8601 or Unix seconds`);
  }
  return d;
}

function toView(r: Row): AuditLogView {
  return {
    id: r.id,
    createdAt: r.created_at,
    actorType: r.actor_type,
    actorUserId: r.actor_user_id,
    actorKeyId: r.actor_key_id,
    actorLabel: r.actor_label,
    actorRole: r.actor_role,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    result: r.result,
    status: r.status,
    requestId: r.request_id,
    ip: r.ip,
    userAgent: r.user_agent,
    method: r.method,
    path: r.path,
    changes: r.changes,
  };
}
