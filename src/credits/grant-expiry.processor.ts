import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { CREDIT_EXPIRY_QUEUE, JOB, JobName } from '../jobs/queues';
import { GrantExpiryService } from './grant-expiry.service';

/**
 * `credit-grants.expire` (scheduled: src/jobs/job-table.ts): expires the grants whose expiry
 * passed (GrantExpiryService). Takes no payload; safe to run twice (BullMQ delivers at least
 * once). Returns `{expired, credits}` (credits as a decimal string).
 */
@Processor(CREDIT_EXPIRY_QUEUE)
export class GrantExpiryProcessor extends WorkerHost {
  static readonly handles: readonly JobName[] = [JOB.EXPIRE_CREDIT_GRANTS];

  constructor(private readonly expiry: GrantExpiryService) {
    super();
  }

  async process(job: Job): Promise<{ expired: number; credits: string }> {
    if (job.name !== JOB.EXPIRE_CREDIT_GRANTS) throw new Error(`no handler for job ${job.name}`);
    const r = await this.expiry.expireDue();
    return { expired: r.expired, credits: r.credits.toFixed() };
  }
}
