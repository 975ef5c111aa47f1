import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { CALL_RECOVERY_QUEUE, JOB, JobName } from '../jobs/queues';
import { CallRecoveryService, RecoveryResult } from './call-recovery.service';

/**
 * `model-calls.recover` (scheduled: src/jobs/job-table.ts): drains the call-record fallback into
 * PostgreSQL, then records the calls of dead api processes as interrupted (CallRecoveryService).
 * Safe to run twice.
 */
@Processor(CALL_RECOVERY_QUEUE)
export class CallRecoveryProcessor extends WorkerHost {
  static readonly handles: readonly JobName[] = [JOB.RECOVER_CALLS];

  constructor(private readonly recovery: CallRecoveryService) {
    super();
  }

  async process(job: Job): Promise<RecoveryResult> {
    switch (job.name as JobName) {
      case JOB.RECOVER_CALLS:
        return this.recovery.recover();
      default:
        throw new Error(`no handler for job ${job.name}`);
    }
  }
}
