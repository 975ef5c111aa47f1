import { Module } from '@nestjs/common';
import { CreditsModule } from '../credits/credits.module';
import { CallExportService } from './call-export.service';
import { CallListService } from './call-list.service';
import { ModelCallRecorder } from './model-call-recorder.service';
import { ModelCallsController } from './model-calls.controller';
import { StatsRecalculationService } from './stats-recalculation.service';
import { UsageStatsController } from './usage-stats.controller';
import { UsageStatsService } from './usage-stats.service';

/**
 * The call log: recording (gateway), list/export, usage stats. The hourly aggregation and the
 * recalculation run in the worker (StatsProcessor, registered by src/worker.module.ts).
 */
@Module({
  imports: [CreditsModule],
  controllers: [ModelCallsController, UsageStatsController],
  providers: [ModelCallRecorder, CallListService, CallExportService, UsageStatsService, StatsRecalculationService],
  exports: [ModelCallRecorder],
})
export class ModelCallsModule {}
