/**
 * The LLM configuration API for coding agents (docs/api/llm-config.md) over real HTTP, PostgreSQL
 * and Redis: the envelope and its error codes (guard refusals included), HEAD, batch, masking,
 * include_system_prompt, the cache dropped by profile changes, key revocation and changes of a user
 * without keys (disabled, deleted), a tollgate
 * profile's key calling /v1/chat/completions through the openai SDK, audit entries of the admin
 * writes, and the coding agent's Python function (test/fixtures/llm_config_client.py) unchanged.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type Redis from 'ioredis';
import OpenAI from 'openai';
import type { AppConfig } from '../src/config/app-config';
import { APP_CONFIG } from '../src/config/config.module';
import { REDIS } from '../src/redis/redis.tokens';
import { Account, account, auditRowsOf, bearer, client, serviceKey } from './fixtures/accounts';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from './support/gateway-harness';

const run = promisify(execFile);
const CLIENT = path.join(__dirname, 'fixtures', 'llm_config_client.py');
const PUBLIC_BASE_URL = 'https://tollgate.example.test';
const OPENAI_KEY = 'sk-proj-abcdefghijklmnopqrstuvwx1234';

describe('LLM config API (/v1/users)', () => {
  let h: Harness;
  let admin: Account;
  let agentKey: string;
  let dev: Tenant;
  const api = () => client(h.baseUrl);
  const auth = (key: string): [string, string] => ['authorization', `Bearer ${key}`];

  /** Links `userId` to github `username` and gives it an openai profile, through the admin API. */
  async function linkOpenAi(userId: string, username: string, extra: Record<string, unknown> = {}) {
    await api()
      .post(`/admin/users/${userId}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'github', username })
      .expect(201);
    return api()
      .put(`/admin/users/${userId}/llm-profile`)
      .set(...bearer(admin))
      .send({
        provider: 'openai',
        systemPrompt: 'You are a careful coding assistant.',
        openai: { apiKey: OPENAI_KEY, baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o', maxToken: 40960 },
        ...extra,
      })
      .expect(200);
  }

  beforeAll(async () => {
    h = await startHarness('llm_config', { PUBLIC_BASE_URL: `${PUBLIC_BASE_URL}/`, LLM_CONFIG_BATCH_MAX_USERS: '3' });
    admin = await account(h, 'admin');
    agentKey = await serviceKey(h, admin.id, ['llm-config:read']);
    dev = await createTenant(h, { credits: '100' });
    await createDevProvider(h);
    const notFolder = await createTenant(h, { credits: '0' });
    await linkOpenAi(notFolder.userId, 'NotFolder');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('GET answers the envelope with the profile (username lower-cased, unused providers null, ISO timestamps)', async () => {
    const res = await api()
      .get('/v1/users/github/notfolder/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(res.body).toEqual({
      status: 'success',
      data: {
        user_id: 'github:notfolder',
        platform: 'github',
        username: 'notfolder',
        llm_config: {
          provider: 'openai',
          function_calling: true,
          openai: { api_key: OPENAI_KEY, base_url: 'https://api.openai.com/v1', model: 'gpt-4o', max_token: 40960 },
          lmstudio: null,
          ollama: null,
        },
        system_prompt: 'You are a careful coding assistant.',
        max_llm_process_num: 1000,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
    const mixedCase = await api()
      .get('/v1/users/github/NotFolder/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(mixedCase.body.data.user_id).toBe('github:notfolder');
  });

  it('errors: USER_NOT_FOUND, CONFIG_NOT_FOUND, INVALID_PLATFORM, INVALID_USERNAME, UNAUTHORIZED, FORBIDDEN, all in the envelope', async () => {
    expect(
      (
        await api()
          .get('/v1/users/github/nobody-here/llm-config')
          .set(...auth(agentKey))
          .expect(404)
      ).body,
    ).toEqual({
      status: 'error',
      error: {
        code: 'USER_NOT_FOUND',
        message: "User 'github:nobody-here' not found",
        details: { platform: 'github', username: 'nobody-here' },
      },
    });
    const bare = await createTenant(h, { credits: '0' });
    await api()
      .post(`/admin/users/${bare.userId}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'gitlab', username: 'bare.user' })
      .expect(201);
    expect(
      (
        await api()
          .get('/v1/users/gitlab/bare.user/llm-config')
          .set(...auth(agentKey))
          .expect(404)
      ).body,
    ).toEqual({
      status: 'error',
      error: {
        code: 'CONFIG_NOT_FOUND',
        message: "LLM configuration not found for user 'gitlab:bare.user'",
        details: { platform: 'gitlab', username: 'bare.user' },
      },
    });
    expect(
      (
        await api()
          .get('/v1/users/bitbucket/x/llm-config')
          .set(...auth(agentKey))
          .expect(400)
      ).body.error.code,
    ).toBe('INVALID_PLATFORM');
    for (const bad of ['-dash', 'a--b', 'x'.repeat(40), 'under_score']) {
      const res = await api()
        .get(`/v1/users/github/${bad}/llm-config`)
        .set(...auth(agentKey))
        .expect(400);
      expect(res.body.error.code).toBe('INVALID_USERNAME');
    }
    expect(
      (
        await api()
          .get('/v1/users/gitlab/name.git/llm-config')
          .set(...auth(agentKey))
          .expect(400)
      ).body.error.code,
    ).toBe('INVALID_USERNAME');
    for (const headers of [
      {},
      { authorization: 'Bearer tg-not-a-real-key-0000000000000000000000' },
      { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x' },
    ]) {
      const res = await api().get('/v1/users/github/notfolder/llm-config').set(headers).expect(401);
      expect(res.body).toEqual({
        status: 'error',
        error: { code: 'UNAUTHORIZED', message: 'Invalid or missing API token', details: { reason: 'unauthorized' } },
      });
    }
    const wrongScope = await serviceKey(h, admin.id, ['users:read']);
    const adminScope = await serviceKey(h, admin.id, ['admin']);
    const member = await account(h, 'member');
    const memberKey = await serviceKey(h, member.id, ['llm-config:read']);
    for (const key of [wrongScope, adminScope, memberKey]) {
      const res = await api()
        .get('/v1/users/github/notfolder/llm-config')
        .set(...auth(key))
        .expect(403);
      expect(res.body).toEqual({
        status: 'error',
        error: { code: 'FORBIDDEN', message: expect.any(String), details: { reason: expect.any(String) } },
      });
    }
    // an admin's login token is not a service key
    const jwt = await api()
      .get('/v1/users/github/notfolder/llm-config')
      .set(...bearer(admin))
      .expect(403);
    expect(jwt.body.error).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'service_key_required' } });
  });

  it('HEAD: 200, 404, 401 without a body', async () => {
    const ok = await api()
      .head('/v1/users/github/notfolder/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(ok.text ?? '').toBe('');
    const missing = await api()
      .head('/v1/users/github/nobody-here/llm-config')
      .set(...auth(agentKey))
      .expect(404);
    expect(missing.text ?? '').toBe('');
    const denied = await api().head('/v1/users/github/notfolder/llm-config').expect(401);
    expect(denied.text ?? '').toBe('');
  });

  it('mask=true masks the api key; include_system_prompt=false leaves the prompt out', async () => {
    const masked = await api()
      .get('/v1/users/github/notfolder/llm-config?mask=true')
      .set(...auth(agentKey))
      .expect(200);
    expect(masked.body.data.llm_config.openai.api_key).toBe('sk-proj-****...****1234');
    const noPrompt = await api()
      .get('/v1/users/github/notfolder/llm-config?include_system_prompt=false')
      .set(...auth(agentKey))
      .expect(200);
    expect(noPrompt.body.data).not.toHaveProperty('system_prompt');
    expect(noPrompt.body.data.llm_config.openai.api_key).toBe(OPENAI_KEY);
    expect(
      (
        await api()
          .get('/v1/users/github/notfolder/llm-config?mask=maybe')
          .set(...auth(agentKey))
          .expect(400)
      ).body.error.code,
    ).toBe('INVALID_REQUEST');
  });

  it('batch: found and not found, duplicates answered once, more than LLM_CONFIG_BATCH_MAX_USERS refused', async () => {
    const res = await api()
      .post('/v1/users/llm-configs/batch')
      .set(...auth(agentKey))
      .send({
        users: [
          { platform: 'github', username: 'notfolder' },
          { platform: 'github', username: 'NOTFOLDER' },
          { platform: 'gitlab', username: 'ghost-user' },
        ],
        include_system_prompt: false,
      })
      .expect(200);
    expect(res.body.status).toBe('success');
    expect(res.body.data.not_found).toEqual(['gitlab:ghost-user']);
    expect(res.body.data.configs).toHaveLength(1);
    expect(res.body.data.configs[0]).toMatchObject({ user_id: 'github:notfolder', llm_config: { provider: 'openai' } });
    expect(res.body.data.configs[0]).not.toHaveProperty('system_prompt');
    const four = Array.from({ length: 4 }, (_, i) => ({ platform: 'github', username: `u${i}` }));
    const tooMany = await api()
      .post('/v1/users/llm-configs/batch')
      .set(...auth(agentKey))
      .send({ users: four })
      .expect(400);
    expect(tooMany.body).toEqual({ status: 'error', error: { code: 'INVALID_REQUEST', message: 'At most 3 users per batch (got 4)' } });
    const badName = await api()
      .post('/v1/users/llm-configs/batch')
      .set(...auth(agentKey))
      .send({
        users: [
          { platform: 'github', username: 'ok' },
          { platform: 'svn', username: 'x' },
        ],
      })
      .expect(400);
    expect(badName.body.error).toMatchObject({ code: 'INVALID_PLATFORM', details: { index: 1 } });
    const badJson = await api()
      .post('/v1/users/llm-configs/batch')
      .set(...auth(agentKey))
      .set('content-type', 'application/json')
      .send('{"users":')
      .expect(400);
    expect(badJson.body).toMatchObject({ status: 'error', error: { code: 'INVALID_REQUEST' } });
    await api().post('/v1/users/llm-configs/batch').send({ users: [] }).expect(401);
  });

  it('a profile change is seen by the next GET (the cached answer is dropped)', async () => {
    const u = await createTenant(h, { credits: '0' });
    await linkOpenAi(u.userId, 'cache-user');
    const first = await api()
      .get('/v1/users/github/cache-user/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(first.body.data.llm_config.openai.model).toBe('gpt-4o');
    await api()
      .put(`/admin/users/${u.userId}/llm-profile`)
      .set(...bearer(admin))
      .send({ provider: 'ollama', maxLlmProcessNum: 50, ollama: { endpoint: 'http://localhost:11434', model: 'qwen3', maxToken: 32768 } })
      .expect(200);
    const second = await api()
      .get('/v1/users/github/cache-user/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(second.body.data.llm_config).toEqual({
      provider: 'ollama',
      function_calling: true,
      openai: null,
      lmstudio: null,
      ollama: { endpoint: 'http://localhost:11434', model: 'qwen3', max_token: 32768 },
    });
    expect(second.body.data.max_llm_process_num).toBe(50);
    await api()
      .delete(`/admin/users/${u.userId}/llm-profile`)
      .set(...bearer(admin))
      .expect(200);
    expect(
      (
        await api()
          .get('/v1/users/github/cache-user/llm-config')
          .set(...auth(agentKey))
          .expect(404)
      ).body.error.code,
    ).toBe('CONFIG_NOT_FOUND');
    await api()
      .delete(`/admin/users/${u.userId}/identities/github`)
      .set(...bearer(admin))
      .expect(200);
    expect(
      (
        await api()
          .get('/v1/users/github/cache-user/llm-config')
          .set(...auth(agentKey))
          .expect(404)
      ).body.error.code,
    ).toBe('USER_NOT_FOUND');
  });

  it('a user without keys: disabling, deleting or bulk-deleting them drops their cached answer (user invalidation channel)', async () => {
    const redis = h.app.get<Redis>(REDIS);
    const prefix = h.app.get<AppConfig>(APP_CONFIG).queuePrefix;
    const cached = async (username: string) => (await redis.exists(`${prefix}:llmcfg:entry:github:${username}`)) === 1;
    const get = (username: string) =>
      api()
        .get(`/v1/users/github/${username}/llm-config`)
        .set(...auth(agentKey));
    /** A user made through the admin API (no key) with an openai profile under github `username`. */
    const keyless = async (username: string): Promise<string> => {
      const made = await api()
        .post('/admin/users')
        .set(...bearer(admin))
        .send({ email: `${username}@example.com`, fullName: 'No Key' })
        .expect(201);
      const id = made.body.user.id as string;
      await linkOpenAi(id, username);
      expect(await h.prisma.apiKey.count({ where: { userId: id } })).toBe(0);
      return id;
    };
    /**
     * The error code of the first GET that is not 200, polled for up to 2 s: the change reaches
     * the cache over Redis pub/sub, as it reaches every replica; without it the cached answer
     * would be served for LLM_CONFIG_CACHE_TTL_MS (60 s).
     */
    const refusedWithin2s = async (username: string): Promise<string> => {
      const deadline = Date.now() + 2000;
      for (;;) {
        const res = await get(username);
        if (res.status !== 200) return `${res.status} ${res.body.error.code}`;
        if (Date.now() > deadline) return 'still 200';
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const a = await keyless('nokey-a');
    await get('nokey-a').expect(200);
    expect(await cached('nokey-a')).toBe(true);
    await api()
      .post(`/admin/users/${a}/disable`)
      .set(...bearer(admin))
      .expect(200);
    expect(await refusedWithin2s('nokey-a')).toBe('404 CONFIG_NOT_FOUND');
    await api()
      .post(`/admin/users/${a}/enable`)
      .set(...bearer(admin))
      .expect(200);
    await get('nokey-a').expect(200);
    // A change marks the user for one TTL: an answer loaded meanwhile is served but not stored,
    // so a load that read the database before a change can never be cached after it.
    expect(await cached('nokey-a')).toBe(false);
    await api()
      .delete(`/admin/users/${a}`)
      .set(...bearer(admin))
      .expect(204);
    expect(await refusedWithin2s('nokey-a')).toBe('404 USER_NOT_FOUND');

    const b = await keyless('nokey-b');
    await get('nokey-b').expect(200);
    expect(await cached('nokey-b')).toBe(true);
    const bulk = await api()
      .post('/admin/users/bulk-delete')
      .set(...bearer(admin))
      .send({ userIds: [b] })
      .expect(200);
    expect(bulk.body.deleted).toEqual([b]);
    expect(await refusedWithin2s('nokey-b')).toBe('404 USER_NOT_FOUND');
    expect(await cached('nokey-b')).toBe(false);
  });

  it('tollgate profile: answered as openai at PUBLIC_BASE_URL/v1 with the user key, which calls the gateway; revoked → CONFIG_NOT_FOUND at once', async () => {
    await api()
      .post(`/admin/users/${dev.userId}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'gitlab', username: 'dev_user' })
      .expect(201);
    await api()
      .put(`/admin/users/${dev.userId}/llm-profile`)
      .set(...bearer(admin))
      .send({ provider: 'tollgate', functionCalling: false, tollgate: { keyId: dev.keyId, model: 'mock-model', maxToken: 4096 } })
      .expect(200);
    const res = await api()
      .get('/v1/users/gitlab/dev_user/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(res.body.data.llm_config).toEqual({
      provider: 'openai',
      function_calling: false,
      openai: { api_key: dev.key, base_url: `${PUBLIC_BASE_URL}/v1`, model: 'mock-model', max_token: 4096 },
      lmstudio: null,
      ollama: null,
    });
    // the agent's settings work against this gateway (base_url swapped for the test server's address)
    const sdk = new OpenAI({ apiKey: res.body.data.llm_config.openai.api_key, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });
    const completion = await sdk.chat.completions.create({
      model: res.body.data.llm_config.openai.model,
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0].message.content).toEqual(expect.any(String));
    // cached now; revoking the key drops it: the next GET answers 404 CONFIG_NOT_FOUND
    await api()
      .get('/v1/users/gitlab/dev_user/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    await api()
      .post(`/admin/users/${dev.userId}/keys/${dev.keyId}/revoke`)
      .set(...bearer(admin))
      .expect(200);
    const after = await api()
      .get('/v1/users/gitlab/dev_user/llm-config')
      .set(...auth(agentKey))
      .expect(404);
    expect(after.body.error).toMatchObject({ code: 'CONFIG_NOT_FOUND', message: expect.stringContaining('revoked') });
    // a revoked key cannot be chosen for a profile
    const refused = await api()
      .put(`/admin/users/${dev.userId}/llm-profile`)
      .set(...bearer(admin))
      .send({ provider: 'tollgate', tollgate: { keyId: dev.keyId, model: 'mock-model', maxToken: 4096 } })
      .expect(400);
    expect(refused.body.code).toBe('validation_failed');
  });

  it('admin writes: one audit entry each, in the write transaction, never the api key; GET masks it; rules on input and other admins', async () => {
    const u = await createTenant(h, { credits: '0' });
    const link = await api()
      .post(`/admin/users/${u.userId}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'github', username: 'audited' })
      .expect(201);
    expect(await auditRowsOf(h, link)).toEqual([
      expect.objectContaining({ action: 'llm-identities.create', targetId: u.userId, result: 'success' }),
    ]);
    const put = await api()
      .put(`/admin/users/${u.userId}/llm-profile`)
      .set(...bearer(admin))
      .send({ provider: 'openai', openai: { apiKey: OPENAI_KEY, baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o', maxToken: 100 } })
      .expect(200);
    expect(put.body.openai.apiKey).toBe('sk-proj-****...****1234');
    const rows = await auditRowsOf(h, put);
    expect(rows).toEqual([expect.objectContaining({ action: 'llm-profiles.create', targetId: u.userId })]);
    expect(JSON.stringify(rows[0].changes)).not.toContain('abcdefgh');
    const got = await api()
      .get(`/admin/users/${u.userId}/llm-profile`)
      .set(...bearer(admin))
      .expect(200);
    expect(got.body).toMatchObject({ provider: 'openai', openai: { apiKey: 'sk-proj-****...****1234', model: 'gpt-4o' }, tollgate: null });
    const stored = await h.prisma.llmProfile.findUniqueOrThrow({ where: { userId: u.userId } });
    expect(stored.encryptedApiKey).not.toContain(OPENAI_KEY);
    // the api key may be left out to keep it
    await api()
      .put(`/admin/users/${u.userId}/llm-profile`)
      .set(...bearer(admin))
      .send({ provider: 'openai', openai: { baseUrl: 'https://api.openai.com/v1', model: 'gpt-4.1', maxToken: 100 } })
      .expect(200);
    const kept = await api()
      .get('/v1/users/github/audited/llm-config')
      .set(...auth(agentKey))
      .expect(200);
    expect(kept.body.data.llm_config.openai).toMatchObject({ api_key: OPENAI_KEY, model: 'gpt-4.1' });
    // bad bodies: 400 and nothing written. Only the admin writes' entries are counted: the GET just
    // above has its own `llm-config.read` entry, which the request audit writes after answering.
    const adminWrites = { OR: [{ action: { startsWith: 'llm-profiles.' } }, { action: { startsWith: 'llm-identities.' } }] };
    const before = await h.prisma.auditLog.count({ where: adminWrites });
    for (const body of [
      { provider: 'lmstudio' },
      {
        provider: 'ollama',
        ollama: { endpoint: 'http://x', model: 'm', maxToken: 1 },
        openai: { baseUrl: 'http://x', model: 'm', maxToken: 1 },
      },
      { provider: 'ollama', systemPrompt: 'x'.repeat(70_000), ollama: { endpoint: 'http://x', model: 'm', maxToken: 1 } },
      { provider: 'ollama', ollama: { endpoint: 'javascript:alert(1)', model: 'm', maxToken: 1 } },
      { provider: 'tollgate', tollgate: { keyId: dev.keyId, model: 'm', maxToken: 1 } },
    ]) {
      await api()
        .put(`/admin/users/${u.userId}/llm-profile`)
        .set(...bearer(admin))
        .send(body)
        .expect(400);
    }
    expect(await h.prisma.auditLog.count({ where: adminWrites })).toBe(before);
    // a username on a platform names one user; a user has one account per platform
    const dup = await api()
      .post(`/admin/users/${dev.userId}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'github', username: 'Audited' })
      .expect(409);
    expect(dup.body.code).toBe('identity_exists');
    await api()
      .post(`/admin/users/${u.userId}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'github', username: 'second' })
      .expect(409);
    // viewers read but do not write; an admin cannot change another admin's settings
    const viewer = await account(h, 'admin_viewer');
    await api()
      .get(`/admin/users/${u.userId}/identities`)
      .set(...bearer(viewer))
      .expect(200);
    await api()
      .post(`/admin/users/${u.userId}/identities`)
      .set(...bearer(viewer))
      .send({ platform: 'gitlab', username: 'vv' })
      .expect(403);
    const other = await account(h, 'admin', 'other-admin');
    const cross = await api()
      .post(`/admin/users/${other.id}/identities`)
      .set(...bearer(admin))
      .send({ platform: 'gitlab', username: 'other' })
      .expect(403);
    expect(cross.body.code).toBe('forbidden');
    await api()
      .get(`/admin/users/${'0'.repeat(8)}-0000-0000-0000-000000000000/llm-profile`)
      .set(...bearer(admin))
      .expect(404);
  });

  it("the coding agent's Python function: data on 200, ValueError on 404 and on a bad token", async () => {
    const env = { ...process.env, USER_MANAGEMENT_API_URL: `${h.baseUrl}/v1` };
    // python3 with requests must be installed: a missing interpreter fails this test
    const good = await run('python3', [CLIENT, 'github:notfolder', 'github:nobody-here'], {
      env: { ...env, USER_MANAGEMENT_API_TOKEN: agentKey },
      timeout: 60_000,
    });
    const [found, missing] = good.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(found.data).toMatchObject({ user_id: 'github:notfolder', llm_config: { provider: 'openai', openai: { api_key: OPENAI_KEY } } });
    expect(missing).toEqual({
      user: 'github:nobody-here',
      error: 'ValueError',
      message: 'LLM config not found for user github:nobody-here',
    });
    const bad = await run('python3', [CLIENT, 'github:notfolder'], {
      env: { ...env, USER_MANAGEMENT_API_TOKEN: 'tg-wrong' },
      timeout: 60_000,
    });
    expect(JSON.parse(bad.stdout.trim())).toEqual({ user: 'github:notfolder', error: 'ValueError', message: 'API authentication failed' });
  });
});
