import { Injectable } from '@nestjs/common';
import type { QueryConfig } from 'pg';
import { PrismaService } from '../prisma/prisma.service';
import { creditReserveQueries } from './credit-reserves.service';

export interface SettlementResult {
  /** calls whose pending debit this run claimed (others were debited already) */
  claimed: number;
  /** debit transactions written */
  debited: number;
  /** holds released */
  released: number;
}

/**
 * The statements of settlement, one builder each (name, text and values). Exported for the SQL
 * snapshots (src/database/sql-snapshots.spec.ts).
 */
export const settlementQueries = {
  applyDebits: (callIds: readonly string[]): QueryConfig => ({
    name: 'tollgate_apply_debits',
    text: 'SELECT * FROM "tollgate_apply_debits"($1::uuid[])',
    values: [callIds],
  }),
  pendingDebits: (olderThan: Date, limit: number): QueryConfig => ({
    text: 'SELECT "call_id" FROM "pending_debits" WHERE "created_at" < $1 ORDER BY "created_at" LIMIT $2',
    values: [olderThan.toISOString(), limit],
  }),
};

/**
 * Settles recorded calls (docs/call-recording.md "Settlement"): writes their pending debits and
 * releases their holds. Calls are recorded by the model-calls module; this class only moves
 * credits. Balances change here (debits), in CreditLedgerService (grants) and in
 * GrantExpiryService (expiry), always with a credit_transactions row.
 */
@Injectable()
export class CallSettlementRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Settles the listed calls (tollgate_apply_debits): writes each one's pending debit, exactly
   * once whoever else runs it, and releases its hold; one round trip.
   */
  async applyDebits(callIds: readonly string[]): Promise<SettlementResult> {
    if (callIds.length === 0) return { claimed: 0, debited: 0, released: 0 };
    const res = await this.prisma.pool.query<SettlementResult>(settlementQueries.applyDebits(callIds));
    return res.rows[0];
  }

  /**
   * Gives back up to `limit` credit reserves whose api process stopped renewing them (expired:
   * it died, or lost PostgreSQL for longer than CREDIT_HOLD_TTL_SECONDS): their credits leave
   * `held`. Debits still pending from them later lower only the balance.
   * @returns reserves released
   */
  async releaseExpiredReserves(limit: number): Promise<number> {
    const res = await this.prisma.pool.query<{ id: string }>(creditReserveQueries.expired(limit));
    if (res.rows.length === 0) return 0;
    const released = await this.prisma.pool.query<{ released: number }>(
      creditReserveQueries.release(
        res.rows.map((r) => r.id),
        true,
      ),
    );
    return released.rows[0].released;
  }

  /** Ids of calls still waiting for their debit, recorded before `olderThan` (oldest first). */
  async pendingDebits(olderThan: Date, limit: number): Promise<string[]> {
    const res = await this.prisma.pool.query<{ call_id: string }>(settlementQueries.pendingDebits(olderThan, limit));
    return res.rows.map((r) => r.call_id);
  }
}
