import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Decimal } from '../common/decimal';
import { CreditGrant, Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export interface HoldResult {
  admitted: boolean;
  /** account balance when the hold was tried (credits) */
  balance: Decimal;
  /** credits held by other calls in flight (credits) */
  held: Decimal;
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
}

export interface GrantResult {
  grantId: string;
  /** false when the idempotency key had been used: the first grant is returned */
  created: boolean;
  balanceAfter: Decimal;
  /** the grant row (the first one when the idempotency key had been used) */
  grant: CreditGrant;
}

export class InvalidGrantError extends Error {
  readonly code = 'invalid_amount';
}

/** The idempotency key was used before for a grant with a different user, amount or expiry. */
export class IdempotencyKeyReusedError extends Error {
  readonly code = 'idempotency_key_reused';
}

/**
 * The credit ledger (DESIGN.md "credits"): balances change only here and in
 * CallSettlementRepository, always together with a credit_transactions row, so for every user
 * balance = Σ grants − Σ debits + Σ refunds.
 */
@Injectable()
export class CreditLedgerService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Admits a call if the user's balance minus the credits held by their calls in flight is
   * positive, and holds `amount` credits for it (one round trip; serialised per user by the
   * account row lock). A user can thus go below zero by at most one call's actual cost beyond
   * its hold. The hold is released when the call is settled, or stops counting after
   * CREDIT_HOLD_TTL_SECONDS if the process dies first.
   */
  async holdForCall(userId: string, callId: string, amount: Decimal): Promise<HoldResult> {
    const res = await this.prisma.pool.query<{ admitted: boolean; balance: string; held: string }>({
      name: 'tollgate_credit_hold',
      text: 'SELECT * FROM "tollgate_credit_hold"($1, $2, $3, $4)',
      values: [userId, callId, amount.toFixed(), this.config.credit.holdTtlSeconds],
    });
    const row = res.rows[0];
    return { admitted: row.admitted, balance: new Decimal(row.balance), held: new Decimal(row.held) };
  }

  /** Releases a hold without settling a call (the call never reached a provider). */
  async releaseHold(callId: string): Promise<void> {
    await this.prisma.pool.query('DELETE FROM "credit_holds" WHERE "call_id" = $1', [callId]);
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
   * @throws InvalidGrantError when amount ≤ 0
   * @throws IdempotencyKeyReusedError when the key belongs to a grant with other user/amount/expiry
   */
  async grant(input: GrantInput): Promise<GrantResult> {
    if (!input.amount.isFinite() || input.amount.lte(0)) throw new InvalidGrantError('amount must be a positive number of credits');
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
          if (!same) throw new IdempotencyKeyReusedError('This idempotency key was used for a different grant');
          const { transactions, ...grant } = existing;
          return { grantId: existing.id, created: false, balanceAfter: transactions[0]?.balanceAfter ?? new Decimal(0), grant };
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
      return { grantId: grant.id, created: true, balanceAfter: account.balance, grant };
    });
  }
}
