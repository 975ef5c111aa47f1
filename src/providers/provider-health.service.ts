import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';
import { REDIS } from '../redis/redis.module';
import { PROVIDER_HEALTH_CONFIG, ProviderHealthConfig } from './provider-health.config';

/** GET /ai-providers/health (docs/api/providers.md "Discovery and monitoring"). */
export interface HealthSummary {
  providers: Record<string, Record<string, { running: boolean }>>;
  /** when the state was read from the database (ISO 8601) */
  timestamp: string;
}

/**
 * The credential health summary for monitoring scrapes. Built from stored state only (one SQL
 * query over providers, credentials and credential_health; no upstream call) and shared by every
 * replica through Redis for PROVIDER_HEALTH_CACHE_TTL_MS, so a scrape costs one Redis GET.
 * Writes and /check drop the cached copy; the worker's checks show up within the TTL.
 */
@Injectable()
export class ProviderHealthService {
  private readonly log = new Logger(ProviderHealthService.name);
  private readonly key: string;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) appConfig: AppConfig,
    @Inject(PROVIDER_HEALTH_CONFIG) private readonly config: ProviderHealthConfig,
  ) {
    this.key = `${appConfig.queuePrefix}:providers:health`;
  }

  /**
   * Enabled providers by name, each with its credentials by name: running = the credential is
   * active and not marked unhealthy by its checks. A provider without credentials shows `{}`.
   */
  async summary(): Promise<HealthSummary> {
    if (this.config.healthCacheTtlMs > 0) {
      const cached = await this.redis.get(this.key).catch(() => null);
      if (cached) return JSON.parse(cached) as HealthSummary;
    }
    const rows = await this.prisma.$queryRaw<{ provider: string; credential: string | null; running: boolean | null }[]>`
      SELECT p.name AS provider, c.name AS credential, (c.active AND coalesce(h.healthy, true)) AS running
      FROM ai_providers p
      LEFT JOIN ai_credentials c ON c.provider_id = p.id
      LEFT JOIN credential_health h ON h.credential_id = c.id
      WHERE p.enabled
      ORDER BY p.name, c.name`;
    const providers: HealthSummary['providers'] = {};
    for (const r of rows) {
      const p = (providers[r.provider] ??= {});
      if (r.credential !== null) p[r.credential] = { running: r.running === true };
    }
    const summary = { providers, timestamp: new Date().toISOString() };
    if (this.config.healthCacheTtlMs > 0) {
      await this.redis
        .set(this.key, JSON.stringify(summary), 'PX', this.config.healthCacheTtlMs)
        .catch((err: Error) => this.log.warn(`health cache not written: ${err.message}`));
    }
    return summary;
  }

  /** Drops the cached summary (after a write or a /check that may have changed it). */
  async invalidate(): Promise<void> {
    await this.redis.del(this.key).catch(() => undefined);
  }
}
