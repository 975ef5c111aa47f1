/**
 * GET /readyz: 200 with every check up; 503 `{statusCode, code:'not_ready', message, checks}` when
 * Redis or PostgreSQL does not answer (a real closed connection, a real unreachable server).
 */
import Redis from 'ioredis';
import { Client } from 'pg';
import { startFaultProxy } from '../support/fault-proxy';
import { REDIS } from '../../src/redis/redis.tokens';
import { Harness, startHarness } from '../support/gateway-harness';

describe('readiness', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('readiness');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('200 with both checks up', async () => {
    const res = await fetch(`${h.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up' } });
  });

  it('503 not_ready naming Redis while the Redis connection is down, 200 again once it is back', async () => {
    const redis = h.app.get<Redis>(REDIS);
    redis.disconnect();
    try {
      const started = Date.now();
      const res = await fetch(`${h.baseUrl}/readyz`);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        statusCode: 503,
        code: 'not_ready',
        message: expect.stringContaining('redis'),
        checks: { database: 'up', redis: 'down' },
      });
    } finally {
      await redis.connect();
    }
    expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(200);
  });

  it('503 not_ready naming the database when PostgreSQL does not answer', async () => {
    const down = await startHarness('readiness_nodb', { DATABASE_URL: 'postgresql://postgres@127.0.0.1:9/nothing' });
    try {
      const res = await fetch(`${down.baseUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        statusCode: 503,
        code: 'not_ready',
        message: expect.stringContaining('database'),
        checks: { database: 'down', redis: 'up' },
      });
      // expected: not logged as an unhandled error
      expect(down.logs.join('')).not.toContain('unhandled error');
    } finally {
      await down.close();
    }
  });

  it('boots while PostgreSQL refuses connections, and creates the first super admin once it answers', async () => {
    const proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
    await proxy.cut('refuse');
    const late = await startHarness(
      'readiness_late_db',
      { DATABASE_CONNECT_TIMEOUT_MS: '500' },
      { databaseUrlFor: (url) => proxy.url(url) },
    );
    const direct = new Client({ connectionString: late.db.url });
    await direct.connect();
    const superAdmins = async () =>
      Number((await direct.query<{ n: string }>(`SELECT count(*) AS n FROM users WHERE role = 'super_admin'`)).rows[0].n);
    try {
      expect((await fetch(`${late.baseUrl}/readyz`)).status).toBe(503);
      expect(await superAdmins()).toBe(0);
      await proxy.restore();
      const deadline = Date.now() + 20_000;
      while ((await superAdmins()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(await superAdmins()).toBe(1);
    } finally {
      await direct.end();
      await late.close();
      await proxy.close();
    }
  });
});
