import { Inject, Injectable } from '@nestjs/common';
import type { PoolClient, QueryConfig } from 'pg';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';
import { boolArray, intArray, numericArray, textArray, timestampArray, uuidArray } from '../prisma/pg-array-literal';
import { queryWithDeadline } from '../prisma/pool-query';
import { CallRecord } from './call-record';

/*
 * Durable record of finished calls, one statement, synchronous commit: inserts the calls
 * (idempotent by call id) and, for the billable ones inserted, their pending debits. It does
 * not touch accounts (no row lock held across the commit's flush): holds are released and
 * debits written right after by tollgate_apply_debits. Until then a call's hold stays in
 * place, so its credits stay reserved.
 */
export const RECORD_SQL = `
WITH input AS (
  SELECT * FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::"ModelType"[],
    $8::"ModelCallStatus"[], $9::boolean[], $10::integer[], $11::integer[], $12::text[],
    $13::numeric[], $14::integer[], $15::text[], $16::text[], $17::integer[], $18::text[],
    $19::text[], $20::timestamptz[], $21::boolean[], $22::uuid[]
  ) AS t(id, user_id, api_key_id, provider_id, credential_id, model, type, status,
    stream, prompt_tokens, completion_tokens, usage_source, credits, duration_ms, app_did,
    request_id, upstream_status, error_code, error_message, created_at, billable, reserve_id)
),
calls AS (
  INSERT INTO "model_calls" ("id", "user_id", "api_key_id", "provider_id", "credential_id", "model",
    "type", "status", "stream", "prompt_tokens", "completion_tokens", "total_tokens", "usage_source",
    "credits", "duration_ms", "app_did", "request_id", "upstream_status", "error_code",
    "error_message", "created_at")
  SELECT id, user_id, api_key_id, provider_id, credential_id, model, type, status, stream,
    prompt_tokens, completion_tokens, prompt_tokens + completion_tokens, usage_source, credits,
    duration_ms, app_did, request_id, upstream_status, error_code, error_message, created_at
  FROM input
  ON CONFLICT ("id") DO NOTHING
  RETURNING "id"
),
pending AS (
  INSERT INTO "pending_debits" ("call_id", "user_id", "credits", "model", "reserve_id")
  SELECT i.id, i.user_id, i.credits, i.model, i.reserve_id FROM input i JOIN calls c ON c."id" = i.id WHERE i.billable
  RETURNING 1
)
SELECT (SELECT count(*) FROM calls)::int AS inserted`;

/**
 * RECORD_SQL with an asynchronous commit (CALL_RECORD_SYNCHRONOUS_COMMIT=false): `set_config(…,
 * true)` lasts until the end of the statement's own transaction, so only this commit skips the WAL
 * flush. The setting's CTE is read by the final SELECT, which is what makes PostgreSQL evaluate it.
 */
export const RECORD_ASYNC_COMMIT_SQL = RECORD_SQL.replace(
  'WITH input AS (',
  "WITH commit_mode AS (SELECT set_config('synchronous_commit', 'off', true) AS mode),\ninput AS (",
).replace(
  'SELECT (SELECT count(*) FROM calls)::int AS inserted',
  'SELECT (SELECT count(*) FROM calls)::int AS inserted, (SELECT mode FROM commit_mode) AS commit_mode',
);

/**
 * SQL of the call log's writes (docs/call-recording.md): the durable insert of finished calls and
 * the conversion of orphaned holds into `interrupted` calls.
 */
@Injectable()
export class ModelCallRepository {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Inserts a batch of calls and the pending debits of the billable ones, one statement, with
   * CALL_RECORD_DB_TIMEOUT_MS as deadline. Idempotent by call id: a call already written is
   * skipped (and gets no second pending debit).
   * @returns how many rows were new
   * @throws the driver's error (isDataError / isConnectionError tell which kind) or QueryDeadlineError
   */
  async insert(records: readonly CallRecord[]): Promise<{ inserted: number }> {
    if (records.length === 0) return { inserted: 0 };
    const res = await queryWithDeadline<{ inserted: number }>(
      this.prisma.pool,
      modelCallQueries.record(records, { synchronousCommit: this.config.recording.synchronousCommit }),
      this.config.recording.dbTimeoutMs,
    );
    return { inserted: res.rows[0].inserted };
  }

  /**
   * The same insert on a given connection, without deadline (the worker's fallback drain), always
   * with a synchronous commit: nothing waits on it, and the fallback entry is trimmed after it.
   */
  async insertOn(client: PoolClient, records: readonly CallRecord[]): Promise<{ inserted: number }> {
    if (records.length === 0) return { inserted: 0 };
    const res = await client.query<{ inserted: number }>(modelCallQueries.record(records));
    return { inserted: res.rows[0].inserted };
  }

  /**
   * Turns up to `limit` holds whose lease expired into `interrupted` calls and settles them
   * (tollgate_interrupt_orphaned_calls).
   * @returns calls written, holds settled
   */
  async interruptOrphanedCalls(limit: number): Promise<{ interrupted: number; settled: number }> {
    const res = await this.prisma.pool.query<{ interrupted: number; settled: number }>(modelCallQueries.interruptOrphanedCalls(limit));
    return res.rows[0];
  }
}

/**
 * The statements of this repository, one builder each (name, text and values). Exported for the
 * SQL snapshots (src/database/sql-snapshots.spec.ts).
 */
export const modelCallQueries = {
  /**
   * The durable insert of finished calls; `synchronousCommit: false` is the asynchronous-commit
   * variant (CALL_RECORD_SYNCHRONOUS_COMMIT), a prepared statement of its own.
   */
  record: (records: readonly CallRecord[], { synchronousCommit = true }: { synchronousCommit?: boolean } = {}): QueryConfig =>
    recordQuery(records, synchronousCommit),
  interruptOrphanedCalls: (limit: number): QueryConfig => ({
    name: 'tollgate_interrupt_orphaned_calls',
    text: 'SELECT * FROM "tollgate_interrupt_orphaned_calls"($1)',
    values: [limit],
  }),
};

/**
 * The record statement with its 22 parallel columns, one element per record, each passed as a
 * ready PostgreSQL array literal (src/prisma/pg-array-literal.ts): PostgreSQL reads the same
 * arrays as from JS arrays encoded by node-postgres, built without its per-element generic
 * encoding. Enum columns (type, status) go as text, which is what an enum label is.
 * @throws NulInTextError (SQLSTATE 22021, a data error) when a text field holds U+0000, as
 *   PostgreSQL would: records are sanitised first (sanitizeRecord), so this is a caller's bug
 */
function recordQuery(records: readonly CallRecord[], synchronousCommit: boolean): QueryConfig {
  return {
    name: synchronousCommit ? 'tollgate_record_calls' : 'tollgate_record_calls_async_commit',
    text: synchronousCommit ? RECORD_SQL : RECORD_ASYNC_COMMIT_SQL,
    values: [
      uuidArray(records, (r) => r.id),
      uuidArray(records, (r) => r.userId),
      uuidArray(records, (r) => r.apiKeyId),
      uuidArray(records, (r) => r.providerId),
      uuidArray(records, (r) => r.credentialId),
      textArray(records, (r) => r.model),
      textArray(records, (r) => r.type),
      textArray(records, (r) => r.status),
      boolArray(records, (r) => r.stream),
      intArray(records, (r) => r.promptTokens),
      intArray(records, (r) => r.completionTokens),
      textArray(records, (r) => r.usageSource),
      numericArray(records, (r) => r.credits),
      intArray(records, (r) => r.durationMs),
      textArray(records, (r) => r.appDid),
      textArray(records, (r) => r.requestId),
      intArray(records, (r) => r.upstreamStatus),
      textArray(records, (r) => r.errorCode),
      textArray(records, (r) => r.errorMessage),
      timestampArray(records, (r) => r.createdAt),
      boolArray(records, (r) => r.billable),
      uuidArray(records, (r) => r.reserveId ?? null),
    ],
  };
}
