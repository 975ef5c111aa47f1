import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { JOB, JobName, MAINTENANCE_QUEUE, PENDING_DEBIT_GRACE_MS } from '../jobs/queues';
import { CallSettlementRepository } from './call-settlement.repository';

const SWEEP_BATCH = 500;

/**
 * Maintenance jobs of the credits module; each is safe to run any number of times.
 * - `credit-holds.release-expired`: releases holds whose expiry passed (left by a dead process).
 * - `credits.apply-pending-debits`: debits recorded calls whose debit the api did not write
 *   (it crashed between the two steps), older than PENDING_DEBIT_GRACE_MS.
 */
@Processor(MAINTENANCE_QUEUE)
export class CreditsMaintenanceProcessor extends WorkerHost {
  private readonly log = new Logger(CreditsMaintenanceProcessor.name);
  static readonly handles: readonly JobName[] = [JOB.RELEASE_EXPIRED_HOLDS, JOB.APPLY_PENDING_DEBITS];

  constructor(private readonly settlement: CallSettlementRepository) {
    super();
  }

  async process(job: Job): Promise<{ deleted: number } | { debited: number }> {
    switch (job.name as JobName) {
      case JOB.RELEASE_EXPIRED_HOLDS: {
        const count = await this.settlement.releaseExpiredHolds();
        if (count > 0) this.log.warn(`released ${count} expired credit holds`);
        return { deleted: count };
      }
      case JOB.APPLY_PENDING_DEBITS: {
        let debited = 0;
        const before = new Date(Date.now() - PENDING_DEBIT_GRACE_MS);
        for (;;) {
          const ids = await this.settlement.pendingDebits(before, SWEEP_BATCH);
          if (ids.length === 0) break;
          debited += (await this.settlement.applyDebits(ids)).debited;
          if (ids.length < SWEEP_BATCH) break;
        }
        if (debited > 0) this.log.warn(`applied ${debited} pending debits left by an api process`);
        return { debited };
      }
      default:
        throw new Error(`no handler for job ${job.name}`);
    }
  }
}
