import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { JOB, JobName, MAINTENANCE_QUEUE } from '../jobs/queues';
import { CallSettlementRepository } from './call-settlement.repository';

const SWEEP_BATCH = 500;

/** A pending debit younger than this is the api's to write; the sweep leaves it alone (ms). */
export const PENDING_DEBIT_GRACE_MS = 30_000;

/**
 * Maintenance job of the credits module, safe to run any number of times (queue, options and
 * schedule: src/jobs/job-table.ts): `credits.apply-pending-debits` debits recorded calls whose
 * debit the api did not write (it crashed between the two steps, or PostgreSQL was away), older
 * than PENDING_DEBIT_GRACE_MS, then gives back the credit reserves whose api process stopped
 * renewing them (docs/call-recording.md "Reserves"). (Holds whose lease expired are the
 * model-calls module's: they become interrupted calls.)
 */
@Processor(MAINTENANCE_QUEUE)
export class CreditsMaintenanceProcessor extends WorkerHost {
  private readonly log = new Logger(CreditsMaintenanceProcessor.name);
  static readonly handles: readonly JobName[] = [JOB.APPLY_PENDING_DEBITS];

  constructor(private readonly settlement: CallSettlementRepository) {
    super();
  }

  async process(job: Job): Promise<{ debited: number; reservesReleased: number }> {
    switch (job.name as JobName) {
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
        let reservesReleased = 0;
        for (;;) {
          const n = await this.settlement.releaseExpiredReserves(SWEEP_BATCH);
          reservesReleased += n;
          if (n < SWEEP_BATCH) break;
        }
        if (reservesReleased > 0) this.log.warn(`released ${reservesReleased} expired credit reserves left by an api process`);
        return { debited, reservesReleased };
      }
      default:
        throw new Error(`no handler for job ${job.name}`);
    }
  }
}
