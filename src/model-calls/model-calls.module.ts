import { Module } from '@nestjs/common';
import { CreditsModule } from '../credits/credits.module';
import { CallExportService } from './call-export.service';
import { CallListService } from './call-list.service';
import { CallRecordFallback } from './call-record-fallback';
import { CallRecordWriter } from './call-record-writer';
import { CallRecorder } from './call-recorder.service';
import { ModelCallRepository } from './model-call.repository';
import { ModelCallsController } from './model-calls.controller';
import { StatsRecalculationService } from './stats-recalculation.service';
import { UsageStatsController } from './usage-stats.controller';
import { UsageStatsService } from './usage-stats.service';

/**
 * The call log: recording every gateway call (CallRecorder), list/export, usage stats. The
 * fallback drain, interrupted calls, the hourly aggregation and the recalculation run in the
 * worker (registered by src/worker.module.ts).
 */
@Module({
  imports: [CreditsModule],
  controllers: [ModelCallsController, UsageStatsController],
  providers: [
    CallRecorder,
    CallRecordWriter,
    CallRecordFallback,
    ModelCallRepository,
    CallListService,
    CallExportService,
    UsageStatsService,
    StatsRecalculationService,
  ],
  exports: [CallRecorder],
})
export class ModelCallsModule {}
