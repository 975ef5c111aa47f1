/**
 * The fault-injection proxy (test/support/fault-proxy.ts) in front of the real PostgreSQL and
 * Redis: traffic passes; after cut() clients fail fast ('refuse') or hang until their own timeout
 * ('blackhole'); after restore() new clients work again.
 */
import Redis from 'ioredis';
import { Client } from 'pg';
import { adminUrl } from '../support/database';
import { FaultProxy, startFaultProxy } from '../support/fault-proxy';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

function target(url: string): { targetHost: string; targetPort: number } {
  const u = new URL(url);
  return { targetHost: u.hostname, targetPort: Number(u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)) };
}

/** Settles `p` and reports how long it took. */
async function timed<T>(p: Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
  const t0 = Date.now();
  try {
    const value = await p;
    return { ms: Date.now() - t0, value };
  } catch (error) {
    return { ms: Date.now() - t0, error: error as Error };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('fault proxy: PostgreSQL', () => {
  let proxy: FaultProxy;
  const clients: Client[] = [];
  const pgClient = (opts: { connectionTimeoutMillis?: number; query_timeout?: number } = {}) => {
    const c = new Client({ connectionString: proxy.url(adminUrl()), ...opts });
    c.on('error', () => undefined); // a cut connection emits 'error' on the idle client
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    proxy = await startFaultProxy(target(adminUrl()));
  });

  afterEach(async () => {
    await proxy.close();
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  });

  it('forwards queries and counts connections and bytes', async () => {
    const c = pgClient();
    await c.connect();
    const r = await c.query('SELECT 1 AS one');
    expect(r.rows).toEqual([{ one: 1 }]);
    const s = proxy.stats();
    expect(s.opened).toBe(1);
    expect(s.active).toBe(1);
    expect(s.bytesToTarget).toBeGreaterThan(0);
    expect(s.bytesFromTarget).toBeGreaterThan(0);
    expect(proxy.state).toBe('open');
  });

  it('refuse: the open connection breaks, a new one fails fast; after restore a new client works', async () => {
    const c = pgClient();
    await c.connect();
    await proxy.cut('refuse');
    expect(proxy.state).toBe('refuse');
    const broken = await timed(c.query('SELECT 1'));
    expect(broken.error).toBeDefined();

    const fresh = await timed(pgClient().connect());
    expect(fresh.error).toBeDefined();
    expect(fresh.ms).toBeLessThan(2000);
    expect(proxy.stats().refused).toBeGreaterThanOrEqual(1);
    expect(proxy.stats().destroyedByCut).toBe(1);

    await proxy.restore();
    const again = pgClient();
    await again.connect();
    expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('blackhole: a new client hangs until its connection timeout; after restore a new client works', async () => {
    const c = pgClient();
    await c.connect();
    await proxy.cut('blackhole');
    expect((await timed(c.query('SELECT 1'))).error).toBeDefined(); // open connections are destroyed

    const hung = await timed(pgClient({ connectionTimeoutMillis: 800 }).connect());
    expect(hung.error).toBeDefined();
    expect(hung.ms).toBeGreaterThanOrEqual(700);
    expect(proxy.stats().refused).toBe(0);

    await proxy.restore();
    const again = pgClient();
    await again.connect();
    expect((await again.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('blackhole: a connection opened during the cut goes through once restored (the partition heals)', async () => {
    await proxy.cut('blackhole');
    const c = pgClient();
    let connected = false;
    const connecting = c.connect().then(() => (connected = true));
    await sleep(300);
    expect(connected).toBe(false);
    expect(proxy.stats().held).toBe(1);
    await proxy.restore();
    await connecting;
    expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it("blackhole with existing: 'freeze': a query waits and completes after restore", async () => {
    const c = pgClient();
    await c.connect();
    await proxy.cut({ mode: 'blackhole', existing: 'freeze' });
    let done = false;
    const q = c.query('SELECT 2 AS two').then((r) => {
      done = true;
      return r.rows;
    });
    await sleep(300);
    expect(done).toBe(false);
    await proxy.restore();
    expect(await q).toEqual([{ two: 2 }]);
  });

  it('close() destroys connections and stops listening', async () => {
    const c = pgClient();
    await c.connect();
    await proxy.close();
    expect((await timed(c.query('SELECT 1'))).error).toBeDefined();
    expect((await timed(pgClient({ connectionTimeoutMillis: 1000 }).connect())).error).toBeDefined();
  });
});

describe('fault proxy: Redis', () => {
  let proxy: FaultProxy;
  const clients: Redis[] = [];
  /** One connection attempt, no reconnects, commands time out after `commandTimeout`. */
  const redisClient = (commandTimeout = 5000) => {
    const r = new Redis(proxy.url(REDIS_URL), {
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      commandTimeout,
    });
    r.on('error', () => undefined);
    clients.push(r);
    return r;
  };

  beforeEach(async () => {
    proxy = await startFaultProxy(target(REDIS_URL));
  });

  afterEach(async () => {
    await proxy.close();
    for (const r of clients.splice(0)) r.disconnect();
  });

  it('forwards PING', async () => {
    const r = redisClient();
    await r.connect();
    expect(await r.ping()).toBe('PONG');
    expect(proxy.stats().bytesFromTarget).toBeGreaterThan(0);
  });

  it('refuse: PING fails fast; after restore a new client gets PONG', async () => {
    const r = redisClient();
    await r.connect();
    await proxy.cut('refuse');
    const res = await timed(r.ping());
    expect(res.error).toBeDefined();
    expect(res.ms).toBeLessThan(2000);

    const fresh = redisClient();
    const attempt = await timed(fresh.connect().then(() => fresh.ping()));
    expect(attempt.error).toBeDefined();
    expect(attempt.ms).toBeLessThan(2000);

    await proxy.restore();
    const again = redisClient();
    await again.connect();
    expect(await again.ping()).toBe('PONG');
  });

  it('blackhole: PING hangs until the command timeout; after restore a new client gets PONG', async () => {
    await proxy.cut('blackhole');
    const r = redisClient(600);
    await r.connect(); // TCP is accepted; nothing comes back
    const res = await timed(r.ping());
    expect(res.error?.message).toMatch(/timed out/i);
    expect(res.ms).toBeGreaterThanOrEqual(500);

    await proxy.restore();
    const again = redisClient();
    await again.connect();
    expect(await again.ping()).toBe('PONG');
  });
});
