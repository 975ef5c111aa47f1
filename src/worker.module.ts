import { InjectQueue } from '@nestjs/bullmq';
import { Module, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { ConfigModule } from './config/config.module';
import { JobsModule } from './jobs/jobs.module';
import { CallSettlementRepository } from './credits/call-settlement.repository';
import { CreditsMaintenanceProcessor } from './credits/credits-maintenance.processor';
import { GrantExpiryProcessor } from './credits/grant-expiry.processor';
import { GrantExpiryScheduler } from './credits/grant-expiry.scheduler';
import { GrantExpiryService } from './credits/grant-expiry.service';
import { ALL_JOB_NAMES, APPLY_PENDING_DEBITS_EVERY_MS, CALL_RECOVERY_QUEUE, JOB, MAINTENANCE_QUEUE, RECOVER_CALLS_EVERY_MS } from './jobs/queues';
import { loggingModule } from './logging/logging.module';
import { PrismaModule } from './prisma/prisma.module';
import { CallRecordFallback } from './model-calls/call-record-fallback';
import { CallRecoveryProcessor } from './model-calls/call-recovery.processor';
import { CallRecoveryService } from './model-calls/call-recovery.service';
import { HourlyAggregationService } from './model-calls/hourly-aggregation.service';
import { ModelCallRepository } from './model-calls/model-call.repository';
import { RedisModule } from './redis/redis.module';
import { StatsProcessor } from './model-calls/stats.processor';
import { StatsScheduler } from './model-calls/stats-scheduler.service';
import { SecretBoxService } from './crypto/secret-box.service';
import { CredentialHealthRecorder } from './providers/credential-health.recorder';
import { ModelHealthProcessor } from './providers/model-health.processor';
import { providerHealthConfigProvider } from './providers/provider-health.config';
import { ProviderProbe } from './providers/provider-probe.service';

/** Processors registered by the worker, with the job names each handles. */
const PROCESSORS = [CreditsMaintenanceProcessor, GrantExpiryProcessor, StatsProcessor, ModelHealthProcessor, CallRecoveryProcessor];

/**
 * Refuses to boot when a job name has no processor (immich's guard, STYLE.md "Jobs"): a job
 * enqueued with no handler would otherwise sit in Redis forever.
 */
export function assertEveryJobHasAHandler(): void {
  const handled = new Set(PROCESSORS.flatMap((p) => p.handles));
  const missing = ALL_JOB_NAMES.filter((n) => !handled.has(n));
  if (missing.length) throw new Error(`worker: no processor handles job(s) ${missing.join(', ')}`);
}

/** The worker process: BullMQ processors and the schedules that enqueue their jobs. */
@Module({
  imports: [
    ConfigModule,
    loggingModule(),
    PrismaModule,
    RedisModule,
    JobsModule,
  ],
  providers: [...PROCESSORS, CallSettlementRepository, ModelCallRepository, CallRecordFallback, CallRecoveryService, GrantExpiryService, GrantExpiryScheduler, HourlyAggregationService, StatsScheduler, SecretBoxService, providerHealthConfigProvider, ProviderProbe, CredentialHealthRecorder],
})
export class WorkerModule implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(MAINTENANCE_QUEUE) private readonly maintenance: Queue,
    @InjectQueue(CALL_RECOVERY_QUEUE) private readonly recovery: Queue,
  ) {}

  /** Schedules only enqueue; the jobs do the work, idempotently. */
  async onApplicationBootstrap(): Promise<void> {
    assertEveryJobHasAHandler();
    await this.recovery.upsertJobScheduler(JOB.RECOVER_CALLS, { every: RECOVER_CALLS_EVERY_MS }, { name: JOB.RECOVER_CALLS });
    await this.maintenance.upsertJobScheduler(JOB.APPLY_PENDING_DEBITS, { every: APPLY_PENDING_DEBITS_EVERY_MS }, { name: JOB.APPLY_PENDING_DEBITS });
  }
}
