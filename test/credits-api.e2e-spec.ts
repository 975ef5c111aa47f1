/**
 * The credit endpoints (docs/api/credits.md): GET /user/credit/{grants,
 * transactions,balance,payment-link} and POST /admin/credits/grants with Idempotency-Key.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Decimal } from '../src/common/decimal';
import { CallSettlementRepository } from '../src/credits/call-settlement.repository';
import { ModelCallRepository } from '../src/model-calls/model-call.repository';
import { testCallRecord } from './support/call-records';
import { Harness, startHarness, testHold } from './support/gateway-harness';

const PASSWORD = 'credits api password 123';

async function newUser(h: Harness, role: 'admin' | 'member' = 'member') {
  const email = `ca-${randomUUID().slice(0, 8)}@example.com`;
  const user = await h.users.create({ email, fullName: 'Credit User', password: PASSWORD, role });
  const res = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
  return { user, token: res.body.accessToken as string };
}

/** Records a billed call of `credits` and settles it through the real debit function. */
async function debit(h: Harness, userId: string, credits: string): Promise<string> {
  const settlement = h.app.get(CallSettlementRepository);
  const id = randomUUID();
  await h.app
    .get(ModelCallRepository)
    .insert([testCallRecord(userId, { id, promptTokens: 10, completionTokens: 5, credits: new Decimal(credits) })]);
  expect((await settlement.applyDebits([id])).debited).toBe(1);
  return id;
}

/** balance = Σ transaction amounts (docs/architecture.md "Where money moves"). */
async function expectLedgerExact(h: Harness, userId: string): Promise<void> {
  const sum = await h.prisma.creditTransaction.aggregate({ where: { userId }, _sum: { amount: true } });
  const balance = await h.ledger.balance(userId);
  expect(balance.toFixed()).toBe((sum._sum.amount ?? new Decimal(0)).toFixed());
}

describe('credits API', () => {
  let h: Harness;
  let admin: { user: { id: string; did: string }; token: string };

  beforeAll(async () => {
    h = await startHarness('credits_api', { CREDIT_PAYMENT_LINK: 'https://pay.example.com/short/payment' });
    admin = await newUser(h, 'admin');
  });

  afterAll(async () => {
    await h?.close();
  });

  const get = (path: string, token: string) => request(h.baseUrl).get(path).set('authorization', `Bearer ${token}`);
  const grant = (token: string, body: Record<string, unknown>, key?: string) => {
    const r = request(h.baseUrl).post('/admin/credits/grants').set('authorization', `Bearer ${token}`);
    return (key === undefined ? r : r.set('idempotency-key', key)).send(body);
  };

  describe('user endpoints', () => {
    it('401 for every endpoint without credentials', async () => {
      for (const path of ['/user/credit/grants', '/user/credit/transactions', '/user/credit/balance', '/user/credit/payment-link']) {
        const res = await request(h.baseUrl).get(path).expect(401);
        expect(res.body.code).toBe('unauthorized');
      }
    });

    it('grants: the documented list envelope (docs/api/credits.md), newest first, paginated, only the caller’s', async () => {
      const { user, token } = await newUser(h);
      const other = await newUser(h);
      await h.ledger.grant({ userId: other.user.id, amount: new Decimal('999'), reason: 'not yours' });
      for (let i = 1; i <= 3; i++) await h.ledger.grant({ userId: user.id, amount: new Decimal(`${i}.5`), reason: `grant ${i}` });
      const expiresAt = new Date(Date.now() + 3_600_000);
      await h.ledger.grant({ userId: user.id, amount: new Decimal('10'), reason: 'expiring', expiresAt });

      const all = await get('/user/credit/grants', token).expect(200);
      expect(all.body.count).toBe(4);
      expect(all.body.paging).toEqual({ page: 1, pageSize: 50 });
      expect(all.body.list.map((g: { reason: string }) => g.reason)).toEqual(['expiring', 'grant 3', 'grant 2', 'grant 1']);
      expect(all.body.list[0]).toEqual({
        id: expect.any(String),
        userDid: user.did,
        amount: 10,
        reason: 'expiring',
        source: 'admin',
        status: 'active',
        expiresAt: expiresAt.toISOString(),
        expiredAt: null,
        expiredAmount: null,
        createdAt: expect.any(String),
      });

      const page2 = await get('/user/credit/grants?page=2&pageSize=3', token).expect(200);
      expect(page2.body).toMatchObject({ count: 4, paging: { page: 2, pageSize: 3 } });
      expect(page2.body.list.map((g: { reason: string }) => g.reason)).toEqual(['grant 1']);
      const beyond = await get('/user/credit/grants?page=5&pageSize=3', token).expect(200);
      expect(beyond.body).toEqual({ count: 4, list: [], paging: { page: 5, pageSize: 3 } });

      const others = await get('/user/credit/grants', other.token).expect(200);
      expect(others.body.list.map((g: { reason: string }) => g.reason)).toEqual(['not yours']);
    });

    it('400 validation_failed with the field for bad paging and type', async () => {
      const { token } = await newUser(h);
      for (const [query, field] of [
        ['page=0', 'page'],
        ['pageSize=101', 'pageSize'],
        ['pageSize=abc', 'pageSize'],
        ['page=1.5', 'page'],
        ['type=bogus', 'type'],
        ['userId=x', 'userId'],
      ]) {
        const res = await get(`/user/credit/transactions?${query}`, token).expect(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      }
      await get('/user/credit/grants?pageSize=100', token).expect(200);
      await get('/user/credit/grants?pageSize=101', token).expect(400);
    });

    it('transactions: grants and debits, signed, with balanceAfter, filterable by type, only the caller’s', async () => {
      const { user, token } = await newUser(h);
      const other = await newUser(h);
      await h.ledger.grant({ userId: other.user.id, amount: new Decimal('5'), reason: 'other' });
      await debit(h, other.user.id, '1');
      await h.ledger.grant({ userId: user.id, amount: new Decimal('100'), reason: 'starter' });
      const call1 = await debit(h, user.id, '12.3456789');
      const call2 = await debit(h, user.id, '0.0000000001');

      const res = await get('/user/credit/transactions', token).expect(200);
      expect(res.body.count).toBe(3);
      expect(res.body.paging).toEqual({ page: 1, pageSize: 50 });
      expect(res.body.list.map((t: { type: string; amount: number; balanceAfter: number }) => [t.type, t.amount, t.balanceAfter])).toEqual([
        ['debit', -0.0000000001, 87.6543210999],
        ['debit', -12.3456789, 87.6543211],
        ['grant', 100, 100],
      ]);
      expect(res.body.list[0]).toEqual({
        id: expect.any(String),
        type: 'debit',
        amount: -0.0000000001,
        balanceAfter: 87.6543210999,
        grantId: null,
        modelCallId: call2,
        description: 'model call mock-model',
        createdAt: expect.any(String),
      });
      expect(res.body.list[1].modelCallId).toBe(call1);

      const debits = await get('/user/credit/transactions?type=debit&pageSize=1', token).expect(200);
      expect(debits.body.count).toBe(2);
      expect(debits.body.list).toHaveLength(1);
      expect(debits.body.list[0].modelCallId).toBe(call2);
      const grants = await get('/user/credit/transactions?type=grant', token).expect(200);
      expect(grants.body.list.map((t: { type: string; grantId: string }) => t.type)).toEqual(['grant']);
      expect(grants.body.list[0].grantId).toEqual(expect.any(String));
      const expiries = await get('/user/credit/transactions?type=expiry', token).expect(200);
      expect(expiries.body).toEqual({ count: 0, list: [], paging: { page: 1, pageSize: 50 } });
      await expectLedgerExact(h, user.id);
    });

    it('balance: the documented creditBalance (docs/api/credits.md), with credits held by calls in flight as pendingCredit', async () => {
      const { user, token } = await newUser(h);
      await h.ledger.grant({ userId: user.id, amount: new Decimal('40'), reason: 'a' });
      await h.ledger.grant({ userId: user.id, amount: new Decimal('60'), reason: 'b', expiresAt: new Date(Date.now() + 60_000) });
      await debit(h, user.id, '0.75');
      await h.ledger.holdForCall(testHold(user.id, '3.5'));
      const res = await get('/user/credit/balance', token).expect(200);
      expect(res.body).toEqual({ balance: 99.25, total: 100, grantCount: 2, pendingCredit: 3.5 });
    });

    it('payment-link: the configured link', async () => {
      const { token } = await newUser(h);
      const res = await get('/user/credit/payment-link', token).expect(200);
      expect(res.body).toEqual({ paymentLink: 'https://pay.example.com/short/payment' });
    });

    it('API keys need the credits:read scope', async () => {
      const { user } = await newUser(h);
      await h.ledger.grant({ userId: user.id, amount: new Decimal('2'), reason: 'k' });
      const reader = await h.keys.create(user.id, { name: 'reader', scopes: ['credits:read'] });
      const res = await request(h.baseUrl).get('/user/credit/balance').set('x-api-key', reader.secret).expect(200);
      expect(res.body.balance).toBe(2);
      const usage = await h.keys.create(user.id, { name: 'usage', scopes: ['usage:read'] });
      const refused = await request(h.baseUrl).get('/user/credit/grants').set('authorization', `Bearer ${usage.secret}`).expect(403);
      expect(refused.body.code).toBe('insufficient_scope');
    });
  });

  describe('POST /admin/credits/grants', () => {
    it('an admin grants credits: 201 with the grant and the balance after; the user sees it', async () => {
      const { user, token } = await newUser(h);
      const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
      const res = await grant(admin.token, { userDid: user.did, amount: 250.5, reason: 'welcome', expiresAt }).expect(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        userDid: user.did,
        amount: 250.5,
        reason: 'welcome',
        source: 'admin',
        status: 'active',
        expiresAt,
        expiredAt: null,
        expiredAmount: null,
        createdAt: expect.any(String),
        balanceAfter: 250.5,
      });
      const row = await h.prisma.creditGrant.findUniqueOrThrow({ where: { id: res.body.id } });
      expect(row.createdById).toBe(admin.user.id);
      const balance = await get('/user/credit/balance', token).expect(200);
      expect(balance.body).toMatchObject({ balance: 250.5, total: 250.5, grantCount: 1 });
      const tx = await get('/user/credit/transactions', token).expect(200);
      expect(tx.body.list).toEqual([
        expect.objectContaining({ type: 'grant', amount: 250.5, balanceAfter: 250.5, grantId: res.body.id, description: 'welcome' }),
      ]);
    });

    it('amounts are exact decimals (string or number)', async () => {
      const { user } = await newUser(h);
      await grant(admin.token, { userDid: user.did, amount: '0.1', reason: 'a' }).expect(201);
      await grant(admin.token, { userDid: user.did, amount: 0.2, reason: 'b' }).expect(201);
      await grant(admin.token, { userDid: user.did, amount: '123456789012345678.0000000001', reason: 'c' }).expect(201);
      expect((await h.ledger.balance(user.id)).toFixed()).toBe('123456789012345678.3000000001');
      await expectLedgerExact(h, user.id);
    });

    it('Idempotency-Key: the same key grants once; the repeat answers 200 with the first grant', async () => {
      const { user } = await newUser(h);
      const key = `grant-${randomUUID()}`;
      const body = { userDid: user.did, amount: '75', reason: 'monthly' };
      const first = await grant(admin.token, body, key).expect(201);
      const again = await grant(admin.token, body, key).expect(200);
      expect(again.body).toEqual(first.body);
      expect((await h.ledger.balance(user.id)).toFixed()).toBe('75');
      expect(await h.prisma.creditGrant.count({ where: { userId: user.id } })).toBe(1);
      expect(await h.prisma.creditTransaction.count({ where: { userId: user.id } })).toBe(1);
    });

    it('Idempotency-Key under concurrency: 8 simultaneous requests grant once', async () => {
      const { user } = await newUser(h);
      const key = `burst-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 8 }, () => grant(admin.token, { userDid: user.did, amount: '10', reason: 'burst' }, key)),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect((await h.ledger.balance(user.id)).toFixed()).toBe('10');
      await expectLedgerExact(h, user.id);
    });

    it('409 idempotency_key_reused when the key was used for a different grant; nothing granted', async () => {
      const { user } = await newUser(h);
      const key = `reuse-${randomUUID()}`;
      await grant(admin.token, { userDid: user.did, amount: '5', reason: 'x' }, key).expect(201);
      const res = await grant(admin.token, { userDid: user.did, amount: '6', reason: 'x' }, key).expect(409);
      expect(res.body.code).toBe('idempotency_key_reused');
      const other = await newUser(h);
      await grant(admin.token, { userDid: other.user.did, amount: '5', reason: 'x' }, key).expect(409);
      expect((await h.ledger.balance(user.id)).toFixed()).toBe('5');
      expect((await h.ledger.balance(other.user.id)).toFixed()).toBe('0');
    });

    it('auth: 401 anonymous, 403 for a user, 403 insufficient_scope for a non-admin key, 201 for an admin key', async () => {
      const { user, token } = await newUser(h);
      await request(h.baseUrl).post('/admin/credits/grants').send({ userDid: user.did, amount: '1', reason: 'x' }).expect(401);
      const forbidden = await grant(token, { userDid: user.did, amount: '1', reason: 'x' }).expect(403);
      expect(forbidden.body.code).toBe('forbidden');
      const reader = await h.keys.create(admin.user.id, { name: 'reader', scopes: ['credits:read'] });
      const res = await grant(reader.secret, { userDid: user.did, amount: '1', reason: 'x' }).expect(403);
      expect(res.body.code).toBe('insufficient_scope');
      const adminKey = await h.keys.create(admin.user.id, { name: 'ops', scopes: ['admin'] });
      await grant(adminKey.secret, { userDid: user.did, amount: '1', reason: 'by key' }).expect(201);
      expect((await h.ledger.balance(user.id)).toFixed()).toBe('1');
    });

    it('400 validation_failed naming the field; 404 user_not_found; nothing written', async () => {
      const { user } = await newUser(h);
      const cases: [Record<string, unknown>, string][] = [
        [{ userDid: user.did, amount: 0, reason: 'x' }, 'amount'],
        [{ userDid: user.did, amount: -5, reason: 'x' }, 'amount'],
        [{ userDid: user.did, amount: '1e3', reason: 'x' }, 'amount'],
        [{ userDid: user.did, amount: '0.00000000001', reason: 'x' }, 'amount'],
        [{ userDid: user.did, amount: 'abc', reason: 'x' }, 'amount'],
        [{ userDid: user.did, amount: '1' }, 'reason'],
        [{ amount: '1', reason: 'x' }, 'userDid'],
        [{ userDid: user.did, amount: '1', reason: 'x', expiresAt: 'tomorrow' }, 'expiresAt'],
        [{ userDid: user.did, amount: '1', reason: 'x', expiresAt: new Date(Date.now() - 60_000).toISOString() }, 'expiresAt'],
        [{ userDid: user.did, amount: '1', reason: 'x', source: 'hack' }, 'source'],
      ];
      for (const [body, field] of cases) {
        const res = await grant(admin.token, body).expect(400);
        expect(res.body.code).toBe('validation_failed');
        expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
      }
      const badKey = await grant(admin.token, { userDid: user.did, amount: '1', reason: 'x' }, 'has space').expect(400);
      expect(badKey.body.errors[0].field).toBe('Idempotency-Key');
      const missing = await grant(admin.token, { userDid: 'zNoSuchUser', amount: '1', reason: 'x' }).expect(404);
      expect(missing.body.code).toBe('user_not_found');
      expect(await h.prisma.creditGrant.count({ where: { userId: user.id } })).toBe(0);
      expect((await h.ledger.balance(user.id)).toFixed()).toBe('0');
    });

    it('never logs or returns a secret', async () => {
      const adminKey = await h.keys.create(admin.user.id, { name: 'ops2', scopes: ['admin'] });
      const { user } = await newUser(h);
      const res = await grant(adminKey.secret, { userDid: user.did, amount: '1', reason: 'x' }).expect(201);
      expect(JSON.stringify(res.body)).not.toContain(adminKey.secret);
      expect(h.logs.join('\n')).not.toContain(adminKey.secret);
      expect(h.logs.join('\n')).not.toContain(admin.token);
      expect(h.logs.join('\n')).not.toContain(PASSWORD);
    });
  });
});
