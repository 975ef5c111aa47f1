import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { AUDIT_QUEUE, JOB, JobName } from '../jobs/queues';
import { AuditRetentionRepository } from './audit-retention.repository';

/** Rows deleted per statement: short statements, short locks. */
export const RETENTION_BATCH = 10_000;

/**
 * `audit.retention` (daily; src/jobs/job-table.ts, docs/jobs.md): deletes audit entries older
 * than AUDIT_RETENTION_DAYS days, RETENTION_BATCH rows per statement until none is left;
 * AUDIT_RETENTION_DAYS=0 keeps everything. No payload. Safe to run twice or concurrently: a row
 * is deleted once, a second run finds fewer or none. Returns `{deleted, cutoff}` (cutoff ISO-8601, or null when keeping forever).
 */
@Processor(AUDIT_QUEUE)
export class AuditRetentionProcessor extends WorkerHost {
  static readonly handles: readonly JobName[] = [JOB.AUDIT_RETENTION];
  private readonly log = new Logger(AuditRetentionProcessor.name);

  constructor(
    private readonly repo: AuditRetentionRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  async process(job: Job): Promise<{ deleted: number; cutoff: string | null }> {
    if (job.name !== JOB.AUDIT_RETENTION) throw new Error(`no handler for job ${job.name}`);
    return this.run(new Date());
  }

  /** Deletes what is older than the retention at `now`; the job's body, callable from tests. */
  async run(now: Date): Promise<{ deleted: number; cutoff: string | null }> {
    const days = this.config.audit.retentionDays;
    if (days === 0) return { deleted: 0, cutoff: null };
    const cutoff = new Date(now.getTime() - days * 86_400_000);
    let deleted = 0;
    for (;;) {
      const n = await this.repo.deleteOlderThan(cutoff, RETENTION_BATCH);
      deleted += n;
      if (n < RETENTION_BATCH) break;
    }
    if (deleted) this.log.log(`audit retention: deleted ${deleted} entries older than ${cutoff.toISOString()}`);
    return { deleted, cutoff: cutoff.toISOString() };
  }
}
