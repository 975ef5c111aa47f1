import { Inject, Injectable } from '@nestjs/common';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { checkPasswordPolicy, generatePassword, hashPassword } from '../auth/passwords';
import { isAdminRole } from '../auth/roles';
import { isUniqueViolation } from '../common/database-errors';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { Prisma, User } from '../generated/prisma/client';
import { UserRole, UserStatus } from '../generated/prisma/enums';
import { KeyCheckService } from '../keys/key-check.service';
import { PrismaService } from '../prisma/prisma.service';
import { generateDid } from './did';
import { normalizeEmail } from './email-policy';
import { toUserJson, UserJson } from './user-json';
import {
  actingRole,
  applyListEdit,
  checkMayManage,
  checkMetadata,
  isUuid,
  ListEditMode,
  normalizeFullName,
  normalizeNameList,
  normalizeUsername,
  roleFrom,
} from './user-rules';
import { UserFilter, UserSortColumn, UsersRepository } from './users.repository';

/** What creates a user (POST /admin/users, POST /admin/admins, POST /api/toiee/users, the CLI, tests). */
export interface CreateUserInput {
  email: string;
  fullName?: string;
  username?: string | null;
  /** Tollgate's or LiteLLM's role name; default member */
  role?: UserRole | string;
  /** omitted: a password is generated, returned once, and must be changed at first login */
  password?: string;
  /** the team by id, or by name (an existing team); not both */
  teamId?: string | null;
  teamName?: string;
  allowedModels?: string[];
  allowedServices?: string[];
  metadata?: Record<string, unknown>;
  /** default: true exactly when the password is generated */
  mustChangePassword?: boolean;
}

/** What PATCH /admin/users/:id may change (absent = unchanged; teamId null = no team). */
export interface UpdateUserInput {
  email?: string;
  fullName?: string;
  username?: string | null;
  role?: UserRole | string;
  teamId?: string | null;
  allowedModels?: string[];
  allowedServices?: string[];
  metadata?: Record<string, unknown>;
}

/** A list edit of POST /admin/users/bulk-update. */
export interface ListEdit {
  mode: ListEditMode;
  values: string[];
}

export interface BulkUpdateInput {
  userIds: string[];
  allowedModels?: ListEdit;
  allowedServices?: ListEdit;
  /** a team id, or null to take the users out of their team */
  teamId?: string | null;
}

/** A created user row, with the generated password when none was given (shown once, never stored). */
export type CreatedUser = User & { generatedPassword?: string };

/** Answer of list reads: `{count, list, paging}` (docs/api-conventions.md). */
export interface UserPage {
  count: number;
  list: UserJson[];
  paging: { page: number; pageSize: number };
}

export interface UserListOptions extends Omit<UserFilter, 'ids'> {
  page?: number;
  pageSize?: number;
  sort?: UserSortColumn;
  order?: 'asc' | 'desc';
}

/** Answer of POST /admin/users/bulk-delete. */
export interface BulkDeleteResult {
  deleted: string[];
  notFound: string[];
  refused: { id: string; code: string }[];
}

/**
 * User accounts (docs/api/users.md): the one place users are created, changed and deleted. Each
 * write runs in one transaction with its audit entry (when an audit context is given; without one
 * the caller is the system: the CLI or tests). Keys cached by the gateway are invalidated after
 * commit whenever what a key may do changes (status, role, team, allowed models, deletion).
 *
 * Rules: admin-level accounts (super_admin, admin, admin_viewer) are created, changed, disabled
 * and deleted only by a super admin (403 `ADMIN_ROLE_FORBIDDEN`); the last active super admin is
 * never deleted, demoted or disabled (409 `LAST_SUPER_ADMIN`, decided under a lock of the super
 * admins' rows).
 */
@Injectable()
export class UsersService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly repo: UsersRepository,
    private readonly audit: AuditService,
    private readonly keys: KeyCheckService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Creates a user and their (empty) credit account.
   * @throws DomainError 400 `INVALID_EMAIL` | `INVALID_PASSWORD` | `INVALID_INPUT`, 403 `ADMIN_ROLE_FORBIDDEN`,
   *   404 `TEAM_NOT_FOUND`, 409 `USER_EXISTS` (email or username taken)
   */
  async create(input: CreateUserInput, auditCtx?: AuditContext, action = 'users.create'): Promise<CreatedUser> {
    const email = normalizeEmail(input.email, this.config.accounts.allowedEmailDomains);
    const role = input.role === undefined ? 'member' : roleFrom(input.role);
    checkMayManage(actingRole(auditCtx), role);
    const username = normalizeUsername(input.username);
    const fullName = normalizeFullName(input.fullName);
    const allowedModels = normalizeNameList(input.allowedModels ?? [], 'allowedModels');
    const allowedServices = normalizeNameList(input.allowedServices ?? [], 'allowedServices');
    const metadata = checkMetadata(input.metadata ?? {});
    if (input.teamId && input.teamName) throw DomainError.badRequest('INVALID_INPUT', 'Give teamId or teamName, not both');
    const generated = input.password === undefined ? generatePassword() : undefined;
    if (input.password !== undefined) checkPasswordPolicy(input.password);
    const passwordHash = await hashPassword(input.password ?? (generated as string));
    try {
      const user = await this.prisma.$transaction(async (tx) => {
        const teamId = await this.resolveTeam(tx, input.teamId ?? null, input.teamName);
        const created = await tx.user.create({
          data: {
            did: generateDid(),
            email,
            username,
            fullName,
            role,
            passwordHash,
            mustChangePassword: input.mustChangePassword ?? generated !== undefined,
            passwordChangedAt: new Date(),
            teamId,
            allowedModels,
            allowedServices,
            metadata: metadata as Prisma.InputJsonObject,
            creditAccount: { create: {} },
          },
        });
        if (auditCtx) {
          await this.audit.inTransaction(tx, auditCtx, {
            action,
            targetType: 'user',
            targetId: created.id,
            status: 201,
            changes: { created: { ...snapshot(created), generatedLogin: generated !== undefined } },
          });
        }
        return created;
      });
      return generated === undefined ? user : { ...user, generatedPassword: generated };
    } catch (err) {
      if (isUniqueViolation(err)) throw userExists();
      throw err;
    }
  }

  /**
   * One user as shown by the admin API (team, balance and spend included).
   * @throws DomainError 404 `USER_NOT_FOUND` (also for an id that is not a UUID)
   */
  async get(id: string): Promise<UserJson> {
    if (!isUuid(id)) throw userNotFound();
    const rows = await this.repo.page({ ids: [id], page: 1, pageSize: 1, sort: 'createdAt', order: 'asc', monthStart: monthStart() });
    if (rows.length === 0) throw userNotFound();
    return toUserJson(rows[0]);
  }

  /** A page of users (filters, sort and paging as GET /admin/users; default newest first). */
  async list(opts: UserListOptions): Promise<UserPage> {
    const page = opts.page ?? 1;
    const pageSize = opts.pageSize ?? 50;
    const filter: UserFilter = { search: opts.search, role: opts.role, roles: opts.roles, status: opts.status, teamId: opts.teamId };
    const [count, rows] = await Promise.all([
      this.repo.count(filter),
      this.repo.page({
        ...filter,
        page,
        pageSize,
        sort: opts.sort ?? 'createdAt',
        order: opts.order ?? (opts.sort ? 'asc' : 'desc'),
        monthStart: monthStart(),
      }),
    ]);
    return { count, list: rows.map(toUserJson), paging: { page, pageSize } };
  }

  /**
   * Changes a user's profile, role, team, allowed models/services or metadata. A role change
   * bumps the session version (existing logins end).
   * @throws DomainError 400 `INVALID_EMAIL` | `INVALID_INPUT`, 403 `ADMIN_ROLE_FORBIDDEN`, 404 `USER_NOT_FOUND` | `TEAM_NOT_FOUND`,
   *   409 `USER_EXISTS` | `LAST_SUPER_ADMIN`
   */
  async update(id: string, input: UpdateUserInput, auditCtx?: AuditContext): Promise<UserJson> {
    if (!isUuid(id)) throw userNotFound();
    const data: Prisma.UserUncheckedUpdateInput = {};
    if (input.email !== undefined) data.email = normalizeEmail(input.email, this.config.accounts.allowedEmailDomains);
    if (input.fullName !== undefined) data.fullName = normalizeFullName(input.fullName);
    if (input.username !== undefined) data.username = normalizeUsername(input.username);
    const newRole = input.role === undefined ? undefined : roleFrom(input.role);
    if (input.allowedModels !== undefined) data.allowedModels = normalizeNameList(input.allowedModels, 'allowedModels');
    if (input.allowedServices !== undefined) data.allowedServices = normalizeNameList(input.allowedServices, 'allowedServices');
    if (input.metadata !== undefined) data.metadata = checkMetadata(input.metadata) as Prisma.InputJsonObject;
    let keysChanged = false;
    try {
      await this.prisma.$transaction(async (tx) => {
        const supers = await this.repo.lockActiveSuperAdmins(tx);
        const before = await tx.user.findUnique({ where: { id } });
        if (!before) throw userNotFound();
        checkMayManage(actingRole(auditCtx), before.role);
        if (newRole !== undefined && newRole !== before.role) {
          checkMayManage(actingRole(auditCtx), newRole);
          if (before.role === 'super_admin' && before.status === 'active') checkNotLastSuperAdmin(supers, [id]);
          data.role = newRole;
          data.sessionVersion = { increment: 1 };
        }
        if (input.teamId !== undefined) data.teamId = await this.resolveTeam(tx, input.teamId, undefined);
        const after = await tx.user.update({ where: { id }, data });
        keysChanged = after.role !== before.role || after.teamId !== before.teamId || !sameList(after.allowedModels, before.allowedModels);
        if (auditCtx) {
          await this.audit.inTransaction(tx, auditCtx, {
            action: 'users.update',
            targetType: 'user',
            targetId: id,
            changes: changedFields(snapshot(before), snapshot(after)),
          });
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw userExists();
      throw err;
    }
    if (keysChanged) await this.keys.invalidateUsers([id]);
    return this.get(id);
  }

  /**
   * Disables (or enables) an account. Disabling ends its logins (session version bumped) and
   * stops its keys on every replica.
   * @throws DomainError 403 `ADMIN_ROLE_FORBIDDEN`, 404 `USER_NOT_FOUND`, 409 `LAST_SUPER_ADMIN`
   */
  async setStatus(id: string, status: UserStatus, auditCtx?: AuditContext): Promise<UserJson> {
    if (!isUuid(id)) throw userNotFound();
    await this.prisma.$transaction(async (tx) => {
      const supers = await this.repo.lockActiveSuperAdmins(tx);
      const before = await tx.user.findUnique({ where: { id } });
      if (!before) throw userNotFound();
      checkMayManage(actingRole(auditCtx), before.role);
      if (status === 'disabled' && before.role === 'super_admin' && before.status === 'active') checkNotLastSuperAdmin(supers, [id]);
      await tx.user.update({
        where: { id },
        data: status === 'disabled' && before.status !== 'disabled' ? { status, sessionVersion: { increment: 1 } } : { status },
      });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: status === 'disabled' ? 'users.disable' : 'users.enable',
          targetType: 'user',
          targetId: id,
          changes: { before: { status: before.status }, after: { status } },
        });
      }
    });
    await this.keys.invalidateUsers([id]);
    return this.get(id);
  }

  /**
   * Sets a new password (generated when omitted), which must be changed at the next login; ends
   * the user's logins (session version bumped).
   * @returns the generated password, shown once; nothing when one was given
   * @throws DomainError 400 `INVALID_PASSWORD`, 403 `ADMIN_ROLE_FORBIDDEN`, 404 `USER_NOT_FOUND`
   */
  async setPassword(id: string, password: string | undefined, auditCtx?: AuditContext): Promise<{ generatedPassword?: string }> {
    if (!isUuid(id)) throw userNotFound();
    if (password !== undefined) checkPasswordPolicy(password);
    const generated = password === undefined ? generatePassword() : undefined;
    const passwordHash = await hashPassword(password ?? (generated as string));
    await this.prisma.$transaction(async (tx) => {
      const [target] = await this.repo.lockUsers(tx, [id]);
      if (!target) throw userNotFound();
      checkMayManage(actingRole(auditCtx), target.role);
      await tx.user.update({
        where: { id },
        data: { passwordHash, mustChangePassword: true, passwordChangedAt: new Date(), sessionVersion: { increment: 1 } },
      });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'users.set_password',
          targetType: 'user',
          targetId: id,
          changes: { generatedLogin: generated !== undefined, changeRequired: true },
        });
      }
    });
    return generated === undefined ? {} : { generatedPassword: generated };
  }

  /**
   * Deletes a user with everything they own (keys, credit account, call log). Through the user
   * endpoints (`admins: false`) admin-level accounts are refused with 403 `ADMIN_DELETE_FORBIDDEN`;
   * through the super-admin endpoint (`admins: true`) only admin-level accounts are deleted
   * (others answer 404 `USER_NOT_FOUND`, as they are not admins).
   * @throws DomainError 403 `ADMIN_DELETE_FORBIDDEN` | `ADMIN_ROLE_FORBIDDEN`, 404 `USER_NOT_FOUND`, 409 `LAST_SUPER_ADMIN`
   */
  async delete(id: string, auditCtx: AuditContext | undefined, opts: { admins: boolean }): Promise<void> {
    if (!isUuid(id)) throw userNotFound();
    const hashes = await this.prisma.$transaction(async (tx) => {
      const supers = await this.repo.lockActiveSuperAdmins(tx);
      const [target] = await this.repo.lockUsers(tx, [id]);
      if (!target) throw userNotFound();
      if (!opts.admins && isAdminRole(target.role)) throw adminDeleteForbidden();
      if (opts.admins && !isAdminRole(target.role)) throw userNotFound();
      checkMayManage(actingRole(auditCtx), target.role);
      if (target.role === 'super_admin' && target.status === 'active') checkNotLastSuperAdmin(supers, [id]);
      const keys = await tx.apiKey.findMany({ where: { userId: id }, select: { secretHash: true } });
      await tx.user.delete({ where: { id } });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: opts.admins ? 'admins.delete' : 'users.delete',
          targetType: 'user',
          targetId: id,
          changes: { deleted: { email: target.email, role: target.role } },
        });
      }
      return keys.map((k) => k.secretHash);
    });
    await this.keys.invalidateUsers([id], hashes);
  }

  /**
   * Deletes many users in one transaction: the deletable ones are deleted, unknown ids reported in
   * `notFound`, admin-level accounts in `refused` with code `ADMIN_DELETE_FORBIDDEN`.
   */
  async bulkDelete(userIds: string[], auditCtx?: AuditContext): Promise<BulkDeleteResult> {
    const ids = [...new Set(userIds)];
    const valid = ids.filter(isUuid);
    const result: BulkDeleteResult = { deleted: [], notFound: ids.filter((i) => !isUuid(i)), refused: [] };
    const hashes = await this.prisma.$transaction(async (tx) => {
      const found = new Map((await this.repo.lockUsers(tx, valid)).map((u) => [u.id, u]));
      for (const id of valid) {
        const u = found.get(id);
        if (!u) result.notFound.push(id);
        else if (isAdminRole(u.role)) result.refused.push({ id, code: 'ADMIN_DELETE_FORBIDDEN' });
        else result.deleted.push(id);
      }
      const keys = result.deleted.length
        ? await tx.apiKey.findMany({ where: { userId: { in: result.deleted } }, select: { secretHash: true } })
        : [];
      if (result.deleted.length) await tx.user.deleteMany({ where: { id: { in: result.deleted } } });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'users.bulk_delete',
          targetType: 'user',
          changes: { deleted: result.deleted, notFound: result.notFound, refused: result.refused },
        });
      }
      return keys.map((k) => k.secretHash);
    });
    await this.keys.invalidateUsers(result.deleted, hashes);
    return result;
  }

  /**
   * Edits many users at once, all or nothing: allowed models and services replaced, added to or
   * removed from, and/or the team set (null: no team). `action` names the audit entry (teams
   * adding members use `teams.add_members`).
   * @returns the ids updated
   * @throws DomainError 400 `INVALID_INPUT`, 403 `ADMIN_ROLE_FORBIDDEN` (with `userIds`), 404 `USER_NOT_FOUND` (with the
   *   unknown `userIds`) | `TEAM_NOT_FOUND`
   */
  async bulkUpdate(input: BulkUpdateInput, auditCtx?: AuditContext, action = 'users.bulk_update'): Promise<{ updated: string[] }> {
    const ids = [...new Set(input.userIds)];
    if (input.allowedModels === undefined && input.allowedServices === undefined && input.teamId === undefined) {
      throw DomainError.badRequest('INVALID_INPUT', 'Nothing to change: give allowedModels, allowedServices or teamId');
    }
    const models = input.allowedModels && {
      mode: input.allowedModels.mode,
      values: normalizeNameList(input.allowedModels.values, 'allowedModels'),
    };
    const services = input.allowedServices && {
      mode: input.allowedServices.mode,
      values: normalizeNameList(input.allowedServices.values, 'allowedServices'),
    };
    const unknownShape = ids.filter((i) => !isUuid(i));
    if (unknownShape.length) throw userNotFound(unknownShape);
    await this.prisma.$transaction(async (tx) => {
      const found = await this.repo.lockUsers(tx, ids);
      const foundIds = new Set(found.map((u) => u.id));
      const missing = ids.filter((i) => !foundIds.has(i));
      if (missing.length) throw userNotFound(missing);
      const role = actingRole(auditCtx);
      const admins = found.filter((u) => isAdminRole(u.role)).map((u) => u.id);
      if (admins.length && role !== null && role !== 'super_admin') {
        throw new DomainError(403, 'ADMIN_ROLE_FORBIDDEN', 'Only a super admin may change admin accounts', {
          details: { userIds: admins },
        });
      }
      const teamId = input.teamId === undefined ? undefined : await this.resolveTeam(tx, input.teamId, undefined);
      if (models || services) {
        const rows = await tx.user.findMany({
          where: { id: { in: ids } },
          select: { id: true, allowedModels: true, allowedServices: true },
        });
        for (const r of rows) {
          await tx.user.update({
            where: { id: r.id },
            data: {
              ...(models ? { allowedModels: applyListEdit(r.allowedModels, models.mode, models.values) } : {}),
              ...(services ? { allowedServices: applyListEdit(r.allowedServices, services.mode, services.values) } : {}),
              ...(teamId !== undefined ? { teamId } : {}),
            },
          });
        }
      } else if (teamId !== undefined) {
        await tx.user.updateMany({ where: { id: { in: ids } }, data: { teamId } });
      }
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action,
          targetType: input.teamId ? 'team' : 'user',
          targetId: input.teamId ?? null,
          changes: {
            userIds: ids,
            allowedModels: models ?? null,
            allowedServices: services ?? null,
            teamId: teamId === undefined ? 'unchanged' : teamId,
          },
        });
      }
    });
    await this.keys.invalidateUsers(ids);
    return { updated: ids };
  }

  /** The team id a user should get: by id (checked) or by name (an existing team); null for none. */
  private async resolveTeam(tx: Prisma.TransactionClient, teamId: string | null, teamName: string | undefined): Promise<string | null> {
    if (teamName !== undefined) {
      const t = await tx.team.findUnique({ where: { name: teamName.trim() }, select: { id: true } });
      if (!t) throw DomainError.notFound('TEAM_NOT_FOUND', 'Team not found');
      return t.id;
    }
    if (teamId === null) return null;
    if (!isUuid(teamId) || !(await tx.team.findUnique({ where: { id: teamId }, select: { id: true } }))) {
      throw DomainError.notFound('TEAM_NOT_FOUND', 'Team not found');
    }
    return teamId;
  }
}

/** @throws DomainError 409 `LAST_SUPER_ADMIN` when removing `ids` leaves no active super admin */
function checkNotLastSuperAdmin(activeSupers: readonly string[], ids: readonly string[]): void {
  if (activeSupers.filter((s) => !ids.includes(s)).length === 0) {
    throw DomainError.conflict('LAST_SUPER_ADMIN', 'The last active super admin cannot be deleted, demoted or disabled');
  }
}

/** 404 `USER_NOT_FOUND`, naming the unknown ids of a bulk request when given. */
export function userNotFound(userIds?: string[]): DomainError {
  return DomainError.notFound('USER_NOT_FOUND', 'User not found', userIds ? { userIds } : undefined);
}

function userExists(): DomainError {
  return DomainError.conflict('USER_EXISTS', 'User already exists');
}

function adminDeleteForbidden(): DomainError {
  return DomainError.forbidden('ADMIN_DELETE_FORBIDDEN', 'Cannot delete admin user');
}

/** First instant of the current UTC month: the start of "this month" in spend figures. */
export function monthStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** What an audit entry records of a user (no password hash). */
function snapshot(u: User): Record<string, unknown> {
  return {
    email: u.email,
    username: u.username,
    fullName: u.fullName,
    role: u.role,
    status: u.status,
    teamId: u.teamId,
    allowedModels: u.allowedModels,
    allowedServices: u.allowedServices,
    metadata: u.metadata,
  };
}

/** `{before, after}` of the fields that differ. */
function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const k of Object.keys(after)) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      b[k] = before[k];
      a[k] = after[k];
    }
  }
  return { before: b, after: a };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
