import { Injectable } from '@nestjs/common';
import { AuditContext, systemAuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { canWriteAdmin, isAdminRole } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { SecretBoxService } from '../crypto/secret-box.service';
import type { ApiKey, Prisma } from '../generated/prisma/client';
import type { UserRole } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';
import type { CreateKeyDto, UpdateKeyDto } from './dto/key-input.dto';
import { KeyCheckService } from './key-check.service';
import { CreatedKeyJson, KeyJson, keyToJson } from './key-json';
import { isUuid, KeyChanges, KeysRepository, KeyStatusFilter, UserWithKeys } from './keys.repository';
import { mintVirtualKeySecret } from './virtual-key';

/** Who changes keys, for the rules on scopes and on admins' keys; null: the system (CLI, tests). */
export type KeyActor = Pick<AuthUser, 'id' | 'role' | 'via' | 'scopes'> | null;

/** The input of `create`: the POST body, `expiresAt` also as a Date. */
export type KeyInput = Omit<CreateKeyDto, 'expiresAt'> & { expiresAt?: string | Date | null };

/** One user of POST /admin/users/lookup (docs/api/keys.md "Lookup by user ids"). */
export interface LookupUserJson {
  id: string;
  did: string;
  email: string;
  fullName: string;
  role: UserRole;
  status: string;
  team: { id: string; name: string } | null;
  allowedModels: string[];
  allowedServices: string[];
  metadata: unknown;
  /** every key of the user, newest first; `secret` only for a reveal-capable caller (else absent) */
  keys: (KeyJson & { secret?: string | null })[];
}

const SYSTEM_AUDIT_LABEL = 'key management';

/**
 * Creating and changing virtual keys (docs/api/keys.md). Every write runs in one transaction
 * with its audit entry (AuditService.inTransaction) and, once committed, drops the key from the
 * key cache of every api replica (KeyCheckService.invalidate), so the gateway sees the change
 * within a second. Secrets are shown once (create, rotate); stored as a SHA-256 hash for lookup
 * and sealed by SecretBoxService for `keys:reveal` callers.
 */
@Injectable()
export class KeyManagementService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly keys: KeysRepository,
    private readonly keyCheck: KeyCheckService,
    private readonly audit: AuditService,
    private readonly secretBox: SecretBoxService,
  ) {}

  /**
   * Creates a key for `userId`. @returns the key with its secret (shown this once)
   * @throws DomainError 404 user_not_found; 403 forbidden (an admin's keys: super_admin only),
   *   403 scope_not_allowed (scopes from a non-admin, or ones an API-key caller lacks itself)
   */
  async create(
    userId: string,
    input: KeyInput,
    audit: AuditContext = systemAuditContext(SYSTEM_AUDIT_LABEL),
    actor: KeyActor = null,
  ): Promise<CreatedKeyJson> {
    const minted = mintVirtualKeySecret();
    const scopes = input.scopes ?? [];
    return this.prisma.$transaction(async (tx) => {
      await this.ownerFor(tx, userId, actor);
      assertMayGrant(actor, scopes);
      const row = await this.keys.create(
        {
          userId,
          name: input.name,
          prefix: minted.prefix,
          secretHash: minted.secretHash,
          encryptedSecret: this.secretBox.encrypt(minted.secret),
          allowedModels: input.allowedModels ?? [],
          allowedServices: input.allowedServices ?? [],
          scopes,
          expiresAt: toDate(input.expiresAt),
          rpmLimit: input.rpmLimit ?? null,
          tpmLimit: input.tpmLimit ?? null,
          creditBudget: input.creditBudget ?? null,
        },
        tx,
      );
      const json = keyToJson(row);
      await this.audit.inTransaction(tx, audit, {
        action: 'keys.create',
        targetType: 'api_key',
        targetId: row.id,
        changes: { created: json },
      });
      return { ...json, secret: minted.secret };
    });
  }

  /**
   * One page of a user's keys, newest first. @returns `{count, list, paging}`
   * @throws DomainError 404 user_not_found
   */
  async list(
    userId: string,
    query: { status: KeyStatusFilter; page: number; pageSize: number },
  ): Promise<{ count: number; list: KeyJson[]; paging: { page: number; pageSize: number } }> {
    await this.ownerFor(this.prisma, userId, null);
    const now = new Date();
    const { count, rows } = await this.keys.listOfUser(
      userId,
      query.status,
      { skip: (query.page - 1) * query.pageSize, take: query.pageSize },
      now,
    );
    return { count, list: rows.map((r) => keyToJson(r, now)), paging: { page: query.page, pageSize: query.pageSize } };
  }

  /** One key of `userId`. @throws DomainError 404 key_not_found (also when it is another user's) */
  async get(userId: string, keyId: string): Promise<KeyJson> {
    const row = await this.keys.findOfUser(userId, keyId);
    if (!row) throw keyNotFound();
    return keyToJson(row);
  }

  /**
   * Changes a key's fields (name, lists, scopes, expiry, limits, budget).
   * @throws DomainError 404 user_not_found / key_not_found, 409 key_revoked, 403 forbidden /
   *   scope_not_allowed (as create)
   */
  async update(
    userId: string,
    keyId: string,
    dto: UpdateKeyDto,
    audit: AuditContext = systemAuditContext(SYSTEM_AUDIT_LABEL),
    actor: KeyActor = null,
  ): Promise<KeyJson> {
    const { row, secretHash } = await this.prisma.$transaction(async (tx) => {
      const before = await this.lockedKey(tx, userId, keyId, actor);
      if (before.revokedAt) throw DomainError.conflict('key_revoked', 'This key is revoked; it cannot be changed');
      if (dto.scopes) assertMayGrant(actor, dto.scopes, before.scopes);
      const changes: KeyChanges = {
        name: dto.name,
        allowedModels: dto.allowedModels,
        allowedServices: dto.allowedServices,
        scopes: dto.scopes,
        expiresAt: dto.expiresAt === undefined ? undefined : toDate(dto.expiresAt),
        rpmLimit: dto.rpmLimit,
        tpmLimit: dto.tpmLimit,
        creditBudget: dto.creditBudget,
      };
      const after = await this.keys.update(keyId, changes, tx);
      await this.audit.inTransaction(tx, audit, {
        action: 'keys.update',
        targetType: 'api_key',
        targetId: keyId,
        changes: diff(keyToJson(before), keyToJson(after)),
      });
      return { row: after, secretHash: before.secretHash };
    });
    await this.keyCheck.invalidate(secretHash);
    return keyToJson(row);
  }

  /**
   * Revokes a key: every replica refuses it within a second. Revoking a revoked key changes
   * nothing and answers the key as it is.
   * @throws DomainError 404 user_not_found / key_not_found, 403 forbidden (as create)
   */
  async revoke(
    userId: string,
    keyId: string,
    audit: AuditContext = systemAuditContext(SYSTEM_AUDIT_LABEL),
    actor: KeyActor = null,
  ): Promise<KeyJson> {
    const row = await this.prisma.$transaction(async (tx) => {
      const before = await this.lockedKey(tx, userId, keyId, actor);
      const at = new Date();
      const revokedNow = (await this.keys.revoke(keyId, at, tx)).length > 0;
      await this.audit.inTransaction(tx, audit, {
        action: 'keys.revoke',
        targetType: 'api_key',
        targetId: keyId,
        changes: revokedNow ? { before: { revokedAt: null }, after: { revokedAt: at } } : { unchanged: 'already revoked' },
      });
      return revokedNow ? { ...before, revokedAt: at } : before;
    });
    await this.keyCheck.invalidate(row.secretHash);
    return keyToJson(row);
  }

  /**
   * Gives the key a new secret, same id and fields; the old secret is refused at once on every
   * replica (within a second). @returns the key with its new secret (shown this once)
   * @throws DomainError 404 user_not_found / key_not_found, 409 key_revoked, 403 forbidden (as create)
   */
  async rotate(
    userId: string,
    keyId: string,
    audit: AuditContext = systemAuditContext(SYSTEM_AUDIT_LABEL),
    actor: KeyActor = null,
  ): Promise<CreatedKeyJson> {
    const minted = mintVirtualKeySecret();
    const { row, oldHash } = await this.prisma.$transaction(async (tx) => {
      const before = await this.lockedKey(tx, userId, keyId, actor);
      if (before.revokedAt) throw DomainError.conflict('key_revoked', 'This key is revoked; create a new one');
      const after = await this.keys.replaceSecret(
        keyId,
        { prefix: minted.prefix, secretHash: minted.secretHash, encryptedSecret: this.secretBox.encrypt(minted.secret) },
        tx,
      );
      await this.audit.inTransaction(tx, audit, {
        action: 'keys.rotate',
        targetType: 'api_key',
        targetId: keyId,
        changes: { before: { prefix: before.prefix }, after: { prefix: after.prefix } },
      });
      return { row: after, oldHash: before.secretHash };
    });
    await this.keyCheck.invalidate(oldHash);
    return { ...keyToJson(row), secret: minted.secret };
  }

  /**
   * A key's secret, for an API-key caller with the `keys:reveal` scope whose user is an admin
   * (docs/api/keys.md "Revealing secrets"). The keys.reveal audit entry is committed before the
   * secret is returned. @returns `{secret}`
   * @throws DomainError 403 reveal_not_allowed, 404 key_not_found, 403 forbidden (an admin's key,
   *   caller not super_admin), 409 key_revoked / secret_not_kept
   */
  async reveal(keyId: string, audit: AuditContext, actor: NonNullable<KeyActor>): Promise<{ secret: string }> {
    assertMayReveal(actor);
    const key = await this.keys.findWithOwner(keyId);
    if (!key) throw keyNotFound();
    assertMayManage(actor, { id: key.userId, role: key.user.role as UserRole });
    if (key.revokedAt) throw DomainError.conflict('key_revoked', 'This key is revoked; its secret is not given out');
    if (!key.encryptedSecret) throw DomainError.conflict('secret_not_kept', 'This key was created before secrets were kept; rotate it');
    const secret = this.secretBox.decrypt(key.encryptedSecret);
    await this.prisma.$transaction((tx) =>
      this.audit.inTransaction(tx, audit, {
        action: 'keys.reveal',
        targetType: 'api_key',
        targetId: keyId,
        changes: { prefix: key.prefix },
      }),
    );
    return { secret };
  }

  /**
   * Users by id (UUID) or DID with their team, lists, metadata and keys (docs/api/keys.md "Lookup
   * by user ids"). A caller that may reveal (assertMayReveal) also gets each usable key's secret:
   * one keys.reveal entry per key revealed, committed before answering. Keys of admin accounts
   * are revealed to a super_admin (or their owner) only; other keys get `secret: null`.
   * @returns `{users (in request order), notFound (ids matching nobody)}`
   */
  async lookupUsers(
    refs: string[],
    audit: AuditContext,
    actor: NonNullable<KeyActor>,
  ): Promise<{ users: LookupUserJson[]; notFound: string[] }> {
    const wanted = [...new Set(refs)];
    const found = await this.keys.findUsersWithKeys(wanted);
    const byRef = new Map<string, UserWithKeys>();
    for (const u of found) {
      byRef.set(u.id, u);
      byRef.set(u.did, u);
    }
    const reveals = mayReveal(actor);
    const revealed: ApiKey[] = [];
    const users: LookupUserJson[] = [];
    const seen = new Set<string>();
    const now = new Date();
    for (const ref of wanted) {
      const u = byRef.get(isUuid(ref) ? ref.toLowerCase() : ref);
      if (!u || seen.has(u.id)) continue;
      seen.add(u.id);
      const revealsHere = reveals && mayManage(actor, u);
      users.push({
        id: u.id,
        did: u.did,
        email: u.email,
        fullName: u.fullName,
        role: u.role,
        status: u.status,
        team: u.team,
        allowedModels: u.allowedModels,
        allowedServices: u.allowedServices,
        metadata: u.metadata,
        keys: u.apiKeys.map((k) => {
          const json: KeyJson & { secret?: string | null } = keyToJson(k, now);
          if (!reveals) return json;
          const usable = revealsHere && !k.revokedAt && k.encryptedSecret !== null;
          json.secret = usable ? this.secretBox.decrypt(k.encryptedSecret!) : null;
          if (usable) revealed.push(k);
          return json;
        }),
      });
    }
    if (revealed.length > 0) {
      await this.prisma.$transaction(async (tx) => {
        for (const k of revealed) {
          await this.audit.inTransaction(tx, audit, {
            action: 'keys.reveal',
            targetType: 'api_key',
            targetId: k.id,
            changes: { prefix: k.prefix, userId: k.userId, via: 'lookup' },
          });
        }
      });
    }
    const notFound = wanted.filter((ref) => !byRef.has(isUuid(ref) ? ref.toLowerCase() : ref));
    return { users, notFound };
  }

  /** The key's owner, checked to exist and to be one whose keys `actor` may change. */
  private async ownerFor(tx: Prisma.TransactionClient, userId: string, actor: KeyActor): Promise<{ id: string; role: UserRole }> {
    const owner = isUuid(userId) ? await tx.user.findUnique({ where: { id: userId }, select: { id: true, role: true } }) : null;
    if (!owner) throw DomainError.notFound('user_not_found', 'No user with this id');
    assertMayManage(actor, owner);
    return owner;
  }

  /** The key `keyId` of `userId`, locked for the transaction, after the owner and actor checks. */
  private async lockedKey(tx: Prisma.TransactionClient, userId: string, keyId: string, actor: KeyActor): Promise<ApiKey> {
    await this.ownerFor(tx, userId, actor);
    const key = await this.keys.lockOfUser(userId, keyId, tx);
    if (!key) throw keyNotFound();
    return key;
  }
}

function keyNotFound(): DomainError {
  return DomainError.notFound('key_not_found', 'No key with this id for this user');
}

function toDate(v: string | Date | null | undefined): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v);
}

/** Whether `actor` may change the keys of `owner`: their own, or as an admin; an admin's keys need super_admin. */
function mayManage(actor: KeyActor, owner: { id: string; role: UserRole }): boolean {
  if (!actor || actor.id === owner.id) return true;
  if (!canWriteAdmin(actor.role)) return false;
  return !isAdminRole(owner.role) || actor.role === 'super_admin';
}

/** @throws DomainError 403 forbidden when `actor` may not change the keys of `owner` (mayManage) */
function assertMayManage(actor: KeyActor, owner: { id: string; role: UserRole }): void {
  if (!mayManage(actor, owner)) throw DomainError.forbidden('forbidden', 'Only a super_admin may manage the keys of another admin account');
}

/**
 * Management scopes may be given by super_admin and admin only; an API-key caller only those it
 * holds itself. Scopes the key already had are not given again.
 * @throws DomainError 403 scope_not_allowed
 */
function assertMayGrant(actor: KeyActor, scopes: readonly string[], already: readonly string[] = []): void {
  const added = scopes.filter((s) => !already.includes(s));
  if (!actor || added.length === 0) return;
  if (!canWriteAdmin(actor.role)) throw DomainError.forbidden('scope_not_allowed', 'Only admins may give keys management scopes');
  if (actor.via === 'api_key' && added.some((s) => !actor.scopes.includes(s))) {
    throw DomainError.forbidden('scope_not_allowed', 'An API key cannot give a scope it does not hold itself');
  }
}

/** An API-key caller holding `keys:reveal` whose user is super_admin or admin (docs/api/keys.md "Revealing secrets"). */
function mayReveal(actor: KeyActor): boolean {
  return actor !== null && actor.via === 'api_key' && actor.scopes.includes('keys:reveal') && canWriteAdmin(actor.role);
}

/** @throws DomainError 403 reveal_not_allowed unless mayReveal */
function assertMayReveal(actor: KeyActor): void {
  if (!mayReveal(actor)) {
    throw DomainError.forbidden(
      'reveal_not_allowed',
      'Secrets are given only to an API key with the keys:reveal scope belonging to an admin (a login session or the admin scope is not enough)',
    );
  }
}

/** The fields that differ, as `{before, after}`. */
function diff(before: KeyJson, after: KeyJson): { before: Record<string, unknown>; after: Record<string, unknown> } {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of Object.keys(after) as (keyof KeyJson)[]) {
    if (k === 'updatedAt') continue;
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return { before: b, after: a };
}
