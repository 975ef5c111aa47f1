import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { Auth } from '../auth/auth.decorators';
import { isAdminRole, ROLES } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { CreatedUserJson } from './admin-users.controller';
import { CreateUserDto, ListUsersQuery } from './dto/user.dto';
import { roleFrom } from './user-rules';
import { UserPage, UsersService } from './users.service';

/** The admin-level roles, the only ones /admin/admins manages. */
const ADMIN_ROLES = ROLES.filter(isAdminRole);

/**
 * Admin accounts (super_admin, admin, admin_viewer), managed by super admins only (docs/api/users.md
 * "Admin accounts"). An API key needs the `admin` scope and a super admin's user.
 */
@Controller('admin/admins')
@Auth({ admin: 'super' })
export class AdminsController {
  constructor(private readonly users: UsersService) {}

  /**
   * POST /admin/admins: body as POST /admin/users, `role` one of super_admin, admin, admin_viewer
   * (default admin) → 201 `{user, generatedPassword?}`. Errors as POST /admin/users; a non-admin role → 400 `INVALID_INPUT`.
   */
  @Post()
  async create(@Body() dto: CreateUserDto, @Audit() audit: AuditContext): Promise<CreatedUserJson> {
    const role = roleFrom(dto.role ?? 'admin');
    if (!isAdminRole(role)) throw DomainError.badRequest('INVALID_INPUT', 'role must be super_admin, admin or admin_viewer');
    const created = await this.users.create({ ...dto, role }, audit, 'admins.create');
    const user = await this.users.get(created.id);
    return created.generatedPassword === undefined ? { user } : { user, generatedPassword: created.generatedPassword };
  }

  /** GET /admin/admins, query as GET /admin/users (a `role` filter narrows to one admin role) → `{count, list, paging}`. */
  @Get()
  list(@Query() q: ListUsersQuery): Promise<UserPage> {
    return this.users.list(q.role ? { ...q, roles: isAdminRole(q.role) ? [q.role] : [] } : { ...q, roles: ADMIN_ROLES });
  }

  /** DELETE /admin/admins/:id → 204. 404 `USER_NOT_FOUND` (no such admin), 409 `LAST_SUPER_ADMIN`. */
  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string, @Audit() audit: AuditContext): Promise<void> {
    return this.users.delete(id, audit, { admins: true });
  }
}
