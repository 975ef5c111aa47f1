/**
 * Request ids and log levels (src/logging/logging.module.ts, src/common/all-exceptions.filter.ts):
 * every line a request writes carries its `req.id`, the same id the answer's `x-request-id`
 * carries (the caller's when well-formed); a client error is one line at warn without a stack; a
 * fault of our own is logged at error with its stack. Error answers of every route family carry
 * the id. (Upstream credentials refused by a provider: test/reliability/expected-failures-logging.e2e-spec.ts.)
 * nestjs-pino's request context is switched on only while a request Fastify serves is in flight
 * (src/logging/request-context-scope.ts); the gateway's call routes never switch it on.
 */
import { storage } from 'nestjs-pino/storage';
import request from 'supertest';
import { createTenant, Harness, startHarness, UPSTREAM_SECRET } from './support/gateway-harness';

interface LogLine {
  level: number;
  msg?: string;
  context?: string;
  req?: { id?: string; headers?: Record<string, unknown> };
  err?: { stack?: string };
}

describe('request ids and log levels', () => {
  let h: Harness;
  const lines = (): LogLine[] =>
    h.logs.flatMap((chunk) =>
      chunk
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as LogLine),
    );
  const linesOf = (id: string) => lines().filter((l) => JSON.stringify(l).includes(id));
  /** Lines are written asynchronously after the answer: wait until `n` lines name `id`. */
  async function waitForLines(id: string, n: number): Promise<LogLine[]> {
    for (let i = 0; i < 100 && linesOf(id).length < n; i++) await new Promise((r) => setTimeout(r, 50));
    return linesOf(id);
  }

  beforeAll(async () => {
    h = await startHarness('request_log');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('a client error: one line at warn with the request id, no stack, no error-level line', async () => {
    const res = await request(h.baseUrl)
      .post('/auth/login')
      .set('x-request-id', 'log-client-error-1')
      .send({ login: 'nobody@example.com', password: 'wrong password 0123' })
      .expect(401);
    expect(res.headers['x-request-id']).toBe('log-client-error-1');
    const mine = await waitForLines('log-client-error-1', 1);
    expect(mine.map((l) => [l.level, l.req?.id])).toEqual([[40, 'log-client-error-1']]);
    expect(JSON.stringify(mine)).not.toMatch(/\\n\s+at /);
    // no authorization header was sent: none is logged (not even a censored one)
    expect(mine[0].req?.headers).not.toHaveProperty('authorization');
  });

  it('a fault of our own: logged at error with its stack, every line with the one request id', async () => {
    await h.prisma.pool.query('ALTER TABLE model_rates RENAME TO model_rates_gone');
    let res: request.Response;
    try {
      res = await request(h.baseUrl).get('/ai-providers/models').set('x-request-id', 'log-fault-1').expect(500);
    } finally {
      await h.prisma.pool.query('ALTER TABLE model_rates_gone RENAME TO model_rates');
    }
    expect(res.headers['x-request-id']).toBe('log-fault-1');
    expect(res.body).toEqual({
      statusCode: 500,
      code: 'internal_error',
      message: 'Internal error',
      requestId: res.headers['x-request-id'],
    });
    const mine = await waitForLines('log-fault-1', 2);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((l) => l.req?.id === 'log-fault-1')).toBe(true);
    const fault = mine.find((l) => l.context === 'Errors');
    expect(fault?.level).toBe(50);
    expect(fault?.msg).toMatch(/unhandled error on GET \/ai-providers\/models[\s\S]*\n\s+at /);
  });

  it('a malformed x-request-id is replaced by a new one, used in the answer and the log alike', async () => {
    const res = await request(h.baseUrl).get('/healthz').set('x-request-id', 'bad id with spaces').expect(200);
    const id = String(res.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const mine = await waitForLines(id, 1);
    expect(mine.map((l) => [l.level, l.req?.id])).toEqual([[30, id]]);
  });

  it('error answers of every route family carry the request id', async () => {
    const cases: [string, request.Test][] = [
      ['management', request(h.baseUrl).get('/admin/users')],
      ['gateway', request(h.baseUrl).post('/v1/chat/completions').send({ model: 'mock-model', messages: [] })],
      ['toiee', request(h.baseUrl).get('/api/toiee/users')],
      ['unknown route', request(h.baseUrl).get('/no/such/route')],
      ['bad json', request(h.baseUrl).post('/auth/login').set('content-type', 'application/json').send('{"login":')],
    ];
    for (const [family, req] of cases) {
      const id = `log-family-${family.replace(/ /g, '-')}`;
      const res = await req.set('x-request-id', id).set('authorization', `Bearer ${UPSTREAM_SECRET}`);
      expect([family, res.status >= 400, res.headers['x-request-id']]).toEqual([family, true, id]);
    }
  });

  it('switches nestjs-pino’s request context off when no request Fastify serves is in flight; gateway calls never switch it on', async () => {
    // Node 20's AsyncLocalStorage keeps an `enabled` flag: while any storage is enabled, an async
    // hook runs for every promise of the process.
    const enabled = () => (storage as unknown as { enabled: boolean }).enabled;
    const settled = async () => {
      for (let i = 0; i < 100 && enabled(); i++) await new Promise((r) => setTimeout(r, 20));
      return enabled();
    };
    await request(h.baseUrl).get('/healthz').expect(200);
    expect(await settled()).toBe(false);
    // A Fastify route that writes lines mid-request still gets its request id on each (the fault above), and:
    await request(h.baseUrl).get('/no/such/route').set('x-request-id', 'log-scope-404').expect(404);
    expect(await settled()).toBe(false);
    // A gateway call answered by the HTTP front: refused (no credits), its lines carry its id, the storage stays off.
    const t = await createTenant(h, { credits: '0' });
    await request(h.baseUrl)
      .post('/v1/chat/completions')
      .set('authorization', `Bearer ${t.key}`)
      .set('x-request-id', 'log-scope-gateway')
      .send({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] })
      .expect((res) => expect(res.status).toBeGreaterThanOrEqual(400));
    expect(enabled()).toBe(false);
    const mine = await waitForLines('log-scope-gateway', 1);
    expect(mine.every((l) => l.req?.id === 'log-scope-gateway')).toBe(true);
  });
});
