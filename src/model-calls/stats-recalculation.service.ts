import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { Queue, QueueEvents } from 'bullmq';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JOB_TABLE, jobOptions } from '../jobs/job-table';
import { JOB } from '../jobs/queues';
import { PrismaService } from '../prisma/prisma.service';
import { RecalculateStatsDto } from './dto/recalculate-stats.dto';
import { RecalculateUserJobData } from './stats.processor';
import type { RecalculationResult } from './hourly-aggregation.service';

/** How long POST /user/recalculate-stats waits for its job (ms). */
const RECALCULATION_WAIT_MS = 120_000;

export interface RecalculationResponse extends RecalculationResult {
  message: string;
}

/**
 * POST /user/recalculate-stats: enqueues `model-call-stats.recalculate-user` (queue and options
 * from src/jobs/job-table.ts; the worker does it, serialized with the hourly aggregation on the
 * same queue) and waits for the job's result.
 */
@Injectable()
export class StatsRecalculationService implements OnModuleDestroy {
  private events: Promise<QueueEvents> | null = null;

  constructor(
    private readonly prisma: PrismaService,
    @InjectQueue(JOB_TABLE[JOB.RECALCULATE_USER_STATS].queue) private readonly queue: Queue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * @throws DomainError 404 `user_not_found`; 504 `stats_recalculation_timeout` (the job goes
   *   on); 500 `stats_recalculation_failed`.
   */
  async recalculate(dto: RecalculateStatsDto): Promise<RecalculationResponse> {
    const user = await this.prisma.user.findUnique({ where: { did: dto.userDid }, select: { id: true } });
    if (!user) throw DomainError.notFound('user_not_found', 'No user has this DID', { field: 'userDid' });
    const data: RecalculateUserJobData = {
      userId: user.id,
      start: new Date(dto.startTime * 1000).toISOString(),
      end: new Date(dto.endTime * 1000).toISOString(),
      dryRun: dto.dryRun ?? false,
    };
    const events = await this.queueEvents();
    const job = await this.queue.add(JOB.RECALCULATE_USER_STATS, data, jobOptions(JOB.RECALCULATE_USER_STATS));
    let result: RecalculationResult;
    try {
      result = (await job.waitUntilFinished(events, RECALCULATION_WAIT_MS)) as RecalculationResult;
    } catch {
      // A failed job rejects too; its state tells the two apart (no branching on error text).
      if ((await job.getState()) !== 'failed') {
        throw DomainError.gatewayTimeout('stats_recalculation_timeout', 'The rebuild is still running; check the stats later', {
          jobId: job.id,
        });
      }
      throw DomainError.internal('stats_recalculation_failed', 'The rebuild failed; nothing was changed', { jobId: job.id });
    }
    return {
      message: data.dryRun ? 'Dry run: nothing changed' : 'Rebuild completed',
      deleted: result.deleted,
      success: result.success,
      failed: result.failed,
    };
  }

  private queueEvents(): Promise<QueueEvents> {
    if (!this.events) {
      const ev = new QueueEvents(this.queue.name, {
        connection: { url: this.config.redisUrl, maxRetriesPerRequest: null },
        prefix: this.config.queuePrefix,
      });
      this.events = ev.waitUntilReady().then(() => ev);
      this.events.catch(() => (this.events = null));
    }
    return this.events;
  }

  async onModuleDestroy(): Promise<void> {
    const ev = this.events;
    this.events = null;
    if (ev) await (await ev.catch(() => null))?.close();
  }
}
