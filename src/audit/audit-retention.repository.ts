import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

/**
 * The retention delete of audit_logs (docs/audit-log.md "Retention"; docs/data-access.md: a
 * set-based statement on the pool). Each call deletes at most `batch` of the oldest rows
 * created before `cutoff`, found through the (created_at, id) index, in a statement of its own
 * (autocommit), so no lock is held for long and writers never wait on it.
 */
@Injectable()
export class AuditRetentionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** @returns rows deleted (< batch: nothing older is left) */
  async deleteOlderThan(cutoff: Date, batch: number): Promise<number> {
    const r = await this.prisma.pool.query(
      `DELETE FROM audit_logs WHERE id IN (
         SELECT id FROM audit_logs WHERE created_at < $1::timestamptz ORDER BY created_at, id LIMIT $2
       )`,
      [cutoff.toISOString(), batch],
    );
    return r.rowCount ?? 0;
  }
}
