/** Login and the deny-by-default guard of the management API (docs/api/auth.md). */
import request from 'supertest';
import { createTenant, Harness, startHarness } from './support/gateway-harness';

describe('auth', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('auth');
    await h.users.create({ email: 'admin@example.com', username: 'root', role: 'admin', password: 'correct horse battery staple' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('logs in by email or username and answers /auth/me with the token', async () => {
    for (const login of ['admin@example.com', 'ADMIN@example.com', 'root']) {
      const res = await request(h.baseUrl).post('/auth/login').send({ login, password: 'correct horse battery staple' }).expect(200);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600, user: { email: 'admin@example.com', role: 'admin' } });
      const me = await request(h.baseUrl).get('/auth/me').set('authorization', `Bearer ${res.body.accessToken}`).expect(200);
      expect(me.body).toMatchObject({ email: 'admin@example.com', role: 'admin', via: 'jwt' });
    }
  });

  it("names the request in every answer, success or error (x-request-id: the caller's, else a new one)", async () => {
    const ok = await request(h.baseUrl)
      .post('/auth/login')
      .set('x-request-id', 'req-auth-1')
      .send({ login: 'root', password: 'correct horse battery staple' });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-request-id']).toBe('req-auth-1');
    const refused = await request(h.baseUrl).get('/auth/me').set('x-request-id', 'req-auth-2');
    expect(refused.status).toBe(401);
    expect(refused.headers['x-request-id']).toBe('req-auth-2');
    const generated = await request(h.baseUrl).get('/healthz');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses wrong passwords and unknown users alike, and never echoes the password', async () => {
    for (const body of [
      { login: 'admin@example.com', password: 'nope' },
      { login: 'ghost@example.com', password: 'nope' },
    ]) {
      const res = await request(h.baseUrl).post('/auth/login').send(body).expect(401);
      expect(res.body).toMatchObject({ statusCode: 401, code: 'invalid_credentials' });
    }
    expect(h.logs.join('\n')).not.toContain('correct horse battery staple');
  });

  it('400 validation_failed with the field for a bad body; unknown fields refused', async () => {
    const res = await request(h.baseUrl).post('/auth/login').send({ login: '', extra: 1 }).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['extra', 'login', 'password']);
  });

  it('denies by default: 401 without credentials or with a forged token', async () => {
    await request(h.baseUrl).get('/auth/me').expect(401);
    const forged = await request(h.baseUrl)
      .get('/auth/me')
      .set('authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl')
      .expect(401);
    expect(forged.body.code).toBe('unauthorized');
  });

  it('API keys: a gateway-only key is refused (403 insufficient_scope), a scoped key accepted', async () => {
    const plain = await createTenant(h, { credits: '0' });
    const res = await request(h.baseUrl).get('/auth/me').set('authorization', `Bearer ${plain.key}`).expect(403);
    expect(res.body.code).toBe('insufficient_scope');
    const scoped = await h.keys.create(plain.userId, { name: 'dashboards', scopes: ['usage:read'] });
    const ok = await request(h.baseUrl).get('/auth/me').set('x-api-key', scoped.secret).expect(200);
    expect(ok.body).toMatchObject({ via: 'api_key', scopes: ['usage:read'] });
  });
});
