import { Injectable } from '@nestjs/common';
import type { PoolClient, QueryConfig } from 'pg';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';

/**
 * The statements of grant expiry, one builder each (name, text and values). They move money, so
 * they are named prepared statements (docs/data-access.md). Exported for the SQL snapshots
 * (src/database/sql-snapshots.spec.ts).
 */
export const grantExpiryQueries = {
  dueUsers: (asOf: Date, after: string, limit: number): QueryConfig => ({
    name: 'tollgate_expiry_due_users',
    text: `SELECT DISTINCT "user_id" FROM "credit_grants"
WHERE "expired_at" IS NULL AND "expires_at" <= $1 AND "user_id" > $2::uuid
ORDER BY "user_id" LIMIT $3`,
    values: [asOf, after, limit],
  }),
  lockAccount: (userId: string): QueryConfig => ({
    name: 'tollgate_expiry_lock_account',
    text: 'SELECT "balance" FROM "credit_accounts" WHERE "user_id" = $1::uuid FOR UPDATE',
    values: [userId],
  }),
  dueGrants: (userId: string, asOf: Date): QueryConfig => ({
    name: 'tollgate_expiry_due_grants',
    text: `SELECT "id", "amount", "reason" FROM "credit_grants"
WHERE "user_id" = $1::uuid AND "expired_at" IS NULL AND "expires_at" <= $2
ORDER BY "expires_at", "created_at", "id"`,
    values: [userId, asOf],
  }),
  permanentCredit: (userId: string): QueryConfig => ({
    name: 'tollgate_expiry_permanent_credit',
    text: `SELECT COALESCE(sum("amount"), 0) AS "permanent" FROM "credit_transactions"
WHERE "user_id" = $1::uuid AND "type" IN ('refund', 'adjustment') AND "amount" > 0`,
    values: [userId],
  }),
  laterGrants: (grantId: string): QueryConfig => ({
    name: 'tollgate_expiry_later_grants',
    text: `SELECT COALESCE(sum(o."amount"), 0) AS "later"
FROM "credit_grants" o JOIN "credit_grants" g ON g."id" = $1::uuid
WHERE o."user_id" = g."user_id" AND o."expired_at" IS NULL AND o."id" <> g."id"
  AND (o."expires_at" IS NULL OR (o."expires_at", o."created_at", o."id") > (g."expires_at", g."created_at", g."id"))`,
    values: [grantId],
  }),
  setBalance: (userId: string, balance: Decimal, at: Date): QueryConfig => ({
    name: 'tollgate_expiry_set_balance',
    text: 'UPDATE "credit_accounts" SET "balance" = $2, "updated_at" = $3 WHERE "user_id" = $1::uuid',
    values: [userId, balance.toFixed(), at],
  }),
  insertExpiry: (e: ExpiryTransaction): QueryConfig => ({
    name: 'tollgate_expiry_insert_transaction',
    text: `INSERT INTO "credit_transactions" ("id", "user_id", "type", "amount", "balance_after", "grant_id", "description", "created_at")
VALUES (gen_random_uuid(), $1::uuid, 'expiry', $2, $3, $4::uuid, $5, $6)`,
    values: [e.userId, e.amount.toFixed(), e.balanceAfter.toFixed(), e.grantId, e.description, e.at],
  }),
  markExpired: (grantId: string, amount: Decimal, at: Date): QueryConfig => ({
    name: 'tollgate_expiry_mark_grant',
    text: 'UPDATE "credit_grants" SET "expired_at" = $2, "expired_amount" = $3 WHERE "id" = $1::uuid',
    values: [grantId, at, amount.toFixed()],
  }),
};

/** A credit transaction of type `expiry`. */
export interface ExpiryTransaction {
  userId: string;
  grantId: string;
  /** signed: ≤ 0 */
  amount: Decimal;
  balanceAfter: Decimal;
  description: string;
  at: Date;
}

export interface DueGrant {
  id: string;
  amount: Decimal;
  reason: string;
}

/**
 * SQL of credit grant expiry; the rule (which part of a grant is unconsumed) is in
 * GrantExpiryService. Every method takes an optional `PoolClient`: pass the transaction's client
 * to make it part of that transaction (docs/data-access.md); without one it runs on its own on
 * the pool. `lockAccount` needs a transaction and so a client.
 */
@Injectable()
export class GrantExpiryRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Users with a grant due at `asOf` and not expired, ids after `after`, in id order. */
  async dueUsers(asOf: Date, after: string, limit: number, c?: PoolClient): Promise<string[]> {
    const res = await this.db(c).query<{ user_id: string }>(grantExpiryQueries.dueUsers(asOf, after, limit));
    return res.rows.map((r) => r.user_id);
  }

  /**
   * Locks the user's account row until `c`'s transaction ends.
   * @returns its balance, or null when the user has no account
   */
  async lockAccount(userId: string, c: PoolClient): Promise<Decimal | null> {
    const res = await c.query<{ balance: string }>(grantExpiryQueries.lockAccount(userId));
    return res.rows.length ? new Decimal(res.rows[0].balance) : null;
  }

  /** The user's grants due at `asOf` and not expired, soonest first (expiresAt, createdAt, id). */
  async dueGrants(userId: string, asOf: Date, c?: PoolClient): Promise<DueGrant[]> {
    const res = await this.db(c).query<{ id: string; amount: string; reason: string }>(grantExpiryQueries.dueGrants(userId, asOf));
    return res.rows.map((r) => ({ id: r.id, amount: new Decimal(r.amount), reason: r.reason }));
  }

  /** Σ the user's positive refund and adjustment transactions: credit that never expires. */
  async permanentCredit(userId: string, c?: PoolClient): Promise<Decimal> {
    return new Decimal((await this.db(c).query<{ permanent: string }>(grantExpiryQueries.permanentCredit(userId))).rows[0].permanent);
  }

  /** Σ amount of the grant's user's unexpired grants that expire after it (or never). */
  async laterGrants(grantId: string, c?: PoolClient): Promise<Decimal> {
    return new Decimal((await this.db(c).query<{ later: string }>(grantExpiryQueries.laterGrants(grantId))).rows[0].later);
  }

  /** Sets the account's balance (the caller writes the matching transaction in the same transaction). */
  async setBalance(userId: string, balance: Decimal, at: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(grantExpiryQueries.setBalance(userId, balance, at));
  }

  /** Writes an `expiry` credit transaction. */
  async insertExpiry(e: ExpiryTransaction, c?: PoolClient): Promise<void> {
    await this.db(c).query(grantExpiryQueries.insertExpiry(e));
  }

  /** Marks the grant expired with the credits its expiry removed. */
  async markExpired(grantId: string, amount: Decimal, at: Date, c?: PoolClient): Promise<void> {
    await this.db(c).query(grantExpiryQueries.markExpired(grantId, amount, at));
  }

  private db(c?: PoolClient): Pick<PoolClient, 'query'> {
    return c ?? this.prisma.pool;
  }
}
