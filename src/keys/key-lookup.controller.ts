import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import type { AuditContext } from '../audit/audit-entry';
import type { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { LookupUsersDto } from './dto/lookup-users.dto';
import { KeyManagementService, LookupUserJson } from './key-management.service';

/**
 * Fetching keys for integrations (docs/api/keys.md "Revealing secrets", "Lookup by user ids").
 */
@Controller('admin')
export class KeyLookupController {
  constructor(private readonly keys: KeyManagementService) {}

  /**
   * GET /admin/keys/:keyId/secret → `{secret}`. Only an API key with the explicit `keys:reveal`
   * scope whose user is super_admin or admin (an admin's key: super_admin only); a JWT or the
   * `admin` scope alone answers 403 reveal_not_allowed. Audited (keys.reveal) before answering.
   * Errors: 401, 403 reveal_not_allowed / forbidden, 404 key_not_found, 409 key_revoked / secret_not_kept.
   */
  @Get('keys/:keyId/secret')
  @Auth({ admin: true, scope: 'keys:reveal' })
  reveal(@CurrentUser() actor: AuthUser, @Param('keyId') keyId: string, @Audit() audit: AuditContext): Promise<{ secret: string }> {
    return this.keys.reveal(keyId, audit, actor);
  }

  /**
   * POST /admin/users/lookup `{userIds: [≤ 1000 UUIDs or DIDs]}` → 200 `{users: [{id, did, email,
   * fullName, role, status, team, allowedModels, allowedServices, metadata, keys}], notFound}`.
   * Keys carry `secret` when the caller may reveal (as GET …/secret; one keys.reveal entry per key).
   * Errors: 400 validation_failed, 401, 403 forbidden / insufficient_scope (API key: `users:read` or `admin`).
   */
  @Post('users/lookup')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:read', reads: true })
  lookup(
    @CurrentUser() actor: AuthUser,
    @Body() dto: LookupUsersDto,
    @Audit() audit: AuditContext,
  ): Promise<{ users: LookupUserJson[]; notFound: string[] }> {
    return this.keys.lookupUsers(dto.userIds, audit, actor);
  }
}
