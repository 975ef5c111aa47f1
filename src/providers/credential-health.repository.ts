import { Injectable } from '@nestjs/common';
import type { PoolClient, QueryConfig } from 'pg';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/** The raw statements of credential_health, one builder each (text and values). */
export const credentialHealthQueries = {
  ensureRow: (credentialId: string): QueryConfig => ({
    text: `INSERT INTO credential_health (credential_id, recent_failures)
SELECT id, '{}' FROM ai_credentials WHERE id = $1::uuid ON CONFLICT DO NOTHING`,
    values: [credentialId],
  }),
  lock: (credentialId: string): QueryConfig => ({
    text: 'SELECT healthy, recent_failures FROM credential_health WHERE credential_id = $1::uuid FOR UPDATE',
    values: [credentialId],
  }),
  saveFailure: (credentialId: string, f: CredentialFailure): QueryConfig => ({
    text: `UPDATE credential_health SET healthy = $2, recent_failures = $3::timestamptz[],
  failure_count = failure_count + 1, last_error = $4, last_failure_at = $5, updated_at = $6
WHERE credential_id = $1::uuid`,
    values: [credentialId, f.healthy, f.recentFailures, f.error, f.at, f.at],
  }),
  recordSuccess: (credentialId: string, at: Date): QueryConfig => ({
    text: `INSERT INTO credential_health (credential_id, healthy, recent_failures, success_count, last_success_at, updated_at)
SELECT id, true, '{}', 1, $2, $3 FROM ai_credentials WHERE id = $1::uuid
ON CONFLICT (credential_id) DO UPDATE SET healthy = true, recent_failures = '{}',
  success_count = credential_health.success_count + 1, last_success_at = EXCLUDED.last_success_at, updated_at = EXCLUDED.updated_at`,
    values: [credentialId, at, at],
  }),
};

/** What a failure leaves in a credential's health row. */
export interface CredentialFailure {
  healthy: boolean;
  /** newest first */
  recentFailures: Date[];
  /** short reason, never the secret */
  error: string;
  at: Date;
}

/**
 * SQL of credential_health; the failure-window rule is in CredentialHealthRecorder. Raw
 * statements take an optional `PoolClient`, Prisma CRUD an optional `Prisma.TransactionClient`:
 * pass the transaction's client to make a call part of that transaction (docs/data-access.md).
 */
@Injectable()
export class CredentialHealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Creates the credential's health row (healthy, no failures) if missing; nothing if the credential is gone. */
  async ensureRow(credentialId: string, c?: PoolClient): Promise<void> {
    await this.db(c).query(credentialHealthQueries.ensureRow(credentialId));
  }

  /**
   * Locks the credential's health row until `c`'s transaction ends.
   * @returns its state, or null when there is no row
   */
  async lock(credentialId: string, c: PoolClient): Promise<{ healthy: boolean; recentFailures: Date[] } | null> {
    const res = await c.query<{ healthy: boolean; recent_failures: Date[] | null }>(credentialHealthQueries.lock(credentialId));
    if (res.rows.length === 0) return null;
    return { healthy: res.rows[0].healthy, recentFailures: res.rows[0].recent_failures ?? [] };
  }

  /** Writes a failure: state, failure window, one more failure counted. */
  async saveFailure(credentialId: string, failure: CredentialFailure, c?: PoolClient): Promise<void> {
    await this.db(c).query(credentialHealthQueries.saveFailure(credentialId, failure));
  }

  /** Marks the credential healthy with an empty failure window and counts the success. */
  async recordSuccess(credentialId: string, at: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(credentialHealthQueries.recordSuccess(credentialId, at));
  }

  /** Deletes the credential's health row. */
  async delete(credentialId: string, tx: Prisma.TransactionClient = this.prisma): Promise<void> {
    await tx.credentialHealth.deleteMany({ where: { credentialId } });
  }

  private db(c?: PoolClient): Pick<PoolClient, 'query'> {
    return c ?? this.prisma.pool;
  }
}
