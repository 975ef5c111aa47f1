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
 * The caller's own virtual keys (docs/api/keys.md "Own keys"). Any logged-in role may read;
 * viewers may not write (the guard's rule). An API-key caller needs `users:read` for reads and
 * `users:write` for writes. Another user's key id answers 404 key_not_found.
 */
@Controller('user/keys')
export class UserKeysController {
  constructor(private readonly keys: KeyManagementService) {}

  /**
   * POST /user/keys `{name, allowedModels?, allowedServices?, scopes?, expiresAt?, rpmLimit?,
   * tpmLimit?, creditBudget?}` → 201 the key with `secret` (shown once).
   * Errors: 400 validation_failed, 403 read_only_role / scope_not_allowed (a member gives no scopes).
   */
  @Post()
  @Auth({ scope: 'users:write' })
  create(@CurrentUser() me: AuthUser, @Body() dto: CreateKeyDto, @Audit() audit: AuditContext): Promise<CreatedKeyJson> {
    return this.keys.create(me.id, dto, audit, me);
  }

  /** GET /user/keys?page&pageSize&status=active|revoked|expired|all → `{count, list, paging}` (no secrets). */
  @Get()
  @Auth({ scope: 'users:read' })
  list(@CurrentUser() me: AuthUser, @Query() q: KeyListQueryDto) {
    return this.keys.list(me.id, q);
  }

  /** GET /user/keys/:keyId → the key. Errors: 404 key_not_found. */
  @Get(':keyId')
  @Auth({ scope: 'users:read' })
  get(@CurrentUser() me: AuthUser, @Param('keyId') keyId: string): Promise<KeyJson> {
    return this.keys.get(me.id, keyId);
  }

  /**
   * PATCH /user/keys/:keyId, any subset of the create fields (null clears expiresAt, limits,
   * budget) → the key. Errors: 400, 403 scope_not_allowed, 404 key_not_found, 409 key_revoked.
   */
  @Patch(':keyId')
  @Auth({ scope: 'users:write' })
  update(
    @CurrentUser() me: AuthUser,
    @Param('keyId') keyId: string,
    @Body() dto: UpdateKeyDto,
    @Audit() audit: AuditContext,
  ): Promise<KeyJson> {
    return this.keys.update(me.id, keyId, dto, audit, me);
  }

  /** POST /user/keys/:keyId/revoke → the revoked key (idempotent). Errors: 404 key_not_found. */
  @Post(':keyId/revoke')
  @HttpCode(200)
  @Auth({ scope: 'users:write' })
  revoke(@CurrentUser() me: AuthUser, @Param('keyId') keyId: string, @Audit() audit: AuditContext): Promise<KeyJson> {
    return this.keys.revoke(me.id, keyId, audit, me);
  }

  /** DELETE /user/keys/:keyId: the same as POST …/revoke (the row is kept for the call history). */
  @Delete(':keyId')
  @Auth({ scope: 'users:write' })
  remove(@CurrentUser() me: AuthUser, @Param('keyId') keyId: string, @Audit() audit: AuditContext): Promise<KeyJson> {
    return this.keys.revoke(me.id, keyId, audit, me);
  }

  /**
   * POST /user/keys/:keyId/rotate → the key (same id) with its new `secret`; the old secret is
   * refused at once. Errors: 404 key_not_found, 409 key_revoked.
   */
  @Post(':keyId/rotate')
  @HttpCode(200)
  @Auth({ scope: 'users:write' })
  rotate(@CurrentUser() me: AuthUser, @Param('keyId') keyId: string, @Audit() audit: AuditContext): Promise<CreatedKeyJson> {
    return this.keys.rotate(me.id, keyId, audit, me);
  }
}
