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
  /** true: write a debit of `credits` in the same statement */
  billable: boolean;
}

export interface SettlementResult {
  /** model_calls rows written (a record already written before is skipped) */
  inserted: number;
  /** debit transactions written */
  debited: number;
}

/*
 * One SQL statement: insert the calls (idempotent by call id), debit each billable call's user
 * by its credits, write one debit transaction per call with its balance_after, and release the
 * calls' credit holds. A call id that is already in model_calls is skipped entirely, so a retried
 * batch can never debit twice. balance_after of a row = the account's new balance plus the
 * debits of the later rows of the same user in this batch (window sum), so the ledger reads like
 * the calls had been settled one by one in batch order.
 */
const SETTLE_SQL = `
WITH input AS (
  SELECT * FROM unnest(
    $1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::"ModelType"[],
    $8::"ModelCallStatus"[], $9::boolean[], $10::integer[], $11::integer[], $12::text[],
    $13::numeric[], $14::integer[], $15::text[], $16::text[], $17::integer[], $18::text[],
    $19::text[], $20::timestamptz[], $21::boolean[]
  ) WITH ORDINALITY AS t(id, user_id, api_key_id, provider_id, credential_id, model, type, status,
    stream, prompt_tokens, completion_tokens, usage_source, credits, duration_ms, app_did,
    request_id, upstream_status, error_code, error_message, created_at, billable, seq)
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
debits AS (
  SELECT i.* FROM input i JOIN calls c ON c."id" = i.id WHERE i.billable
),
accounts AS (
  UPDATE "credit_accounts" a SET "balance" = a."balance" - s.total, "updated_at" = now()
  FROM (SELECT user_id, sum(credits) AS total FROM debits GROUP BY user_id) s
  WHERE a."user_id" = s.user_id
  RETURNING a."user_id", a."balance"
),
ledger AS (
  INSERT INTO "credit_transactions" ("id", "user_id", "type", "amount", "balance_after",
    "model_call_id", "description")
  SELECT gen_random_uuid(), d.user_id, 'debit', -d.credits,
    a."balance" + COALESCE(sum(d.credits) OVER (PARTITION BY d.user_id ORDER BY d.seq
      ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING), 0),
    d.id, 'model call ' || d.model
  FROM debits d JOIN accounts a ON a."user_id" = d.user_id
  ORDER BY d.user_id, d.seq
  RETURNING 1
),
released AS (
  DELETE FROM "credit_holds" WHERE "call_id" IN (SELECT id FROM input) RETURNING 1
)
SELECT (SELECT count(*) FROM calls)::int AS inserted, (SELECT count(*) FROM ledger)::int AS debited,
  (SELECT count(*) FROM released)::int AS released`;

/**
 * Writes finished calls and their debits (DESIGN.md hot path step 7; issue 3 "Recording").
 * This and CreditLedgerService are the only code that changes a balance.
 */
@Injectable()
export class CallSettlementRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Settles a batch atomically in one round trip. Safe to run twice with the same records. */
  async settle(records: readonly CallRecord[]): Promise<SettlementResult> {
    if (records.length === 0) return { inserted: 0, debited: 0 };
    const col = <T>(f: (r: CallRecord) => T): T[] => records.map(f);
    const res = await this.prisma.pool.query<{ inserted: number; debited: number }>({ name: 'tollgate_settle_calls', text: SETTLE_SQL, values: [
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
    ] });
    return { inserted: res.rows[0].inserted, debited: res.rows[0].debited };
  }
}
