/**
 * Expected client-side and upstream failures are logged at warn, without a stack: a credential the
 * provider refuses (400 invalid_credential), a provider that does not answer (502
 * provider_unavailable), live checks of both. Only unexpected errors are logged at error level
 * with their stack ("unhandled error").
 */
import request from 'supertest';
import { Harness, startHarness, UPSTREAM_SECRET } from '../support/gateway-harness';

const PASSWORD = 'logging password 0123456789';

interface LogLine {
  level: number;
  msg?: string;
  context?: string;
  err?: { stack?: string };
  req?: { url?: string };
}

describe('expected failures are logged at warn without a stack', () => {
  let h: Harness;
  let admin: string;
  const as = (t: string) => ({ authorization: `Bearer ${t}` });
  const linesSince = (n: number): LogLine[] =>
    h.logs.slice(n).flatMap((l) =>
      l
        .split('\n')
        .filter(Boolean)
        .map((x) => JSON.parse(x) as LogLine),
    );

  beforeAll(async () => {
    h = await startHarness('expected_failures');
    await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD });
    admin = (await request(h.baseUrl).post('/auth/login').send({ login: 'admin@example.com', password: PASSWORD }).expect(200)).body
      .accessToken;
  });

  afterAll(async () => {
    await h?.close();
  });

  it('adding or checking a refused credential, or one at a provider that does not answer', async () => {
    const live = await h.providers.createProvider({ name: 'live', displayName: 'Live', baseUrl: h.upstream.url });
    const dead = await h.providers.createProvider({ name: 'dead', displayName: 'Dead', baseUrl: 'http://127.0.0.1:9/v1' });
    const start = h.logs.length;

    const refused = await request(h.baseUrl)
      .post(`/ai-providers/${live.id}/credentials`)
      .set(as(admin))
      .send({ name: 'bad', value: 'sk-not-the-right-one' })
      .expect(400);
    expect(refused.body.code).toBe('invalid_credential');
    const unavailable = await request(h.baseUrl)
      .post(`/ai-providers/${dead.id}/credentials`)
      .set(as(admin))
      .send({ name: 'any', value: UPSTREAM_SECRET })
      .expect(502);
    expect(unavailable.body.code).toBe('provider_unavailable');
    const stored = await h.providers.addCredential(live.id, { name: 'stored-bad', value: 'sk-not-the-right-one' });
    const check = await request(h.baseUrl).get(`/ai-providers/${live.id}/credentials/${stored.id}/check`).set(as(admin)).expect(200);
    expect(check.body.status).toBe('invalid');
    const deadCred = await h.providers.addCredential(dead.id, { name: 'stored', value: UPSTREAM_SECRET });
    const deadCheck = await request(h.baseUrl).get(`/ai-providers/${dead.id}/credentials/${deadCred.id}/check`).set(as(admin)).expect(200);
    expect(deadCheck.body.status).toBe('unavailable');

    const lines = linesSince(start);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const text = h.logs.slice(start).join('');
    expect(text).not.toContain('unhandled error');
    expect(text).not.toMatch(/\\n\s+at /); // no stack trace in any line
    // the 502 is still visible, at warn
    const warn502 = lines.filter((l) => l.level === 40 && JSON.stringify(l).includes('502'));
    expect(warn502.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.level === 40 && (l.msg ?? '').includes('provider_unavailable'))).toBe(true);
    expect(text).not.toContain('sk-not-the-right-one');
    expect(text).not.toContain(UPSTREAM_SECRET);
  });

  it('an unexpected error is still logged at error level with its stack', async () => {
    const start = h.logs.length;
    // the table the rates list reads is missing: a database error nobody expects
    await h.prisma.pool.query('ALTER TABLE model_rates RENAME TO model_rates_away');
    try {
      const res = await request(h.baseUrl).get('/ai-providers/model-rates').set(as(admin)).expect(500);
      expect(res.body).toEqual({
        statusCode: 500,
        code: 'internal_error',
        message: 'Internal error',
        requestId: res.headers['x-request-id'],
      });
    } finally {
      await h.prisma.pool.query('ALTER TABLE model_rates_away RENAME TO model_rates');
    }
    const lines = linesSince(start);
    const errors = lines.filter((l) => l.level === 50);
    expect(errors.some((l) => (l.msg ?? '').includes('unhandled error') && /\n\s+at /.test(l.msg ?? ''))).toBe(true);
  });
});
