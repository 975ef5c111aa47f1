import { DomainError } from '../common/domain-error';
import type { AuditCursor } from './audit-logs.repository';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** created_at as PostgreSQL prints timestamptz, e.g. "2026-12-02 10:11:12.123456+00" */
const TS = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;

/** The opaque `nextCursor` of GET /admin/audit-logs: base64url of `[createdAt, id]` (docs/audit-log.md). */
export function encodeCursor(c: AuditCursor): string {
  return Buffer.from(JSON.stringify([c.ts, c.id]), 'utf8').toString('base64url');
}

/**
 * Reads a cursor made by encodeCursor.
 * @throws 400 invalid_cursor when it is not one
 */
export function decodeCursor(s: string): AuditCursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && TS.test(v[0]) && UUID.test(v[1])) {
      return { ts: v[0], id: v[1] };
    }
  } catch {
    // falls through to the refusal
  }
  throw DomainError.badRequest('invalid_cursor', 'cursor is not a nextCursor of this endpoint', { field: 'cursor' });
}
