/**
 * Cache invalidation over Redis pub/sub: channels are per deployment (QUEUE_PREFIX), and a
 * message missed while the subscriber connection is down does not keep a revoked key working for
 * KEY_CACHE_TTL_MS: while disconnected, caches trust entries for at most DISCONNECTED_TRUST_MS.
 */
import Redis from 'ioredis';
import { DISCONNECTED_TRUST_MS, InvalidationBus } from '../../src/redis/invalidation-bus.service';
import { REDIS_SUBSCRIBER } from '../../src/redis/redis.tokens';
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` every 50 ms until it returns true or `boundMs` passes; returns the time it took, or null. */
async function within(boundMs: number, fn: () => Promise<boolean>): Promise<number | null> {
  const started = Date.now();
  while (Date.now() - started < boundMs) {
    if (await fn()) return Date.now() - started;
    await sleep(50);
  }
  return null;
}

describe('cache invalidation', () => {
  describe('channels are per deployment (QUEUE_PREFIX)', () => {
    let a: Harness;
    let b: Harness;
    let raw: Redis;
    const suffix = Math.random().toString(36).slice(2, 8);
    const prefixA = `tollgate-test-deploy-a-${suffix}`;
    const prefixB = `tollgate-test-deploy-b-${suffix}`;

    beforeAll(async () => {
      a = await startHarness('inval_a', { QUEUE_PREFIX: prefixA });
      b = await startHarness('inval_b', { QUEUE_PREFIX: prefixB });
      raw = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
    });

    afterAll(async () => {
      await raw?.quit();
      await a?.close();
      await b?.close();
    });

    it('a publish in one deployment reaches its own subscribers, not the other deployment on the same Redis', async () => {
      const seenA: string[] = [];
      const seenB: string[] = [];
      await a.app.get(InvalidationBus).subscribe('test:probe', (m) => seenA.push(m));
      await b.app.get(InvalidationBus).subscribe('test:probe', (m) => seenB.push(m));
      await a.app.get(InvalidationBus).publish('test:probe', 'from-a');
      expect(await within(5000, async () => seenA.includes('from-a'))).not.toBeNull();
      await b.app.get(InvalidationBus).publish('test:probe', 'from-b');
      expect(await within(5000, async () => seenB.includes('from-b'))).not.toBeNull();
      await sleep(200);
      expect(seenA).toEqual(['from-a']);
      expect(seenB).toEqual(['from-b']);
    });

    it('the keys and catalog channels carry the prefix', async () => {
      const channels = (await raw.pubsub('CHANNELS', '*')) as string[];
      for (const prefix of [prefixA, prefixB]) {
        expect(channels).toEqual(
          expect.arrayContaining([`${prefix}:keys:invalidate`, `${prefix}:catalog:invalidate`, `${prefix}:test:probe`]),
        );
      }
      expect(a.app.get(InvalidationBus).channel('keys:invalidate')).toBe(`${prefixA}:keys:invalidate`);
    });

    it('revoking a key in one deployment does not reset the other one’s key cache', async () => {
      // the key cache of b keeps its entry: b is not told about a's revocations
      const tenantB = await createTenant(b, { credits: '0' });
      await createDevProvider(b);
      const models = () => fetch(`${b.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${tenantB.key}` } }).then((r) => r.status);
      expect(await models()).toBe(200);
      // revoke in the database of b behind its back, then publish the key's hash from a: b must not drop it
      const { secretHash } = await b.prisma.apiKey.findUniqueOrThrow({ where: { id: tenantB.keyId }, select: { secretHash: true } });
      await b.prisma.apiKey.update({ where: { id: tenantB.keyId }, data: { revokedAt: new Date() } });
      await a.keyCheck.invalidate(secretHash);
      await sleep(300);
      expect(await models()).toBe(200); // still cached in b (KEY_CACHE_TTL_MS 10 s, subscriber connected)
      await b.keyCheck.invalidate(secretHash);
      expect(await models()).toBe(401);
    });
  });

  describe('a missed invalidation (subscriber connection down)', () => {
    let h: Harness;
    let subscriber: Redis;
    let bus: InvalidationBus;

    beforeAll(async () => {
      h = await startHarness('inval_missed');
      await createDevProvider(h);
      subscriber = h.app.get<Redis>(REDIS_SUBSCRIBER);
      bus = h.app.get(InvalidationBus);
    });

    afterAll(async () => {
      if (subscriber.status === 'end') await subscriber.connect().catch(() => undefined);
      await h?.close();
    });

    const models = (key: string) => fetch(`${h.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);

    it(`a key revoked while the subscriber is disconnected is refused within ~${DISCONNECTED_TRUST_MS} ms, not KEY_CACHE_TTL_MS`, async () => {
      const t = await createTenant(h, { credits: '0' });
      expect(await models(t.key)).toBe(200); // cached for KEY_CACHE_TTL_MS (10 s) while connected
      expect(bus.connected()).toBe(true);

      subscriber.disconnect();
      expect(await within(2000, async () => !bus.connected())).not.toBeNull();
      expect(await models(t.key)).toBe(200); // looked up again and cached while disconnected
      // another replica revokes the key; its invalidation message is lost (nobody here is subscribed)
      await h.prisma.apiKey.update({ where: { id: t.keyId }, data: { revokedAt: new Date() } });
      const refusedAfter = await within(5000, async () => (await models(t.key)) === 401);
      expect(refusedAfter).not.toBeNull();
      expect(refusedAfter!).toBeLessThan(DISCONNECTED_TRUST_MS + 2000);

      // back: re-subscribed, connected again, and messages are delivered again
      await subscriber.connect();
      expect(await within(5000, async () => bus.connected())).not.toBeNull();
      const t3 = await createTenant(h, { credits: '0' });
      expect(await models(t3.key)).toBe(200);
      await sleep(DISCONNECTED_TRUST_MS + 200);
      expect(await models(t3.key)).toBe(200); // trusted for the full TTL again, from the cache
      const { secretHash } = await h.prisma.apiKey.findUniqueOrThrow({ where: { id: t3.keyId }, select: { secretHash: true } });
      await h.prisma.apiKey.update({ where: { id: t3.keyId }, data: { revokedAt: new Date() } });
      expect(await models(t3.key)).toBe(200); // still cached: nothing told this replica yet
      // a message from "another replica" (published on Redis directly) reaches the cache
      const raw = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
      try {
        await raw.publish(bus.channel('keys:invalidate'), secretHash);
      } finally {
        await raw.quit();
      }
      expect(await within(3000, async () => (await models(t3.key)) === 401)).not.toBeNull();
    });

    it(`the routing catalog is trusted for at most ~${DISCONNECTED_TRUST_MS} ms while disconnected (not CATALOG_CACHE_TTL_MS)`, async () => {
      const t = await createTenant(h, { credits: '0' });
      const modelIds = async () =>
        (
          (await (await fetch(`${h.baseUrl}/v1/models`, { headers: { authorization: `Bearer ${t.key}` } })).json()) as {
            data: { id: string }[];
          }
        ).data.map((m) => m.id);
      subscriber.disconnect();
      try {
        expect(await within(2000, async () => !bus.connected())).not.toBeNull();
        expect(await modelIds()).toContain('mock-embed'); // catalog loaded now
        // another replica disables the rate; its invalidation message is lost
        await h.prisma.modelRate.updateMany({ where: { model: 'mock-embed' }, data: { enabled: false } });
        const gone = await within(3000, async () => !(await modelIds()).includes('mock-embed'));
        expect(gone).not.toBeNull();
        expect(gone!).toBeLessThan(DISCONNECTED_TRUST_MS + 1500);
      } finally {
        await subscriber.connect();
        await within(5000, async () => bus.connected());
      }
    });

    it('a key cached before the connection drops is dropped with it (the reset), without waiting for any TTL', async () => {
      const t = await createTenant(h, { credits: '0' });
      expect(await models(t.key)).toBe(200);
      await h.prisma.apiKey.update({ where: { id: t.keyId }, data: { revokedAt: new Date() } });
      expect(await models(t.key)).toBe(200); // cached, connected, no message
      subscriber.disconnect();
      try {
        expect(await within(2000, async () => !bus.connected())).not.toBeNull();
        expect(await models(t.key)).toBe(401); // the reset dropped it: looked up again
      } finally {
        await subscriber.connect();
        await within(5000, async () => bus.connected());
      }
    });
  });
});
