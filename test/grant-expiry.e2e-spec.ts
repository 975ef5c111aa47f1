/**
 * Credit grant expiry (docs/api/credits.md "Grant expiry"): the unconsumed remainder of a
 * grant leaves the balance through an `expiry` transaction, soonest-expiring grants consumed
 * first, exactly once, in one DB transaction with the balance; and the worker runs it.
 */
import { randomUUID } from 'node:crypto';
import { getQueueToken } from '@nestjs/bullmq';
import { INestApplicationContext } from '@nestjs/common';
import { Queue, QueueEvents } from 'bullmq';
import request from 'supertest';
import { Decimal } from '../src/common/decimal';
import { CallSettlementRepository } from '../src/credits/call-settlement.repository';
import { ModelCallRepository } from '../src/model-calls/model-call.repository';
import { GrantExpiryRepository } from '../src/credits/grant-expiry.repository';
import { GrantExpiryService } from '../src/credits/grant-expiry.service';
import { CREDIT_EXPIRY_QUEUE, JOB } from '../src/jobs/queues';
import { testCallRecord } from './support/call-records';
import { Harness, startHarness } from './support/gateway-harness';
import { startTestWorker, TestWorker } from './support/worker-harness';

const HOUR = 3_600_000;
const PASSWORD = 'grant expiry password 123';

describe('credit grant expiry', () => {
  let h: Harness;
  let expiry: GrantExpiryService;
  const t0 = Date.now();
  const at = (hours: number) => new Date(t0 + hours * HOUR);

  beforeAll(async () => {
    h = await startHarness('grant_expiry');
    expiry = new GrantExpiryService(h.prisma, new GrantExpiryRepository(h.prisma));
  });

  afterAll(async () => {
    await h?.close();
  });

  async function newUser(): Promise<{ id: string; did: string; email: string }> {
    return h.users.create({ email: `ge-${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD });
  }

  async function grant(userId: string, amount: string, expiresAt: Date | null, reason = 'g'): Promise<string> {
    return (await h.ledger.grant({ userId, amount: new Decimal(amount), reason, expiresAt })).grantId;
  }

  async function debit(userId: string, credits: string): Promise<void> {
    const settlement = h.app.get(CallSettlementRepository);
    const id = randomUUID();
    await h.app
      .get(ModelCallRepository)
      .insert([testCallRecord(userId, { id, promptTokens: 1, completionTokens: 1, credits: new Decimal(credits) })]);
    expect((await settlement.applyDebits([id])).debited).toBe(1);
  }

  const balance = async (userId: string) => (await h.ledger.balance(userId)).toFixed();

  async function expired(grantId: string): Promise<string | null> {
    const g = await h.prisma.creditGrant.findUniqueOrThrow({ where: { id: grantId } });
    return g.expiredAt ? g.expiredAmount!.toFixed() : null;
  }

  /** balance = Σ grants − Σ debits + Σ refunds − Σ expiries = Σ transaction amounts; each balance_after exact. */
  async function expectLedgerExact(userId: string): Promise<void> {
    const rows = await h.prisma.creditTransaction.findMany({ where: { userId }, orderBy: { seq: 'asc' } });
    let running = new Decimal(0);
    for (const r of rows) {
      running = running.plus(r.amount);
      expect(r.balanceAfter.toFixed()).toBe(running.toFixed());
    }
    expect(await balance(userId)).toBe(running.toFixed());
    const expiries = rows.filter((r) => r.type === 'expiry').reduce((s, r) => s.plus(r.amount), new Decimal(0));
    const grants = await h.prisma.creditGrant.aggregate({ where: { userId }, _sum: { expiredAmount: true } });
    expect(expiries.negated().toFixed()).toBe((grants._sum.expiredAmount ?? new Decimal(0)).toFixed());
  }

  it('removes the unconsumed remainder with one expiry transaction; a re-run does nothing', async () => {
    const u = await newUser();
    const g = await grant(u.id, '100', at(1), 'trial');
    await debit(u.id, '30.5');
    expect(await expiry.expireForUser(u.id, at(0.5))).toEqual({ expired: 0, credits: new Decimal(0) }); // not due yet
    expect(await balance(u.id)).toBe('69.5');

    const r = await expiry.expireDue(at(2));
    expect(r.expired).toBeGreaterThanOrEqual(1);
    expect(await balance(u.id)).toBe('0');
    expect(await expired(g)).toBe('69.5');
    const tx = await h.prisma.creditTransaction.findMany({ where: { userId: u.id, type: 'expiry' } });
    expect(tx.map((t) => [t.amount.toFixed(), t.balanceAfter.toFixed(), t.grantId, t.description])).toEqual([
      ['-69.5', '0', g, 'credit grant expired: trial'],
    ]);

    const again = await expiry.expireDue(at(3));
    expect(again.expired).toBe(0);
    expect(await expiry.expireForUser(u.id, at(3))).toEqual({ expired: 0, credits: new Decimal(0) });
    expect(await h.prisma.creditTransaction.count({ where: { userId: u.id, type: 'expiry' } })).toBe(1);
    await expectLedgerExact(u.id);
  });

  it('debits consume the soonest-expiring grant first; later and non-expiring grants are kept', async () => {
    const u = await newUser();
    const forever = await grant(u.id, '80', null, 'forever');
    const late = await grant(u.id, '50', at(2), 'late');
    const soon = await grant(u.id, '100', at(1), 'soon');
    await debit(u.id, '120'); // consumes soon (100) then 20 of late
    expect(await balance(u.id)).toBe('110');

    await expiry.expireDue(at(1.5));
    expect(await expired(soon)).toBe('0'); // wholly spent: expires with nothing left
    expect(await expired(late)).toBeNull();
    expect(await balance(u.id)).toBe('110');
    expect(await h.prisma.creditTransaction.count({ where: { userId: u.id, type: 'expiry' } })).toBe(0);

    await expiry.expireDue(at(2.5));
    expect(await expired(late)).toBe('30');
    expect(await balance(u.id)).toBe('80');
    expect(await expired(forever)).toBeNull();
    await expectLedgerExact(u.id);
  });

  it('several grants due in one run expire soonest first, partial consumption split correctly', async () => {
    const u = await newUser();
    const a = await grant(u.id, '100', at(1), 'a');
    const b = await grant(u.id, '50', at(2), 'b');
    const c = await grant(u.id, '25', at(5), 'c');
    await debit(u.id, '30'); // all from a
    await debit(u.id, '0.0000000001');
    const r = await expiry.expireForUser(u.id, at(3));
    expect(r.expired).toBe(2);
    expect(r.credits.toFixed()).toBe('119.9999999999');
    expect(await expired(a)).toBe('69.9999999999');
    expect(await expired(b)).toBe('50');
    expect(await expired(c)).toBeNull();
    expect(await balance(u.id)).toBe('25');
    const rows = await h.prisma.creditTransaction.findMany({ where: { userId: u.id, type: 'expiry' }, orderBy: { seq: 'asc' } });
    expect(rows.map((t) => [t.grantId, t.amount.toFixed(), t.balanceAfter.toFixed()])).toEqual([
      [a, '-69.9999999999', '75'],
      [b, '-50', '25'],
    ]);
    await expectLedgerExact(u.id);
  });

  it('grants with the same expiry: the older one is consumed first', async () => {
    const u = await newUser();
    const first = await grant(u.id, '10', at(1), 'first');
    const second = await grant(u.id, '10', at(1), 'second');
    const keep = await grant(u.id, '10', null, 'keep');
    await debit(u.id, '15');
    await expiry.expireDue(at(2));
    expect(await expired(first)).toBe('0');
    expect(await expired(second)).toBe('5');
    expect(await expired(keep)).toBeNull();
    expect(await balance(u.id)).toBe('10');
    await expectLedgerExact(u.id);
  });

  it('an account in the red loses nothing to expiry and stays exact', async () => {
    const u = await newUser();
    const g = await grant(u.id, '10', at(1));
    await debit(u.id, '15');
    await expiry.expireDue(at(2));
    expect(await expired(g)).toBe('0');
    expect(await balance(u.id)).toBe('-5');
    // a later grant pays the debt first: an expiring one then has only what is left of it
    const g2 = await grant(u.id, '20', at(3));
    await expiry.expireDue(at(4));
    expect(await expired(g2)).toBe('15');
    expect(await balance(u.id)).toBe('0');
    await expectLedgerExact(u.id);
  });

  it('credit from refunds and positive adjustments never expires', async () => {
    const u = await newUser();
    const g = await grant(u.id, '100', at(1));
    await debit(u.id, '50');
    // a refund of 10 (written as the ledger would: balance and transaction together)
    await h.prisma.$transaction(async (tx) => {
      const acc = await tx.creditAccount.update({ where: { userId: u.id }, data: { balance: { increment: 10 } } });
      await tx.creditTransaction.create({
        data: { userId: u.id, type: 'refund', amount: 10, balanceAfter: acc.balance, description: 'refund' },
      });
    });
    expect(await balance(u.id)).toBe('60');
    await expiry.expireDue(at(2));
    expect(await expired(g)).toBe('50');
    expect(await balance(u.id)).toBe('10');
    await expectLedgerExact(u.id);
  });

  it('concurrent runs expire each grant once', async () => {
    const users = await Promise.all(Array.from({ length: 5 }, () => newUser()));
    for (const u of users) {
      await grant(u.id, '40', at(1));
      await grant(u.id, '7', at(1.2));
      await debit(u.id, '3');
    }
    await Promise.all([expiry.expireDue(at(2)), expiry.expireDue(at(2)), expiry.expireDue(at(2))]);
    for (const u of users) {
      expect(await balance(u.id)).toBe('0');
      expect(await h.prisma.creditTransaction.count({ where: { userId: u.id, type: 'expiry' } })).toBe(2);
      await expectLedgerExact(u.id);
    }
  });

  it('the API shows the expiry: grant status, expiry transactions, total/grantCount without it', async () => {
    const email = `ge-api-${randomUUID().slice(0, 8)}@example.com`;
    const u = await h.users.create({ email, password: PASSWORD });
    const token = (await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200)).body
      .accessToken as string;
    // already past its expiry: the run with the real clock picks it up
    const g = await grant(u.id, '12', new Date(Date.now() - 1000), 'short');
    await grant(u.id, '8', null, 'kept');
    await debit(u.id, '2');
    await expiry.expireDue();
    const auth = { authorization: `Bearer ${token}` };
    const tx = await request(h.baseUrl).get('/user/credit/transactions?type=expiry').set(auth).expect(200);
    expect(tx.body.list).toEqual([expect.objectContaining({ type: 'expiry', amount: -10, balanceAfter: 8, grantId: g })]);
    const grants = await request(h.baseUrl).get('/user/credit/grants').set(auth).expect(200);
    expect(grants.body.list.find((x: { id: string }) => x.id === g)).toMatchObject({
      status: 'expired',
      expiredAmount: 10,
      expiredAt: expect.any(String),
    });
    const bal = await request(h.baseUrl).get('/user/credit/balance').set(auth).expect(200);
    expect(bal.body).toEqual({ balance: 8, total: 8, grantCount: 1, pendingCredit: 0 });
  });

  describe('in the worker', () => {
    let worker: INestApplicationContext;
    let testWorker: TestWorker;
    const prefix = `tollgate-test-ge-${randomUUID().slice(0, 8)}`;

    beforeAll(async () => {
      testWorker = await startTestWorker(h.db.url, prefix);
      worker = testWorker.app;
    });

    afterAll(async () => {
      await testWorker?.close();
    });

    it('schedules credit-grants.expire and runs it: due grants expire, live ones stay', async () => {
      const queue = worker.get<Queue>(getQueueToken(CREDIT_EXPIRY_QUEUE));
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toContain(JOB.EXPIRE_CREDIT_GRANTS);
      const u = await newUser();
      const due = await grant(u.id, '9', new Date(Date.now() - 1000), 'due');
      const live = await grant(u.id, '4', at(24), 'live');
      const events = new QueueEvents(CREDIT_EXPIRY_QUEUE, { connection: { url: 'redis://127.0.0.1:6379' }, prefix });
      await events.waitUntilReady();
      try {
        const job = await queue.add(JOB.EXPIRE_CREDIT_GRANTS, {});
        await job.waitUntilFinished(events, 20_000);
        await (await queue.add(JOB.EXPIRE_CREDIT_GRANTS, {})).waitUntilFinished(events, 20_000);
      } finally {
        await events.close();
      }
      expect(await expired(due)).toBe('9');
      expect(await expired(live)).toBeNull();
      expect(await balance(u.id)).toBe('4');
      expect(await h.prisma.creditTransaction.count({ where: { userId: u.id, type: 'expiry' } })).toBe(1);
      await expectLedgerExact(u.id);
    });
  });
});
