import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { REDIS } from '../redis/redis.tokens';

/** Longest token id kept (a JWT id is a UUID; anything longer is not ours). */
const MAX_JTI_LENGTH = 64;

/**
 * Login tokens ended one by one (POST /auth/logout; docs/api/auth.md): a token's id (`jti`) is
 * kept in Redis under `<QUEUE_PREFIX>:jwt-deny:<jti>` until the token would have expired anyway,
 * and jwt.strategy.ts refuses tokens found there.
 */
@Injectable()
export class SessionDenyList {
  private readonly log = new Logger(SessionDenyList.name);
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.queuePrefix}:jwt-deny:`;
  }

  /**
   * Ends the token `jti` until `expiresAt`.
   * @param expiresAt the token's `exp` (Unix seconds)
   * @throws DomainError 503 `service_unavailable` (Retry-After: 1) when Redis cannot store it
   */
  async deny(jti: string, expiresAt: number): Promise<void> {
    const ttl = Math.max(1, Math.ceil(expiresAt - Date.now() / 1000));
    try {
      await this.redis.set(this.key(jti), '1', 'EX', ttl);
    } catch (err) {
      this.log.warn(`logout not recorded, Redis failed: ${(err as Error).message}`);
      throw DomainError.unavailable('service_unavailable', 'The logout could not be recorded; try again, or use POST /auth/logout-all', {
        retryAfter: 1,
      });
    }
  }

  /** True when the token was logged out. Fails open: if Redis fails, false and a warning is logged. */
  async isDenied(jti: string): Promise<boolean> {
    try {
      return (await this.redis.get(this.key(jti))) !== null;
    } catch (err) {
      this.log.warn(`logout deny-list not checked, Redis failed (${(err as Error).message}): token accepted`);
      return false;
    }
  }

  private key(jti: string): string {
    return this.prefix + jti.slice(0, MAX_JTI_LENGTH);
  }
}
