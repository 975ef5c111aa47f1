/** GET /user/model-calls (docs/api/model-calls.md): shapes, filters, paging, auth and bad input. */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createDevProvider, createTenant, Harness, startHarness } from './support/gateway-harness';

const PASSWORD = 'list password 0123456789';

async function login(h: Harness, email: string): Promise<string> {
  const res = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
  return res.body.accessToken as string;
}

describe('model calls list', () => {
  let h: Harness;
  let providerId: string;
  const a = { id: '', did: '', token: '' };
  const b = { id: '', did: '', token: '' };
  let adminToken: string;
  const base = Date.UTC(2026, 0, 10, 12, 0, 0) / 1000; // Unix s

  async function insertCall(
    userId: string,
    o: Partial<{
      model: string;
      status: string;
      type: string;
      appDid: string | null;
      requestId: string;
      credits: string;
      at: number;
      provider: string | null;
    }> = {},
  ) {
    const id = randomUUID();
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, provider_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, app_did, request_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, 100, 200, 300, $7, 500, $8, $9, to_timestamp($10))`,
      [
        id,
        userId,
        o.provider === undefined ? providerId : o.provider,
        o.model ?? 'gpt-4',
        o.type ?? 'chatCompletion',
        o.status ?? 'success',
        o.credits ?? '150.75',
        o.appDid === undefined ? 'zApp1' : o.appDid,
        o.requestId ?? `req-${id.slice(0, 8)}`,
        o.at ?? base,
      ],
    );
    return id;
  }

  beforeAll(async () => {
    h = await startHarness('model_calls_api');
    ({
      provider: { id: providerId },
    } = await createDevProvider(h));
    const ua = await h.users.create({ email: 'a@example.com', fullName: 'Alice A', password: PASSWORD });
    const ub = await h.users.create({ email: 'b@example.com', fullName: 'Bob B', password: PASSWORD });
    await h.users.create({ email: 'root@example.com', role: 'admin', password: PASSWORD });
    Object.assign(a, { id: ua.id, did: ua.did, token: await login(h, 'a@example.com') });
    Object.assign(b, { id: ub.id, did: ub.did, token: await login(h, 'b@example.com') });
    adminToken = await login(h, 'root@example.com');
    await insertCall(a.id, { requestId: 'req-a-1', at: base });
    await insertCall(a.id, { requestId: 'req-a-2', model: 'claude-3', status: 'failed', credits: '0', at: base + 60 });
    await insertCall(a.id, { requestId: 'req-a-3', status: 'aborted', credits: '1.5', appDid: null, at: base + 120 });
    await insertCall(a.id, {
      requestId: 'req-a-4',
      type: 'embedding',
      model: 'text-embed',
      appDid: 'zApp2',
      provider: null,
      at: base + 3600,
    });
    await insertCall(b.id, { requestId: 'req-b-1', at: base + 30 });
  });

  afterAll(async () => {
    await h?.close();
  });

  const get = (token: string, query: Record<string, string | number> = {}) =>
    request(h.baseUrl).get('/user/model-calls').query(query).set('authorization', `Bearer ${token}`);

  it('lists the caller’s calls newest first in the documented shape (docs/api/model-calls.md), with appInfo and userInfo', async () => {
    const res = await get(a.token).expect(200);
    expect(res.body.count).toBe(4);
    expect(res.body.paging).toEqual({ page: 1, pageSize: 50 });
    expect(res.body.list.map((c: { requestId: string }) => c.requestId)).toEqual(['req-a-4', 'req-a-3', 'req-a-2', 'req-a-1']);
    const first = res.body.list[3];
    expect(first).toMatchObject({
      userDid: a.did,
      model: 'gpt-4',
      type: 'chat',
      status: 'success',
      credits: 150.75,
      duration: 500,
      inputTokens: 100,
      outputTokens: 200,
      totalUsage: 300,
      providerId,
      providerName: 'Dev Upstream',
      createdAt: new Date(base * 1000).toISOString(),
      appDid: 'zApp1',
      appInfo: { appName: null, appDid: 'zApp1', appLogo: null, appUrl: null },
      userInfo: { did: a.did, fullName: 'Alice A', email: 'a@example.com', avatar: null },
    });
    expect(typeof first.id).toBe('string');
    expect(res.body.list[1]).toMatchObject({ status: 'aborted', appDid: null, appInfo: null, credits: 1.5 });
    expect(res.body.list[0]).toMatchObject({ type: 'embedding', providerId: null, providerName: null });
  });

  it('never shows another user’s calls', async () => {
    const res = await get(b.token).expect(200);
    expect(res.body.count).toBe(1);
    expect(res.body.list.map((c: { userDid: string }) => c.userDid)).toEqual([b.did]);
    const search = await get(b.token, { search: 'req-a-1' }).expect(200);
    expect(search.body).toMatchObject({ count: 0, list: [] });
  });

  it('pages with page and pageSize', async () => {
    const res = await get(a.token, { page: 2, pageSize: 3 }).expect(200);
    expect(res.body.count).toBe(4);
    expect(res.body.paging).toEqual({ page: 2, pageSize: 3 });
    expect(res.body.list.map((c: { requestId: string }) => c.requestId)).toEqual(['req-a-1']);
    const past = await get(a.token, { page: 9, pageSize: 3 }).expect(200);
    expect(past.body).toMatchObject({ count: 4, list: [] });
  });

  it('filters by status (failed includes aborted), model, providerId, appDid, time and search', async () => {
    const ids = async (q: Record<string, string | number>) =>
      (await get(a.token, q).expect(200)).body.list.map((c: { requestId: string }) => c.requestId).sort();
    expect(await ids({ status: 'success' })).toEqual(['req-a-1', 'req-a-4']);
    expect(await ids({ status: 'failed' })).toEqual(['req-a-2', 'req-a-3']);
    expect(await ids({ status: 'aborted' })).toEqual(['req-a-3']);
    expect(await ids({ status: 'all' })).toHaveLength(4);
    expect(await ids({ model: 'claude-3' })).toEqual(['req-a-2']);
    expect(await ids({ providerId })).toEqual(['req-a-1', 'req-a-2', 'req-a-3']);
    expect(await ids({ appDid: 'zApp2' })).toEqual(['req-a-4']);
    expect(await ids({ startTime: base + 60, endTime: base + 3600 })).toEqual(['req-a-2', 'req-a-3']);
    expect(await ids({ search: 'req-a-3' })).toEqual(['req-a-3']);
    expect(await ids({ search: 'embed' })).toEqual(['req-a-4']);
    expect(await ids({ search: '%' })).toEqual([]);
  });

  it('allUsers: 403 for a user, every user’s calls for an admin', async () => {
    const denied = await get(a.token, { allUsers: 'true' }).expect(403);
    expect(denied.body.code).toBe('forbidden');
    const res = await get(adminToken, { allUsers: 'true' }).expect(200);
    expect(res.body.count).toBe(5);
    const own = await get(adminToken).expect(200);
    expect(own.body.count).toBe(0);
    const search = await get(adminToken, { allUsers: 'true', search: 'bob' }).expect(200);
    expect(search.body.list.map((c: { requestId: string }) => c.requestId)).toEqual(['req-b-1']);
  });

  it('401 anonymous; API keys need the usage:read scope', async () => {
    const anon = await request(h.baseUrl).get('/user/model-calls').expect(401);
    expect(anon.body.code).toBe('unauthorized');
    const plain = await h.keys.create(a.id, { name: 'gateway only' });
    const refused = await request(h.baseUrl).get('/user/model-calls').set('authorization', `Bearer ${plain.secret}`).expect(403);
    expect(refused.body.code).toBe('insufficient_scope');
    const scoped = await h.keys.create(a.id, { name: 'dash', scopes: ['usage:read'] });
    const ok = await request(h.baseUrl).get('/user/model-calls').set('authorization', `Bearer ${scoped.secret}`).expect(200);
    expect(ok.body.count).toBe(4);
    const noAdmin = await request(h.baseUrl)
      .get('/user/model-calls')
      .query({ allUsers: 'true' })
      .set('authorization', `Bearer ${scoped.secret}`)
      .expect(403);
    expect(noAdmin.body.code).toBe('forbidden');
  });

  it('an API key follows its user’s role at once: demoted through the users service, allUsers is refused on the next request', async () => {
    const ops = await h.users.create({ email: 'ops@example.com', role: 'admin', password: PASSWORD });
    const key = await h.keys.create(ops.id, { name: 'ops dash', scopes: ['usage:read', 'admin'] });
    const all = () => request(h.baseUrl).get('/user/model-calls').query({ allUsers: 'true' }).set('authorization', `Bearer ${key.secret}`);
    expect((await all().expect(200)).body.count).toBeGreaterThanOrEqual(5);
    await h.users.update(ops.id, { role: 'member' });
    expect((await all().expect(403)).body.code).toBe('forbidden');
    await h.users.update(ops.id, { role: 'admin' });
    await all().expect(200);
  });

  it.each([
    [{ pageSize: 101 }, 'pageSize'],
    [{ pageSize: 0 }, 'pageSize'],
    [{ page: 'x' }, 'page'],
    [{ status: 'bogus' }, 'status'],
    [{ providerId: 'not-a-uuid' }, 'providerId'],
    [{ startTime: 'yesterday' }, 'startTime'],
    [{ startTime: 100, endTime: 50 }, 'endTime'],
    [{ allUsers: 'maybe' }, 'allUsers'],
    [{ unknown: 1 }, 'unknown'],
  ])('400 validation_failed for %j (field %s)', async (query, field) => {
    const res = await get(a.token, query as Record<string, string | number>).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('shows a call made through the gateway', async () => {
    const t = await createTenant(h, { credits: '1000' });
    await request(h.baseUrl)
      .post('/v1/chat/completions')
      .set('authorization', `Bearer ${t.key}`)
      .send({ model: 'mock-model', messages: [{ role: 'user', content: 'hello' }] })
      .expect(200);
    await h.recorder.drain();
    const res = await get(adminToken, { allUsers: 'true', model: 'mock-model' }).expect(200);
    expect(res.body.count).toBe(1);
    expect(res.body.list[0]).toMatchObject({ userDid: t.userDid, model: 'mock-model', status: 'success', providerId });
    expect(res.body.list[0].totalUsage).toBe(res.body.list[0].inputTokens + res.body.list[0].outputTokens);
  });

  it('filters by a model name holding quotes, backslashes, braces and $1 (the count and page are sent as literals)', async () => {
    const model = `o'neil\\ "x" {a,b} $1 $2`;
    await insertCall(b.id, { requestId: 'req-b-quoted', model, at: base + 90 });
    const res = await get(b.token, { model }).expect(200);
    expect(res.body).toMatchObject({ count: 1, totalIsEstimate: false });
    expect(res.body.list.map((c: { requestId: string; model: string }) => [c.requestId, c.model])).toEqual([['req-b-quoted', model]]);
    const none = await get(b.token, { model: `o'neil\\ "x"` }).expect(200);
    expect(none.body).toMatchObject({ count: 0, list: [] });
    const stats = await request(h.baseUrl)
      .get('/user/usage-stats')
      .query({ startTime: base - 3600, endTime: base + 7200 })
      .set('authorization', `Bearer ${b.token}`)
      .expect(200);
    expect(stats.body.modelStats).toContainEqual({ model, totalCalls: 1, totalCredits: 150.75 });
  });
});
