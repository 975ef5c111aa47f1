/**
 * Credit reserves (docs/call-recording.md "Reserves", src/credits/credit-reserves.service.ts): a
 * user with ample free credits gets a reserve in the api process after a hold, and their
 * non-streaming calls are then admitted from it in memory, without a hold statement; settlement
 * takes each debit out of the reserve, so balance, held and the ledger stay exact. A reserve is
 * given back when credits are taken away, when the process shuts down, and (expired, its process
 * dead) by the worker.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Decimal } from '../src/common/decimal';
import { CallSettlementRepository } from '../src/credits/call-settlement.repository';
import { CreditReserves } from '../src/credits/credit-reserves.service';
import { creditsFor } from '../src/metering/credits-formula';
import { startApiProcess } from './support/api-process';
import { createDevProvider, createTenant, Harness, postChatCompletion, startHarness, Tenant } from './support/gateway-harness';

const RATE_IN = new Decimal('0.5');
const RATE_OUT = new Decimal('1.5');
/** reserve size in worst cases (small, so a few calls use one up and top-ups happen) */
const RESERVE_CALLS = 10;

describe('credit reserves', () => {
  let h: Harness;
  let reserves: CreditReserves;

  beforeAll(async () => {
    h = await startHarness('credit-reserves', { CREDIT_RESERVE_CALLS: String(RESERVE_CALLS) });
    await createDevProvider(h, { inputRate: RATE_IN.toFixed(), outputRate: RATE_OUT.toFixed() });
    reserves = h.app.get(CreditReserves);
  });

  afterAll(async () => {
    await h?.close();
  });

  const post = (t: Tenant, body: Record<string, unknown>) =>
    postChatCompletion(h, t.key, { max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }], ...body });

  async function call(t: Tenant, body: Record<string, unknown> = {}): Promise<number> {
    const res = await post(t, body);
    await res.text();
    return res.status;
  }

  async function metric(name: string): Promise<number> {
    const text = await (await fetch(`${h.baseUrl}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : NaN;
  }

  async function account(userId: string) {
    return h.prisma.creditAccount.findUniqueOrThrow({ where: { userId } });
  }

  async function reserveRows(userId: string) {
    return h.prisma.creditReserve.findMany({ where: { userId } });
  }

  /**
   * Makes one call while another transaction holds the user's account row locked (a hold would wait
   * for it): its status and body (status 0 if it did not answer within 5 s) and how many calls the
   * metric counted as admitted from a reserve meanwhile.
   */
  async function callWithAccountLocked(t: Tenant, body: Record<string, unknown>) {
    const locker = new Client({ connectionString: h.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM credit_accounts WHERE user_id = $1 FOR UPDATE', [t.userId]);
      const before = await metric('tollgate_credit_reserve_admissions_total');
      const res = await Promise.race([
        post(t, body).then(async (r) => ({ status: r.status, text: await r.text() })),
        new Promise<{ status: number; text: string }>((r) => setTimeout(() => r({ status: 0, text: '' }), 5_000)),
      ]);
      return { ...res, admittedFromReserve: (await metric('tollgate_credit_reserve_admissions_total')) - before };
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  }

  /** A user whose first call (a hold) made this process take a reserve for them. */
  async function busyTenant(credits = '1000000'): Promise<Tenant> {
    const t = await createTenant(h, { credits });
    expect(await call(t)).toBe(200);
    for (let i = 0; i < 100 && (await reserveRows(t.userId)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await reserveRows(t.userId)).toHaveLength(1);
    await h.recorder.drain(); // the first call's hold is released
    return t;
  }

  /**
   * Σ of the user's ledger rows equals their balance (and, given `initial`, so does the initial
   * grant less Σ debits), and held is exactly what their reserves still set aside.
   */
  async function expectBooksExact(t: Tenant, initial?: string) {
    await h.recorder.drain();
    const a = await account(t.userId);
    const sum = await h.prisma.creditTransaction.aggregate({ where: { userId: t.userId }, _sum: { amount: true } });
    expect(new Decimal(sum._sum.amount ?? 0).toFixed()).toBe(a.balance.toFixed());
    if (initial !== undefined) {
      const debits = await h.prisma.creditTransaction.aggregate({ where: { userId: t.userId, type: 'debit' }, _sum: { amount: true } });
      expect(new Decimal(initial).add(debits._sum.amount ?? 0).toFixed()).toBe(a.balance.toFixed());
    }
    const set = (await reserveRows(t.userId)).reduce((s, r) => s.add(r.amount), new Decimal(0));
    expect(await h.prisma.creditHold.count({ where: { userId: t.userId } })).toBe(0);
    expect(a.held.toFixed()).toBe(set.toFixed());
    return a;
  }

  it('admits a busy user calls, non-streaming and streams, from the reserve with the account row locked, and keeps the books exact', async () => {
    const t = await busyTenant();
    // The reserve is RESERVE_CALLS worst cases of the first call: its 50 completion tokens and a
    // prompt bound of a few dozen tokens each.
    const [row] = await reserveRows(t.userId);
    const perCall = row.amount.div(RESERVE_CALLS);
    expect(perCall.gt(creditsFor(0, 50, RATE_IN, RATE_OUT))).toBe(true);
    expect(perCall.lt(creditsFor(100, 50, RATE_IN, RATE_OUT))).toBe(true);
    expect((await account(t.userId)).held.toFixed()).toBe(row.amount.toFixed());

    // A hold would wait on the account row: a call admitted from the reserve does not.
    const plain = await callWithAccountLocked(t, {});
    expect(plain.status).toBe(200);
    expect(plain.admittedFromReserve).toBe(1);

    // Three reserves' worth of calls: top-ups keep the user on the reserve.
    const admissions = await metric('tollgate_credit_reserve_admissions_total');
    for (let i = 0; i < RESERVE_CALLS * 3; i++) expect(await call(t)).toBe(200);
    expect(await metric('tollgate_credit_reserve_admissions_total')).toBeGreaterThanOrEqual(admissions + RESERVE_CALLS * 2);
    const a = await expectBooksExact(t, '1000000');
    expect(a.held.gt(0)).toBe(true);
    expect(await h.prisma.modelCall.count({ where: { userId: t.userId, status: 'success' } })).toBe(RESERVE_CALLS * 3 + 2);

    // A stream is admitted from the reserve too: its start-of-call row (amount 0) is written
    // without touching the account row, so it also completes while that row is locked.
    const streamed = await callWithAccountLocked(t, { stream: true });
    expect(streamed.status).toBe(200);
    expect(streamed.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(streamed.admittedFromReserve).toBe(1);
    await expectBooksExact(t, '1000000');
    expect(await h.prisma.modelCall.count({ where: { userId: t.userId, status: 'success', stream: true } })).toBe(1);
  });

  it('gives the reserve back when credits are taken away, and the next call is refused', async () => {
    const t = await busyTenant('100000');
    await h.recorder.drain();
    // An admin takes nearly everything (books kept: one adjustment row).
    await h.prisma.$transaction(async (tx) => {
      const a = await tx.creditAccount.findUniqueOrThrow({ where: { userId: t.userId } });
      const take = a.balance.sub(10);
      await tx.creditAccount.update({ where: { userId: t.userId }, data: { balance: { decrement: take } } });
      await tx.creditTransaction.create({
        data: { userId: t.userId, type: 'adjustment', amount: take.neg(), balanceAfter: new Decimal(10), description: 'test deduction' },
      });
    });
    await reserves.tick();
    expect(await reserveRows(t.userId)).toHaveLength(0);
    const a = await expectBooksExact(t);
    expect(a.held.toFixed()).toBe('0');
    expect(await call(t)).toBe(402);
  });

  it('settlement takes a debit out of its reserve, never more than it has; a released reserve leaves the balance only', async () => {
    const t = await createTenant(h, { credits: '1000' });
    const reserveId = randomUUID();
    await h.prisma.$transaction([
      h.prisma.creditReserve.create({
        data: { id: reserveId, userId: t.userId, amount: new Decimal(100), expiresAt: new Date(Date.now() + 60_000) },
      }),
      h.prisma.creditAccount.update({ where: { userId: t.userId }, data: { held: { increment: 100 } } }),
    ]);
    const debit = async (credits: string, reserve: string) => {
      const id = randomUUID();
      await h.prisma.modelCall.create({
        data: {
          id,
          userId: t.userId,
          model: 'mock-model',
          type: 'chatCompletion',
          status: 'success',
          credits: new Decimal(credits),
          requestId: id,
        },
      });
      await h.prisma.pendingDebit.create({
        data: { callId: id, userId: t.userId, credits: new Decimal(credits), model: 'mock-model', reserveId: reserve },
      });
      return h.app.get(CallSettlementRepository).applyDebits([id]);
    };
    expect((await debit('30', reserveId)).debited).toBe(1);
    expect((await reserveRows(t.userId))[0].amount.toFixed()).toBe('70');
    expect((await account(t.userId)).held.toFixed()).toBe('70');
    // A provider that ignored the bound: the call cost more than the reserve still has.
    await debit('90', reserveId);
    expect((await reserveRows(t.userId))[0].amount.toFixed()).toBe('0');
    let a = await account(t.userId);
    expect([a.balance.toFixed(), a.held.toFixed()]).toEqual(['880', '0']);
    // Released (its process gone): a late debit lowers the balance only.
    await h.prisma.pool.query('SELECT "tollgate_release_credit_reserves"($1::uuid[], false)', [[reserveId]]);
    await debit('5', reserveId);
    a = await account(t.userId);
    expect([a.balance.toFixed(), a.held.toFixed()]).toEqual(['875', '0']);
  });

  it('the worker releases expired reserves only', async () => {
    const t = await createTenant(h, { credits: '1000' });
    const expired = randomUUID();
    const live = randomUUID();
    await h.prisma.$transaction([
      h.prisma.creditReserve.create({
        data: { id: expired, userId: t.userId, amount: new Decimal(40), expiresAt: new Date(Date.now() - 1_000) },
      }),
      h.prisma.creditReserve.create({
        data: { id: live, userId: t.userId, amount: new Decimal(60), expiresAt: new Date(Date.now() + 60_000) },
      }),
      h.prisma.creditAccount.update({ where: { userId: t.userId }, data: { held: { increment: 100 } } }),
    ]);
    expect(await h.app.get(CallSettlementRepository).releaseExpiredReserves(500)).toBeGreaterThanOrEqual(1);
    expect((await reserveRows(t.userId)).map((r) => r.id)).toEqual([live]);
    expect((await account(t.userId)).held.toFixed()).toBe('60');
  });

  it('a real api process gives its reserves back on SIGTERM; after a kill -9 the worker releases them once expired', async () => {
    // The compiled api (npm test builds it) as a child process on the same database.
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const api = await startApiProcess({
        databaseUrl: h.db.url,
        env: { CREDIT_RESERVE_CALLS: String(RESERVE_CALLS), CREDIT_HOLD_TTL_SECONDS: '2' },
      });
      try {
        const t = await createTenant(h, { credits: '1000000' });
        const res = await fetch(`${api.baseUrl}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
          body: JSON.stringify({ model: 'mock-model', max_tokens: 50, messages: [{ role: 'user', content: 'hello there' }] }),
        });
        expect(res.status).toBe(200);
        await res.text();
        for (let i = 0; i < 100 && (await reserveRows(t.userId)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
        expect(await reserveRows(t.userId)).toHaveLength(1);
        if (signal === 'SIGTERM') {
          // Nest closes the application, then ends the process with the signal it got; SIGKILL
          // would mean the grace ran out.
          expect((await api.stop(10_000)).signal).toBe('SIGTERM');
          expect(await reserveRows(t.userId)).toHaveLength(0);
        } else {
          api.kill('SIGKILL');
          await api.exited;
          expect(await reserveRows(t.userId)).toHaveLength(1);
          expect(await h.app.get(CallSettlementRepository).releaseExpiredReserves(500)).toBe(0); // not expired yet
          await new Promise((r) => setTimeout(r, 2_100));
          expect(await h.app.get(CallSettlementRepository).releaseExpiredReserves(500)).toBe(1);
          expect(await reserveRows(t.userId)).toHaveLength(0);
        }
        // settled by the child before it went (SIGTERM) or by this harness's sweep (kill -9)
        await h.app
          .get(CallSettlementRepository)
          .applyDebits((await h.prisma.pendingDebit.findMany({ where: { userId: t.userId } })).map((d) => d.callId));
        const a = await expectBooksExact(t, '1000000');
        expect(a.held.toFixed()).toBe('0');
      } finally {
        if (!api.exitInfo) await api.stop(1_000);
      }
    }
  });

  it('shutting the api down gives its reserves back', async () => {
    const t = await busyTenant();
    expect((await account(t.userId)).held.gt(0)).toBe(true);
    await reserves.releaseAll();
    expect(await reserveRows(t.userId)).toHaveLength(0);
    await expectBooksExact(t, '1000000');
    expect((await account(t.userId)).held.toFixed()).toBe('0');
    // The next hold takes a new reserve; closing the application module gives it back too.
    expect(await call(t)).toBe(200);
    for (let i = 0; i < 100 && reserves.size === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(reserves.size).toBe(1);
    await reserves.onModuleDestroy();
    expect(await reserveRows(t.userId)).toHaveLength(0);
  });
});
