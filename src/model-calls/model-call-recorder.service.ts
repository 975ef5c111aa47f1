import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { CallRecord, CallSettlementRepository } from '../credits/call-settlement.repository';

const MAX_BATCH = 200;
const MAX_CONCURRENT_FLUSHES = 2;
const RETRY_DELAYS_MS = [50, 200, 1000, 3000];

interface Pending {
  record: CallRecord;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Records finished calls with group commit: a call's record is written in the next batch, and
 * `record()` resolves once that batch is committed. Under load many calls share one statement
 * (one round trip, one commit); alone, a call is written at once, so no timer adds latency.
 * The gateway awaits this before it ends a response, so no call acknowledged to a client is
 * unrecorded. Failed batches are retried (the statement is idempotent by call id).
 */
@Injectable()
export class ModelCallRecorder implements OnApplicationShutdown {
  private readonly log = new Logger(ModelCallRecorder.name);
  private queue: Pending[] = [];
  private flushing = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly settlement: CallSettlementRepository) {}

  /** Resolves when the record is committed; rejects only after every retry failed. */
  record(record: CallRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.pump();
    });
  }

  /** Resolves when nothing is queued or being written (tests, shutdown). */
  drain(): Promise<void> {
    if (this.queue.length === 0 && this.flushing === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.drain();
  }

  private pump(): void {
    while (this.queue.length > 0 && this.flushing < MAX_CONCURRENT_FLUSHES) {
      const batch = this.queue.splice(0, MAX_BATCH);
      this.flushing++;
      void this.flush(batch).finally(() => {
        this.flushing--;
        this.pump();
        if (this.queue.length === 0 && this.flushing === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    const records = batch.map((p) => p.record);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.settlement.settle(records);
        for (const p of batch) p.resolve();
        return;
      } catch (err) {
        if (attempt >= RETRY_DELAYS_MS.length) {
          this.log.error(`could not record ${records.length} model calls after ${attempt + 1} attempts: ${(err as Error).message}; call ids ${records.map((r) => r.id).join(',')}`);
          for (const p of batch) p.reject(err as Error);
          return;
        }
        this.log.warn(`recording ${records.length} model calls failed (attempt ${attempt + 1}): ${(err as Error).message}; retrying`);
        await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
      }
    }
  }
}
