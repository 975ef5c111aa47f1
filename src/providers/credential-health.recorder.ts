import { Inject, Injectable } from '@nestjs/common';
import { withPoolTransaction } from '../prisma/pool-transaction';
import { PrismaService } from '../prisma/prisma.service';
import { CredentialHealthRepository } from './credential-health.repository';
import { PROVIDER_HEALTH_CONFIG, ProviderHealthConfig } from './provider-health.config';

/**
 * Records what checks learn about a credential (health-check jobs in the worker, /check in the
 * api) in credential_health. A credential turns unhealthy when CREDENTIAL_FAILURE_THRESHOLD
 * failures fall within the sliding CREDENTIAL_FAILURE_WINDOW_SECONDS (one failure is never
 * enough unless the threshold is 1) and healthy again on the next success. Each record is one
 * transaction holding the row lock, so concurrent checks count every failure once.
 * Used by both processes: it needs PostgreSQL only. The statements are in CredentialHealthRepository.
 */
@Injectable()
export class CredentialHealthRecorder {
  constructor(
    private readonly prisma: PrismaService,
    private readonly health: CredentialHealthRepository,
    @Inject(PROVIDER_HEALTH_CONFIG) private readonly config: ProviderHealthConfig,
  ) {}

  /** @returns whether the credential is healthy after this failure (null: credential gone). */
  async recordFailure(credentialId: string, reason: string, now = new Date()): Promise<boolean | null> {
    return withPoolTransaction(this.prisma.pool, async (c) => {
      await this.health.ensureRow(credentialId, c);
      const row = await this.health.lock(credentialId, c);
      if (row === null) return null;
      const since = now.getTime() - this.config.failureWindowMs;
      const recent = [now, ...row.recentFailures.filter((t) => t.getTime() > since)]
        .sort((a, b) => b.getTime() - a.getTime())
        .slice(0, this.config.failureThreshold);
      const healthy = row.healthy && recent.length < this.config.failureThreshold;
      await this.health.saveFailure(credentialId, { healthy, recentFailures: recent, error: reason.slice(0, 200), at: now }, c);
      return healthy;
    });
  }

  /** A success clears the failure window and marks the credential healthy. */
  async recordSuccess(credentialId: string, now = new Date()): Promise<void> {
    await this.health.recordSuccess(credentialId, now);
  }

  /** Forgets the health of a credential whose value changed (a new secret starts healthy). */
  async reset(credentialId: string): Promise<void> {
    await this.health.delete(credentialId);
  }
}
