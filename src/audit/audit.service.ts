import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import type { PoolClient } from 'pg';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { REDIS } from '../redis/redis.tokens';
import { AuditContext, AuditEvent, redactChanges } from './audit-entry';

/** A transaction to write an entry in: a Prisma interactive transaction or a pooled pg client in BEGIN. */
export type AuditTransaction = Prisma.TransactionClient | PoolClient;

/** Columns of audit_logs in the order of a row, with the cast each parameter needs. */
const COLUMNS: readonly (readonly [string, string])[] = [
  ['id', '::uuid'],
  ['created_at', '::timestamptz'],
  ['actor_type', ''],
  ['actor_user_id', '::uuid'],
  ['actor_key_id', '::uuid'],
  ['actor_label', ''],
  ['actor_role', ''],
  ['action', ''],
  ['target_type', ''],
  ['target_id', ''],
  ['result', ''],
  ['status', '::int'],
  ['request_id', ''],
  ['ip', ''],
  ['user_agent', ''],
  ['method', ''],
  ['path', ''],
  ['changes', '::jsonb'],
];
const COLUMN_LIST = COLUMNS.map(([c]) => c).join(', ');

/** One row of audit_logs as parameters, in COLUMNS order (created_at as ISO-8601 text). */
export type AuditRow = (string | number | null)[];

/** Entries drained from the Redis spill per round. */
const DRAIN_BATCH = 500;
/** The Redis spill holds at most this many entries; past it, entries go to the error log. */
export const SPILL_MAX_ENTRIES = 1_000_000;
/** Longest wait for Redis to take a spill write (ms). */
const REDIS_TIMEOUT_MS = 2_000;

/**
 * The audit log's writer (docs/audit-log.md "Buffer and shutdown").
 * - `inTransaction`: a write's entry, in the write's own transaction (no change without its record).
 * - `record`: an entry written at once in a transaction of its own, for a write another process
 *   committed (a worker job the request waited for).
 * - `enqueue`: request-only entries (reads by service keys, refusals, failed logins), buffered and
 *   written in batches every AUDIT_FLUSH_INTERVAL_MS or AUDIT_BUFFER_MAX_ENTRIES.
 * When PostgreSQL refuses a batch, its entries are appended to the Redis stream
 * `<QUEUE_PREFIX>:audit:spill` (bounded by SPILL_MAX_ENTRIES) and drained into PostgreSQL by every
 * api replica once it answers again (idempotent by entry id). When Redis is away too they stay in
 * memory (at most 10 × AUDIT_BUFFER_MAX_ENTRIES); beyond both bounds an entry is written to the
 * error log, redacted: an entry is never dropped silently. The buffer is flushed at shutdown.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(AuditService.name);
  private buffer: AuditRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  readonly spillKey: string;
  /** Since the process started (read by src/metrics): entries written to the Redis spill, and entries only logged (lost to the log). */
  readonly spillCounts = { spilled: 0, logged: 0 };

  constructor(
    private readonly prisma: PrismaService,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.spillKey = `${config.queuePrefix}:audit:spill`;
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.config.audit.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Writes what is queued before the process ends. Nest destroys modules in the reverse order of
   * their initialisation, and AuditModule is imported after PrismaModule and RedisModule
   * (src/app.module.ts), so the pool and Redis are still open here.
   */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /**
   * Writes the entry of a write inside that write's transaction, and marks the request recorded.
   * @param tx Prisma interactive transaction client or a pg client inside BEGIN
   * @throws the database's error (the caller's transaction then rolls back with its write)
   */
  async inTransaction(tx: AuditTransaction, ctx: AuditContext, event: AuditEvent): Promise<void> {
    const row = toRow(ctx, event);
    const sql = `INSERT INTO audit_logs (${COLUMN_LIST}) VALUES (${placeholders(0)})`;
    if ('$executeRawUnsafe' in tx) await tx.$executeRawUnsafe(sql, ...row);
    else await tx.query(sql, row);
    ctx.recorded = true;
    ctx.recordedBy = 'transaction';
  }

  /**
   * Writes an entry now, in a transaction of its own, for a write committed elsewhere (a worker
   * job). If PostgreSQL refuses it, the entry is queued like `enqueue` (never lost). Never throws.
   */
  async record(ctx: AuditContext, event: AuditEvent): Promise<void> {
    const row = toRow(ctx, event);
    try {
      await this.prisma.pool.query(`INSERT INTO audit_logs (${COLUMN_LIST}) VALUES (${placeholders(0)})`, row);
    } catch (err) {
      this.log.warn(`audit entry queued, PostgreSQL refused it: ${(err as Error).message}`);
      this.buffer.push(row);
    }
    ctx.recorded = true;
    ctx.recordedBy = 'transaction';
  }

  /** Queues a request-only entry (read, refusal, login); marks the request recorded. Never throws. */
  enqueue(ctx: AuditContext, event: AuditEvent): void {
    this.buffer.push(toRow(ctx, event));
    ctx.recorded = true;
    ctx.recordedBy = 'queue';
    if (this.buffer.length >= this.config.audit.bufferMaxEntries) void this.flush().catch(() => undefined);
  }

  /** Entries waiting in memory (not yet in PostgreSQL nor in the Redis spill). */
  pending(): number {
    return this.buffer.length;
  }

  /**
   * Writes every queued entry now, then drains the Redis spill (the timer calls it; tests and
   * shutdown too). Entries PostgreSQL refuses go to the spill. Never throws.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.flushOnce().finally(() => (this.flushing = null));
    await this.flushing;
  }

  private async flushOnce(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length) {
      try {
        await this.insert(batch);
      } catch (err) {
        this.log.warn(`audit flush failed (${(err as Error).message}); ${batch.length} entries go to the Redis spill`);
        await this.spill(batch);
        return;
      }
    }
    await this.drainSpill().catch((err: Error) => this.log.warn(`audit spill not drained yet: ${err.message}`));
  }

  /** Inserts rows in one statement; an entry already stored (same id, from the spill) is skipped. */
  private async insert(rows: AuditRow[]): Promise<void> {
    for (let i = 0; i < rows.length; i += DRAIN_BATCH) {
      const chunk = rows.slice(i, i + DRAIN_BATCH);
      const tuples = chunk.map((_, r) => `(${placeholders(r)})`).join(', ');
      await this.prisma.pool.query(`INSERT INTO audit_logs (${COLUMN_LIST}) VALUES ${tuples} ON CONFLICT (id) DO NOTHING`, chunk.flat());
    }
  }

  /** Appends rows to the Redis spill; when Redis is away or the spill is full, keeps them in memory (bounded), else logs them. */
  private async spill(rows: AuditRow[]): Promise<void> {
    try {
      const length = await withTimeout(this.redis.xlen(this.spillKey));
      if (length + rows.length > SPILL_MAX_ENTRIES) throw new Error(`the audit spill holds ${length} entries (max ${SPILL_MAX_ENTRIES})`);
      const results = await withTimeout(this.redis.pipeline(rows.map((r) => ['xadd', this.spillKey, '*', 'e', JSON.stringify(r)])).exec());
      const failed = (results ?? []).find(([err]) => err);
      if (!results || failed) throw failed?.[0] ?? new Error('Redis pipeline was not executed');
      this.spillCounts.spilled += rows.length;
    } catch (err) {
      const room = Math.max(0, this.config.audit.bufferMaxEntries * 10 - this.buffer.length);
      const kept = rows.slice(0, room);
      this.buffer = kept.concat(this.buffer);
      this.spillCounts.logged += rows.length - kept.length;
      for (const row of rows.slice(room)) {
        this.log.error({ auditEntry: Object.fromEntries(COLUMNS.map(([c], i) => [c, row[i]])) }, 'audit entry could not be stored');
      }
      this.log.warn(`audit spill to Redis failed (${(err as Error).message}); ${kept.length} entries kept in memory`);
    }
  }

  /** Moves spilled entries into PostgreSQL, oldest first, until the spill is empty. */
  private async drainSpill(): Promise<void> {
    for (;;) {
      let entries: [string, string[]][];
      try {
        entries = await withTimeout(this.redis.xrange(this.spillKey, '-', '+', 'COUNT', DRAIN_BATCH));
      } catch {
        return; // Redis away: nothing can be drained now
      }
      if (!entries.length) return;
      const rows: AuditRow[] = [];
      for (const [, fields] of entries) {
        const i = fields.indexOf('e');
        try {
          const row = JSON.parse(fields[i + 1] ?? '') as AuditRow;
          if (Array.isArray(row) && row.length === COLUMNS.length) rows.push(row);
          else throw new Error('not an audit row');
        } catch {
          this.log.error({ auditSpillEntry: (fields[i + 1] ?? '').slice(0, 4096) }, 'unreadable audit spill entry');
        }
      }
      await this.insert(rows); // throws when PostgreSQL is away: the entries stay in the spill
      await this.redis.xdel(this.spillKey, ...entries.map(([id]) => id));
      if (entries.length < DRAIN_BATCH) return;
    }
  }
}

function placeholders(rowIndex: number): string {
  return COLUMNS.map(([, cast], i) => `$${rowIndex * COLUMNS.length + i + 1}${cast}`).join(', ');
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The stored row of an event (redacted `changes`, clipped strings, NUL removed). */
export function toRow(ctx: AuditContext, e: AuditEvent): AuditRow {
  const changes = e.changes ? JSON.stringify(redactChanges(e.changes)) : null;
  return [
    randomUUID(),
    new Date().toISOString(),
    ctx.actorType,
    ctx.actorUserId,
    ctx.actorKeyId,
    clip(ctx.actorLabel, 320),
    ctx.actorRole,
    clip(e.action, 128),
    clip(e.targetType ?? null, 64),
    clip(e.targetId ?? null, 256),
    e.result ?? 'success',
    e.status ?? 200,
    clip(ctx.requestId, 128),
    clip(ctx.ip, 64),
    clip(ctx.userAgent, 512),
    ctx.method,
    clip(ctx.path, 512),
    changes,
  ];
}

function clip(s: string | null, n: number): string | null {
  if (s === null) return null;
  const clean = s.replace(/\0/g, '');
  return clean.length > n ? clean.slice(0, n) : clean;
}
