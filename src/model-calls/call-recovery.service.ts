import { Injectable, Logger } from '@nestjs/common';
import { CallSettlementRepository } from '../credits/call-settlement.repository';
import { PrismaService } from '../prisma/prisma.service';
import { isDataError } from '../prisma/pool-query';
import { CallRecord, recordToJson, sanitizeRecord, scrubRecord } from './call-record';
import { CallRecordFallback, FallbackEntry } from './call-record-fallback';
import { ModelCallRepository } from './model-call.repository';

/** Fallback entries moved to PostgreSQL per statement. */
const DRAIN_BATCH = 200;
/** Most fallback entries one run drains (the next run goes on). */
const DRAIN_MAX_PER_RUN = 50_000;
/** Orphaned holds turned into interrupted calls per statement. */
const INTERRUPT_BATCH = 500;

export interface RecoveryResult {
  /** fallback records written to PostgreSQL (new rows) */
  drained: number;
  /** fallback entries that were already in PostgreSQL */
  duplicates: number;
  /** fallback entries moved to the dead-letter stream */
  deadLettered: number;
  /** orphaned holds turned into interrupted calls */
  interrupted: number;
  /** holds settled (released, debited) by the orphan sweep */
  settled: number;
}

/**
 * Worker side of call recording (docs/call-recording.md), in this order:
 * 1. drains the Redis fallback into PostgreSQL (exactly once by call id; the recorded calls' debits
 *    are written and holds released right away);
 * 2. turns holds whose lease expired (their api process died) into `interrupted` calls.
 * The order matters: a call waiting in the fallback is recorded before its hold could look
 * orphaned. Safe to run twice, and concurrently.
 */
@Injectable()
export class CallRecoveryService {
  private readonly log = new Logger(CallRecoveryService.name);

  constructor(
    private readonly prisma: PrismaService,
    private readonly repository: ModelCallRepository,
    private readonly fallback: CallRecordFallback,
    private readonly settlement: CallSettlementRepository,
  ) {}

  async recover(): Promise<RecoveryResult> {
    const result: RecoveryResult = { drained: 0, duplicates: 0, deadLettered: 0, interrupted: 0, settled: 0 };
    await this.drainFallback(result);
    for (;;) {
      const r = await this.repository.interruptOrphanedCalls(INTERRUPT_BATCH);
      result.interrupted += r.interrupted;
      result.settled += r.settled;
      if (r.settled + r.interrupted === 0 || r.settled < INTERRUPT_BATCH) break;
    }
    if (result.drained || result.deadLettered)
      this.log.warn(
        `drained ${result.drained} call records from the Redis fallback (${result.duplicates} already recorded, ${result.deadLettered} dead-lettered)`,
      );
    if (result.interrupted) this.log.warn(`recorded ${result.interrupted} interrupted calls left by a stopped api process`);
    return result;
  }

  private async drainFallback(result: RecoveryResult): Promise<void> {
    for (let done = 0; done < DRAIN_MAX_PER_RUN;) {
      const entries = await this.fallback.read(DRAIN_BATCH);
      if (entries.length === 0) return;
      for (const e of entries.filter((x) => x.record === null)) {
        await this.fallback.deadLetter(e.raw, 'not a call record');
        result.deadLettered++;
      }
      const valid = entries.filter((e): e is FallbackEntry & { record: CallRecord } => e.record !== null);
      const inserted = await this.insertIsolated(valid, result);
      result.drained += inserted;
      result.duplicates += valid.length - inserted;
      const ids = valid.map((e) => e.record.id);
      // Settle now (debit, release the hold) rather than waiting for the pending-debit sweep.
      await this.settlement.applyDebits(ids);
      await this.fallback.remove(entries.map((e) => e.entryId));
      done += entries.length;
      if (entries.length < DRAIN_BATCH) return;
    }
  }

  /**
   * Inserts fallback records; a batch PostgreSQL refuses is split until the bad record stands
   * alone, which is written scrubbed or dead-lettered. Connection errors propagate (the entries
   * stay in the stream for the next run).
   * @returns rows newly inserted
   */
  private async insertIsolated(entries: readonly (FallbackEntry & { record: CallRecord })[], result: RecoveryResult): Promise<number> {
    if (entries.length === 0) return 0;
    const client = await this.prisma.pool.connect();
    try {
      const insert = async (batch: readonly (FallbackEntry & { record: CallRecord })[]): Promise<number> => {
        try {
          return (
            await this.repository.insertOn(
              client,
              batch.map((e) => sanitizeRecord(e.record)),
            )
          ).inserted;
        } catch (err) {
          if (!isDataError(err)) throw err;
          if (batch.length > 1) {
            const mid = Math.ceil(batch.length / 2);
            return (await insert(batch.slice(0, mid))) + (await insert(batch.slice(mid)));
          }
          try {
            return (await this.repository.insertOn(client, [scrubRecord(sanitizeRecord(batch[0].record))])).inserted;
          } catch (err2) {
            if (!isDataError(err2)) throw err2;
            await this.fallback.deadLetter(recordToJson(batch[0].record), (err2 as Error).message);
            result.deadLettered++;
            return 0;
          }
        }
      };
      return await insert(entries);
    } finally {
      client.release();
    }
  }
}
