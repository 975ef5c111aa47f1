import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CallSettlementRepository } from '../credits/call-settlement.repository';
import { CallRecord, sanitizeRecord } from './call-record';
import { CallRecordWriter, RecordOutcome } from './call-record-writer';
import { GroupCommit } from '../common/group-commit';

/**
 * Debits wait this long to be written together (ms). They are off the response path and the
 * calls' holds keep their credits reserved meanwhile; fewer, larger statements leave the
 * database more time for the calls themselves.
 */
const DEBIT_LINGER_MS = 10;

/** Told about every call once its record is durable (metrics, audit, token-rate limits). */
export type RecordedListener = (record: CallRecord, outcome: RecordOutcome) => void;

/**
 * The one place a gateway call is recorded (docs/call-recording.md). Two group-committed steps:
 *
 * 1. `record()` makes the call durable and resolves with where it went: PostgreSQL (synchronous
 *    commit; many calls share one statement under load, a lone call is written at once), or the
 *    Redis fallback when PostgreSQL is away. Batches are fault-isolating (CallRecordWriter). The
 *    gateway awaits this before it sends a response's last bytes, so no call acknowledged to a
 *    client is unrecorded.
 * 2. Right after, off the response path, calls written to PostgreSQL are settled in batches
 *    (`tollgate_apply_debits`): billable ones debited, every hold released. A debit lost to a
 *    crash is applied by the worker's pending-debit sweep; a call is debited exactly once.
 *
 * Listeners registered with `onRecorded` hear about each durable record.
 */
@Injectable()
export class CallRecorder implements OnApplicationShutdown {
  private readonly log = new Logger(CallRecorder.name);
  private readonly inserts: GroupCommit<CallRecord, RecordOutcome>;
  private readonly debits: GroupCommit<string>;
  private readonly listeners: RecordedListener[] = [];

  constructor(
    private readonly writer: CallRecordWriter,
    private readonly settlement: CallSettlementRepository,
  ) {
    this.debits = new GroupCommit<string>({
      maxBatch: 500,
      concurrency: 1,
      lingerMs: DEBIT_LINGER_MS,
      write: async (ids) => {
        await this.settlement.applyDebits(ids);
      },
      onError: (ids, err) => this.log.warn(`settling ${ids.length} calls failed (${err.message}); the worker's sweeps settle them`),
    });
    this.inserts = new GroupCommit<CallRecord, RecordOutcome>({
      maxBatch: 200,
      concurrency: 2,
      write: async (records) => {
        const outcomes = await this.writer.write(records);
        records.forEach((r, i) => {
          const outcome = outcomes[i];
          if (outcome instanceof Error) return;
          // Records in the fallback are settled by the worker once they reach PostgreSQL.
          if ((outcome === 'written' || outcome === 'scrubbed') && (r.billable || r.hasHold)) {
            this.debits.add(r.id).catch(() => undefined);
          }
          this.announce(r, outcome);
        });
        return outcomes;
      },
      onError: (records, err) => this.log.error(`could not record ${records.length} model calls: ${err.message}`),
    });
  }

  /**
   * Records one finished call (sanitised first: NUL removed, texts cut to their columns).
   * @returns where it is durable
   * @throws when it is nowhere durable (PostgreSQL and Redis both failed)
   */
  record(record: CallRecord): Promise<RecordOutcome> {
    return this.inserts.add(sanitizeRecord(record));
  }

  /** Registers a listener for every durable record of this process. */
  onRecorded(listener: RecordedListener): void {
    this.listeners.push(listener);
  }

  /** Resolves when every call recorded so far is written and settled (tests, shutdown). */
  async drain(): Promise<void> {
    await this.inserts.drain();
    await this.debits.drain();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  private announce(record: CallRecord, outcome: RecordOutcome): void {
    for (const listener of this.listeners) {
      try {
        listener(record, outcome);
      } catch (err) {
        this.log.warn(`a recorded-call listener failed: ${(err as Error).message}`);
      }
    }
  }
}
