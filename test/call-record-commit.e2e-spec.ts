/**
 * CALL_RECORD_SYNCHRONOUS_COMMIT (docs/call-recording.md "Durability and latency"): with the
 * setting false, a call's record commits without waiting for the WAL flush, and only that
 * transaction does; the call is still recorded and debited exactly once.
 */
import OpenAI from 'openai';
import { Decimal } from '../src/common/decimal';
import { modelCallQueries } from '../src/model-calls/model-call.repository';
import { testCallRecord } from './support/call-records';
import { createDevProvider, createTenant, Harness, startHarness } from './support/gateway-harness';

describe('call records with an asynchronous commit', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('record-commit', { CALL_RECORD_SYNCHRONOUS_COMMIT: 'false' });
    await createDevProvider(h);
  });

  afterAll(async () => {
    await h?.close();
  });

  /** synchronous_commit as the record's transaction sees it right after the record statement. */
  async function commitModeAfter(synchronousCommit: boolean, userId: string): Promise<{ mode: string; inserted: number }> {
    const client = await h.prisma.pool.connect();
    try {
      await client.query('BEGIN');
      const res = await client.query<{ inserted: number }>(modelCallQueries.record([testCallRecord(userId)], { synchronousCommit }));
      const mode = await client.query<{ mode: string }>(`SELECT current_setting('synchronous_commit') AS mode`);
      return { mode: mode.rows[0].mode, inserted: res.rows[0].inserted };
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('turns the flush off for the record’s own transaction only', async () => {
    const t = await createTenant(h, { credits: '10' });
    expect(await commitModeAfter(false, t.userId)).toEqual({ mode: 'off', inserted: 1 });
    // The default statement leaves the server's setting alone (on here).
    expect(await commitModeAfter(true, t.userId)).toEqual({ mode: 'on', inserted: 1 });
    const after = await h.prisma.pool.query<{ mode: string }>(`SELECT current_setting('synchronous_commit') AS mode`);
    expect(after.rows[0].mode).toBe('on');
  });

  it('records and debits gateway calls exactly once', async () => {
    const t = await createTenant(h, { credits: '1000' });
    const client = new OpenAI({ apiKey: t.key, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: `call ${i}` }], max_tokens: 16 }),
      ),
    );
    expect(answers.every((a) => (a.usage?.total_tokens ?? 0) > 0)).toBe(true);
    await h.recorder.drain();
    const calls = await h.prisma.modelCall.findMany({ where: { userId: t.userId } });
    expect(calls).toHaveLength(20);
    expect(calls.every((c) => c.status === 'success')).toBe(true);
    const debits = await h.prisma.creditTransaction.findMany({ where: { userId: t.userId, type: 'debit' } });
    expect(debits).toHaveLength(20);
    const charged = calls.reduce((s, c) => s.add(c.credits.toString()), new Decimal(0));
    const account = await h.prisma.creditAccount.findUniqueOrThrow({ where: { userId: t.userId } });
    expect(new Decimal(account.balance.toString()).eq(new Decimal(1000).sub(charged))).toBe(true);
    expect(new Decimal(account.held.toString()).eq(0)).toBe(true);
  });
});
