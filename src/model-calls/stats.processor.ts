import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { JOB, JobName, STATS_QUEUE } from '../jobs/queues';
import { AggregationResult, HourlyAggregationService, RecalculationResult } from './hourly-aggregation.service';

/** Payload of `model-call-stats.recalculate-user` (times ISO 8601, range [start, end)). */
export interface RecalculateUserJobData {
  userId: string;
  start: string;
  end: string;
  dryRun: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Re-validates a job payload at the worker's edge: the api wrote it, but Redis is outside the process. */
export function parseRecalculateUserJob(data: unknown): { userId: string; start: Date; end: Date; dryRun: boolean } {
  const d = (data ?? {}) as Partial<RecalculateUserJobData>;
  const start = new Date(String(d.start));
  const end = new Date(String(d.end));
  if (
    typeof d.userId !== 'string' ||
    !UUID.test(d.userId) ||
    isNaN(start.getTime()) ||
    isNaN(end.getTime()) ||
    end <= start ||
    typeof d.dryRun !== 'boolean'
  ) {
    throw new Error('invalid recalculate-user job payload');
  }
  return { userId: d.userId, start, end, dryRun: d.dryRun };
}

/**
 * Usage statistics jobs (model-calls module; queue, options and schedule: src/jobs/job-table.ts);
 * both are safe to run twice.
 * - `model-call-stats.aggregate-hourly` (scheduled): folds closed hours and late calls into
 *   model_call_hourly_stats (HourlyAggregationService.aggregate).
 * - `model-call-stats.recalculate-user` (on demand, StatsRecalculationService): rebuilds one
 *   user's hours from the call log (admin).
 */
@Processor(STATS_QUEUE)
export class StatsProcessor extends WorkerHost {
  private readonly log = new Logger(StatsProcessor.name);
  static readonly handles: readonly JobName[] = [JOB.AGGREGATE_HOURLY_STATS, JOB.RECALCULATE_USER_STATS];

  constructor(private readonly aggregation: HourlyAggregationService) {
    super();
  }

  async process(job: Job): Promise<AggregationResult | RecalculationResult> {
    switch (job.name as JobName) {
      case JOB.AGGREGATE_HOURLY_STATS: {
        const r = await this.aggregation.aggregate();
        if (r.hours > 0)
          this.log.log(`aggregated ${r.hours} hour(s) of model calls into ${r.rows} stat rows (watermark ${r.hourWatermark})`);
        return r;
      }
      case JOB.RECALCULATE_USER_STATS: {
        const p = parseRecalculateUserJob(job.data);
        const r = await this.aggregation.recalculateUser(p.userId, p.start, p.end, p.dryRun);
        this.log.log(
          `recalculated stats of user ${p.userId} ${p.start.toISOString()}..${p.end.toISOString()}${p.dryRun ? ' (dry run)' : ''}: deleted ${r.deleted}, rebuilt ${r.success} hour(s)`,
        );
        return r;
      }
      default:
        throw new Error(`no handler for job ${job.name}`);
    }
  }
}
