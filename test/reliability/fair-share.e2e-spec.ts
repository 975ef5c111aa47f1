/**
 * One tenant cannot hold every upstream connection: calls in flight are limited per key and per
 * user (per api process), past which the gateway answers 429 at once, so another user's call
 * still gets a connection. A call whose client left gives its slot back at once.
 */
import { Client } from 'pg';
import { createDevProvider, createTenant, Harness, postChatCompletion, startHarness } from '../support/gateway-harness';

describe('per-user concurrency limit', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('fairshare', {
      UPSTREAM_CONNECTIONS: '8',
      GATEWAY_MAX_CONCURRENT_PER_USER: '4',
      GATEWAY_MAX_CONCURRENT_PER_KEY: '4',
    });
    await createDevProvider(h);
  });

  afterAll(async () => {
    await h?.close();
  });

  const call = (key: string, content: string, signal?: AbortSignal) =>
    postChatCompletion(h, key, { messages: [{ role: 'user', content }] }, signal);

  it("refuses a tenant's calls past its limit with 429 and lets another user's call through first", async () => {
    const greedy = await createTenant(h, { credits: '100000' });
    const other = await createTenant(h, { credits: '100000' });
    const order: string[] = [];
    const slow = Array.from({ length: 12 }, (_, i) =>
      call(greedy.key, `slow ${i} #mock:latency=2500`).then(async (r) => {
        order.push(`greedy:${r.status}`);
        return { status: r.status, retryAfter: r.headers.get('retry-after'), body: (await r.json()) as { error?: { code?: string } } };
      }),
    );
    // Let the greedy calls take their slots and connections.
    await new Promise((r) => setTimeout(r, 300));
    const quick = await call(other.key, 'quick');
    order.push(`other:${quick.status}`);
    expect(quick.status).toBe(200);
    const results = await Promise.all(slow);
    const refused = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200)).toHaveLength(4);
    expect(refused).toHaveLength(8);
    for (const r of refused) {
      expect(r.retryAfter).toBe('1');
      expect(r.body.error?.code).toBe('too_many_concurrent_requests');
    }
    // The other user's call finished before any of the greedy calls that were admitted.
    expect(order.indexOf('other:200')).toBeLessThan(order.indexOf('greedy:200'));
    await h.recorder.drain();
    const rows = await h.prisma.modelCall.groupBy({ by: ['status'], where: { userId: greedy.userId }, _count: true });
    expect(Object.fromEntries(rows.map((r) => [r.status, r._count]))).toEqual({ success: 4, failed: 8 });
  });

  it('gives the slot of a call whose client left back at once, before the call is metered and recorded', async () => {
    const t = await createTenant(h, { credits: '100000' });
    let refusedProbes = 0;
    // Records wait while model_calls is locked: the abandoned calls cannot finish recording.
    const locker = new Client({ connectionString: h.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE model_calls IN SHARE MODE');
      const abandoned = Array.from({ length: 4 }, (_, i) => {
        const ac = new AbortController();
        const res = call(t.key, `left ${i} #mock:latency=2500`, ac.signal).catch((e: Error) => e.name);
        setTimeout(() => ac.abort(), 800);
        return res;
      });
      expect(await Promise.all(abandoned)).toEqual(['AbortError', 'AbortError', 'AbortError', 'AbortError']);
      // The key's 4 slots are free again although none of the 4 calls can be recorded yet: a new
      // call is admitted (it then waits for its own record) instead of being refused. Probed until
      // one is admitted, so a slow machine's late close events do not fail the test; without the
      // release every probe is refused until the lock goes.
      let admitted: Promise<Response> | null = null;
      for (const deadline = Date.now() + 5_000; admitted === null && Date.now() < deadline;) {
        const probe = call(t.key, 'next');
        const early = await Promise.race([probe, new Promise<null>((r) => setTimeout(() => r(null), 400))]);
        if (early === null) admitted = probe;
        else {
          expect(early.status).toBe(429);
          refusedProbes++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (admitted === null) throw new Error('every probe was refused for 5 s: the abandoned calls kept their slots');
      await locker.query('ROLLBACK');
      expect((await admitted).status).toBe(200);
    } finally {
      await locker.end();
    }
    // The abandoned calls are recorded once their prompts are counted (the tokenizer's worker may
    // still be loading): wait for them.
    const expected = { aborted: 4, success: 1, ...(refusedProbes > 0 ? { failed: refusedProbes } : {}) };
    let statuses: Record<string, number> = {};
    for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
      await h.recorder.drain();
      const rows = await h.prisma.modelCall.groupBy({ by: ['status'], where: { userId: t.userId }, _count: true });
      statuses = Object.fromEntries(rows.map((r) => [r.status, r._count]));
      if ((statuses.aborted ?? 0) >= 4) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(statuses).toEqual(expected);
  });
});
