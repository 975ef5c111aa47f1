/**
 * Discovery and monitoring (docs/api/providers.md): the public model list, health-check jobs run by the real
 * worker (BullMQ on real Redis, same QUEUE_PREFIX as the api), and the credential health summary
 * served from stored state.
 */
import { randomUUID } from 'node:crypto';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import request from 'supertest';
import { CredentialHealthRecorder } from '../src/providers/credential-health.recorder';
import { Harness, startHarness, UPSTREAM_SECRET } from './support/gateway-harness';
import { startTestWorker, TestWorker } from './support/worker-harness';

const PASSWORD = 'provider health password 1';

async function waitFor<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('discovery and health', () => {
  let h: Harness;
  let admin: string;
  let user: string;
  let testWorker: TestWorker | undefined;
  const prefix = `tollgate-test-health-${randomUUID().slice(0, 8)}`;
  const as = (t: string) => ({ authorization: `Bearer ${t}` });
  const login = async (l: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: l, password: PASSWORD }).expect(200)).body.accessToken as string;
  const health = async () => (await request(h.baseUrl).get('/ai-providers/health').expect(200)).body;

  beforeAll(async () => {
    h = await startHarness('provider_health', {
      QUEUE_PREFIX: prefix,
      CREDENTIAL_FAILURE_THRESHOLD: '3',
      CREDENTIAL_FAILURE_WINDOW_SECONDS: '600',
      PROVIDER_HEALTH_CACHE_TTL_MS: '600000',
    });
    await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD });
    await h.users.create({ email: 'user@example.com', password: PASSWORD });
    admin = await login('admin@example.com');
    user = await login('user@example.com');
  });

  afterAll(async () => {
    if (testWorker) {
      await testWorker.close();
    }
    await h?.close();
  });

  it('GET /ai-providers/models is public and lists enabled models in the LiteLLM-compatible shape', async () => {
    const p = await h.providers.createProvider({ name: 'devup', displayName: 'Dev Upstream', baseUrl: h.upstream.url });
    await h.providers.addCredential(p.id, { name: 'Default Key', value: UPSTREAM_SECRET });
    const chat = await h.providers.addModelRate(p.id, { model: 'mock-model', inputRate: '10', outputRate: '30' });
    await h.prisma.modelRate.update({ where: { id: chat.id }, data: { metadata: { maxTokens: 8192, features: ['tools', 'vision'] } } });
    await h.providers.addModelRate(p.id, { model: 'mock-embed', type: 'embedding', inputRate: '0.5', outputRate: '0' });
    const disabledRate = await h.providers.addModelRate(p.id, { model: 'retired', inputRate: '1', outputRate: '1' });
    await h.prisma.modelRate.update({ where: { id: disabledRate.id }, data: { enabled: false } });
    const off = await h.providers.createProvider({ name: 'switched-off', displayName: 'Off', baseUrl: h.upstream.url, enabled: false });
    await h.providers.addModelRate(off.id, { model: 'mock-model', inputRate: '1', outputRate: '1' });

    const res = await request(h.baseUrl).get('/ai-providers/models').expect(200);
    expect(res.body).toEqual([
      {
        key: 'devup/mock-embed',
        model: 'mock-embed',
        type: 'embedding',
        provider: 'devup',
        providerId: p.id,
        input_credits_per_token: 0.5,
        output_credits_per_token: 0,
        modelMetadata: {},
        status: null,
        providerDisplayName: 'Dev Upstream',
      },
      {
        key: 'devup/mock-model',
        model: 'mock-model',
        type: 'chat',
        provider: 'devup',
        providerId: p.id,
        input_credits_per_token: 10,
        output_credits_per_token: 30,
        modelMetadata: { maxTokens: 8192, features: ['tools', 'vision'] },
        status: null,
        providerDisplayName: 'Dev Upstream',
      },
    ]);
  });

  it('GET /ai-providers/health is public, served from stored state (no upstream call per scrape) and cached', async () => {
    const p = await h.providers.createProvider({ name: 'anthropic', displayName: 'Anthropic', baseUrl: h.upstream.url });
    const cred = await h.providers.addCredential(p.id, { name: 'Primary Key', value: UPSTREAM_SECRET });
    const before = h.upstream.stats.requests;
    const first = await health();
    expect(first).toEqual({
      providers: { anthropic: { 'Primary Key': { running: true } }, devup: { 'Default Key': { running: true } } },
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    for (let i = 0; i < 20; i++) expect(await health()).toEqual(first); // the cached snapshot
    expect(h.upstream.stats.requests).toBe(before);

    // A change behind the api's back stays invisible until the cache is dropped…
    await h.prisma.aiCredential.update({ where: { id: cred.id }, data: { active: false } });
    expect((await health()).providers.anthropic['Primary Key'].running).toBe(true);
    // …which every admin write does.
    await request(h.baseUrl).put(`/ai-providers/${p.id}/credentials/${cred.id}`).set(as(admin)).send({ weight: 50 }).expect(200);
    expect((await health()).providers.anthropic['Primary Key'].running).toBe(false);
    await request(h.baseUrl).put(`/ai-providers/${p.id}/credentials/${cred.id}`).set(as(admin)).send({ active: true }).expect(200);
    expect((await health()).providers.anthropic['Primary Key'].running).toBe(true);
  });

  it('a credential stops running after N failed checks within the window, not after one, and comes back on success', async () => {
    const p = await h.providers.createProvider({ name: 'flaky', displayName: 'Flaky', baseUrl: h.upstream.url });
    const cred = await h.providers.addCredential(p.id, { name: 'Key', value: UPSTREAM_SECRET });
    const check = () => request(h.baseUrl).get(`/ai-providers/${p.id}/credentials/${cred.id}/check`).set(as(admin)).expect(200);
    h.upstream.configure({ apiKey: 'sk-someone-rotated-it-0000' });
    try {
      expect((await check()).body).toMatchObject({ status: 'invalid', running: true });
      expect((await health()).providers.flaky.Key.running).toBe(true);
      expect((await check()).body).toMatchObject({ status: 'invalid', running: true });
      expect((await health()).providers.flaky.Key.running).toBe(true);
      expect((await check()).body).toMatchObject({ status: 'invalid', running: false });
      expect((await health()).providers.flaky.Key.running).toBe(false);
      const list = await request(h.baseUrl).get('/ai-providers').set(as(user)).expect(200);
      expect(list.body.find((x: { name: string }) => x.name === 'flaky').credentials[0].running).toBe(false);
    } finally {
      h.upstream.configure({ apiKey: UPSTREAM_SECRET });
    }
    expect((await check()).body).toMatchObject({ status: 'valid', running: true });
    expect((await health()).providers.flaky.Key.running).toBe(true);
    const row = await h.prisma.credentialHealth.findUniqueOrThrow({ where: { credentialId: cred.id } });
    expect(row).toMatchObject({ healthy: true, recentFailures: [], failureCount: 3, successCount: 1, lastError: 'HTTP 401' });
  });

  it('the failure window slides: failures older than the window do not count', async () => {
    const p = await h.providers.createProvider({ name: 'windowed', displayName: 'W', baseUrl: h.upstream.url });
    const cred = await h.providers.addCredential(p.id, { name: 'Key', value: UPSTREAM_SECRET });
    const recorder = h.app.get(CredentialHealthRecorder);
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const at = (s: number) => new Date(t0 + s * 1000);
    expect(await recorder.recordFailure(cred.id, 'HTTP 500', at(0))).toBe(true);
    expect(await recorder.recordFailure(cred.id, 'HTTP 500', at(400))).toBe(true);
    expect(await recorder.recordFailure(cred.id, 'HTTP 500', at(700))).toBe(true); // the one at 0 left the 600 s window
    expect(await recorder.recordFailure(cred.id, 'HTTP 500', at(750))).toBe(false); // 400, 700, 750
    await recorder.recordSuccess(cred.id, at(800));
    expect(await recorder.recordFailure(cred.id, 'HTTP 500', at(801))).toBe(true); // a success starts over
    expect(await recorder.recordFailure('00000000-0000-4000-8000-000000000000', 'x')).toBeNull();
  });

  it('GET /ai-providers/test-models enqueues one deduplicated job per model; the worker records status, latency and credential health', async () => {
    const bad = await h.providers.createProvider({ name: 'badkey', displayName: 'Bad Key', baseUrl: h.upstream.url });
    const badCred = await h.providers.addCredential(bad.id, { name: 'Stale Key', value: 'sk-stale-key-not-valid-000' });
    const badRate = await h.providers.addModelRate(bad.id, { model: 'mock-model', inputRate: '1', outputRate: '1' });

    await request(h.baseUrl).get('/ai-providers/test-models').expect(401);
    await request(h.baseUrl).get('/ai-providers/test-models').set(as(user)).expect(403);
    const enabledRates = await h.prisma.modelRate.count({ where: { enabled: true, provider: { enabled: true } } });
    const first = await request(h.baseUrl).get('/ai-providers/test-models').set(as(admin)).expect(200);
    expect(first.body.enqueued).toBe(enabledRates);
    expect(first.body.alreadyQueued).toBe(0);
    expect(first.body.jobs).toContainEqual({
      jobId: `model-health-${badRate.id}`,
      rateId: badRate.id,
      key: 'badkey/mock-model',
      type: 'chatCompletion',
      queued: true,
    });
    expect(first.body.jobs.map((j: { key: string }) => j.key)).not.toContain('switched-off/mock-model');
    const again = await request(h.baseUrl).get('/ai-providers/test-models').set(as(admin)).expect(200);
    expect(again.body).toMatchObject({ enqueued: 0, alreadyQueued: enabledRates });
    const queue = h.app.get<Queue>(getQueueToken('tollgate-model-health'));
    expect(await queue.getJobCountByTypes('waiting', 'prioritized', 'active', 'delayed')).toBe(enabledRates);

    testWorker = await startTestWorker(h.db.url, prefix, { CREDENTIAL_FAILURE_THRESHOLD: '3' });
    await waitFor('every model checked', async () => (await h.prisma.modelStatus.count()) === enabledRates);

    const models = (await request(h.baseUrl).get('/ai-providers/models').expect(200)).body as {
      key: string;
      status: { status: string; latency: number | null; lastChecked: string; id: string };
    }[];
    const byKey = Object.fromEntries(models.map((m) => [m.key, m]));
    expect(byKey['devup/mock-model'].status).toEqual({
      id: expect.any(String),
      lastChecked: expect.any(String),
      latency: expect.any(Number),
      status: 'operational',
    });
    expect(byKey['devup/mock-embed'].status.status).toBe('operational');
    expect(byKey['badkey/mock-model'].status.status).toBe('down');
    const stored = await h.prisma.modelStatus.findUniqueOrThrow({ where: { rateId: badRate.id } });
    expect(stored).toMatchObject({ upstreamStatus: 401, error: 'HTTP 401', credentialId: badCred.id });
    // the worker really called upstream: the chat ping with the stale key was refused there
    expect(h.upstream.stats.authorizations).toContain('Bearer sk-stale-key-not-valid-000');

    // one failed check is recorded but does not stop the credential
    const badHealth = await h.prisma.credentialHealth.findUniqueOrThrow({ where: { credentialId: badCred.id } });
    expect(badHealth).toMatchObject({ healthy: true, failureCount: 1, lastError: 'HTTP 401' });
    const devCred = await h.prisma.aiCredential.findFirstOrThrow({ where: { provider: { name: 'devup' } } });
    expect(
      (await h.prisma.credentialHealth.findUniqueOrThrow({ where: { credentialId: devCred.id } })).successCount,
    ).toBeGreaterThanOrEqual(2);

    // finished jobs leave the queue: the next call enqueues again
    const next = await request(h.baseUrl).get('/ai-providers/test-models').set(as(admin)).expect(200);
    expect(next.body.enqueued).toBe(enabledRates);
    await waitFor(
      'the second round',
      async () => (await h.prisma.credentialHealth.findUniqueOrThrow({ where: { credentialId: badCred.id } })).failureCount === 2,
    );
  });
});
