import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseFilters } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import type { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ApiRateLimit } from '../rate-limit/api-rate-limit';
import { assertAgentCaller } from './agent-caller';
import { LlmConfigBatchDto, LlmConfigQueryDto } from './dto/llm-config-query.dto';
import { LlmConfigExceptionFilter } from './llm-config-exception.filter';
import type { LlmConfigBatchData, LlmConfigData, LlmConfigEnvelope } from './llm-config-json';
import { LlmConfigService } from './llm-config.service';
import { parseIdentity } from './usernames';

/**
 * The LLM configuration API for coding agents (docs/api/llm-config.md; integration guide
 * docs/coding-agents.md). Not a gateway route: no VirtualKeyGuard; the global guard with the
 * `llm-config:read` scope, then assertAgentCaller (a service key of a super_admin/admin holding
 * that scope). Answers `{status:"success", data}`; every error `{status:"error", error:{code,
 * message, details?}}` (LlmConfigExceptionFilter). Successful reads are written to the audit log.
 */
@Controller('v1/users')
@UseFilters(LlmConfigExceptionFilter)
export class LlmConfigController {
  constructor(
    private readonly configs: LlmConfigService,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * GET /v1/users/:platform/:username/llm-config?include_system_prompt=true&mask=false →
   * `{status:"success", data: LlmConfigData}`. HEAD on the same path (Fastify's automatic HEAD
   * route, this handler) answers the same status and headers without a body. Errors: 400 INVALID_PLATFORM | INVALID_USERNAME |
   * INVALID_REQUEST, 401 UNAUTHORIZED, 403 FORBIDDEN, 404 USER_NOT_FOUND | CONFIG_NOT_FOUND, 429
   * RATE_LIMIT_EXCEEDED, 500 INTERNAL_SERVER_ERROR, 503 SERVICE_UNAVAILABLE.
   */
  @Get(':platform/:username/llm-config')
  @Auth({ scope: 'llm-config:read' })
  @ApiRateLimit('llm-config')
  async get(
    @CurrentUser() user: AuthUser,
    @Param('platform') platform: string,
    @Param('username') username: string,
    @Query() q: LlmConfigQueryDto,
    @Audit() audit: AuditContext,
  ): Promise<LlmConfigEnvelope<LlmConfigData>> {
    assertAgentCaller(user);
    const ref = parseIdentity(platform, username);
    const data = await this.configs.getOne(ref, { includeSystemPrompt: q.include_system_prompt ?? true, mask: q.mask ?? false });
    this.audit.enqueue(audit, {
      action: 'llm-config.read',
      targetType: 'external_identity',
      targetId: data.user_id,
      changes: { masked: q.mask ?? false },
    });
    return { status: 'success', data };
  }

  /**
   * POST /v1/users/llm-configs/batch `{users:[{platform, username}], include_system_prompt?, mask?}`
   * → `{status:"success", data:{configs, not_found}}`: each distinct user once (request order),
   * at most LLM_CONFIG_BATCH_MAX_USERS (default 100) users. Errors: 400 INVALID_REQUEST (too many
   * users, bad body) | INVALID_PLATFORM | INVALID_USERNAME (with `details.index`), 401, 403, 429.
   */
  @Post('llm-configs/batch')
  @Auth({ scope: 'llm-config:read', reads: true })
  @ApiRateLimit('llm-config')
  @HttpCode(200)
  async batch(
    @CurrentUser() user: AuthUser,
    @Body() dto: LlmConfigBatchDto,
    @Audit() audit: AuditContext,
  ): Promise<LlmConfigEnvelope<LlmConfigBatchData>> {
    assertAgentCaller(user);
    const max = this.config.llmConfig.batchMaxUsers;
    if (dto.users.length > max) {
      throw new DomainError(400, 'INVALID_REQUEST', `At most ${max} users per batch (got ${dto.users.length})`);
    }
    const refs = dto.users.map((u, index) => {
      try {
        return parseIdentity(u.platform, u.username);
      } catch (e) {
        if (e instanceof DomainError)
          throw new DomainError(e.status, e.code, `users[${index}]: ${e.message}`, { details: { ...e.details, index } });
        throw e;
      }
    });
    const data = await this.configs.getBatch(refs, { includeSystemPrompt: dto.include_system_prompt ?? true, mask: dto.mask ?? false });
    this.audit.enqueue(audit, {
      action: 'llm-config.batch-read',
      targetType: 'external_identity',
      changes: { found: data.configs.map((c) => c.user_id), notFound: data.not_found, masked: dto.mask ?? false },
    });
    return { status: 'success', data };
  }
}
