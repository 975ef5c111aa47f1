import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { Auth } from '../auth/auth.decorators';
import { BulkUpdateDto, CreateUserDto, ListUsersQuery, SetPasswordDto, UpdateUserDto, UserIdsDto } from './dto/user.dto';
import { UserJson } from './user-json';
import { BulkDeleteResult, UserPage, UsersService } from './users.service';

/** Answer of a create: the user, and the generated password when none was given (shown once). */
export interface CreatedUserJson {
  user: UserJson;
  generatedPassword?: string;
}

/**
 * User management for admins (docs/api/users.md). Reads: super_admin, admin, admin_viewer (or an
 * API key with `users:read` or `admin`); writes: super_admin, admin (key scope `users:write` or
 * `admin`). Admin-level accounts are changed only by a super admin (403 `ADMIN_ROLE_FORBIDDEN`)
 * and deleted only through /admin/admins (403 `ADMIN_DELETE_FORBIDDEN`). Every write is one
 * transaction with one audit entry.
 */
@Controller('admin/users')
export class AdminUsersController {
  constructor(private readonly users: UsersService) {}

  /**
   * POST /admin/users `{email, fullName?, username?, role?, password?, teamId? | teamName?,
   * allowedModels?, allowedServices?, metadata?}` → 201 `{user, generatedPassword?}`.
   * Errors: 400 `validation_failed` | `INVALID_EMAIL` | `INVALID_PASSWORD` | `INVALID_INPUT`, 403 `ADMIN_ROLE_FORBIDDEN`,
   * 404 `TEAM_NOT_FOUND`, 409 `USER_EXISTS`.
   */
  @Post()
  @Auth({ admin: true, scope: 'users:write' })
  async create(@Body() dto: CreateUserDto, @Audit() audit: AuditContext): Promise<CreatedUserJson> {
    const created = await this.users.create(dto, audit);
    const user = await this.users.get(created.id);
    return created.generatedPassword === undefined ? { user } : { user, generatedPassword: created.generatedPassword };
  }

  /**
   * GET /admin/users `?page&pageSize&search&role&status&teamId&sort&order` → `{count, list:[user], paging:{page, pageSize}}`.
   * Default order: newest first. Errors: 400 `validation_failed`.
   */
  @Get()
  @Auth({ admin: true, scope: 'users:read' })
  list(@Query() q: ListUsersQuery): Promise<UserPage> {
    return this.users.list(q);
  }

  /**
   * POST /admin/users/bulk-delete `{userIds: string[1..1000]}` → `{deleted, notFound, refused:[{id, code}]}`,
   * in one transaction (admin-level accounts are refused with code `ADMIN_DELETE_FORBIDDEN`).
   */
  @Post('bulk-delete')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  bulkDelete(@Body() dto: UserIdsDto, @Audit() audit: AuditContext): Promise<BulkDeleteResult> {
    return this.users.bulkDelete(dto.userIds, audit);
  }

  /**
   * POST /admin/users/bulk-update `{userIds, allowedModels?: {mode: replace|add|remove, values},
   * allowedServices?: {mode, values}, teamId?: uuid | null}` → `{updated: [id]}`; all or nothing.
   * Errors: 400 `validation_failed` | `INVALID_INPUT`, 403 `ADMIN_ROLE_FORBIDDEN` (`userIds`), 404 `USER_NOT_FOUND`
   * (`userIds`: the unknown ones) | `TEAM_NOT_FOUND`.
   */
  @Post('bulk-update')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  bulkUpdate(@Body() dto: BulkUpdateDto, @Audit() audit: AuditContext): Promise<{ updated: string[] }> {
    return this.users.bulkUpdate(dto, audit);
  }

  /** GET /admin/users/:id → the user. Errors: 404 `USER_NOT_FOUND`. */
  @Get(':id')
  @Auth({ admin: true, scope: 'users:read' })
  get(@Param('id') id: string): Promise<UserJson> {
    return this.users.get(id);
  }

  /**
   * PATCH /admin/users/:id, any subset of `{email, fullName, username, role, teamId, allowedModels,
   * allowedServices, metadata}` → the user. Errors: as create, plus 404 `USER_NOT_FOUND`, 409 `LAST_SUPER_ADMIN`.
   */
  @Patch(':id')
  @Auth({ admin: true, scope: 'users:write' })
  update(@Param('id') id: string, @Body() dto: UpdateUserDto, @Audit() audit: AuditContext): Promise<UserJson> {
    return this.users.update(id, dto, audit);
  }

  /** POST /admin/users/:id/disable → the user (status disabled; logins and keys stop). 403 `ADMIN_ROLE_FORBIDDEN`, 404, 409 `LAST_SUPER_ADMIN`. */
  @Post(':id/disable')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  disable(@Param('id') id: string, @Audit() audit: AuditContext): Promise<UserJson> {
    return this.users.setStatus(id, 'disabled', audit);
  }

  /** POST /admin/users/:id/enable → the user (status active). 403 `ADMIN_ROLE_FORBIDDEN`, 404 `USER_NOT_FOUND`. */
  @Post(':id/enable')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  enable(@Param('id') id: string, @Audit() audit: AuditContext): Promise<UserJson> {
    return this.users.setStatus(id, 'active', audit);
  }

  /**
   * POST /admin/users/:id/password `{password?}` → `{generatedPassword?}`; the user must change it
   * at the next login and their sessions end. 400 `INVALID_PASSWORD`, 403 `ADMIN_ROLE_FORBIDDEN`, 404 `USER_NOT_FOUND`.
   */
  @Post(':id/password')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  setPassword(@Param('id') id: string, @Body() dto: SetPasswordDto, @Audit() audit: AuditContext): Promise<{ generatedPassword?: string }> {
    return this.users.setPassword(id, dto.password, audit);
  }

  /** DELETE /admin/users/:id → 204. 403 `ADMIN_DELETE_FORBIDDEN` (admin-level accounts), 404 `USER_NOT_FOUND`. */
  @Delete(':id')
  @HttpCode(204)
  @Auth({ admin: true, scope: 'users:write' })
  remove(@Param('id') id: string, @Audit() audit: AuditContext): Promise<void> {
    return this.users.delete(id, audit, { admins: false });
  }
}
