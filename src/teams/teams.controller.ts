import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { Auth } from '../auth/auth.decorators';
import { UserIdsDto } from '../users/dto/user.dto';
import { CreateTeamDto, ListTeamsQuery, TeamMembersQuery, UpdateTeamDto } from './dto/team.dto';
import { TeamDetailJson, TeamJson, TeamsService } from './teams.service';

/**
 * Teams for admins (docs/api/teams.md). Reads: admin roles (key scope `users:read` or `admin`);
 * writes: super_admin, admin (key scope `users:write` or `admin`). One audit entry per write.
 */
@Controller('admin/teams')
export class TeamsController {
  constructor(private readonly teams: TeamsService) {}

  /** POST /admin/teams `{name, allowedModels?}` → 201 the team. 400 `validation_failed` | `INVALID_INPUT`, 409 `TEAM_EXISTS`. */
  @Post()
  @Auth({ admin: true, scope: 'users:write' })
  create(@Body() dto: CreateTeamDto, @Audit() audit: AuditContext): Promise<TeamJson> {
    return this.teams.create(dto, audit);
  }

  /** GET /admin/teams `?page&pageSize&search` → `{count, list:[{id, name, allowedModels, memberCount, createdAt, updatedAt}], paging}` by name. */
  @Get()
  @Auth({ admin: true, scope: 'users:read' })
  list(@Query() q: ListTeamsQuery): Promise<{ count: number; list: TeamJson[]; paging: { page: number; pageSize: number } }> {
    return this.teams.list(q);
  }

  /** GET /admin/teams/:id `?page&pageSize` → the team with `members: {count, list, paging}` (by email). 404 `TEAM_NOT_FOUND`. */
  @Get(':id')
  @Auth({ admin: true, scope: 'users:read' })
  get(@Param('id') id: string, @Query() q: TeamMembersQuery): Promise<TeamDetailJson> {
    return this.teams.get(id, q);
  }

  /** PATCH /admin/teams/:id `{name?, allowedModels?}` → the team; members' keys re-checked. 404 `TEAM_NOT_FOUND`, 409 `TEAM_EXISTS`. */
  @Patch(':id')
  @Auth({ admin: true, scope: 'users:write' })
  update(@Param('id') id: string, @Body() dto: UpdateTeamDto, @Audit() audit: AuditContext): Promise<TeamJson> {
    return this.teams.update(id, dto, audit);
  }

  /** DELETE /admin/teams/:id → 204; members stay, without a team. 404 `TEAM_NOT_FOUND`. */
  @Delete(':id')
  @HttpCode(204)
  @Auth({ admin: true, scope: 'users:write' })
  remove(@Param('id') id: string, @Audit() audit: AuditContext): Promise<void> {
    return this.teams.delete(id, audit);
  }

  /**
   * POST /admin/teams/:id/members `{userIds: string[1..1000]}` → 200 the team; all or nothing.
   * 403 `ADMIN_ROLE_FORBIDDEN`, 404 `TEAM_NOT_FOUND` | `USER_NOT_FOUND` (`userIds`: the unknown ones).
   */
  @Post(':id/members')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  addMembers(@Param('id') id: string, @Body() dto: UserIdsDto, @Audit() audit: AuditContext): Promise<TeamJson> {
    return this.teams.addMembers(id, dto.userIds, audit);
  }

  /** DELETE /admin/teams/:id/members/:userId → 204. 403 `ADMIN_ROLE_FORBIDDEN`, 404 `TEAM_NOT_FOUND` | `USER_NOT_FOUND` (not a member). */
  @Delete(':id/members/:userId')
  @HttpCode(204)
  @Auth({ admin: true, scope: 'users:write' })
  removeMember(@Param('id') id: string, @Param('userId') userId: string, @Audit() audit: AuditContext): Promise<void> {
    return this.teams.removeMember(id, userId, audit);
  }
}
