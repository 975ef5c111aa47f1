import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseFilters } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { Auth } from '../auth/auth.decorators';
import { isAdminRole } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { UsersService } from '../users/users.service';
import { ToieeCreateUserDto, ToieeListQuery, ToieePasswordDto } from './dto/toiee-user.dto';
import { ToieeExceptionFilter } from './toiee-exception.filter';

/** POST /api/toiee/users answer. */
export interface ToieeCreatedJson {
  success: true;
  message: 'User created successfully';
  user: { id: string; email: string; name: string; username: string | null };
  generatedPassword?: string;
}

/** A user in GET /api/toiee/users. */
export interface ToieeUserJson {
  id: string;
  email: string;
  name: string;
  username: string | null;
  /** "ADMIN" for super_admin, admin and admin_viewer; "USER" otherwise */
  role: 'ADMIN' | 'USER';
  createdAt: string;
}

/** GET /api/toiee/users answer. */
export interface ToieeListJson {
  success: true;
  users: ToieeUserJson[];
  pagination: { currentPage: number; totalPages: number; totalUsers: number; hasNext: boolean; hasPrev: boolean };
}

/**
 * The external user-management API (docs/api/toiee-users.md): a thin adapter over UsersService
 * with its own bodies and error shape `{success:false, message, error}` (ToieeExceptionFilter).
 * Auth: `X-API-Key` with a key of an admin (super_admin/admin for writes) carrying `users:write`
 * (writes), `users:read` (list) or `admin`; or an admin's login JWT. Bodies at most 3 MiB.
 */
@Controller('api/toiee/users')
@UseFilters(ToieeExceptionFilter)
export class ToieeUsersController {
  constructor(private readonly users: UsersService) {}

  /**
   * POST /api/toiee/users `{email, name, username, password?}` → 201 `{success, message, user:{id, email, name,
   * username}, generatedPassword?}`. Errors: 400 INVALID_INPUT | INVALID_EMAIL, 409 USER_EXISTS.
   */
  @Post()
  @Auth({ admin: true, scope: 'users:write' })
  async create(@Body() dto: ToieeCreateUserDto, @Audit() audit: AuditContext): Promise<ToieeCreatedJson> {
    if (!dto.email?.trim() || !dto.name?.trim() || !dto.username?.trim()) {
      throw DomainError.badRequest('INVALID_INPUT', 'Email, name, and username are required');
    }
    const u = await this.users.create({ email: dto.email, fullName: dto.name, username: dto.username, password: dto.password }, audit);
    return {
      success: true,
      message: 'User created successfully',
      user: { id: u.id, email: u.email, name: u.fullName, username: u.username },
      ...(u.generatedPassword === undefined ? {} : { generatedPassword: u.generatedPassword }),
    };
  }

  /** GET /api/toiee/users `?page&limit` → `{success, users, pagination}`, newest first. Errors: 400 INVALID_INPUT. */
  @Get()
  @Auth({ admin: true, scope: 'users:read' })
  async list(@Query() q: ToieeListQuery): Promise<ToieeListJson> {
    const page = await this.users.list({ page: q.page, pageSize: q.limit, sort: 'createdAt', order: 'desc' });
    const totalPages = Math.ceil(page.count / q.limit);
    return {
      success: true,
      users: page.list.map((u) => ({
        id: u.id,
        email: u.email,
        name: u.fullName,
        username: u.username,
        role: isAdminRole(u.role) ? 'ADMIN' : 'USER',
        createdAt: u.createdAt,
      })),
      pagination: { currentPage: q.page, totalPages, totalUsers: page.count, hasNext: q.page < totalPages, hasPrev: q.page > 1 },
    };
  }

  /**
   * PUT /api/toiee/users/:userId/password `{password?}` → `{success, message, generatedPassword?}`
   * (generated when omitted; must be changed at the next login). Errors: 400 INVALID_INPUT,
   * 403 ADMIN_ROLE_FORBIDDEN (an admin account, unless the caller is a super admin), 404 USER_NOT_FOUND.
   */
  @Put(':userId/password')
  @Auth({ admin: true, scope: 'users:write' })
  async setPassword(
    @Param('userId') userId: string,
    @Body() dto: ToieePasswordDto,
    @Audit() audit: AuditContext,
  ): Promise<{ success: true; message: string; generatedPassword?: string }> {
    const r = await this.users.setPassword(userId, dto.password, audit);
    return { success: true, message: 'Password updated successfully', ...r };
  }

  /** DELETE /api/toiee/users/:userId → `{success, message}`. Errors: 403 ADMIN_DELETE_FORBIDDEN, 404 USER_NOT_FOUND. */
  @Delete(':userId')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  async remove(@Param('userId') userId: string, @Audit() audit: AuditContext): Promise<{ success: true; message: string }> {
    await this.users.delete(userId, audit, { admins: false });
    return { success: true, message: 'User deleted successfully' };
  }
}
