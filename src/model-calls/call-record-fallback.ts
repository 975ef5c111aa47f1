import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS } from '../redis/redis.tokens';
import { CallRecord, recordFromJson, recordToJson } from './call-record';

/** Longest wait for Redis to take a fallback write (ms). */
const REDIS_WRITE_TIMEOUT_MS = 2_000;

/** One record read back from the fallback stream. */
export interface FallbackEntry {
  /** stream entry id (to delete it once written to PostgreSQL) */
  entryId: string;
  /** null when the entry could not be parsed (it is moved to the dead-letter stream) */
  record: CallRecord | null;
  raw: string;
}

/**
 * The durable fallback for call records (docs/call-recording.md "When PostgreSQL is away"): a
 * Redis stream `<QUEUE_PREFIX>:model-calls:fallback` that takes the records PostgreSQL could not
 * commit in time, and that the worker drains into PostgreSQL (idempotent by call id, so a record
 * that reached both is written once). Records that PostgreSQL refuses even scrubbed go to
 * `<QUEUE_PREFIX>:model-calls:dead` for an operator; nothing is dropped. Its durability is
 * Redis's: run Redis with AOF persistence in production.
 */
@Injectable()
export class CallRecordFallback {
  readonly streamKey: string;
  readonly deadKey: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.streamKey = `${config.queuePrefix}:model-calls:fallback`;
    this.deadKey = `${config.queuePrefix}:model-calls:dead`;
  }

  /**
   * Appends records (one pipeline round trip).
   * @throws when Redis did not take every record within 2 s
   */
  async append(records: readonly CallRecord[]): Promise<void> {
    await this.write(records.map((r) => ['xadd', this.streamKey, '*', 'r', recordToJson(r)]));
  }

  /** Moves a record PostgreSQL refuses even scrubbed to the dead-letter stream, with the reason. */
  async deadLetter(raw: string, reason: string): Promise<void> {
    await this.write([['xadd', this.deadKey, '*', 'r', raw, 'reason', reason.slice(0, 500)]]);
  }

  /** The oldest `count` entries, in order. */
  async read(count: number): Promise<FallbackEntry[]> {
    const rows = await this.redis.xrange(this.streamKey, '-', '+', 'COUNT', count);
    return rows.map(([entryId, fields]) => {
      const i = fields.indexOf('r');
      const raw = i >= 0 ? (fields[i + 1] ?? '') : '';
      let record: CallRecord | null;
      try {
        record = recordFromJson(raw);
      } catch {
        record = null;
      }
      return { entryId, record, raw };
    });
  }

  async remove(entryIds: readonly string[]): Promise<void> {
    if (entryIds.length) await this.redis.xdel(this.streamKey, ...entryIds);
  }

  /** Entries waiting to be drained. */
  length(): Promise<number> {
    return this.redis.xlen(this.streamKey);
  }

  private async write(commands: string[][]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not take the fallback write within ${REDIS_WRITE_TIMEOUT_MS} ms`)),
        REDIS_WRITE_TIMEOUT_MS,
      );
    });
    try {
      const results = await Promise.race([this.redis.pipeline(commands).exec(), timeout]);
      const failed = (results ?? []).find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('Redis pipeline was not executed');
    } finally {
      clearTimeout(timer);
    }
  }
}
