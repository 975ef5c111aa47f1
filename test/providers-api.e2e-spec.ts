/**
 * Providers and credentials over HTTP (docs/api/providers.md). Credentials are
 * validated against the real dev upstream (GET /v1/models checks the Bearer key), stored
 * encrypted and only ever shown masked.
 */
import request from 'supertest';
import { Client } from 'pg';
import { createTenant, Harness, startHarness, UPSTREAM_SECRET } from './support/gateway-harness';

const PASSWORD = 'provider tests password 123';

describe('providers API', () => {
  let h: Harness;
  let admin: string;
  let user: string;
  let userId: string;

  const login = async (login: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login, password: PASSWORD }).expect(200)).body.accessToken as string;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  async function createProvider(name: string, baseUrl = h.upstream.url) {
    const res = await request(h.baseUrl)
      .post('/ai-providers')
      .set(as(admin))
      .send({ name, displayName: name.toUpperCase(), baseUrl })
      .expect(201);
    return res.body as { id: string; name: string };
  }

  beforeAll(async () => {
    // A long catalog TTL: the gateway sees API writes only because every write invalidates.
    h = await startHarness('providers_api', { CATALOG_CACHE_TTL_MS: '600000' });
    await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD });
    userId = (await h.users.create({ email: 'user@example.com', password: PASSWORD })).id;
    admin = await login('admin@example.com');
    user = await login('user@example.com');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('auth: anonymous 401; users list but cannot write (403); API keys need providers:read', async () => {
    await request(h.baseUrl).get('/ai-providers').expect(401);
    await request(h.baseUrl).get('/ai-providers').set(as(user)).expect(200);
    const denied = await request(h.baseUrl)
      .post('/ai-providers')
      .set(as(user))
      .send({ name: 'x', displayName: 'X', baseUrl: 'http://127.0.0.1:1/v1' })
      .expect(403);
    expect(denied.body.code).toBe('forbidden');
    const scoped = await h.keys.create(userId, { name: 'reader', scopes: ['providers:read'] });
    await request(h.baseUrl).get('/ai-providers').set('x-api-key', scoped.secret).expect(200);
    const noWrite = await request(h.baseUrl)
      .post('/ai-providers')
      .set('x-api-key', scoped.secret)
      .send({ name: 'x', displayName: 'X', baseUrl: 'http://127.0.0.1:1/v1' })
      .expect(403);
    expect(noWrite.body.code).toBe('forbidden');
    const other = await h.keys.create(userId, { name: 'usage', scopes: ['usage:read'] });
    expect((await request(h.baseUrl).get('/ai-providers').set('x-api-key', other.secret).expect(403)).body.code).toBe('insufficient_scope');
    await request(h.baseUrl).delete('/ai-providers/00000000-0000-4000-8000-000000000000').set(as(user)).expect(403);
  });

  it('creates a provider (documented shape, docs/api/providers.md), refuses duplicates (409) and bad input (400 with fields)', async () => {
    const res = await request(h.baseUrl)
      .post('/ai-providers')
      .set(as(admin))
      .send({ name: 'openai', displayName: 'OpenAI', baseUrl: 'https://api.openai.com/v1/', enabled: true })
      .expect(201);
    expect(res.body).toMatchObject({
      name: 'openai',
      displayName: 'OpenAI',
      baseUrl: 'https://api.openai.com/v1',
      enabled: true,
      modelRates: [],
      credentials: [],
    });
    const dup = await request(h.baseUrl)
      .post('/ai-providers')
      .set(as(admin))
      .send({ name: 'openai', displayName: 'Again', baseUrl: 'https://x.example/v1' })
      .expect(409);
    expect(dup.body.code).toBe('provider_exists');
    const bad = await request(h.baseUrl)
      .post('/ai-providers')
      .set(as(admin))
      .send({ name: 'Open/AI', baseUrl: 'ftp://x', extra: 1 })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['baseUrl', 'displayName', 'extra', 'name']);
  });

  it('updates (PUT) and deletes a provider; unknown ids 404, malformed 400', async () => {
    const p = await createProvider('anthropic');
    const up = await request(h.baseUrl)
      .put(`/ai-providers/${p.id}`)
      .set(as(admin))
      .send({ displayName: 'Anthropic', enabled: false })
      .expect(200);
    expect(up.body).toMatchObject({ id: p.id, name: 'anthropic', displayName: 'Anthropic', enabled: false });
    expect((await request(h.baseUrl).put(`/ai-providers/${p.id}`).set(as(admin)).send({ name: 'openai' }).expect(409)).body.code).toBe(
      'provider_exists',
    );
    const missing = await request(h.baseUrl)
      .put('/ai-providers/00000000-0000-4000-8000-000000000000')
      .set(as(admin))
      .send({ enabled: true })
      .expect(404);
    expect(missing.body.code).toBe('provider_not_found');
    const malformed = await request(h.baseUrl).put('/ai-providers/nope').set(as(admin)).send({ enabled: true }).expect(400);
    expect(malformed.body).toMatchObject({ code: 'validation_failed', errors: [{ field: 'id' }] });
    await request(h.baseUrl).delete(`/ai-providers/${p.id}`).set(as(admin)).expect(204);
    expect((await request(h.baseUrl).delete(`/ai-providers/${p.id}`).set(as(admin)).expect(404)).body.code).toBe('provider_not_found');
  });

  it('adds a credential only after the provider accepts it; shows it masked; never returns or logs the value', async () => {
    const p = await createProvider('devup');
    const res = await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: 'Default Key', value: UPSTREAM_SECRET, credentialType: 'api_key' })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.any(String),
      name: 'Default Key',
      credentialType: 'api_key',
      active: true,
      weight: 100,
      displayText: 'Default Key (sk-••••a9c)',
      maskedValue: { api_key: 'sk-••••a9c' },
    });
    const authHeaders = h.upstream.stats.authorizations;
    expect(authHeaders).toContain(`Bearer ${UPSTREAM_SECRET}`); // it really asked the provider

    const list = await request(h.baseUrl).get('/ai-providers').set(as(user)).expect(200);
    const devup = list.body.find((x: { name: string }) => x.name === 'devup');
    expect(devup.credentials).toEqual([{ ...res.body, running: true }]);

    const pg = new Client({ connectionString: h.db.url });
    await pg.connect();
    try {
      const row = (await pg.query('SELECT encrypted_value, masked_value FROM ai_credentials WHERE id = $1', [res.body.id])).rows[0];
      expect(row.encrypted_value).not.toContain(UPSTREAM_SECRET);
      expect(row.encrypted_value.startsWith('test1:')).toBe(true);
    } finally {
      await pg.end();
    }
    expect(JSON.stringify(list.body)).not.toContain(UPSTREAM_SECRET);
    expect(h.logs.join('\n')).not.toContain(UPSTREAM_SECRET);
  });

  it('refuses an invalid credential with 400 invalid_credential and stores nothing; an unreachable provider is 502', async () => {
    const p = await createProvider('devup-bad');
    const res = await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: 'Wrong', value: 'sk-wrong-key-0000000000' })
      .expect(400);
    expect(res.body).toMatchObject({ code: 'invalid_credential', upstreamStatus: 401 });
    expect(JSON.stringify(res.body)).not.toContain('sk-wrong-key-0000000000');
    expect(await h.prisma.aiCredential.count({ where: { providerId: p.id } })).toBe(0);

    const dead = await createProvider('dead', 'http://127.0.0.1:9/v1');
    const down = await request(h.baseUrl)
      .post(`/ai-providers/${dead.id}/credentials`)
      .set(as(admin))
      .send({ name: 'K', value: UPSTREAM_SECRET })
      .expect(502);
    expect(down.body.code).toBe('provider_unavailable');
    expect(await h.prisma.aiCredential.count({ where: { providerId: dead.id } })).toBe(0);

    const bad = await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: '', credentialType: 'password' })
      .expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['credentialType', 'name', 'value']);
    const unknown = await request(h.baseUrl)
      .post('/ai-providers/00000000-0000-4000-8000-000000000000/credentials')
      .set(as(admin))
      .send({ name: 'K', value: UPSTREAM_SECRET })
      .expect(404);
    expect(unknown.body.code).toBe('provider_not_found');
    expect(h.logs.join('\n')).not.toContain('sk-wrong-key-0000000000');
  });

  it('updates a credential: a new value is validated first (old one kept when refused); name taken → 409; delete → 204', async () => {
    const p = await createProvider('devup-upd');
    const c = (
      await request(h.baseUrl)
        .post(`/ai-providers/${p.id}/credentials`)
        .set(as(admin))
        .send({ name: 'A', value: UPSTREAM_SECRET })
        .expect(201)
    ).body;
    await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: 'B', value: UPSTREAM_SECRET, weight: 5 })
      .expect(201);
    const refused = await request(h.baseUrl)
      .put(`/ai-providers/${p.id}/credentials/${c.id}`)
      .set(as(admin))
      .send({ value: 'sk-not-the-right-one-123' })
      .expect(400);
    expect(refused.body.code).toBe('invalid_credential');
    const check = await request(h.baseUrl).get(`/ai-providers/${p.id}/credentials/${c.id}/check`).set(as(admin)).expect(200);
    expect(check.body).toMatchObject({ id: c.id, valid: true, status: 'valid', upstreamStatus: 200, running: true });
    expect(typeof check.body.latencyMs).toBe('number');

    const renamed = await request(h.baseUrl)
      .put(`/ai-providers/${p.id}/credentials/${c.id}`)
      .set(as(admin))
      .send({ name: 'Primary', active: false, value: UPSTREAM_SECRET })
      .expect(200);
    expect(renamed.body).toMatchObject({ name: 'Primary', active: false, displayText: 'Primary (sk-••••a9c)' });
    expect(
      (await request(h.baseUrl).put(`/ai-providers/${p.id}/credentials/${c.id}`).set(as(admin)).send({ name: 'B' }).expect(409)).body.code,
    ).toBe('credential_exists');
    // a credential of another provider is not reachable through this one
    const other = await createProvider('devup-other');
    await request(h.baseUrl).put(`/ai-providers/${other.id}/credentials/${c.id}`).set(as(admin)).send({ name: 'X' }).expect(404);
    await request(h.baseUrl).delete(`/ai-providers/${other.id}/credentials/${c.id}`).set(as(admin)).expect(404);
    await request(h.baseUrl).get(`/ai-providers/${p.id}/credentials/${c.id}/check`).set(as(user)).expect(403);
    await request(h.baseUrl).delete(`/ai-providers/${p.id}/credentials/${c.id}`).set(as(admin)).expect(204);
    const gone = await request(h.baseUrl).get(`/ai-providers/${p.id}/credentials/${c.id}/check`).set(as(admin)).expect(404);
    expect(gone.body.code).toBe('credential_not_found');
  });

  it('check reports a credential the provider now refuses as invalid (live)', async () => {
    const p = await createProvider('devup-rotated');
    const c = (
      await request(h.baseUrl)
        .post(`/ai-providers/${p.id}/credentials`)
        .set(as(admin))
        .send({ name: 'K', value: UPSTREAM_SECRET })
        .expect(201)
    ).body;
    h.upstream.configure({ apiKey: 'sk-rotated-upstream-key-xyz' });
    try {
      const res = await request(h.baseUrl).get(`/ai-providers/${p.id}/credentials/${c.id}/check`).set(as(admin)).expect(200);
      expect(res.body).toMatchObject({ valid: false, status: 'invalid', upstreamStatus: 401 });
    } finally {
      h.upstream.configure({ apiKey: UPSTREAM_SECRET });
    }
  });

  it('every write reaches the gateway at once (catalog invalidated), even with a 10-minute catalog cache', async () => {
    const tenant = await createTenant(h, { credits: '1000' });
    const chat = () =>
      request(h.baseUrl)
        .post('/v1/chat/completions')
        .set('authorization', `Bearer ${tenant.key}`)
        .send({ model: 'live/mock-model', messages: [{ role: 'user', content: 'hi' }] });
    expect((await chat()).status).toBe(404); // loads the catalog: no such model yet
    const p = await createProvider('live');
    await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: 'K', value: UPSTREAM_SECRET })
      .expect(201);
    const rate = await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/model-rates`)
      .set(as(admin))
      .send({ model: 'mock-model', inputRate: 1, outputRate: 2 })
      .expect(201);
    expect((await chat()).status).toBe(200);
    await request(h.baseUrl).put(`/ai-providers/${p.id}`).set(as(admin)).send({ enabled: false }).expect(200);
    expect((await chat()).status).toBe(404);
    await request(h.baseUrl).put(`/ai-providers/${p.id}`).set(as(admin)).send({ enabled: true }).expect(200);
    await request(h.baseUrl).delete(`/ai-providers/${p.id}/model-rates/${rate.body.id}`).set(as(admin)).expect(204);
    expect((await chat()).status).toBe(404);
  });
});
