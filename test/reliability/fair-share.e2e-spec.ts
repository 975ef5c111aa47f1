/**
 * One tenant cannot hold every upstream connection: calls in flight are limited per key and per
 * user (per api process), past which the gateway answers 429 at once, so another user's call
 * still gets a connection.
 */
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';

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

  const call = (key: string, content: string) =>
    fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content }] }),
    });

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
});
