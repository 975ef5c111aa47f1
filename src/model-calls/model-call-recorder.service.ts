import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CallRecord, CallSettlementRepository } from '../credits/call-settlement.repository';
import { GroupCommit } from './group-commit';

const RETRY_DELAYS_MS = [50, 200, 1000, 3000];
/**
 * Debits wait this long to be written together (ms). They are off the response path and the
 * calls' holds keep their credits reserved meanwhile; fewer, larger statements leave the
 * database more time for the calls themselves.
 */
const DEBIT_LINGER_MS = 10;

/**
 * Records finished calls (issue 3 "Recording") in two group-committed steps:
 *
 * 1. `record()` inserts the call durably (synchronous commit) and resolves once it is committed.
 *    The gateway awaits it before it ends a response, so no call acknowledged to a client is
 *    unrecorded. Under load many calls share one statement; alone, a call is written at once.
 * 2. Right after, off the response path, the calls are settled in batches
 *    (`tollgate_apply_debits`): billable ones debited, every hold released. Until then each
 *    call's hold stays in place, so admission never sees credits as free that are about to be
 *    debited. A debit lost to a crash is applied by the worker's pending-debit sweep (a lost
 *    release by the expired-hold sweep); a call is debited exactly once either way.
 */
@Injectable()
export class ModelCallRecorder implements OnApplicationShutdown {
  private readonly log = new Logger(ModelCallRecorder.name);
  private readonly inserts: GroupCommit<CallRecord>;
  private readonly debits: GroupCommit<string>;

  constructor(private readonly settlement: CallSettlementRepository) {
    this.debits = new GroupCommit<string>({
      maxBatch: 500,
      concurrency: 1,
      lingerMs: DEBIT_LINGER_MS,
      write: async (ids) => {
        await withRetries(() => this.settlement.applyDebits(ids), (err, attempt) =>
          this.log.warn(`debits for ${ids.length} calls failed (attempt ${attempt}): ${err.message}`));
      },
      onError: (ids, err) => this.log.error(`debits for ${ids.length} calls left pending for the sweep: ${err.message}`),
    });
    this.inserts = new GroupCommit<CallRecord>({
      maxBatch: 200,
      concurrency: 2,
      write: async (records) => {
        await withRetries(() => this.settlement.record(records), (err, attempt) =>
          this.log.warn(`recording ${records.length} model calls failed (attempt ${attempt}): ${err.message}`));
        for (const r of records) if (r.billable || r.hasHold) void this.debits.add(r.id).catch(() => undefined);
      },
      onError: (records, err) =>
        this.log.error(`could not record ${records.length} model calls: ${err.message}; call ids ${records.map((r) => r.id).join(',')}`),
    });
  }

  /** Resolves when the call is durably recorded; rejects only after every retry failed. */
  record(record: CallRecord): Promise<void> {
    return this.inserts.add(record);
  }

  /** Resolves when every call recorded so far is written and debited (tests, shutdown). */
  async drain(): Promise<void> {
    await this.inserts.drain();
    await this.debits.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain();
  }
}

async function withRetries<T>(fn: () => Promise<T>, onRetry: (err: Error, attempt: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt > RETRY_DELAYS_MS.length) throw err;
      onRetry(err as Error, attempt);
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt - 1]));
    }
  }
}
