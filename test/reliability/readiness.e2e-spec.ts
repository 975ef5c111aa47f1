/**
 * GET /readyz: 200 with every check up; 503 `{statusCode, code:'not_ready', message, checks}` when
 * Redis or PostgreSQL does not answer (a real closed connection, a real unreachable server) or a
 * folder of prisma/migrations is not applied (`missingMigrations` names it).
 */
import Redis from 'ioredis';
import { Client } from 'pg';
import { migrationsDir } from '../support/database';
import { startFaultProxy } from '../support/fault-proxy';
import { readLocalMigrations } from '../../src/database/migrator';
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

  it('200 with every check up', async () => {
    const res = await fetch(`${h.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', checks: { database: 'up', redis: 'up', migrations: 'up' } });
  });

  it('503 not_ready naming the migration whose _prisma_migrations row is gone, 200 once it is back', async () => {
    const names = readLocalMigrations(migrationsDir()).map((m) => m.name);
    const last = names[names.length - 1];
    const { rows } = await h.prisma.pool.query<{ id: string }>(`SELECT id FROM "_prisma_migrations" WHERE migration_name = $1`, [last]);
    expect(rows).toHaveLength(1);
    const client = await h.prisma.pool.connect();
    try {
      await client.query(`CREATE TEMP TABLE saved_migration AS SELECT * FROM "_prisma_migrations" WHERE migration_name = $1`, [last]);
      await client.query(`DELETE FROM "_prisma_migrations" WHERE migration_name = $1`, [last]);
      const res = await fetch(`${h.baseUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({
        statusCode: 503,
        requestId: expect.any(String),
        code: 'not_ready',
        message: `Not ready: migrations not applied: ${last}`,
        checks: { database: 'up', redis: 'up', migrations: 'down' },
        missingMigrations: [last],
      });
      // a failed (unfinished) attempt is not applied either
      await client.query(`INSERT INTO "_prisma_migrations" SELECT * FROM saved_migration`);
      await client.query(`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE migration_name = $1`, [last]);
      const failed = (await (await fetch(`${h.baseUrl}/readyz`)).json()) as { missingMigrations?: string[] };
      expect(failed.missingMigrations).toEqual([last]);
      await client.query(`UPDATE "_prisma_migrations" SET finished_at = now() WHERE migration_name = $1`, [last]);
    } finally {
      client.release();
    }
    expect((await fetch(`${h.baseUrl}/readyz`)).status).toBe(200);
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
        requestId: expect.any(String),
        code: 'not_ready',
        message: expect.stringContaining('redis'),
        checks: { database: 'up', redis: 'down', migrations: 'up' },
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
        requestId: expect.any(String),
        code: 'not_ready',
        message: expect.stringContaining('database'),
        checks: { database: 'down', redis: 'up', migrations: 'down' },
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
