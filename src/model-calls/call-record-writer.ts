import { Injectable, Logger } from '@nestjs/common';
import { isConnectionError, isDataError } from '../prisma/pool-query';
import { CallRecord, recordToJson, scrubRecord } from './call-record';
import { CallRecordFallback } from './call-record-fallback';
import { ModelCallRepository } from './model-call.repository';

/**
 * Where a record ended up:
 * - `written`: committed to PostgreSQL as it was;
 * - `scrubbed`: committed with its free text replaced (PostgreSQL refused the original);
 * - `fallback`: in the Redis fallback stream, to be drained into PostgreSQL by the worker;
 * - `dead`: refused by PostgreSQL even scrubbed; kept in the dead-letter stream for an operator.
 * An Error means it is nowhere durable (PostgreSQL and Redis both failed).
 */
export type RecordOutcome = 'written' | 'scrubbed' | 'fallback' | 'dead';

/** After a connection failure, records go straight to the fallback for this long (ms). */
const DB_DOWN_BACKOFF_MS = 1_000;

/**
 * Writes batches of call records so that one bad row never takes its neighbours down
 * (docs/call-recording.md "Fault isolation"):
 * 1. the batch is inserted in one statement;
 * 2. if PostgreSQL refuses the data (a row-level error), the batch is split in halves, recursively,
 *    until the failing rows stand alone; a lone failing row is written scrubbed (scrubRecord) and,
 *    if even that is refused, kept in the dead-letter stream;
 * 3. if PostgreSQL cannot be reached in time (CALL_RECORD_DB_TIMEOUT_MS), the batch goes to the
 *    Redis fallback, and so do the batches of the next second without trying PostgreSQL.
 * Records must be sanitised (sanitizeRecord) before they come here.
 */
@Injectable()
export class CallRecordWriter {
  private readonly log = new Logger(CallRecordWriter.name);
  private dbDownUntil = 0;

  constructor(
    private readonly repository: ModelCallRepository,
    private readonly fallback: CallRecordFallback,
  ) {}

  /** @returns one outcome per record, in order (an Error where the record is nowhere durable) */
  async write(records: readonly CallRecord[]): Promise<(RecordOutcome | Error)[]> {
    if (Date.now() < this.dbDownUntil) return this.toFallback(records);
    try {
      await this.repository.insert(records);
      return records.map(() => 'written' as const);
    } catch (err) {
      if (isDataError(err)) return this.isolate(records, err as Error);
      this.dbDownUntil = Date.now() + DB_DOWN_BACKOFF_MS;
      const kind = isConnectionError(err) ? 'unreachable' : 'failing';
      this.log.warn(`PostgreSQL ${kind} while recording ${records.length} calls (${(err as Error).message}); using the Redis fallback`);
      return this.toFallback(records);
    }
  }

  /** Splits a batch that PostgreSQL refused until the bad rows stand alone. */
  private async isolate(records: readonly CallRecord[], err: Error): Promise<(RecordOutcome | Error)[]> {
    if (records.length === 1) return [await this.writeScrubbed(records[0], err)];
    const mid = Math.ceil(records.length / 2);
    const left = await this.write(records.slice(0, mid));
    const right = await this.write(records.slice(mid));
    return [...left, ...right];
  }

  private async writeScrubbed(record: CallRecord, original: Error): Promise<RecordOutcome | Error> {
    const scrubbed = scrubRecord(record);
    try {
      await this.repository.insert([scrubbed]);
      this.log.error(`call ${record.id} recorded with its text replaced: PostgreSQL refused it (${original.message})`);
      return 'scrubbed';
    } catch (err) {
      if (!isDataError(err)) return (await this.toFallback([scrubbed]))[0];
      try {
        await this.fallback.deadLetter(recordToJson(record), `${original.message}; scrubbed: ${(err as Error).message}`);
        this.log.error(`call ${record.id} could not be recorded (${(err as Error).message}); kept in ${this.fallback.deadKey}`);
        return 'dead';
      } catch (redisErr) {
        return redisErr as Error;
      }
    }
  }

  private async toFallback(records: readonly CallRecord[]): Promise<(RecordOutcome | Error)[]> {
    try {
      await this.fallback.append(records);
      return records.map(() => 'fallback' as const);
    } catch (err) {
      this.log.error(`${records.length} call records are nowhere durable: PostgreSQL and Redis both failed (${(err as Error).message})`);
      return records.map(() => err as Error);
    }
  }
}
