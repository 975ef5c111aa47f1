/**
 * Batched credit holds (tollgate_credit_hold_batch, src/credits/credit-ledger.service.ts): the
 * holds of concurrent calls are taken together, with the same rules as one call's hold, in
 * arrival order per user; a call the database refuses for its data fails alone.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Decimal } from '../src/common/decimal';
import { CallHold } from '../src/credits/credit-ledger.service';
import { createTenant, Harness, startHarness } from './support/gateway-harness';

// The app runs in this process: count the hold statements its pg clients send.
let holdStatementCount = 0;
const originalQuery = Client.prototype.query;
Client.prototype.query = function (this: Client, config: unknown, ...rest: unknown[]) {
  const name = (config as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && name.startsWith('tollgate_credit_hold')) holdStatementCount++;
  return (originalQuery as (...args: unknown[]) => unknown).call(this, config, ...rest);
} as typeof Client.prototype.query;

describe('batched credit holds', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('hold-batches', { DATABASE_POOL_SIZE: '4' });
  });

  afterAll(async () => {
    await h?.close();
    Client.prototype.query = originalQuery;
  });

  const hold = (userId: string, amount: string, extra: Partial<CallHold> = {}): CallHold => ({
    userId,
    callId: randomUUID(),
    amount: new Decimal(amount),
    enforce: true,
    apiKeyId: null,
    providerId: null,
    model: 'mock-model',
    type: 'chatCompletion',
    stream: false,
    requestId: randomUUID(),
    appDid: null,
    promptTokensEstimate: 10,
    inputRate: new Decimal('0.1'),
    startedAt: Date.now(),
    ...extra,
  });

  async function account(userId: string) {
    return h.prisma.creditAccount.findUniqueOrThrow({ where: { userId } });
  }

  it('applies each user’s holds in the given order within one statement', async () => {
    const a = await createTenant(h, { credits: '10' });
    const b = await createTenant(h, { credits: '3' });
    const holds = [hold(a.userId, '6'), hold(b.userId, '2'), hold(a.userId, '5'), hold(b.userId, '2'), hold(a.userId, '4')];
    holds.push(hold(b.userId, '1', { enforce: false }));
    const rows = await h.prisma.pool.query<{ ord: number; admitted: boolean; balance: string; held: string }>(
      `SELECT * FROM tollgate_credit_hold_batch($1::uuid[], $2::uuid[], $3::numeric[], 60, $4::boolean[], $5::uuid[], $5::uuid[],
        $6::text[], $7::"ModelType"[], $8::boolean[], $9::text[], $10::text[], $11::integer[], $12::numeric[], $13::timestamptz[])`,
      [
        holds.map((x) => x.userId),
        holds.map((x) => x.callId),
        holds.map((x) => x.amount.toFixed()),
        holds.map((x) => x.enforce),
        holds.map(() => null),
        holds.map((x) => x.model),
        holds.map((x) => x.type),
        holds.map((x) => x.stream),
        holds.map((x) => x.requestId),
        holds.map(() => null),
        holds.map(() => 10),
        holds.map(() => '0.1'),
        holds.map(() => new Date().toISOString()),
      ],
    );
    const byOrd = rows.rows.sort((x, y) => x.ord - y.ord);
    // a: 6 fits (10 free), 5 does not (4 free), 4 fits; b: 2 fits, 2 does not (1 free); unenforced: admitted, 0/0
    expect(byOrd.map((r) => r.admitted)).toEqual([true, true, false, false, true, true]);
    expect(byOrd.map((r) => new Decimal(r.held).toFixed())).toEqual(['0', '0', '6', '2', '6', '0']);
    expect(byOrd.map((r) => new Decimal(r.balance).toFixed())).toEqual(['10', '3', '10', '3', '10', '0']);
    expect((await account(a.userId)).held.toFixed()).toBe('10');
    expect((await account(b.userId)).held.toFixed()).toBe('2');
    const written = await h.prisma.creditHold.findMany({ where: { callId: { in: holds.map((x) => x.callId) } } });
    expect(written.map((w) => w.callId).sort()).toEqual([holds[0], holds[1], holds[4], holds[5]].map((x) => x.callId).sort());
    expect(written.find((w) => w.callId === holds[5].callId)!.amount.toFixed()).toBe('0');
  });

  it('100 concurrent holds of one user: exactly what the balance covers is held, in fewer statements than calls', async () => {
    const t = await createTenant(h, { credits: '37' });
    const before = holdStatements();
    const results = await Promise.all(Array.from({ length: 100 }, () => h.ledger.holdForCall(hold(t.userId, '1'))));
    const statements = holdStatements() - before;
    expect(results.filter((r) => r.admitted)).toHaveLength(37);
    expect((await account(t.userId)).held.toFixed()).toBe('37');
    expect(await h.prisma.creditHold.count({ where: { userId: t.userId } })).toBe(37);
    for (const r of results.filter((x) => !x.admitted)) expect(r.balance.sub(r.held).lt(1)).toBe(true);
    expect(statements).toBeLessThan(100);
  });

  it('a hold the database refuses for its data fails alone; the rest of its batch is held', async () => {
    const t = await createTenant(h, { credits: '100' });
    const first = hold(t.userId, '1');
    expect((await h.ledger.holdForCall(first)).admitted).toBe(true);
    // the 8th reuses a call id that already has its hold: a unique violation
    const holds = Array.from({ length: 20 }, (_, i) => hold(t.userId, '1', i === 7 ? { callId: first.callId } : {}));
    const results = await Promise.allSettled(holds.map((x) => h.ledger.holdForCall(x)));
    expect(results[7]).toMatchObject({ status: 'rejected', reason: { code: '23505' } });
    expect(results.filter((r) => r.status === 'fulfilled' && r.value.admitted)).toHaveLength(19);
    expect((await account(t.userId)).held.toFixed()).toBe('20');
    expect(await h.prisma.creditHold.count({ where: { userId: t.userId } })).toBe(20);
  });

  /** Statements that took holds so far (single and batched), counted at the driver. */
  function holdStatements(): number {
    return holdStatementCount;
  }
});
