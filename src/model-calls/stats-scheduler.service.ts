import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { JOB, STATS_QUEUE } from '../jobs/queues';

/** How often the hourly aggregation runs (ms). Readers stay exact in between (they read the tail). */
export const AGGREGATE_HOURLY_STATS_EVERY_MS = 5 * 60_000;

/** Worker only: schedules the hourly aggregation (the schedule only enqueues; the job does the work). */
@Injectable()
export class StatsScheduler implements OnApplicationBootstrap {
  constructor(@InjectQueue(STATS_QUEUE) private readonly stats: Queue) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.stats.upsertJobScheduler(JOB.AGGREGATE_HOURLY_STATS, { every: AGGREGATE_HOURLY_STATS_EVERY_MS }, { name: JOB.AGGREGATE_HOURLY_STATS });
  }
}
