import { DomainError } from '../common/domain-error';
import { escapeLike } from '../common/like-pattern';
import { AuthUser } from '../auth/auth-user';
import { canReadAdmin } from '../auth/roles';
import { ModelCallFiltersDto } from './dto/model-call-filters.dto';

/**
 * Whose calls a request may read: the caller's own (their user id), or everyone's (null) when
 * `allUsers` is set, which needs an admin role, viewers included (and, for an API key, the `admin` scope).
 * @throws DomainError 403 `forbidden` for allUsers without admin rights.
 */
export function callerScope(user: AuthUser, allUsers: boolean | undefined): string | null {
  if (!allUsers) return user.id;
  const admin = canReadAdmin(user.role) && (user.via === 'jwt' || user.scopes.includes('admin'));
  if (!admin) throw DomainError.forbidden('forbidden', 'allUsers=true needs the admin role');
  return null;
}

/** A SQL WHERE clause over `model_calls mc` (joined with `users u`) and its positional parameters. */
export interface SqlWhere {
  sql: string;
  params: unknown[];
  /** true when the clause refers to `u` (the users join is needed) */
  usesUsers: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The filters of the call list and export as SQL (explicit SQL so the hot queries can be
 * EXPLAINed). `userId` null = every user. Times are [startTime, endTime) in Unix seconds.
 * `status=failed` matches every call that did not complete normally: failed, aborted and
 * interrupted (see STATUS_FILTERS and docs/call-recording.md).
 */
export function buildCallWhere(f: ModelCallFiltersDto, userId: string | null, firstParam = 1): SqlWhere {
  const conds: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${firstParam + params.length - 1}`;
  };
  let usesUsers = false;
  if (userId !== null) conds.push(`mc.user_id = ${p(userId)}::uuid`);
  if (f.startTime !== undefined) conds.push(`mc.created_at >= to_timestamp(${p(f.startTime)})`);
  if (f.endTime !== undefined) conds.push(`mc.created_at < to_timestamp(${p(f.endTime)})`);
  switch (f.status ?? 'all') {
    case 'success':
      conds.push(`mc.status = 'success'`);
      break;
    case 'failed':
      conds.push(`mc.status IN ('failed', 'aborted', 'interrupted')`);
      break;
    case 'aborted':
      conds.push(`mc.status = 'aborted'`);
      break;
    case 'all':
      break;
  }
  if (f.model !== undefined) conds.push(`mc.model = ${p(f.model)}`);
  if (f.providerId !== undefined) conds.push(`mc.provider_id = ${p(f.providerId)}::uuid`);
  if (f.appDid !== undefined) conds.push(`mc.app_did = ${p(f.appDid)}`);
  const term = f.search?.trim();
  if (term) {
    const exact = p(term);
    const like = p(`%${escapeLike(term)}%`);
    const ors = [`mc.request_id = ${exact}`, `mc.model ILIKE ${like}`, `mc.app_did ILIKE ${like}`];
    if (UUID.test(term)) ors.push(`mc.id = ${exact}::uuid`);
    if (userId === null) {
      usesUsers = true;
      ors.push(`u.did = ${exact}`, `u.email ILIKE ${like}`, `u.full_name ILIKE ${like}`);
    }
    conds.push(`(${ors.join(' OR ')})`);
  }
  return { sql: conds.length ? conds.join(' AND ') : 'TRUE', params, usesUsers };
}

/** The API's `type` labels ("chat", "image") for our ModelType values. */
export const TYPE_LABELS: Record<string, string> = {
  chatCompletion: 'chat',
  embedding: 'embedding',
  imageGeneration: 'image',
};

/** A keyset position in the call log's newest-first order: the (created_at, id) of a page's last row. */
export interface CallCursor {
  /** created_at as PostgreSQL prints timestamptz (microseconds kept exact) */
  ts: string;
  id: string;
}

/** created_at as PostgreSQL prints timestamptz, e.g. "2026-12-02 10:11:12.123456+00" */
const PG_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;

/** The opaque `nextCursor` of GET /user/model-calls: base64url of the JSON `[createdAt, id]`. */
export function encodeCallCursor(c: CallCursor): string {
  return Buffer.from(JSON.stringify([c.ts, c.id]), 'utf8').toString('base64url');
}

/**
 * Reads a cursor made by encodeCallCursor.
 * @throws DomainError 400 `invalid_cursor` (field `cursor`) when it is not one
 */
export function decodeCallCursor(s: string): CallCursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      PG_TIMESTAMPTZ.test(v[0]) &&
      UUID.test(v[1])
    ) {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // falls through to the refusal
  }
  throw DomainError.badRequest('invalid_cursor', 'cursor is not a nextCursor of this endpoint', { field: 'cursor' });
}
