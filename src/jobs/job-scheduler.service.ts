import { BullRegistrar, getQueueToken } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, ModuleRef } from '@nestjs/core';
import { Queue } from 'bullmq';
import { assertJobTable, describeProcessor, ProcessorInfo } from './job-table-check';
import { JOB_TABLE, scheduledJobs } from './job-table';
import { ALL_QUEUES } from './queues';

/**
 * Worker only (JobsModule.forWorker()): at boot, checks the job table against the processors
 * registered in the process and refuses to start if they disagree; then starts the processors'
 * BullMQ workers (JobsModule registers them manually, so none runs before the check) and upserts
 * the schedule of every scheduled job of the table, removing schedules the table no longer has.
 * Schedules only enqueue; the jobs do the work, idempotently.
 */
@Injectable()
export class JobScheduler implements OnApplicationBootstrap {
  private readonly log = new Logger(JobScheduler.name);

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registrar: BullRegistrar,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** The processors registered in this process (one entry per provider, so a class registered twice shows twice). */
  processors(): ProcessorInfo[] {
    const found: ProcessorInfo[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      // A class provider's class is its metatype; for a value or factory provider, its instance's.
      const cls = !wrapper.metatype || wrapper.inject ? (wrapper.instance as object | undefined)?.constructor : wrapper.metatype;
      const info = typeof cls === 'function' ? describeProcessor(cls as abstract new () => unknown) : null;
      if (info) found.push(info);
    }
    return found;
  }

  async onApplicationBootstrap(): Promise<void> {
    assertJobTable(JOB_TABLE, this.processors());
    this.registrar.register();
    await this.upsertSchedules();
  }

  private async upsertSchedules(): Promise<void> {
    const jobs = scheduledJobs();
    for (const queueName of ALL_QUEUES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(queueName), { strict: false });
      const mine = jobs.filter((j) => j.queue === queueName);
      for (const j of mine) {
        await queue.upsertJobScheduler(j.name, { every: j.everyMs }, { name: j.name, opts: { ...j.options } });
      }
      for (const s of await queue.getJobSchedulers()) {
        if (mine.some((j) => j.name === s.key)) continue;
        await queue.removeJobScheduler(s.key);
        this.log.warn(`removed schedule ${s.key} from queue ${queueName}: not a scheduled job of the job table`);
      }
    }
  }
}
