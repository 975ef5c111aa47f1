import { Module } from '@nestjs/common';
import { CreditsJobsModule } from '../credits/credits-jobs.module';
import { CallRecordFallback } from './call-record-fallback';
import { CallRecoveryProcessor } from './call-recovery.processor';
import { CallRecoveryService } from './call-recovery.service';
import { HourlyAggregationService } from './hourly-aggregation.service';
import { HourlyStatsRepository } from './hourly-stats.repository';
import { ModelCallRepository } from './model-call.repository';
import { StatsProcessor } from './stats.processor';

/**
 * The model-calls module's jobs, for the worker (src/worker.module.ts): `model-calls.recover`,
 * `model-call-stats.aggregate-hourly` and `model-call-stats.recalculate-user` (docs/jobs.md).
 */
@Module({
  imports: [CreditsJobsModule],
  providers: [
    CallRecoveryProcessor,
    StatsProcessor,
    CallRecoveryService,
    CallRecordFallback,
    ModelCallRepository,
    HourlyAggregationService,
    HourlyStatsRepository,
  ],
})
export class ModelCallsJobsModule {}
