import { Injectable, Logger } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

export interface ExpiryRunResult {
  /** grants marked expired in this run */
  expired: number;
  /** credits removed from balances by this run (Σ expiry transactions, positive) */
  credits: Decimal;
}

/** Users handled per batch query of the job. */
const USER_BATCH = 200;

/**
 * Expires credit grants (docs/api/credits.md "Grant expiry"). When a grant's `expiresAt`
 * passes, the part of it not yet consumed leaves the balance through a credit transaction of
 * type `expiry` (negative amount, with `balance_after`), written in the same DB transaction as
 * the balance change and the grant's `expiredAt`/`expiredAmount`. So balance = Σ transaction
 * amounts (= Σ grants − Σ debits + Σ refunds − Σ expiries) stays exact, and a grant expires at
 * most once (`expiredAt` is set once; re-runs and concurrent runs find nothing left to do).
 *
 * Which part of a grant is unconsumed. Debits are written by `tollgate_apply_debits` on the hot
 * path, which knows nothing of grants, so per-grant consumption is not recorded. Instead the
 * balance is read as made of the live grants, consumed soonest-expiring first (FIFO by
 * `expiresAt`, ties by `createdAt` then id, non-expiring grants last), with credit that came
 * from refunds and positive adjustments counted as never expiring. At expiry of grant G, with
 * the account row locked and every grant that expires before G already expired:
 *
 *   later     = Σ amount of unexpired grants that expire after G (or never)
 *   permanent = Σ positive refund/adjustment transactions of the user
 *   remainder = max(0, min(G.amount, balance − later − permanent))
 *
 * i.e. whatever of the balance the later grants and permanent credit cannot account for was
 * left of G. Properties: 0 ≤ remainder ≤ G.amount; never more than the balance (an account in
 * the red loses nothing); a grant wholly spent expires with 0; when grants expire in the order
 * they were issued this equals exact FIFO replay of the ledger. When a short grant is issued
 * after a longer one was partly spent, earlier debits are attributed to the short one (the
 * snapshot does not replay history), which favours the user: later-expiring credit is kept.
 * The last grant of an account to expire always takes what is left of the grants, so the sum
 * expired over a user's lifetime is the same as with replay.
 *
 * The balance may include a due grant for up to one job interval after its `expiresAt`
 * (credit-grants.expire in src/jobs/job-table.ts); balance reads in the API are as of the last run.
 */
@Injectable()
export class GrantExpiryService {
  private readonly log = new Logger(GrantExpiryService.name);

  constructor(private readonly prisma: PrismaService) {}

  /**
   * Expires every grant with expiresAt ≤ `asOf` not expired yet, user by user (one DB
   * transaction each). Safe to run any number of times, concurrently too.
   */
  async expireDue(asOf: Date = new Date()): Promise<ExpiryRunResult> {
    let expired = 0;
    let credits = new Decimal(0);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const users = await this.prisma.$queryRaw<{ user_id: string }[]>`
        SELECT DISTINCT "user_id" FROM "credit_grants"
        WHERE "expired_at" IS NULL AND "expires_at" <= ${asOf} AND "user_id" > ${after}::uuid
        ORDER BY "user_id" LIMIT ${USER_BATCH}`;
      for (const { user_id } of users) {
        const r = await this.expireForUser(user_id, asOf);
        expired += r.expired;
        credits = credits.plus(r.credits);
      }
      if (users.length < USER_BATCH) break;
      after = users[users.length - 1].user_id;
    }
    if (expired > 0) this.log.log(`expired ${expired} credit grants, ${credits.toFixed()} credits`);
    return { expired, credits };
  }

  /** Expires one user's due grants, soonest first, under the account row lock. */
  async expireForUser(userId: string, asOf: Date = new Date()): Promise<ExpiryRunResult> {
    return this.prisma.$transaction(async (tx) => {
      const [account] = await tx.$queryRaw<{ balance: Prisma.Decimal }[]>`
        SELECT "balance" FROM "credit_accounts" WHERE "user_id" = ${userId}::uuid FOR UPDATE`;
      // Read after the lock: a run that committed while this one waited leaves nothing due.
      const due = await tx.$queryRaw<{ id: string; amount: Prisma.Decimal; reason: string }[]>`
        SELECT "id", "amount", "reason" FROM "credit_grants"
        WHERE "user_id" = ${userId}::uuid AND "expired_at" IS NULL AND "expires_at" <= ${asOf}
        ORDER BY "expires_at", "created_at", "id"`;
      if (due.length === 0) return { expired: 0, credits: new Decimal(0) };
      const [{ permanent }] = await tx.$queryRaw<{ permanent: Prisma.Decimal }[]>`
        SELECT COALESCE(sum("amount"), 0) AS "permanent" FROM "credit_transactions"
        WHERE "user_id" = ${userId}::uuid AND "type" IN ('refund', 'adjustment') AND "amount" > 0`;
      let balance = new Decimal(account?.balance ?? 0);
      let credits = new Decimal(0);
      const now = new Date();
      for (const g of due) {
        const [{ later }] = await tx.$queryRaw<{ later: Prisma.Decimal }[]>`
          SELECT COALESCE(sum(o."amount"), 0) AS "later"
          FROM "credit_grants" o JOIN "credit_grants" g ON g."id" = ${g.id}::uuid
          WHERE o."user_id" = g."user_id" AND o."expired_at" IS NULL AND o."id" <> g."id"
            AND (o."expires_at" IS NULL OR (o."expires_at", o."created_at", o."id") > (g."expires_at", g."created_at", g."id"))`;
        const remainder = Decimal.max(0, Decimal.min(new Decimal(g.amount), balance.minus(later).minus(permanent)));
        if (remainder.gt(0)) {
          balance = balance.minus(remainder);
          await tx.creditAccount.update({ where: { userId }, data: { balance, updatedAt: now } });
          await tx.creditTransaction.create({
            data: {
              userId,
              type: 'expiry',
              amount: remainder.negated(),
              balanceAfter: balance,
              grantId: g.id,
              description: g.reason ? `credit grant expired: ${g.reason}` : 'credit grant expired',
            },
          });
          credits = credits.plus(remainder);
        }
        await tx.creditGrant.update({ where: { id: g.id }, data: { expiredAt: now, expiredAmount: remainder } });
      }
      return { expired: due.length, credits };
    });
  }
}
