import {
  applyDecorators,
  ArgumentsHost,
  CanActivate,
  Catch,
  ExceptionFilter,
  ExecutionContext,
  Inject,
  Injectable,
  SetMetadata,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthUser } from '../auth/auth-user';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { apiRateLimitHeaders, retryAfterSeconds } from './rate-limit-headers';
import { RateLimitRule, RateLimitService } from './rate-limit.service';

/** The management API's rate-limit policies, by name: `llm-config` (docs/rate-limits.md "LLM config API"). */
export type ApiRateLimitPolicy = 'llm-config';

const POLICY = 'tollgate:api-rate-limit';

/** The rules of a policy for one caller id. */
function policyRules(policy: ApiRateLimitPolicy, caller: string, config: AppConfig): RateLimitRule[] {
  switch (policy) {
    case 'llm-config':
      return [
        { scope: 'llm_config_minute', id: caller, windowMs: 60_000, limit: config.rateLimit.llmConfigPerMinute, cost: 1 },
        { scope: 'llm_config_hour', id: caller, windowMs: 3_600_000, limit: config.rateLimit.llmConfigPerHour, cost: 1 },
      ];
  }
}

/**
 * The refusal of an API rate limit: 429 with Retry-After and the body
 * `{status:"error", error:{code:"RATE_LIMIT_EXCEEDED", message, retry_after}}` (retry_after in
 * seconds), rendered by ApiRateLimitExceededFilter whatever the controller's own error shape.
 */
export class ApiRateLimitExceeded extends Error {
  constructor(
    readonly retryAfter: number,
    readonly headers: Record<string, string>,
  ) {
    super('Rate limit exceeded. Please try again later.');
    this.name = 'ApiRateLimitExceeded';
  }
}

/** Renders ApiRateLimitExceeded (only it: every other error goes on to the controller's or the global filter). */
@Catch(ApiRateLimitExceeded)
export class ApiRateLimitExceededFilter implements ExceptionFilter {
  catch(e: ApiRateLimitExceeded, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const req = http.getRequest<FastifyRequest>();
    if (reply.sent || reply.raw.headersSent) return;
    void reply
      .code(429)
      .headers({ ...e.headers, 'content-type': 'application/json', 'x-request-id': String(req.id) })
      .send({ status: 'error', error: { code: 'RATE_LIMIT_EXCEEDED', message: e.message, retry_after: e.retryAfter } });
  }
}

/**
 * Applies a policy's limits per caller (docs/rate-limits.md "LLM config API"): the authenticated
 * API key's id, or the user's id for a login (JWT); runs after the global AuthGuard. Sets
 * `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds) of the
 * tighter rule on every answer.
 * @throws ApiRateLimitExceeded (429 `RATE_LIMIT_EXCEEDED`) over a limit; DomainError 503
 *   `rate_limit_unavailable` when Redis fails and RATE_LIMIT_REDIS_FAILURE_POLICY is closed
 */
@Injectable()
export class ApiRateLimitGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimitService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const policy = this.reflector.getAllAndOverride<ApiRateLimitPolicy | undefined>(POLICY, [context.getHandler(), context.getClass()]);
    if (!policy) return true;
    const http = context.switchToHttp();
    const req = http.getRequest<FastifyRequest & { user?: AuthUser }>();
    const reply = http.getResponse<FastifyReply>();
    const user = req.user;
    const caller = user?.keyId ? `key:${user.keyId}` : user ? `user:${user.id}` : `ip:${req.ip}`;
    const decision = await this.limiter.check(policyRules(policy, caller, this.config));
    if (decision.status === 'unavailable') {
      if (decision.allowed) return true;
      throw DomainError.unavailable('rate_limit_unavailable', 'Rate limiting is unavailable right now; retry shortly', { retryAfter: 1 });
    }
    const headers = apiRateLimitHeaders(decision.rules, decision.now);
    void reply.headers(headers);
    if (decision.allowed) return true;
    const retryAfter = retryAfterSeconds(decision.retryMs);
    throw new ApiRateLimitExceeded(retryAfter, { ...headers, 'retry-after': String(retryAfter) });
  }
}

/**
 * Limits a route (or every route of a controller) with a policy: `@ApiRateLimit('llm-config')`
 * applies LLM_CONFIG_RATE_LIMIT_PER_MINUTE and _PER_HOUR per service key (ApiRateLimitGuard) and
 * renders its 429 (ApiRateLimitExceededFilter). The module using it imports RateLimitModule.
 */
export const ApiRateLimit = (policy: ApiRateLimitPolicy) =>
  applyDecorators(SetMetadata(POLICY, policy), UseGuards(ApiRateLimitGuard), UseFilters(ApiRateLimitExceededFilter));
