/**
 * Credit holds under concurrency: 200 simultaneous calls for one user whose credits cover only some of
 * them. The ledger must stay exact and never overspend by more than one call.
 */
import OpenAI from 'openai';
import { Decimal } from '../src/common/decimal';
import { createDevProvider, createTenant, Harness, startHarness } from './support/gateway-harness';

describe('credits under concurrency', () => {
  let h: Harness;

  beforeAll(async () => {
    // 200 calls of one user at once: the per-key and per-user in-flight limits (64, answered 429)
    // are not what this suite checks (test/reliability/fair-share.e2e-spec.ts does); off here, so
    // every refusal must be the credit check's, however slowly the machine runs the calls.
    h = await startHarness('concurrency', {
      DATABASE_POOL_SIZE: '10',
      GATEWAY_MAX_CONCURRENT_PER_KEY: '0',
      GATEWAY_MAX_CONCURRENT_PER_USER: '0',
    });
    await createDevProvider(h, { inputRate: '0.1', outputRate: '0.3' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('200 concurrent calls: balance never below zero by more than one call, ledger exact, one debit per success', async () => {
    // Each call: ~20 prompt tokens and at most 16 completion tokens → well under 10 credits.
    const t = await createTenant(h, { credits: '250' });
    await h.ledger.grant({ userId: t.userId, amount: new Decimal('0.5'), reason: 'second grant' });
    const client = new OpenAI({ apiKey: t.key, baseURL: `${h.baseUrl}/v1`, maxRetries: 0, timeout: 60_000 });

    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        client.chat.completions.create({
          model: 'mock-model',
          max_tokens: 16,
          messages: [{ role: 'user', content: `concurrent call number ${i} #mock:words=30` }],
          ...(i % 2 ? { stream: false } : {}),
        }),
      ),
    );
    await h.recorder.drain();

    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r) => r.status === 'rejected');
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toMatchObject({ status: 402, code: 'insufficient_credits' });
    expect(ok).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);

    const calls = await h.prisma.modelCall.findMany({ where: { userId: t.userId } });
    expect(calls).toHaveLength(200);
    const succeeded = calls.filter((c) => c.status === 'success');
    expect(succeeded).toHaveLength(ok);

    const debits = await h.prisma.creditTransaction.findMany({ where: { userId: t.userId, type: 'debit' } });
    expect(debits).toHaveLength(ok);
    expect(new Set(debits.map((d) => d.modelCallId)).size).toBe(ok);
    for (const d of debits) {
      const call = succeeded.find((c) => c.id === d.modelCallId)!;
      expect(d.amount.toFixed()).toBe(call.credits.neg().toFixed());
    }

    const grants = await h.prisma.creditGrant.aggregate({ where: { userId: t.userId }, _sum: { amount: true } });
    const debited = debits.reduce((s, d) => s.add(d.amount), new Decimal(0));
    const balance = await h.ledger.balance(t.userId);
    expect(balance.toFixed()).toBe(grants._sum.amount!.add(debited).toFixed());

    // The ledger replays: every balance_after equals the running sum of amounts in seq order.
    const all = await h.prisma.$queryRaw<{ amount: string; balance_after: string; running: string }[]>`
      SELECT amount::text, balance_after::text,
        (sum(amount) OVER (ORDER BY seq ROWS UNBOUNDED PRECEDING))::text AS running
      FROM credit_transactions WHERE user_id = ${t.userId}::uuid`;
    for (const r of all) expect(new Decimal(r.balance_after).toFixed()).toBe(new Decimal(r.running).toFixed());
    const maxCost = succeeded.reduce((m, c) => (c.credits.gt(m) ? c.credits : m), new Decimal(0));
    const lowest = all.reduce((m, r) => Decimal.min(m, new Decimal(r.balance_after)), new Decimal(Infinity));
    expect(lowest.gte(maxCost.neg())).toBe(true);
    expect(balance.gte(maxCost.neg())).toBe(true);
    expect(await h.prisma.creditHold.count({ where: { userId: t.userId } })).toBe(0);
    expect(await h.prisma.pendingDebit.count({ where: { userId: t.userId } })).toBe(0);
    const account = await h.prisma.creditAccount.findUniqueOrThrow({ where: { userId: t.userId } });
    expect(account.held.toFixed()).toBe('0'); // every hold added was released
  });
});
