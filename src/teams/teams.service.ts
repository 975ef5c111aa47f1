import { Injectable } from '@nestjs/common';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { isUniqueViolation } from '../common/database-errors';
import { DomainError } from '../common/domain-error';
import type { Team } from '../generated/prisma/client';
import { UserRole } from '../generated/prisma/enums';
import { KeyCheckService } from '../keys/key-check.service';
import { PrismaService } from '../prisma/prisma.service';
import { actingRole, checkMayManage, isUuid, normalizeNameList } from '../users/user-rules';
import { escapeLike } from '../common/like-pattern';
import type { UserJson } from '../users/user-json';
import { userNotFound, UsersService } from '../users/users.service';

/** A team as the API shows it (docs/api/teams.md). */
export interface TeamJson {
  id: string;
  name: string;
  allowedModels: string[];
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

/** A member in GET /admin/teams/:id: the user object's identity fields (docs/api/users.md). */
export type TeamMemberJson = Pick<UserJson, 'id' | 'did' | 'email' | 'username' | 'fullName' | 'role' | 'status'>;

/** GET /admin/teams/:id: the team and one page of its members (`{count, list, paging}`). */
export interface TeamDetailJson extends TeamJson {
  members: { count: number; list: TeamMemberJson[]; paging: { page: number; pageSize: number } };
}

/**
 * Teams (docs/api/teams.md): a name, allowed models that bound every member's keys, and members
 * (users whose teamId points at the team). Writes are one transaction with one audit entry; when
 * what members' keys may do changes (allowed models, membership, deletion) their cached keys are
 * invalidated on every replica after commit.
 */
@Injectable()
export class TeamsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly keys: KeyCheckService,
    private readonly users: UsersService,
  ) {}

  /** @throws DomainError 400 `INVALID_INPUT`, 409 `TEAM_EXISTS` */
  async create(input: { name: string; allowedModels?: string[] }, auditCtx?: AuditContext): Promise<TeamJson> {
    const name = teamName(input.name);
    const allowedModels = normalizeNameList(input.allowedModels ?? [], 'allowedModels');
    try {
      const team = await this.prisma.$transaction(async (tx) => {
        const t = await tx.team.create({ data: { name, allowedModels } });
        if (auditCtx) {
          await this.audit.inTransaction(tx, auditCtx, {
            action: 'teams.create',
            targetType: 'team',
            targetId: t.id,
            status: 201,
            changes: { created: { name, allowedModels } },
          });
        }
        return t;
      });
      return toTeamJson(team, 0);
    } catch (err) {
      if (isUniqueViolation(err)) throw teamExists();
      throw err;
    }
  }

  /** Teams by name with member counts, `search` a case-insensitive substring of the name. */
  async list(q: {
    page: number;
    pageSize: number;
    search?: string;
  }): Promise<{ count: number; list: TeamJson[]; paging: { page: number; pageSize: number } }> {
    // Prisma's `contains` does not escape LIKE wildcards: escape them so `_` and `%` match literally
    const where = q.search ? { name: { contains: escapeLike(q.search), mode: 'insensitive' as const } } : {};
    const [count, teams] = await Promise.all([
      this.prisma.team.count({ where }),
      this.prisma.team.findMany({
        where,
        orderBy: [{ name: 'asc' }, { id: 'asc' }],
        skip: (q.page - 1) * q.pageSize,
        take: q.pageSize,
        include: { _count: { select: { members: true } } },
      }),
    ]);
    return { count, list: teams.map((t) => toTeamJson(t, t._count.members)), paging: { page: q.page, pageSize: q.pageSize } };
  }

  /** The team and a page of its members (by email). @throws DomainError 404 `TEAM_NOT_FOUND` */
  async get(id: string, q: { page: number; pageSize: number }): Promise<TeamDetailJson> {
    if (!isUuid(id)) throw teamNotFound();
    const team = await this.prisma.team.findUnique({ where: { id }, include: { _count: { select: { members: true } } } });
    if (!team) throw teamNotFound();
    const members = await this.prisma.user.findMany({
      where: { teamId: id },
      orderBy: [{ email: 'asc' }],
      skip: (q.page - 1) * q.pageSize,
      take: q.pageSize,
      select: { id: true, did: true, email: true, username: true, fullName: true, role: true, status: true },
    });
    return {
      ...toTeamJson(team, team._count.members),
      members: { count: team._count.members, list: members, paging: { page: q.page, pageSize: q.pageSize } },
    };
  }

  /** Renames the team and/or replaces its allowed models. @throws DomainError 400 `INVALID_INPUT`, 404 `TEAM_NOT_FOUND`, 409 `TEAM_EXISTS` */
  async update(id: string, input: { name?: string; allowedModels?: string[] }, auditCtx?: AuditContext): Promise<TeamJson> {
    if (!isUuid(id)) throw teamNotFound();
    const data: { name?: string; allowedModels?: string[] } = {};
    if (input.name !== undefined) data.name = teamName(input.name);
    if (input.allowedModels !== undefined) data.allowedModels = normalizeNameList(input.allowedModels, 'allowedModels');
    let memberIds: string[] = [];
    let modelsChanged = false;
    try {
      await this.prisma.$transaction(async (tx) => {
        const before = await tx.team.findUnique({ where: { id } });
        if (!before) throw teamNotFound();
        const after = await tx.team.update({ where: { id }, data });
        modelsChanged = before.allowedModels.join('\n') !== after.allowedModels.join('\n');
        if (modelsChanged) memberIds = (await tx.user.findMany({ where: { teamId: id }, select: { id: true } })).map((u) => u.id);
        if (auditCtx) {
          await this.audit.inTransaction(tx, auditCtx, {
            action: 'teams.update',
            targetType: 'team',
            targetId: id,
            changes: {
              before: { name: before.name, allowedModels: before.allowedModels },
              after: { name: after.name, allowedModels: after.allowedModels },
            },
          });
        }
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw teamExists();
      throw err;
    }
    if (modelsChanged) await this.keys.invalidateUsers(memberIds);
    return this.summary(id);
  }

  /** Deletes the team; its members stay, without a team. @throws DomainError 404 `TEAM_NOT_FOUND` */
  async delete(id: string, auditCtx?: AuditContext): Promise<void> {
    if (!isUuid(id)) throw teamNotFound();
    const memberIds = await this.prisma.$transaction(async (tx) => {
      const team = await tx.team.findUnique({ where: { id } });
      if (!team) throw teamNotFound();
      const members = (await tx.user.findMany({ where: { teamId: id }, select: { id: true } })).map((u) => u.id);
      await tx.user.updateMany({ where: { teamId: id }, data: { teamId: null } });
      await tx.team.delete({ where: { id } });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'teams.delete',
          targetType: 'team',
          targetId: id,
          changes: { deleted: { name: team.name }, members },
        });
      }
      return members;
    });
    await this.keys.invalidateUsers(memberIds);
  }

  /**
   * Moves users into the team (from whatever team they were in), all or nothing.
   * @throws DomainError 403 `ADMIN_ROLE_FORBIDDEN`, 404 `TEAM_NOT_FOUND` | `USER_NOT_FOUND` (`userIds`: the unknown ones)
   */
  async addMembers(id: string, userIds: string[], auditCtx?: AuditContext): Promise<TeamJson> {
    if (!isUuid(id)) throw teamNotFound();
    await this.users.bulkUpdate({ userIds, teamId: id }, auditCtx, 'teams.add_members');
    return this.summary(id);
  }

  /**
   * Takes a user out of the team.
   * @throws DomainError 403 `ADMIN_ROLE_FORBIDDEN`, 404 `TEAM_NOT_FOUND` | `USER_NOT_FOUND` (not a member)
   */
  async removeMember(id: string, userId: string, auditCtx?: AuditContext): Promise<void> {
    if (!isUuid(id)) throw teamNotFound();
    if (!isUuid(userId)) throw userNotFound();
    await this.prisma.$transaction(async (tx) => {
      if (!(await tx.team.findUnique({ where: { id }, select: { id: true } }))) throw teamNotFound();
      const [user] = await tx.$queryRawUnsafe<{ role: UserRole; team_id: string | null }[]>(
        'SELECT role::text AS role, team_id::text AS team_id FROM users WHERE id = $1::uuid FOR UPDATE',
        userId,
      );
      if (!user || user.team_id !== id) throw userNotFound();
      checkMayManage(actingRole(auditCtx), user.role);
      await tx.user.update({ where: { id: userId }, data: { teamId: null } });
      if (auditCtx) {
        await this.audit.inTransaction(tx, auditCtx, {
          action: 'teams.remove_member',
          targetType: 'team',
          targetId: id,
          changes: { userId },
        });
      }
    });
    await this.keys.invalidateUsers([userId]);
  }

  private async summary(id: string): Promise<TeamJson> {
    const t = await this.prisma.team.findUnique({ where: { id }, include: { _count: { select: { members: true } } } });
    if (!t) throw teamNotFound();
    return toTeamJson(t, t._count.members);
  }
}

function teamName(raw: string): string {
  const name = String(raw).trim();
  if (name.length === 0 || name.length > 200) throw DomainError.badRequest('INVALID_INPUT', 'A team name has 1 to 200 characters');
  return name;
}

function toTeamJson(t: Team, memberCount: number): TeamJson {
  return {
    id: t.id,
    name: t.name,
    allowedModels: t.allowedModels,
    memberCount,
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

function teamNotFound(): DomainError {
  return DomainError.notFound('TEAM_NOT_FOUND', 'Team not found');
}

function teamExists(): DomainError {
  return DomainError.conflict('TEAM_EXISTS', 'A team with this name already exists');
}
