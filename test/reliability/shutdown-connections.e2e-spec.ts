/**
 * Shutting down (src/app.factory.ts): a call in flight is served to the end, while a connection a
 * client opened and never used (HTTP clients keep spare ones) no longer holds the shutdown until
 * Node's headers timeout (60 s).
 */
import net from 'node:net';
import { Client } from 'pg';
import { createDevProvider, createTenant, Harness, postChatCompletion, startHarness } from '../support/gateway-harness';

describe('shutdown and open connections', () => {
  let h: Harness | undefined;
  let closed = false;

  afterAll(async () => {
    if (closed) await h?.db.drop();
    else await h?.close();
  });

  it('serves the call in flight, drops the silent connection, and closes well before the headers timeout', async () => {
    h = await startHarness('shutdown');
    await createDevProvider(h);
    const t = await createTenant(h, { credits: '1000' });
    const port = Number(new URL(h.baseUrl).port);

    const silent = net.connect(port, '127.0.0.1');
    await new Promise((r) => silent.once('connect', r));
    const silentClosed = new Promise<void>((r) => silent.once('close', () => r()));

    const inFlight = postChatCompletion(h, t.key, { messages: [{ role: 'user', content: 'slow #mock:latency=1000' }] }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { choices?: unknown[] },
    }));
    await new Promise((r) => setTimeout(r, 300));

    // A close held by the silent connection would outlast this test's timeout (20 s < 60 s).
    await Promise.all([h.close({ keepDatabase: true }).then(() => (closed = true)), silentClosed]);
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(answered.body.choices).toHaveLength(1);
    // The call answered during the shutdown is recorded and debited.
    const db = new Client({ connectionString: h.db.url });
    await db.connect();
    try {
      const calls = await db.query<{ id: string; status: string; credits: string }>(
        'SELECT id, status, credits::text AS credits FROM model_calls WHERE user_id = $1',
        [t.userId],
      );
      expect(calls.rows).toEqual([{ id: expect.any(String), status: 'success', credits: expect.stringMatching(/[1-9]/) }]);
      // its debit: applied, or pending for the worker (durable either way)
      const debits = await db.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM credit_transactions WHERE model_call_id = $1) + (SELECT count(*) FROM pending_debits WHERE call_id = $1) AS n`,
        [calls.rows[0].id],
      );
      expect(debits.rows[0].n).toBe('1');
    } finally {
      await db.end();
    }
  }, 20_000);
});
