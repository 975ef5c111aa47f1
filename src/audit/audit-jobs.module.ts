import { Module } from '@nestjs/common';
import { AuditRetentionProcessor } from './audit-retention.processor';
import { AuditRetentionRepository } from './audit-retention.repository';

/** The audit module's jobs, for the worker (src/worker.module.ts): `audit.retention` (docs/jobs.md). */
@Module({
  providers: [AuditRetentionProcessor, AuditRetentionRepository],
})
export class AuditJobsModule {}
