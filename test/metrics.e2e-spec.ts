/**
 * GET /metrics end to end (docs/operations.md "Metrics"): a running Tollgate (real Fastify/Nest
 * stack, PostgreSQL, Redis, the dev upstream), gateway calls made with the official `openai` SDK,
 * and the Prometheus text parsed here; counters must move by exactly what the calls did.
 */
import { randomUUID } from 'node:crypto';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import OpenAI from 'openai';
import request from 'supertest';
import { AuditService } from '../src/audit/audit.service';
import { Decimal } from '../src/common/decimal';
import { STATS_QUEUE } from '../src/jobs/queues';
import { creditsFor } from '../src/metering/credits-formula';
import { FaultProxy, startFaultProxy } from './support/fault-proxy';
import { createDevProvider, createTenant, Harness, startHarness, Tenant, UPSTREAM_SECRET } from './support/gateway-harness';

const TOKEN = 'metrics-test-bearer-token-5b1e0c';
const RATE_IN = new Decimal('0.5');
const RATE_OUT = new Decimal('1.5');
const SECOND_SECRET = 'sk-second-credential-secret-91d2';

/** One scrape: sample key `name{a="x",b="y"}` (labels sorted) → value. */
type Samples = Map<string, number>;

function sampleKey(name: string, labels: Record<string, string>): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

/** A small parser of the Prometheus text format (no timestamps: prom-client writes none). */
function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.set(sampleKey(m[1], labels), value);
  }
  return samples;
}

/** The value of a sample, 0 when the series does not exist. */
function value(s: Samples, name: string, labels: Record<string, string> = {}): number {
  return s.get(sampleKey(name, labels)) ?? 0;
}

/** Every series of a metric (sample keys). */
function seriesOf(s: Samples, name: string): string[] {
  return [...s.keys()].filter((k) => k.startsWith(`${name}{`)).sort();
}

describe('GET /metrics', () => {
  let h: Harness;
  let tenant: Tenant;

  const scrapeRaw = () => request(h.baseUrl).get('/metrics').set('authorization', `Bearer ${TOKEN}`);
  const scrape = async (): Promise<Samples> => {
    await h.recorder.drain();
    const res = await scrapeRaw().expect(200);
    return parseMetrics(res.text);
  };
  const openai = () => new OpenAI({ apiKey: tenant.key, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });
  const calls = (provider: string, model: string, status: string) => ({ provider, model, status });

  beforeAll(async () => {
    h = await startHarness('metrics', { METRICS_BEARER_TOKEN: TOKEN, LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' });
    await createDevProvider(h, {
      inputRate: RATE_IN.toFixed(),
      outputRate: RATE_OUT.toFixed(),
      credentials: [
        { name: 'Default Key', value: UPSTREAM_SECRET, weight: 100 },
        { name: 'Second Key', value: SECOND_SECRET, weight: 0 },
      ],
    });
    tenant = await createTenant(h, { credits: '100000' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers the Prometheus text format with the default process metrics, prefixed tollgate_', async () => {
    const res = await scrapeRaw().expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const s = parseMetrics(res.text);
    expect(s.has(sampleKey('tollgate_process_cpu_user_seconds_total', {}))).toBe(true);
    expect(s.has(sampleKey('tollgate_nodejs_heap_size_total_bytes', {}))).toBe(true);
    expect(res.text).toContain('# TYPE tollgate_gateway_calls_total counter');
    expect(res.text).toContain('# TYPE tollgate_http_request_duration_seconds histogram');
    // every metric line belongs to Tollgate's registry
    for (const key of s.keys()) expect(key.startsWith('tollgate_')).toBe(true);
  });

  it('needs the bearer token when METRICS_BEARER_TOKEN is set (401 metrics_unauthorized otherwise)', async () => {
    for (const auth of [undefined, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN, `Basic ${TOKEN}`, 'Bearer ']) {
      const req = request(h.baseUrl).get('/metrics');
      const res = await (auth === undefined ? req : req.set('authorization', auth)).expect(401);
      expect(res.body).toMatchObject({ statusCode: 401, code: 'metrics_unauthorized' });
      expect(res.text).not.toContain('tollgate_');
    }
    await request(h.baseUrl).get('/metrics').set('authorization', `bearer ${TOKEN}`).expect(200);
  });

  it('counts gateway calls, tokens, credits and upstream timings exactly as recorded', async () => {
    const before = await scrape();
    const client = openai();

    // 1. a non-streaming success
    const done = await client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'hi #mock:words=7' }] });
    const u1 = done.usage!;
    // 2. a stream (usage from its usage chunk)
    const stream = await client.chat.completions.create({
      model: 'mock-model',
      messages: [{ role: 'user', content: 'stream please #mock:words=9' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let u2: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) u2 = chunk.usage;
    // 3. an upstream error: the provider answers 503 on both credentials
    await expect(
      client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'fail #mock:status=503' }] }),
    ).rejects.toMatchObject({ status: 502 });

    const after = await scrape();
    const d = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);

    expect(d('tollgate_gateway_calls_total', calls('devup', 'mock-model', 'success'))).toBe(2);
    expect(d('tollgate_gateway_calls_total', calls('devup', 'mock-model', 'failed'))).toBe(1);
    expect(d('tollgate_gateway_tokens_total', { provider: 'devup', model: 'mock-model', kind: 'prompt' })).toBe(
      u1.prompt_tokens + u2!.prompt_tokens,
    );
    expect(d('tollgate_gateway_tokens_total', { provider: 'devup', model: 'mock-model', kind: 'completion' })).toBe(
      u1.completion_tokens + u2!.completion_tokens,
    );
    const credits = creditsFor(u1.prompt_tokens, u1.completion_tokens, RATE_IN, RATE_OUT).add(
      creditsFor(u2!.prompt_tokens, u2!.completion_tokens, RATE_IN, RATE_OUT),
    );
    expect(d('tollgate_gateway_credits_total', { provider: 'devup', model: 'mock-model' })).toBeCloseTo(credits.toNumber(), 6);
    // the books agree with the metric
    const recorded = await h.prisma.modelCall.findMany({ where: { userId: tenant.userId, status: 'success' } });
    expect(recorded.reduce((sum, c) => sum.add(c.credits), new Decimal(0)).toFixed()).toBe(credits.toFixed());

    // timings: every call that went upstream; a first byte only where an answer arrived
    expect(d('tollgate_gateway_upstream_seconds_count', { provider: 'devup', stream: 'false' })).toBe(2);
    expect(d('tollgate_gateway_upstream_seconds_count', { provider: 'devup', stream: 'true' })).toBe(1);
    expect(d('tollgate_gateway_upstream_first_byte_seconds_count', { provider: 'devup', stream: 'false' })).toBe(1);
    expect(d('tollgate_gateway_upstream_first_byte_seconds_count', { provider: 'devup', stream: 'true' })).toBe(1);
    expect(d('tollgate_gateway_upstream_seconds_sum', { provider: 'devup', stream: 'true' })).toBeGreaterThan(0);
    expect(d('tollgate_call_records_total', { outcome: 'written' })).toBe(3);

    // HTTP metrics count the same three requests under the route template
    expect(d('tollgate_http_requests_total', { method: 'POST', route: '/v1/chat/completions', status: '200' })).toBe(2);
    expect(d('tollgate_http_requests_total', { method: 'POST', route: '/v1/chat/completions', status: '502' })).toBe(1);
    expect(d('tollgate_http_request_duration_seconds_count', { method: 'POST', route: '/v1/chat/completions' })).toBe(3);
  });

  it('random model names add no series: they are counted under provider none, model other', async () => {
    const before = await scrape();
    const names = Array.from({ length: 15 }, () => `evil-${randomUUID()}`);
    for (const model of names) {
      await expect(openai().chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
        status: 404,
      });
    }
    // a known provider with a model it does not offer: still no new model label
    await expect(
      openai().chat.completions.create({ model: `devup/${randomUUID()}`, messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 404 });
    const after = await scrape();
    const text = [...after.keys()].join('\n');
    for (const model of names) expect(text).not.toContain(model);
    expect(value(after, 'tollgate_gateway_calls_total', calls('none', 'other', 'failed'))).toBe(
      value(before, 'tollgate_gateway_calls_total', calls('none', 'other', 'failed')) + names.length + 1,
    );
    const newSeries = seriesOf(after, 'tollgate_gateway_calls_total').filter((k) => !before.has(k));
    expect(newSeries.every((k) => k === sampleKey('tollgate_gateway_calls_total', calls('none', 'other', 'failed')))).toBe(true);
    expect(seriesOf(after, 'tollgate_gateway_tokens_total')).toEqual(seriesOf(before, 'tollgate_gateway_tokens_total'));
  });

  it('labels HTTP requests by route template, never by URL, and leaves /metrics out of its own metrics and the audit log', async () => {
    const id = randomUUID();
    const unknown = `/no-such-path/${randomUUID()}`;
    const before = await scrape();
    await request(h.baseUrl).get(`/admin/users/${id}?q=${id}`).expect(401);
    await request(h.baseUrl).get(unknown).expect(404);
    await request(h.baseUrl).get('/metrics').expect(401);
    const after = await scrape();
    const d = (labels: Record<string, string>) =>
      value(after, 'tollgate_http_requests_total', labels) - value(before, 'tollgate_http_requests_total', labels);
    expect(d({ method: 'GET', route: '/admin/users/:id', status: '401' })).toBe(1);
    expect(d({ method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    const keys = [...after.keys()].join('\n');
    expect(keys).not.toContain(id);
    expect(keys).not.toContain('no-such-path');
    expect(keys).not.toContain('route="/metrics"');
    await h.app.get(AuditService).flush();
    expect(await h.prisma.auditLog.count({ where: { action: { contains: '/metrics' } } })).toBe(0);
  });

  it('reports credential health by provider and credential name, never the secret', async () => {
    const second = await h.prisma.aiCredential.findFirstOrThrow({ where: { name: 'Second Key' } });
    await h.prisma
      .$executeRaw`INSERT INTO credential_health (credential_id, healthy, recent_failures) VALUES (${second.id}::uuid, false, '{}')
      ON CONFLICT (credential_id) DO UPDATE SET healthy = false`;
    const res = await scrapeRaw().expect(200);
    const s = parseMetrics(res.text);
    expect(s.get(sampleKey('tollgate_credential_healthy', { provider: 'devup', credential: 'Default Key' }))).toBe(1);
    expect(s.get(sampleKey('tollgate_credential_healthy', { provider: 'devup', credential: 'Second Key' }))).toBe(0);
    expect(res.text).not.toContain(UPSTREAM_SECRET);
    expect(res.text).not.toContain(SECOND_SECRET);
    expect(value(s, 'tollgate_metrics_collector_error', { collector: 'database' })).toBe(0);
  });

  it('reads the ledger lag and the queue depths on scrape', async () => {
    await h.prisma.pendingDebit.create({
      data: { callId: randomUUID(), userId: tenant.userId, credits: '1', model: 'mock-model', createdAt: new Date(Date.now() - 90_000) },
    });
    const queue = h.app.get<Queue>(getQueueToken(STATS_QUEUE));
    await queue.add('metrics-test-job', {}, { delay: 3_600_000 });
    await queue.add('metrics-test-job', {}, { delay: 3_600_000 });
    const s = await scrape();
    expect(value(s, 'tollgate_ledger_pending_debits')).toBe(1);
    expect(value(s, 'tollgate_ledger_oldest_pending_debit_age_seconds')).toBeGreaterThanOrEqual(90);
    expect(value(s, 'tollgate_ledger_oldest_pending_debit_age_seconds')).toBeLessThan(3600);
    expect(value(s, 'tollgate_queue_jobs', { queue: STATS_QUEUE, state: 'delayed' })).toBe(2);
    expect(s.get(sampleKey('tollgate_queue_jobs', { queue: STATS_QUEUE, state: 'waiting' }))).toBe(0);
    expect(value(s, 'tollgate_metrics_collector_error', { collector: 'queues' })).toBe(0);
    await queue.obliterate({ force: true });
    await h.prisma.pendingDebit.deleteMany({ where: { userId: tenant.userId } });
  });

  it('counts rate-limit refusals by the rule that refused', async () => {
    const limited = await h.keys.create(tenant.userId, { name: 'one per minute', rpmLimit: 1 });
    const client = new OpenAI({ apiKey: limited.secret, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });
    const before = await scrape();
    await client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'first' }] });
    await expect(
      client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'second' }] }),
    ).rejects.toMatchObject({
      status: 429,
    });
    const after = await scrape();
    const d = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(d('tollgate_rate_limit_refusals_total', { scope: 'key_requests' })).toBe(1);
    expect(d('tollgate_rate_limit_refusals_total', { scope: 'user_requests' })).toBe(0);
    expect(after.has(sampleKey('tollgate_rate_limit_redis_failures_total', {}))).toBe(true);
    expect(d('tollgate_rate_limit_redis_failures_total')).toBe(0);
  });

  it('counts login throttle refusals by scope', async () => {
    const email = `throttled-${randomUUID().slice(0, 8)}@example.com`;
    await h.users.create({ email, password: 'a correct password 0123', mustChangePassword: false });
    const before = await scrape();
    for (let i = 0; i < 2; i++)
      await request(h.baseUrl).post('/auth/login').send({ login: email, password: 'wrong password 0123' }).expect(401);
    await request(h.baseUrl).post('/auth/login').send({ login: email, password: 'wrong password 0123' }).expect(429);
    await request(h.baseUrl).post('/auth/login').send({ login: email, password: 'a correct password 0123' }).expect(429);
    const after = await scrape();
    const d = (scope: string) =>
      value(after, 'tollgate_login_throttle_refusals_total', { scope }) -
      value(before, 'tollgate_login_throttle_refusals_total', { scope });
    expect(d('account')).toBe(2);
    expect(d('ip')).toBe(0);
  });
});

describe('GET /metrics without METRICS_BEARER_TOKEN, and with Redis hanging', () => {
  let h: Harness;
  let redisProxy: FaultProxy;

  beforeAll(async () => {
    redisProxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 6379 });
    h = await startHarness('metrics-open', { METRICS_BEARER_TOKEN: '', REDIS_URL: redisProxy.url('redis://127.0.0.1:6379') });
  });

  afterAll(async () => {
    await redisProxy?.restore();
    await h?.close();
    await redisProxy?.close();
  });

  it('is public when no token is configured', async () => {
    const res = await request(h.baseUrl).get('/metrics').expect(200);
    const s = parseMetrics(res.text);
    expect(value(s, 'tollgate_metrics_collector_error', { collector: 'queues' })).toBe(0);
    expect(seriesOf(s, 'tollgate_queue_jobs').length).toBeGreaterThan(0);
  });

  it('answers when Redis hangs: queue depths left out and the queues collector reports an error', async () => {
    await redisProxy.cut({ mode: 'blackhole', existing: 'freeze' });
    for (let i = 0; i < 2; i++) {
      // the second scrape finds the first one's read still pending and waits on it, bounded again
      const res = await request(h.baseUrl).get('/metrics').expect(200);
      const s = parseMetrics(res.text);
      expect(value(s, 'tollgate_metrics_collector_error', { collector: 'queues' })).toBe(1);
      expect(seriesOf(s, 'tollgate_queue_jobs')).toEqual([]);
      expect(value(s, 'tollgate_metrics_collector_error', { collector: 'database' })).toBe(0);
      expect(s.has(sampleKey('tollgate_ledger_pending_debits', {}))).toBe(true);
    }
    await redisProxy.restore();
    let recovered = false;
    for (let i = 0; i < 20 && !recovered; i++) {
      const s = parseMetrics((await request(h.baseUrl).get('/metrics').expect(200)).text);
      recovered = value(s, 'tollgate_metrics_collector_error', { collector: 'queues' }) === 0;
    }
    expect(recovered).toBe(true);
  });
});
