import { Module } from '@nestjs/common';
import { AuditJobsModule } from './audit/audit-jobs.module';
import { ConfigModule } from './config/config.module';
import { CreditsJobsModule } from './credits/credits-jobs.module';
import { JobsModule } from './jobs/jobs.module';
import { loggingModule } from './logging/logging.module';
import { ModelCallsJobsModule } from './model-calls/model-calls-jobs.module';
import { PrismaModule } from './prisma/prisma.module';
import { ProvidersJobsModule } from './providers/providers-jobs.module';
import { RedisModule } from './redis/redis.module';

/**
 * The worker process: infrastructure, the queues with the JobScheduler (which checks the job
 * table against the processors, starts them and schedules the jobs; src/jobs/job-table.ts), and
 * each module's jobs module with its processors and what they need.
 */
@Module({
  imports: [
    ConfigModule,
    loggingModule(),
    PrismaModule,
    RedisModule,
    JobsModule.forWorker(),
    CreditsJobsModule,
    ModelCallsJobsModule,
    ProvidersJobsModule,
    AuditJobsModule,
  ],
})
export class WorkerModule {}
