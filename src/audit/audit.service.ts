import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { AuditContext, AuditEvent, redactChanges } from './audit-entry';

/** A transaction to write an entry in: a Prisma interactive transaction or a pooled pg client in BEGIN. */
export type AuditTransaction = Prisma.TransactionClient | PoolClient;

const COLUMNS = [
  'id',
  'created_at',
  'actor_type',
  'actor_user_id',
  'actor_key_id',
  'actor_label',
  'actor_role',
  'action',
  'target_type',
  'target_id',
  'result',
  'status',
  'request_id',
  'ip',
  'user_agent',
  'method',
  'path',
  'changes',
] as const;

type Row = unknown[];

/** Retries of a failed flush before the entries are written to the error log (never dropped silently). */
const MAX_FLUSH_ATTEMPTS = 5;

/**
 * The audit log's writer (docs/audit-log.md).
 * - `inTransaction`: a write's entry, in the write's own transaction (no change without its record).
 * - `enqueue`: request-only entries (reads by service keys, refusals, failed logins), buffered and
 *   written in batches every AUDIT_FLUSH_INTERVAL_MS or AUDIT_BUFFER_MAX_ENTRIES; flushed on
 *   shutdown. A batch the database refuses is retried; after MAX_FLUSH_ATTEMPTS its entries go to
 *   the error log line by line (redacted), so an entry is never lost silently.
 */
@Injectable()
export class AuditService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(AuditService.name);
  private buffer: { row: Row; attempts: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), this.config.audit.flushIntervalMs);
    this.timer.unref();
  }

  /** Flushes what is queued while the database pool is still open. */
  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    if (this.buffer.length) await this.flush();
  }

  /**
   * Writes the entry of a write inside that write's transaction, and marks the request recorded.
   * @param tx Prisma interactive transaction client or a pg client inside BEGIN
   */
  async inTransaction(tx: AuditTransaction, ctx: AuditContext, event: AuditEvent): Promise<void> {
    const row = toRow(ctx, event);
    const sql = `INSERT INTO audit_logs (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map((_, i) => `$${i + 1}${i === 17 ? '::jsonb' : ''}`).join(', ')})`;
    if ('$executeRawUnsafe' in tx) await tx.$executeRawUnsafe(sql, ...row);
    else await tx.query(sql, row);
    ctx.recorded = true;
  }

  /** Queues a request-only entry (read, refusal, login); marks the request recorded. Never throws. */
  enqueue(ctx: AuditContext, event: AuditEvent): void {
    this.buffer.push({ row: toRow(ctx, event), attempts: 0 });
    ctx.recorded = true;
    if (this.buffer.length >= this.config.audit.bufferMaxEntries) void this.flush();
  }

  /** Writes every queued entry now (tests and shutdown call it; the timer does otherwise). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.buffer.length) return;
    const batch = this.buffer;
    this.buffer = [];
    this.flushing = this.writeBatch(batch).finally(() => (this.flushing = null));
    await this.flushing;
  }

  private async writeBatch(batch: { row: Row; attempts: number }[]): Promise<void> {
    const values: unknown[] = [];
    const tuples = batch.map((b, r) => {
      values.push(...b.row);
      return `(${COLUMNS.map((_, i) => `$${r * COLUMNS.length + i + 1}${i === 17 ? '::jsonb' : ''}`).join(', ')})`;
    });
    try {
      await this.prisma.pool.query(`INSERT INTO audit_logs (${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`, values);
    } catch (err) {
      const retry: typeof batch = [];
      for (const b of batch) {
        if (++b.attempts < MAX_FLUSH_ATTEMPTS) retry.push(b);
        else this.log.error({ auditEntry: Object.fromEntries(COLUMNS.map((c, i) => [c, b.row[i]])) }, 'audit entry could not be stored');
      }
      this.buffer = retry.concat(this.buffer);
      this.log.warn(`audit flush failed (${(err as Error).message}); ${retry.length} entries kept for retry`);
    }
  }
}

function toRow(ctx: AuditContext, e: AuditEvent): Row {
  const changes = e.changes ? JSON.stringify(redactChanges(e.changes)) : null;
  return [
    randomUUID(),
    new Date(),
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
