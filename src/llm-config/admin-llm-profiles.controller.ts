import { Body, Controller, Delete, Get, Param, Post, Put } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import type { AuditContext } from '../audit/audit-entry';
import type { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { CreateIdentityDto, PutLlmProfileDto } from './dto/llm-profile.dto';
import { IdentityJson, LlmProfileJson, LlmProfilesService } from './llm-profiles.service';

/**
 * Admin management of a user's GitHub/GitLab identities and LLM profile (docs/api/llm-config.md
 * "Admin endpoints"): reads for super_admin, admin, admin_viewer (API keys: `users:read`), writes
 * for super_admin and admin (`users:write`); another admin account's settings only by a
 * super_admin. `:id` is the user's UUID. Errors are the management API's `{statusCode, code, message}`.
 */
@Controller('admin/users/:id')
export class AdminLlmProfilesController {
  constructor(private readonly profiles: LlmProfilesService) {}

  /** GET /admin/users/:id/identities → `{count, list:[{userId, platform, username, createdAt}]}`. Errors: 404 user_not_found. */
  @Get('identities')
  @Auth({ admin: true, scope: 'users:read' })
  listIdentities(@Param('id') userId: string): Promise<{ count: number; list: IdentityJson[] }> {
    return this.profiles.listIdentities(userId);
  }

  /**
   * POST /admin/users/:id/identities `{platform, username}` → 201 the identity. Errors: 400
   * validation_failed, 403 forbidden, 404 user_not_found, 409 identity_exists.
   */
  @Post('identities')
  @Auth({ admin: true, scope: 'users:write' })
  addIdentity(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Body() dto: CreateIdentityDto,
    @Audit() audit: AuditContext,
  ): Promise<IdentityJson> {
    return this.profiles.addIdentity(userId, dto, audit, actor);
  }

  /** DELETE /admin/users/:id/identities/:platform → the identity removed. Errors: 400, 403, 404 user_not_found | identity_not_found. */
  @Delete('identities/:platform')
  @Auth({ admin: true, scope: 'users:write' })
  removeIdentity(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Param('platform') platform: string,
    @Audit() audit: AuditContext,
  ): Promise<IdentityJson> {
    return this.profiles.removeIdentity(userId, platform, audit, actor);
  }

  /** GET /admin/users/:id/llm-profile → the profile, `openai.apiKey` masked. Errors: 404 user_not_found | llm_profile_not_found. */
  @Get('llm-profile')
  @Auth({ admin: true, scope: 'users:read' })
  getProfile(@Param('id') userId: string): Promise<LlmProfileJson> {
    return this.profiles.getProfile(userId);
  }

  /**
   * PUT /admin/users/:id/llm-profile (PutLlmProfileDto) → the profile, masked. Errors: 400
   * validation_failed, 403 forbidden, 404 user_not_found.
   */
  @Put('llm-profile')
  @Auth({ admin: true, scope: 'users:write' })
  putProfile(
    @CurrentUser() actor: AuthUser,
    @Param('id') userId: string,
    @Body() dto: PutLlmProfileDto,
    @Audit() audit: AuditContext,
  ): Promise<LlmProfileJson> {
    return this.profiles.putProfile(userId, dto, audit, actor);
  }

  /** DELETE /admin/users/:id/llm-profile → the profile removed, masked. Errors: 403, 404 user_not_found | llm_profile_not_found. */
  @Delete('llm-profile')
  @Auth({ admin: true, scope: 'users:write' })
  deleteProfile(@CurrentUser() actor: AuthUser, @Param('id') userId: string, @Audit() audit: AuditContext): Promise<LlmProfileJson> {
    return this.profiles.deleteProfile(userId, audit, actor);
  }
}
