/**
 * test/support/api-process.ts: the compiled api as a child process against a fresh test
 * database; it answers /healthz, and `kill -9` ends it with SIGKILL.
 * Needs the compiled tree (`npm test` builds dist/; or TOLLGATE_DIST_DIR, see api-process.ts).
 */
import Redis from 'ioredis';
import { ApiProcess, freePort, httpStatus, NodeProcess, startApiProcess, startWorkerProcess } from '../support/api-process';
import { createTestDatabase, TestDatabase } from '../support/database';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('api as a child process', () => {
  let db: TestDatabase;
  const queuePrefix = `tollgate-test-apiproc-${Math.random().toString(36).slice(2, 8)}`;
  const procs: NodeProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('api_process');
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exited));
    await db?.drop();
    const redis = new Redis(REDIS_URL);
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
  });

  it('freePort() returns a port nothing listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await httpStatus(`http://127.0.0.1:${port}/healthz`, 500)).toBeNull();
  });

  it('answers GET /healthz, and kill -9 ends it with SIGKILL', async () => {
    const api: ApiProcess = await startApiProcess({ databaseUrl: db.url, queuePrefix });
    procs.push(api);
    expect(api.baseUrl).toBe(`http://127.0.0.1:${api.port}`);
    expect(await httpStatus(`${api.baseUrl}/healthz`, 2000)).toBe(200);
    expect(await httpStatus(`${api.baseUrl}/readyz`, 5000)).toBe(200);
    expect(api.lines.some((l) => l.includes('tollgate api listening on'))).toBe(true);

    expect(api.kill('SIGKILL')).toBe(true);
    await expect(api.exited).resolves.toEqual({ code: null, signal: 'SIGKILL' });
    expect(await httpStatus(`${api.baseUrl}/healthz`, 500)).toBeNull();
    expect(api.kill('SIGKILL')).toBe(false);
  });

  it('a second api can take over the same port after a kill -9', async () => {
    const first = await startApiProcess({ databaseUrl: db.url, queuePrefix });
    procs.push(first);
    first.kill('SIGKILL');
    await first.exited;
    const second = await startApiProcess({ databaseUrl: db.url, queuePrefix, port: first.port });
    procs.push(second);
    expect(await httpStatus(`${second.baseUrl}/healthz`, 2000)).toBe(200);
    await expect(second.stop()).resolves.toMatchObject({});
  });

  it('starts the worker and stops it', async () => {
    const worker = await startWorkerProcess({ databaseUrl: db.url, queuePrefix });
    procs.push(worker);
    expect(worker.lines.some((l) => /tollgate worker started/.test(l))).toBe(true);
    const info = await worker.stop(10_000);
    expect(info.code === 0 || info.signal !== null).toBe(true);
  });

  it('fails with a clear message when the compiled tree is missing', async () => {
    await expect(startApiProcess({ databaseUrl: db.url, queuePrefix, distDir: '/nonexistent-tollgate-dist' })).rejects.toThrow(
      /compiled src\/main\.js not found in \/nonexistent-tollgate-dist: run "npm run build"/,
    );
  });

  it('reports a process that exits before it is ready, with its output', async () => {
    await expect(startApiProcess({ databaseUrl: db.url, queuePrefix, env: { JWT_SECRET: 'short' } })).rejects.toThrow(
      /exited \(code 1\).*JWT_SECRET/s,
    );
  });
});
