import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { QueryConfig } from 'pg';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { Decimal } from '../common/decimal';
import { PrismaService } from '../prisma/prisma.service';

/** A reserve is asked for only when the user's free credits are at least this many times its size… */
const RESERVE_FREE_FACTOR = 4;
/** …and it must leave this many times its size free for everything else (other processes, streams). */
const RESERVE_KEEP_FACTOR = 3;
/** Reserves are renewed (and checked against the account) this often (ms). */
const RESERVE_TICK_MS = 1_000;
/** A reserve no call used for this long is given back (ms). */
const RESERVE_IDLE_MS = 10_000;
/** Most users with a reserve in one process. */
const RESERVE_MAX_USERS = 10_000;

/** One user's reserve in this process. */
interface Reserve {
  id: string;
  userId: string;
  /** credits still set aside, as this process counts them: what it took, less its recorded calls' cost */
  remaining: Decimal;
  /** worst cases of the calls admitted from it and not recorded yet (credits) */
  inFlight: Decimal;
  /** calls admitted from it and not recorded yet */
  calls: number;
  /** credits one top-up asks for */
  size: Decimal;
  /** Date.now() until which it may admit: half the TTL after PostgreSQL last renewed it (ms) */
  validUntil: number;
  lastUsedAt: number;
}

interface ReserveRow {
  granted: boolean;
  amount: string;
  balance: string;
  held: string;
}

/**
 * The statements of credit reserves, one builder each (name, text and values). Exported for the SQL
 * snapshots (src/database/sql-snapshots.spec.ts).
 */
export const creditReserveQueries = {
  take: (id: string, userId: string, amount: Decimal, keep: Decimal, ttlSeconds: number): QueryConfig => ({
    name: 'tollgate_take_credit_reserve',
    text: 'SELECT "granted", "amount", "balance", "held" FROM "tollgate_take_credit_reserve"($1, $2, $3, $4, $5)',
    values: [id, userId, amount.toFixed(), keep.toFixed(), ttlSeconds],
  }),
  renew: (ids: readonly string[], ttlSeconds: number): QueryConfig => ({
    name: 'tollgate_renew_credit_reserves',
    text: 'SELECT "id", "amount", "balance", "held" FROM "tollgate_renew_credit_reserves"($1::uuid[], $2)',
    values: [ids, ttlSeconds],
  }),
  release: (ids: readonly string[], onlyExpired: boolean): QueryConfig => ({
    name: 'tollgate_release_credit_reserves',
    text: 'SELECT "tollgate_release_credit_reserves"($1::uuid[], $2) AS "released"',
    values: [ids, onlyExpired],
  }),
  expired: (limit: number): QueryConfig => ({
    name: 'tollgate_expired_credit_reserves',
    text: 'SELECT "id" FROM "credit_reserves" WHERE "expires_at" <= now() ORDER BY "expires_at" LIMIT $1',
    values: [limit],
  }),
};

/**
 * Credit reserves (docs/call-recording.md "Reserves"): for a user whose free credits are ample, this
 * api process sets credits aside once (`CREDIT_RESERVE_CALLS` × the call's worst case, in one
 * statement; counted in the account's `held` like a hold) and then admits that user's
 * calls against them in memory, without a hold on the account row each (a non-streaming call with no
 * statement at all; a stream with its start-of-call row only, CallAdmissionService.hold). Settlement takes each
 * call's debit out of the reserve (tollgate_apply_debits), so the books stay exact and no balance
 * pays for more than was set aside. A reserve is renewed and checked every second: when the user's
 * balance no longer covers what is held (a grant expired, say), it is given
 * back and the user's calls take holds again. Unused for 10 s, or at shutdown, it is given back; if
 * the process dies, the worker releases it once expired (CREDIT_HOLD_TTL_SECONDS).
 */
@Injectable()
export class CreditReserves implements OnModuleDestroy {
  private readonly log = new Logger(CreditReserves.name);
  private readonly reserves = new Map<string, Reserve>();
  /** users with a take statement in flight (one at a time per user) */
  private readonly taking = new Set<string>();
  private readonly timer: NodeJS.Timeout | null;
  private ticking = false;
  /** since the process started: calls admitted from a reserve; take statements by result */
  readonly counters = { admitted: 0, granted: 0, refused: 0, failed: 0 };

  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.timer = config.credit.reserveCalls > 0 ? setInterval(() => void this.tick(), RESERVE_TICK_MS) : null;
    this.timer?.unref();
  }

  /**
   * Admits a call of `worstCase` credits from the user's reserve in this process, if it has one
   * that is valid and can still cover it; asks for a top-up in the background when what is left
   * falls below half a reserve.
   * @returns the reserve's id (to pass to `settle` and to the call's record), or null: take a hold
   */
  admit(userId: string, worstCase: Decimal): string | null {
    const r = this.reserves.get(userId);
    if (!r || Date.now() > r.validUntil) return null;
    const left = r.remaining.sub(r.inFlight).sub(worstCase);
    if (left.lt(0)) {
      this.topUp(r, worstCase);
      return null;
    }
    r.inFlight = r.inFlight.add(worstCase);
    r.calls++;
    r.lastUsedAt = Date.now();
    this.counters.admitted++;
    if (left.lt(r.size.div(2))) this.topUp(r, worstCase);
    return r.id;
  }

  /** Whether `admit` would admit a call of `worstCase` credits now (nothing is taken). */
  covers(userId: string, worstCase: Decimal): boolean {
    const r = this.reserves.get(userId);
    return r !== undefined && Date.now() <= r.validUntil && r.remaining.sub(r.inFlight).gte(worstCase);
  }

  /**
   * A call admitted from reserve `reserveId` is recorded: its worst case leaves the reserve's calls
   * in flight and its cost (credits; 0 when not billed) leaves what the reserve still has.
   */
  settle(userId: string, reserveId: string, worstCase: Decimal, cost: Decimal): void {
    const r = this.reserves.get(userId);
    if (!r || r.id !== reserveId) return;
    r.inFlight = r.inFlight.sub(worstCase);
    r.calls--;
    r.remaining = r.remaining.sub(cost);
  }

  /**
   * After a call of `worstCase` credits took a hold that left `free` credits free: asks for a
   * reserve for the user in the background when that is at least RESERVE_FREE_FACTOR reserves
   * (CREDIT_RESERVE_CALLS × the worst case) and the user has none here.
   */
  offer(userId: string, worstCase: Decimal, free: Decimal): void {
    const calls = this.config.credit.reserveCalls;
    if (calls === 0 || worstCase.lte(0) || this.reserves.has(userId) || this.taking.has(userId)) return;
    if (this.reserves.size >= RESERVE_MAX_USERS) return;
    const size = worstCase.mul(calls);
    if (free.lt(size.mul(RESERVE_FREE_FACTOR))) return;
    void this.take(userId, randomUUID(), size, null);
  }

  /** Reserves this process holds (tests, metrics). */
  get size(): number {
    return this.reserves.size;
  }

  /** Gives every reserve of this process back (shutdown, tests). */
  async releaseAll(): Promise<void> {
    const ids = [...this.reserves.values()].map((r) => r.id);
    this.reserves.clear();
    if (ids.length > 0) await this.prisma.pool.query(creditReserveQueries.release(ids, false));
  }

  /** Renews the reserves, drops those whose user's balance no longer covers what is held, gives back idle ones. */
  async tick(): Promise<void> {
    if (this.ticking || this.reserves.size === 0) return;
    this.ticking = true;
    try {
      const now = Date.now();
      const idle = [...this.reserves.values()].filter((r) => r.calls === 0 && now - r.lastUsedAt > RESERVE_IDLE_MS);
      for (const r of idle) this.reserves.delete(r.userId);
      const kept = [...this.reserves.values()];
      const gone: string[] = idle.map((r) => r.id);
      if (kept.length > 0) {
        const res = await this.prisma.pool.query<{ id: string; amount: string; balance: string; held: string }>(
          creditReserveQueries.renew(
            kept.map((r) => r.id),
            this.config.credit.holdTtlSeconds,
          ),
        );
        const rows = new Map(res.rows.map((row) => [row.id, row]));
        const validUntil = Date.now() + (this.config.credit.holdTtlSeconds * 1000) / 2;
        for (const r of kept) {
          const row = rows.get(r.id);
          if (this.reserves.get(r.userId) !== r) continue;
          if (!row) {
            this.reserves.delete(r.userId); // released by someone else (the worker, after an outage)
          } else if (new Decimal(row.balance).lt(new Decimal(row.held))) {
            this.reserves.delete(r.userId); // credits were taken away: hold call by call again
            gone.push(r.id);
          } else {
            r.validUntil = validUntil;
          }
        }
      }
      if (gone.length > 0) await this.prisma.pool.query(creditReserveQueries.release(gone, false));
    } catch (err) {
      this.log.warn(`renewing ${this.reserves.size} credit reserves failed: ${(err as Error).message}`);
    } finally {
      this.ticking = false;
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.releaseAll().catch((err: Error) => this.log.warn(`giving credit reserves back failed: ${err.message}`));
  }

  private topUp(r: Reserve, worstCase: Decimal): void {
    if (this.taking.has(r.userId)) return;
    const size = Decimal.max(r.size, worstCase.mul(this.config.credit.reserveCalls));
    void this.take(r.userId, r.id, size, r);
  }

  /** One take statement: a new reserve (`current` null) or a top-up of `current`. Failures are logged. */
  private async take(userId: string, id: string, size: Decimal, current: Reserve | null): Promise<void> {
    this.taking.add(userId);
    try {
      const res = await this.prisma.pool.query<ReserveRow>(
        creditReserveQueries.take(id, userId, size, size.mul(RESERVE_KEEP_FACTOR), this.config.credit.holdTtlSeconds),
      );
      const row = res.rows[0];
      if (!row?.granted) {
        this.counters.refused++;
        return;
      }
      this.counters.granted++;
      const validUntil = Date.now() + (this.config.credit.holdTtlSeconds * 1000) / 2;
      if (current) {
        if (this.reserves.get(userId) !== current) {
          // dropped while the top-up was in flight: give the whole reserve back
          await this.prisma.pool.query(creditReserveQueries.release([id], false));
          return;
        }
        current.remaining = Decimal.min(current.remaining.add(size), new Decimal(row.amount));
        current.size = size;
        current.validUntil = validUntil;
        return;
      }
      this.reserves.set(userId, {
        id,
        userId,
        remaining: new Decimal(row.amount),
        inFlight: new Decimal(0),
        calls: 0,
        size,
        validUntil,
        lastUsedAt: Date.now(),
      });
    } catch (err) {
      this.counters.failed++;
      this.log.warn(`taking a credit reserve failed: ${(err as Error).message}`);
    } finally {
      this.taking.delete(userId);
    }
  }
}
