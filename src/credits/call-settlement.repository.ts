import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { ModelCallStatus, ModelType } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';

/** One finished gateway call, ready to be logged and (if billable) debited. */
export interface CallRecord {
  id: string;
  userId: string;
  apiKeyId: string | null;
  providerId: string | null;
  credentialId: string | null;
  model: string;
  type: ModelType;
  status: ModelCallStatus;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  usageSource: 'upstream' | 'tokenizer' | 'none';
  /** credits charged (0 for failed calls) */
  credits: Decimal;
  durationMs: number;
  appDid: string | null;
  requestId: string;
  upstreamStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: Date;
  /** true: `credits` is to be debited (success or aborted, with credit billing on) */
  billable: boolean;
  /** true: the call holds credits, to be released when it is settled */
  hasHold: boolean;
}

export interface SettlementResult {
  /** calls whose pending debit this run claimed (others were debited already) */
  claimed: number;
  /** debit transactions written */
  debited: number;
  /** holds released */
  released: number;
}

/*
 * Durable record of finished calls, one statement, synchronous commit: inserts the calls
 * (idempotent by call id) and, for the billable ones inserted, their pending debits. It does
 * not touch accounts (no row lock held across the commit's flush): holds are released and
 * debits written right after by tollgate_apply_debits. Until then a call's hold stays in
 * place, so its credits stay reserved.
 */
const RECORD_SQL = `
WITH input AS (
  SELECT * FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::"ModelType"[],
    $8::"ModelCallStatus"[], $9::boolean[], $10::integer[], $11::integer[], $12::text[],
    $13::numeric[], $14::integer[], $15::text[], $16::text[], $17::integer[], $18::text[],
    $19::text[], $20::timestamptz[], $21::boolean[]
  ) AS t(id, user_id, api_key_id, provider_id, credential_id, model, type, status,
    stream, prompt_tokens, completion_tokens, usage_source, credits, duration_ms, app_did,
    request_id, upstream_status, error_code, error_message, created_at, billable)
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
  INSERT INTO "pending_debits" ("call_id", "user_id", "credits", "model")
  SELECT i.id, i.user_id, i.credits, i.model FROM input i JOIN calls c ON c."id" = i.id WHERE i.billable
  RETURNING 1
)
SELECT (SELECT count(*) FROM calls)::int AS inserted`;

/**
 * Writes finished calls and their debits (DESIGN.md hot path step 7; issue 3 "Recording") in
 * two steps: `record` makes the call durable (the response waits for it), `applyDebits` writes
 * the debits soon after, off the response path. With CreditLedgerService, the only code that
 * changes a balance.
 */
@Injectable()
export class CallSettlementRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Inserts a batch of calls in one round trip. Safe to run twice with the same records. */
  async record(records: readonly CallRecord[]): Promise<{ inserted: number }> {
    if (records.length === 0) return { inserted: 0 };
    const col = <T>(f: (r: CallRecord) => T): T[] => records.map(f);
    const res = await this.prisma.pool.query<{ inserted: number }>({
      name: 'tollgate_record_calls',
      text: RECORD_SQL,
      values: [
        col((r) => r.id),
        col((r) => r.userId),
        col((r) => r.apiKeyId),
        col((r) => r.providerId),
        col((r) => r.credentialId),
        col((r) => r.model),
        col((r) => r.type),
        col((r) => r.status),
        col((r) => r.stream),
        col((r) => r.promptTokens),
        col((r) => r.completionTokens),
        col((r) => r.usageSource),
        col((r) => r.credits.toFixed()),
        col((r) => r.durationMs),
        col((r) => r.appDid),
        col((r) => r.requestId),
        col((r) => r.upstreamStatus),
        col((r) => r.errorCode),
        col((r) => r.errorMessage),
        col((r) => r.createdAt.toISOString()),
        col((r) => r.billable),
      ],
    });
    return { inserted: res.rows[0].inserted };
  }

  /**
   * Settles the listed calls (tollgate_apply_debits): writes each one's pending debit, exactly
   * once whoever else runs it, and releases its hold; one round trip.
   */
  async applyDebits(callIds: readonly string[]): Promise<SettlementResult> {
    if (callIds.length === 0) return { claimed: 0, debited: 0, released: 0 };
    const res = await this.prisma.pool.query<SettlementResult>({
      name: 'tollgate_apply_debits',
      text: 'SELECT * FROM "tollgate_apply_debits"($1::uuid[])',
      values: [callIds],
    });
    return res.rows[0];
  }

  /** Ids of calls still waiting for their debit, recorded before `olderThan` (oldest first). */
  async pendingDebits(olderThan: Date, limit: number): Promise<string[]> {
    const res = await this.prisma.pool.query<{ call_id: string }>(
      'SELECT "call_id" FROM "pending_debits" WHERE "created_at" < $1 ORDER BY "created_at" LIMIT $2',
      [olderThan.toISOString(), limit],
    );
    return res.rows.map((r) => r.call_id);
  }

  /** Releases holds past their expiry (tollgate_release_expired_holds). @returns how many */
  async releaseExpiredHolds(): Promise<number> {
    const res = await this.prisma.pool.query<{ n: number }>('SELECT "tollgate_release_expired_holds"() AS n');
    return res.rows[0].n;
  }
}
