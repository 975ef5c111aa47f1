import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';
import { PROVIDER_HEALTH_CONFIG, ProviderHealthConfig } from './provider-health.config';

/**
 * Records what checks learn about a credential (health-check jobs in the worker, /check in the
 * api) in credential_health. A credential turns unhealthy when CREDENTIAL_FAILURE_THRESHOLD
 * failures fall within the sliding CREDENTIAL_FAILURE_WINDOW_SECONDS (one failure is never
 * enough unless the threshold is 1) and healthy again on the next success. Each record is one
 * transaction holding the row lock, so concurrent checks count every failure once.
 * Used by both processes: it needs PostgreSQL only.
 */
@Injectable()
export class CredentialHealthRecorder {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(PROVIDER_HEALTH_CONFIG) private readonly config: ProviderHealthConfig,
  ) {}

  /** @returns whether the credential is healthy after this failure (null: credential gone). */
  async recordFailure(credentialId: string, reason: string, now = new Date()): Promise<boolean | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$executeRaw`INSERT INTO credential_health (credential_id, recent_failures) SELECT id, '{}' FROM ai_credentials WHERE id = ${credentialId}::uuid ON CONFLICT DO NOTHING`;
      const rows = await tx.$queryRaw<{ healthy: boolean; recent_failures: Date[] | null }[]>`
        SELECT healthy, recent_failures FROM credential_health WHERE credential_id = ${credentialId}::uuid FOR UPDATE`;
      if (rows.length === 0) return null;
      const since = now.getTime() - this.config.failureWindowMs;
      const recent = [now, ...(rows[0].recent_failures ?? []).filter((t) => t.getTime() > since)]
        .sort((a, b) => b.getTime() - a.getTime())
        .slice(0, this.config.failureThreshold);
      const healthy = rows[0].healthy && recent.length < this.config.failureThreshold;
      await tx.$executeRaw`
        UPDATE credential_health SET healthy = ${healthy}, recent_failures = ${recent}::timestamptz[],
          failure_count = failure_count + 1, last_error = ${reason.slice(0, 200)}, last_failure_at = ${now}, updated_at = ${now}
        WHERE credential_id = ${credentialId}::uuid`;
      return healthy;
    });
  }

  /** A success clears the failure window and marks the credential healthy. */
  async recordSuccess(credentialId: string, now = new Date()): Promise<void> {
    await this.prisma.$executeRaw`
      INSERT INTO credential_health (credential_id, healthy, recent_failures, success_count, last_success_at, updated_at)
      SELECT id, true, '{}', 1, ${now}, ${now} FROM ai_credentials WHERE id = ${credentialId}::uuid
      ON CONFLICT (credential_id) DO UPDATE SET healthy = true, recent_failures = '{}',
        success_count = credential_health.success_count + 1, last_success_at = EXCLUDED.last_success_at, updated_at = EXCLUDED.updated_at`;
  }

  /** Forgets the health of a credential whose value changed (a new secret starts healthy). */
  async reset(credentialId: string): Promise<void> {
    await this.prisma.credentialHealth.deleteMany({ where: { credentialId } });
  }
}
