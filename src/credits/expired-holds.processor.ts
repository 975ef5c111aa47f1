import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { JOB, JobName, MAINTENANCE_QUEUE } from '../jobs/queues';
import { PrismaService } from '../prisma/prisma.service';

/**
 * Maintenance jobs of the credits module. `credit-holds.release-expired` deletes holds whose
 * expiry passed (they already stopped counting); safe to run any number of times.
 */
@Processor(MAINTENANCE_QUEUE)
export class CreditsMaintenanceProcessor extends WorkerHost {
  private readonly log = new Logger(CreditsMaintenanceProcessor.name);
  static readonly handles: readonly JobName[] = [JOB.RELEASE_EXPIRED_HOLDS];

  constructor(private readonly prisma: PrismaService) {
    super();
  }

  async process(job: Job): Promise<{ deleted: number }> {
    switch (job.name as JobName) {
      case JOB.RELEASE_EXPIRED_HOLDS: {
        const { count } = await this.prisma.creditHold.deleteMany({ where: { expiresAt: { lte: new Date() } } });
        if (count > 0) this.log.warn(`released ${count} expired credit holds`);
        return { deleted: count };
      }
      default:
        throw new Error(`no handler for job ${job.name}`);
    }
  }
}
