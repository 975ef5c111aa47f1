import { Module } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ModelCallsModule } from '../model-calls/model-calls.module';
import { ApiRateLimitGuard } from './api-rate-limit';
import { GatewayRateLimits } from './gateway-rate-limits.service';
import { RATE_LIMIT_REDIS } from './rate-limit.tokens';
import { RateLimitService } from './rate-limit.service';

/**
 * The limiter's own connection: commands fail at once while it is not connected (no offline
 * queue, no retries) and time out after RATE_LIMIT_REDIS_TIMEOUT_MS, so a request never waits on
 * Redis longer than that.
 */
export function connectRateLimitRedis(config: AppConfig): Redis {
  const client = new Redis(config.rateLimit.redisUrl, {
    commandTimeout: config.rateLimit.redisTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectionName: 'tollgate-rate-limit',
  });
  client.on('error', () => undefined); // reconnects by itself; failures are counted by RateLimitService
  return client;
}

/**
 * Rate limits shared by every api replica through Redis (docs/rate-limits.md): RateLimitService
 * (the sliding-window check), GatewayRateLimits (per key and per user on /v1) and, for management
 * routes, `@ApiRateLimit(policy)` with ApiRateLimitGuard (src/rate-limit/api-rate-limit.ts).
 */
@Module({
  imports: [ModelCallsModule],
  providers: [
    { provide: RATE_LIMIT_REDIS, inject: [APP_CONFIG], useFactory: connectRateLimitRedis },
    RateLimitService,
    GatewayRateLimits,
    ApiRateLimitGuard,
  ],
  exports: [RateLimitService, GatewayRateLimits, ApiRateLimitGuard],
})
export class RateLimitModule {}
