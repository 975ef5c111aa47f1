import { Injectable, Logger } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { withPoolTransaction } from '../prisma/pool-transaction';
import { PrismaService } from '../prisma/prisma.service';
import { GrantExpiryRepository } from './grant-expiry.repository';

export interface ExpiryRunResult {
  /** grants marked expired in this run */
  expired: number;
  /** credits removed from balances by this run (Σ expiry transactions, positive) */
  credits: Decimal;
}

/**
 * The part of a grant that leaves the balance at its expiry (the rule in GrantExpiryService's
 * comment): max(0, min(grantAmount, balance − later − permanent)), all in credits.
 * @param input.later Σ amounts of unexpired grants expiring after this one (or never)
 * @param input.permanent Σ positive refund and adjustment transactions of the user
 */
export function expiringRemainder(input: { grantAmount: Decimal; balance: Decimal; later: Decimal; permanent: Decimal }): Decimal {
  return Decimal.max(0, Decimal.min(input.grantAmount, input.balance.minus(input.later).minus(input.permanent)));
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
 *
 * This class holds the rule and the transactions; the statements are in GrantExpiryRepository.
 */
@Injectable()
export class GrantExpiryService {
  private readonly log = new Logger(GrantExpiryService.name);

  constructor(
    private readonly prisma: PrismaService,
    private readonly grants: GrantExpiryRepository,
  ) {}

  /**
   * Expires every grant with expiresAt ≤ `asOf` not expired yet, user by user (one DB
   * transaction each). Safe to run any number of times, concurrently too.
   */
  async expireDue(asOf: Date = new Date()): Promise<ExpiryRunResult> {
    let expired = 0;
    let credits = new Decimal(0);
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const users = await this.grants.dueUsers(asOf, after, USER_BATCH);
      for (const userId of users) {
        const r = await this.expireForUser(userId, asOf);
        expired += r.expired;
        credits = credits.plus(r.credits);
      }
      if (users.length < USER_BATCH) break;
      after = users[users.length - 1];
    }
    if (expired > 0) this.log.log(`expired ${expired} credit grants, ${credits.toFixed()} credits`);
    return { expired, credits };
  }

  /** Expires one user's due grants, soonest first, under the account row lock. */
  async expireForUser(userId: string, asOf: Date = new Date()): Promise<ExpiryRunResult> {
    return withPoolTransaction(this.prisma.pool, async (c) => {
      const account = await this.grants.lockAccount(userId, c);
      // Read after the lock: a run that committed while this one waited leaves nothing due.
      const due = await this.grants.dueGrants(userId, asOf, c);
      if (due.length === 0) return { expired: 0, credits: new Decimal(0) };
      const permanent = await this.grants.permanentCredit(userId, c);
      let balance = account ?? new Decimal(0);
      let credits = new Decimal(0);
      const now = new Date();
      for (const g of due) {
        const later = await this.grants.laterGrants(g.id, c);
        const remainder = expiringRemainder({ grantAmount: g.amount, balance, later, permanent });
        if (remainder.gt(0)) {
          balance = balance.minus(remainder);
          await this.grants.setBalance(userId, balance, now, c);
          await this.grants.insertExpiry(
            {
              userId,
              grantId: g.id,
              amount: remainder.negated(),
              balanceAfter: balance,
              description: g.reason ? `credit grant expired: ${g.reason}` : 'credit grant expired',
              at: now,
            },
            c,
          );
          credits = credits.plus(remainder);
        }
        await this.grants.markExpired(g.id, remainder, now, c);
      }
      return { expired: due.length, credits };
    });
  }
}
