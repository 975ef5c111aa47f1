import type { FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/auth-user';

/**
 * Who acts and through which request (docs/audit-log.md). Built once per request by
 * `auditContextOf` and kept on the request, so the response hook knows whether the handler
 * already wrote the request's entry (`recorded`).
 */
export interface AuditContext {
  actorType: 'user' | 'api_key' | 'anonymous' | 'system';
  actorUserId: string | null;
  actorKeyId: string | null;
  /** the actor's email (or, for a failed login, the login tried) */
  actorLabel: string | null;
  actorRole: string | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  method: string | null;
  path: string | null;
  /** set once an entry for this request is written or queued; the response hook then adds none */
  recorded: boolean;
  /**
   * How the entry was recorded: 'transaction' (inTransaction or record: a write's entry) or 'queue'
   * (enqueue). A request that answers ≥ 400 after a 'transaction' entry gets its failure entry
   * from the response hook too, since the write's transaction (and its entry) most likely rolled back.
   */
  recordedBy?: 'transaction' | 'queue';
}

/** What happened (one row of audit_logs with the context). */
export interface AuditEvent {
  /** dotted verb: "users.create", "keys.reveal", "auth.login", "providers.update", … */
  action: string;
  targetType?: string | null;
  targetId?: string | null;
  /** default success */
  result?: 'success' | 'failure';
  /** HTTP status answered (default 200) */
  status?: number;
  /** what changed, e.g. `{before:{…}, after:{…}}` or `{created:{…}}`; redacted before it is stored */
  changes?: Record<string, unknown> | null;
}

const REQUEST_KEY = Symbol('tollgate.auditContext');
type WithAudit = FastifyRequest & { [REQUEST_KEY]?: AuditContext; user?: AuthUser };

/** The audit context of a request (created on first use; later calls return the same object). */
export function auditContextOf(req: FastifyRequest): AuditContext {
  const r = req as WithAudit;
  const existing = r[REQUEST_KEY];
  if (existing) {
    if (existing.actorType === 'anonymous' && r.user) Object.assign(existing, actorOf(r.user));
    return existing;
  }
  const ua = req.headers['user-agent'];
  const ctx: AuditContext = {
    actorType: 'anonymous',
    actorUserId: null,
    actorKeyId: null,
    actorLabel: null,
    actorRole: null,
    ...(r.user ? actorOf(r.user) : {}),
    requestId: typeof req.id === 'string' ? req.id : null,
    ip: req.ip ?? null,
    userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null,
    method: req.method,
    path: req.routeOptions?.url ?? req.url.split('?')[0],
    recorded: false,
  };
  r[REQUEST_KEY] = ctx;
  return ctx;
}

/** The context already attached to a request, if any (the response hook reads it). */
export function existingAuditContext(req: FastifyRequest): AuditContext | undefined {
  return (req as WithAudit)[REQUEST_KEY];
}

function actorOf(user: AuthUser): Pick<AuditContext, 'actorType' | 'actorUserId' | 'actorKeyId' | 'actorLabel' | 'actorRole'> {
  return {
    actorType: user.via === 'api_key' ? 'api_key' : 'user',
    actorUserId: user.id,
    actorKeyId: user.keyId,
    actorLabel: user.email,
    actorRole: user.role,
  };
}

/** A context for work no request started (first boot, jobs, the CLI's server side). */
export function systemAuditContext(label: string): AuditContext {
  return {
    actorType: 'system',
    actorUserId: null,
    actorKeyId: null,
    actorLabel: label,
    actorRole: null,
    requestId: null,
    ip: null,
    userAgent: null,
    method: null,
    path: null,
    recorded: false,
  };
}

/** Field names whose values are never stored: passwords, keys, secrets, tokens, credentials, hashes. */
const SECRET_FIELD =
  /pass(word)?|secret|token$|^token|api[-_]?key|^key$|credential|hash|encrypted|authorization|cookie|^value$|maskedvalue/i;
const MAX_STRING = 512;
const MAX_DEPTH = 6;
const MAX_ITEMS = 100;

/**
 * The stored form of `changes`: secret-looking fields replaced by "[redacted]", NUL removed, long
 * strings cut to 512 characters, depth ≤ 6, arrays ≤ 100 items (docs/audit-log.md "Redaction").
 */
export function redactChanges(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    const clean = value.replace(/\0/g, '');
    return clean.length > MAX_STRING ? `${clean.slice(0, MAX_STRING)}…` : clean;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redactChanges(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  if (typeof value === 'object') {
    if (typeof (value as { toFixed?: unknown }).toFixed === 'function' && typeof (value as object).toString === 'function') {
      return String(value); // Decimal
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k.replace(/\0/g, '').slice(0, 128)] = SECRET_FIELD.test(k)
        ? v === null || v === undefined
          ? null
          : '[redacted]'
        : redactChanges(v, depth + 1);
    }
    return out;
  }
  return null;
}
