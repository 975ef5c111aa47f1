import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import type { AuditContext } from '../audit/audit-entry';
import type { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { CreateKeyDto, UpdateKeyDto } from './dto/key-input.dto';
import { KeyListQueryDto } from './dto/key-list-query.dto';
import { CreatedKeyJson, KeyJson } from './key-json';
import { KeyManagementService } from './key-management.service';

/**
 * Any user's virtual keys, for admins (docs/api/keys.md "Keys of any user"): reads for
 * super_admin, admin and admin_viewer, writes for super_admin and admin; the keys of admin
 * accounts are changed by a super_admin (or their owner) only. An API-key caller needs `admin`,
 * or `users:read` / `users:write`. `:id` is the user's UUID.
 */
@Controller('admin/users/:id/keys')
export class AdminUserKeysController {
  constructor(private readonly keys: KeyManagementService) {}

  /** POST → 201 the key with `secret`. Errors: 400, 403 forbidden / scope_not_allowed, 404 user_not_found. */
  @Post()
  @Auth({ admin: true, scope: 'users:write' })
  create(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Body() dto: CreateKeyDto,
    @Audit() audit: AuditContext,
  ): Promise<CreatedKeyJson> {
    return this.keys.create(userId, dto, audit, actor);
  }

  /** GET ?page&pageSize&status → `{count, list, paging}`. Errors: 404 user_not_found. */
  @Get()
  @Auth({ admin: true, scope: 'users:read' })
  list(@Param('id') userId: string, @Query() q: KeyListQueryDto) {
    return this.keys.list(userId, q);
  }

  /** GET /:keyId → the key. Errors: 404 key_not_found. */
  @Get(':keyId')
  @Auth({ admin: true, scope: 'users:read' })
  get(@Param('id') userId: string, @Param('keyId') keyId: string): Promise<KeyJson> {
    return this.keys.get(userId, keyId);
  }

  /** PATCH /:keyId → the key. Errors: 400, 403, 404 user_not_found / key_not_found, 409 key_revoked. */
  @Patch(':keyId')
  @Auth({ admin: true, scope: 'users:write' })
  update(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Param('keyId') keyId: string,
    @Body() dto: UpdateKeyDto,
    @Audit() audit: AuditContext,
  ): Promise<KeyJson> {
    return this.keys.update(userId, keyId, dto, audit, actor);
  }

  /** POST /:keyId/revoke → the revoked key (idempotent). Errors: 403, 404. */
  @Post(':keyId/revoke')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  revoke(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Param('keyId') keyId: string,
    @Audit() audit: AuditContext,
  ): Promise<KeyJson> {
    return this.keys.revoke(userId, keyId, audit, actor);
  }

  /** DELETE /:keyId: the same as POST …/revoke. */
  @Delete(':keyId')
  @Auth({ admin: true, scope: 'users:write' })
  remove(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Param('keyId') keyId: string,
    @Audit() audit: AuditContext,
  ): Promise<KeyJson> {
    return this.keys.revoke(userId, keyId, audit, actor);
  }

  /** POST /:keyId/rotate → the key (same id) with its new `secret`. Errors: 403, 404, 409 key_revoked. */
  @Post(':keyId/rotate')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  rotate(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Param('keyId') keyId: string,
    @Audit() audit: AuditContext,
  ): Promise<CreatedKeyJson> {
    return this.keys.rotate(userId, keyId, audit, actor);
  }
}
