import type { AuditContext } from '../audit/audit-entry';
import { isAdminRole, parseRole } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { UserRole } from '../generated/prisma/enums';

/**
 * The pure rules of user accounts (docs/api/users.md "Rules"): limits of each field and who may
 * manage whom. UsersService applies them; the CSV importer may reuse them. Nothing here touches
 * the database.
 */

/** Longest full name (characters). */
export const FULL_NAME_MAX_LENGTH = 200;
/** Longest username (characters). */
export const USERNAME_MAX_LENGTH = 64;
/** Most entries of `allowedModels` / `allowedServices`, and the longest entry (characters). */
export const NAME_LIST_MAX_ITEMS = 1000;
export const NAME_LIST_ITEM_MAX_LENGTH = 200;
/** Largest `metadata` object, serialized as JSON (bytes). */
export const METADATA_MAX_BYTES = 16 * 1024;
/** Most user ids in one bulk request. */
export const BULK_MAX_IDS = 1000;

/** A username: no spaces, no control characters, no "@" (logins with "@" are emails). */
const USERNAME = /^[^\s@\p{Cc}]+$/u;
/** A user id as stored (UUID). */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` has the shape of a user or team id (a UUID); other strings name no record. */
export function isUuid(id: string): boolean {
  return typeof id === 'string' && UUID.test(id);
}

/**
 * The stored username (trimmed), or null for none/empty.
 * @throws DomainError 400 `INVALID_INPUT` when longer than 64 characters or with spaces, "@" or control characters
 */
export function normalizeUsername(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  const name = String(raw).trim();
  if (name.length === 0) return null;
  if (name.length > USERNAME_MAX_LENGTH || !USERNAME.test(name)) {
    throw DomainError.badRequest('INVALID_INPUT', `A username has 1 to ${USERNAME_MAX_LENGTH} characters, without spaces or "@"`);
  }
  return name;
}

/** The stored full name (trimmed). @throws DomainError 400 `INVALID_INPUT` when longer than 200 characters */
export function normalizeFullName(raw: string | null | undefined): string {
  const name = (raw ?? '').trim();
  if (name.length > FULL_NAME_MAX_LENGTH)
    throw DomainError.badRequest('INVALID_INPUT', `A full name has at most ${FULL_NAME_MAX_LENGTH} characters`);
  return name;
}

/**
 * A role as written in a request or a CSV file (Tollgate's names or LiteLLM's, see parseRole).
 * @throws DomainError 400 `INVALID_INPUT` for an unknown role name
 */
export function roleFrom(raw: string): UserRole {
  const role = parseRole(String(raw));
  if (!role) throw DomainError.badRequest('INVALID_INPUT', `Unknown role "${String(raw).slice(0, 64)}"`);
  return role;
}

/**
 * A list of model or service names: trimmed, empty entries dropped, duplicates removed, order kept.
 * @throws DomainError 400 `INVALID_INPUT` for more than 1000 entries or an entry over 200 characters
 */
export function normalizeNameList(raw: readonly string[], field: string): string[] {
  if (raw.length > NAME_LIST_MAX_ITEMS)
    throw DomainError.badRequest('INVALID_INPUT', `${field} has at most ${NAME_LIST_MAX_ITEMS} entries`);
  const out: string[] = [];
  for (const item of raw) {
    const v = String(item).trim();
    if (v.length > NAME_LIST_ITEM_MAX_LENGTH) {
      throw DomainError.badRequest('INVALID_INPUT', `An entry of ${field} has at most ${NAME_LIST_ITEM_MAX_LENGTH} characters`);
    }
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** How a bulk update changes a list: replace it, add entries, or remove entries. */
export type ListEditMode = 'replace' | 'add' | 'remove';

/** The list after a bulk edit (pure; `values` already normalized). */
export function applyListEdit(current: readonly string[], mode: ListEditMode, values: readonly string[]): string[] {
  if (mode === 'replace') return [...values];
  if (mode === 'add') return [...current, ...values.filter((v) => !current.includes(v))];
  return current.filter((v) => !values.includes(v));
}

/**
 * Checks `metadata`: a JSON object of at most 16 KiB.
 * @throws DomainError 400 `INVALID_INPUT`
 */
export function checkMetadata(metadata: unknown): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw DomainError.badRequest('INVALID_INPUT', 'metadata must be a JSON object');
  }
  if (Buffer.byteLength(JSON.stringify(metadata)) > METADATA_MAX_BYTES) {
    throw DomainError.badRequest('INVALID_INPUT', `metadata has at most ${METADATA_MAX_BYTES} bytes of JSON`);
  }
  return metadata as Record<string, unknown>;
}

/**
 * Who may manage an account whose role is (or becomes) `targetRole`: admin-level accounts
 * (super_admin, admin, admin_viewer) only a super admin, or the system itself (first boot, CLI).
 * @param actorRole the caller's role; null = the system
 * @throws DomainError 403 `ADMIN_ROLE_FORBIDDEN`
 */
export function checkMayManage(actorRole: UserRole | null, targetRole: UserRole): void {
  if (isAdminRole(targetRole) && actorRole !== null && actorRole !== 'super_admin') {
    throw DomainError.forbidden('ADMIN_ROLE_FORBIDDEN', 'Only a super admin may create or change admin accounts');
  }
}

/**
 * The caller's role as the rules see it, from the request's audit context: null for the system
 * (no context: the CLI, tests; or a system context); an actor without a role counts as a viewer.
 */
export function actingRole(ctx: AuditContext | undefined): UserRole | null {
  if (!ctx || ctx.actorType === 'system') return null;
  return (ctx.actorRole as UserRole | null) ?? 'member_viewer';
}
