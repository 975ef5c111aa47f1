import { Inject, Injectable } from '@nestjs/common';
import type { QueryConfig } from 'pg';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Decimal } from '../common/decimal';
import { DomainError } from '../common/domain-error';
import { CreditGrant, Prisma } from '../generated/prisma/client';
import { ModelType } from '../generated/prisma/enums';
import { GroupCommit } from '../common/group-commit';
import { boolArray, intArray, numericArray, textArray, timestampArray, uuidArray } from '../prisma/pg-array-literal';
import { isConnectionError, queryWithDeadline } from '../prisma/pool-query';
import { PrismaService } from '../prisma/prisma.service';

export interface HoldResult {
  admitted: boolean;
  /** account balance when the hold was tried (credits) */
  balance: Decimal;
  /** credits held by other calls in flight (credits) */
  held: Decimal;
}

/** A call asking to be admitted: its worst-case cost and what its start-of-call row records. */
export interface CallHold {
  userId: string;
  callId: string;
  /** credits held: the call's worst case */
  amount: Decimal;
  /** false with credit billing off: admit without holding credits */
  enforce: boolean;
  apiKeyId: string | null;
  providerId: string | null;
  model: string;
  type: ModelType;
  stream: boolean;
  requestId: string;
  appDid: string | null;
  /** prompt tokens estimated at admission (what an interrupted call is billed for) */
  promptTokensEstimate: number;
  /** credits per prompt token */
  inputRate: Decimal;
  /** Date.now() when the call arrived (ms) */
  startedAt: number;
}

export interface GrantInput {
  userId: string;
  /** credits, > 0 */
  amount: Decimal;
  reason?: string;
  source?: string;
  expiresAt?: Date | null;
  /** the same key applied twice grants once */
  idempotencyKey?: string | null;
  createdById?: string | null;
  /** runs inside the grant's transaction with its result (a replay too), e.g. to write the audit entry */
  inTransaction?: (tx: Prisma.TransactionClient, result: GrantResult) => Promise<void>;
}

export interface GrantResult {
  grantId: string;
  /** false when the idempotency key had been used: the first grant is returned */
  created: boolean;
  balanceAfter: Decimal;
  /** the grant row (the first one when the idempotency key had been used) */
  grant: CreditGrant;
}

/** Most holds taken in one statement. */
const HOLD_BATCH_MAX = 128;
/** Hold statements in flight at once (per api process); later holds wait and go together. */
const HOLD_BATCH_CONCURRENCY = 2;

function holdResult(row: { admitted: boolean; balance: string; held: string }): HoldResult {
  return { admitted: row.admitted, balance: new Decimal(row.balance), held: new Decimal(row.held) };
}

/**
 * The hot-path statements of the ledger, one builder each (name, text and values). Exported for
 * the SQL snapshots (src/database/sql-snapshots.spec.ts).
 */
export const creditLedgerQueries = {
  hold: (hold: CallHold, ttlSeconds: number): QueryConfig => ({
    name: 'tollgate_credit_hold',
    text: 'SELECT * FROM "tollgate_credit_hold"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)',
    values: [
      hold.userId,
      hold.callId,
      hold.amount.toFixed(),
      ttlSeconds,
      hold.enforce,
      hold.apiKeyId,
      hold.providerId,
      hold.model,
      hold.type,
      hold.stream,
      hold.requestId,
      hold.appDid,
      hold.promptTokensEstimate,
      hold.inputRate.toFixed(),
      new Date(hold.startedAt).toISOString(),
    ],
  }),
  /**
   * Many calls' holds in one statement (tollgate_credit_hold_batch): parallel arrays, one element
   * per call, each passed as a ready PostgreSQL array literal (src/prisma/pg-array-literal.ts, the
   * arrays PostgreSQL read from node-postgres' encoding of JS arrays); the call type goes as text.
   * @throws NulInTextError (SQLSTATE 22021, as PostgreSQL refuses it) when a text field holds U+0000
   */
  holdBatch: (holds: readonly CallHold[], ttlSeconds: number): QueryConfig => ({
    name: 'tollgate_credit_hold_batch',
    text:
      'SELECT "ord", "admitted", "balance", "held" FROM "tollgate_credit_hold_batch"($1::uuid[], $2::uuid[], $3::numeric[], $4, ' +
      '$5::boolean[], $6::uuid[], $7::uuid[], $8::text[], $9::"ModelType"[], $10::boolean[], $11::text[], $12::text[], $13::integer[], ' +
      '$14::numeric[], $15::timestamptz[])',
    values: [
      uuidArray(holds, (h) => h.userId),
      uuidArray(holds, (h) => h.callId),
      numericArray(holds, (h) => h.amount),
      ttlSeconds,
      boolArray(holds, (h) => h.enforce),
      uuidArray(holds, (h) => h.apiKeyId),
      uuidArray(holds, (h) => h.providerId),
      textArray(holds, (h) => h.model),
      textArray(holds, (h) => h.type),
      boolArray(holds, (h) => h.stream),
      textArray(holds, (h) => h.requestId),
      textArray(holds, (h) => h.appDid),
      intArray(holds, (h) => h.promptTokensEstimate),
      numericArray(holds, (h) => h.inputRate),
      timestampArray(holds, (h) => h.startedAt),
    ],
  }),
  renewHolds: (callIds: readonly string[], ttlSeconds: number): QueryConfig => ({
    name: 'tollgate_renew_holds',
    text: 'UPDATE "credit_holds" SET "expires_at" = now() + make_interval(secs => $2) WHERE "call_id" = ANY($1::uuid[])',
    values: [callIds, ttlSeconds],
  }),
};

/**
 * The credit ledger: grants and call holds. Balances change here (grants), in
 * CallSettlementRepository (debits) and in GrantExpiryService (expiry), always together with a
 * credit_transactions row, so for every user balance = Σ transaction amounts.
 */
@Injectable()
export class CreditLedgerService {
  /**
   * Holds of calls arriving while a hold statement is in flight are taken together in the next
   * one (docs/call-recording.md "Admission"): a lone call waits for nothing, and concurrent calls
   * of one busy user share one transaction instead of queueing on their account row one by one.
   */
  private readonly holds: GroupCommit<CallHold, HoldResult>;

  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.holds = new GroupCommit<CallHold, HoldResult>({
      maxBatch: HOLD_BATCH_MAX,
      concurrency: HOLD_BATCH_CONCURRENCY,
      write: (batch) => this.holdBatch(batch),
      onError: () => undefined, // each call's admission logs and answers its own failure
    });
  }

  /**
   * Admits a call if its worst case (`amount` credits) fits in the user's balance minus the
   * credits held by their calls in flight, and holds it. Holds asked for while another hold
   * statement is in flight go together in one statement (tollgate_credit_hold_batch, applied in
   * arrival order per user); a lone call's is the single statement tollgate_credit_hold. With `hold.enforce` false (credit billing off) it admits without
   * touching the account. Either way it writes the call's start-of-call row (the hold), which the
   * api renews while the call runs (HoldLeases) and the worker turns into an `interrupted` call if
   * the process dies (docs/call-recording.md). Deadline CREDIT_HOLD_TIMEOUT_MS.
   * @throws QueryDeadlineError or the driver's error when PostgreSQL does not answer
   */
  holdForCall(hold: CallHold): Promise<HoldResult> {
    return this.holds.add(hold);
  }

  /**
   * One statement for a batch of holds (one element: the single-call statement). A batch the
   * database refuses for its data (SQLSTATE 22/23: say a call whose key was deleted a moment
   * ago) is retried call by call, so only the bad call fails; a dead database fails them all.
   */
  private async holdBatch(batch: CallHold[]): Promise<(HoldResult | Error)[]> {
    if (batch.length === 1) return [await this.holdOne(batch[0])];
    try {
      const res = await queryWithDeadline<{ ord: number; admitted: boolean; balance: string; held: string }>(
        this.prisma.pool,
        creditLedgerQueries.holdBatch(batch, this.config.credit.holdTtlSeconds),
        this.config.credit.holdTimeoutMs,
      );
      const results: HoldResult[] = new Array<HoldResult>(batch.length);
      for (const row of res.rows) results[row.ord - 1] = holdResult(row);
      return results;
    } catch (err) {
      if (isConnectionError(err) || !/^2[23]/.test(String((err as { code?: unknown }).code ?? ''))) throw err;
      return Promise.all(batch.map((h) => this.holdOne(h).catch((e: Error) => e)));
    }
  }

  private async holdOne(hold: CallHold): Promise<HoldResult> {
    const res = await queryWithDeadline<{ admitted: boolean; balance: string; held: string }>(
      this.prisma.pool,
      creditLedgerQueries.hold(hold, this.config.credit.holdTtlSeconds),
      this.config.credit.holdTimeoutMs,
    );
    return holdResult(res.rows[0]);
  }

  /** Pushes the expiry of these calls' holds CREDIT_HOLD_TTL_SECONDS ahead (they are still running). */
  async renewHolds(callIds: readonly string[]): Promise<void> {
    if (callIds.length === 0) return;
    await this.prisma.pool.query(creditLedgerQueries.renewHolds(callIds, this.config.credit.holdTtlSeconds));
  }

  /** Creates the user's account if missing (balance 0). */
  async ensureAccount(userId: string, tx: Prisma.TransactionClient = this.prisma): Promise<void> {
    await tx.creditAccount.upsert({ where: { userId }, create: { userId }, update: {} });
  }

  /** Current balance in credits (0 when the user has no account yet). */
  async balance(userId: string): Promise<Decimal> {
    const a = await this.prisma.creditAccount.findUnique({ where: { userId }, select: { balance: true } });
    return a ? a.balance : new Decimal(0);
  }

  /**
   * Grants credits: grant row + transaction + balance, in one transaction. With an idempotency
   * key, a second call with the same key grants nothing and returns the first grant.
   * @throws DomainError 400 invalid_amount when amount ≤ 0
   * @throws DomainError 409 idempotency_key_reused when the key belongs to a grant with another
   *   user, amount or expiry
   */
  async grant(input: GrantInput): Promise<GrantResult> {
    if (!input.amount.isFinite() || input.amount.lte(0))
      throw DomainError.badRequest('invalid_amount', 'amount must be a positive number of credits');
    try {
      return await this.applyGrant(input);
    } catch (err) {
      // Two concurrent requests with one idempotency key: the loser's insert hits the unique
      // index and its transaction rolls back whole; it answers with the winner's grant.
      if (input.idempotencyKey && err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
        return this.applyGrant(input);
      }
      throw err;
    }
  }

  private applyGrant(input: GrantInput): Promise<GrantResult> {
    return this.prisma.$transaction(async (tx) => {
      if (input.idempotencyKey) {
        const existing = await tx.creditGrant.findUnique({
          where: { idempotencyKey: input.idempotencyKey },
          include: { transactions: { where: { type: 'grant' }, take: 1 } },
        });
        if (existing) {
          const same =
            existing.userId === input.userId &&
            existing.amount.eq(input.amount) &&
            (existing.expiresAt?.getTime() ?? null) === (input.expiresAt?.getTime() ?? null);
          if (!same) throw DomainError.conflict('idempotency_key_reused', 'This idempotency key was used for a different grant');
          const { transactions, ...grant } = existing;
          const replay = { grantId: existing.id, created: false, balanceAfter: transactions[0]?.balanceAfter ?? new Decimal(0), grant };
          await input.inTransaction?.(tx, replay);
          return replay;
        }
      }
      await this.ensureAccount(input.userId, tx);
      const account = await tx.creditAccount.update({
        where: { userId: input.userId },
        data: { balance: { increment: input.amount }, updatedAt: new Date() },
      });
      const grant = await tx.creditGrant.create({
        data: {
          userId: input.userId,
          amount: input.amount,
          reason: input.reason ?? '',
          source: input.source ?? 'admin',
          expiresAt: input.expiresAt ?? null,
          idempotencyKey: input.idempotencyKey ?? null,
          createdById: input.createdById ?? null,
        },
      });
      await tx.creditTransaction.create({
        data: {
          userId: input.userId,
          type: 'grant',
          amount: input.amount,
          balanceAfter: account.balance,
          grantId: grant.id,
          description: input.reason ?? 'credit grant',
        },
      });
      const result = { grantId: grant.id, created: true, balanceAfter: account.balance, grant };
      await input.inTransaction?.(tx, result);
      return result;
    });
  }
}
