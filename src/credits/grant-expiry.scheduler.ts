import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Queue } from 'bullmq';
import { CREDIT_EXPIRY_QUEUE, EXPIRE_CREDIT_GRANTS_EVERY_MS, JOB } from '../jobs/queues';

/** Worker only: schedules `credit-grants.expire` every EXPIRE_CREDIT_GRANTS_EVERY_MS (the schedule only enqueues). */
@Injectable()
export class GrantExpiryScheduler implements OnApplicationBootstrap {
  constructor(@InjectQueue(CREDIT_EXPIRY_QUEUE) private readonly queue: Queue) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.queue.upsertJobScheduler(JOB.EXPIRE_CREDIT_GRANTS, { every: EXPIRE_CREDIT_GRANTS_EVERY_MS }, { name: JOB.EXPIRE_CREDIT_GRANTS });
  }
}
