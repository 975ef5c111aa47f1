/**
 * Rate limits (docs/rate-limits.md) on real Redis and the real HTTP stack, clients are the
 * official `openai` SDK:
 * - a key's rpm and tpm are shared by two api replicas (one database, one QUEUE_PREFIX);
 * - GATEWAY_USER_RPM counts a user's calls over all their keys;
 * - OpenAI's x-ratelimit-* headers on answers and on the 429, Retry-After, the refused call
 *   recorded and not billed; a call using N tokens fills the token window by N;
 * - the limiter's Redis cut (fault proxy in front of RATE_LIMIT_REDIS_URL): policy `open` lets
 *   calls through and logs one warning, policy `closed` answers 503; either way the request ends.
 * - `@ApiRateLimit('llm-config')` on a test-only controller: X-RateLimit-* on every answer, the
 *   61st request within a minute answers 429 with its body and Retry-After.
 */
import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import Redis from 'ioredis';
import OpenAI from 'openai';
import request from 'supertest';
import { AuthUser } from '../src/auth/auth-user';
import { Decimal } from '../src/common/decimal';
import { loadConfig } from '../src/config/app-config';
import { APP_CONFIG } from '../src/config/config.module';
import { ApiRateLimit, ApiRateLimitGuard } from '../src/rate-limit/api-rate-limit';
import { connectRateLimitRedis } from '../src/rate-limit/rate-limit.module';
import { RATE_LIMIT_REDIS } from '../src/rate-limit/rate-limit.tokens';
import { RateLimitService } from '../src/rate-limit/rate-limit.service';
import { account, serviceKey } from './fixtures/accounts';
import { FaultProxy, startFaultProxy } from './support/fault-proxy';
import { createDevProvider, Harness, startHarness, TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from './support/gateway-harness';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const client = (h: Harness, secret: string) => new OpenAI({ apiKey: secret, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });

/** One chat call: its status, headers, and usage (success) or error code/type (refusal). */
async function chat(h: Harness, secret: string) {
  try {
    const { data, response } = await client(h, secret)
      .chat.completions.create({ model: 'mock-model', max_tokens: 4, messages: [{ role: 'user', content: 'ping' }] })
      .withResponse();
    return { status: response.status, headers: response.headers, totalTokens: data.usage?.total_tokens ?? null, code: null, type: null };
  } catch (err) {
    if (!(err instanceof OpenAI.APIError) || typeof err.status !== 'number') throw err;
    return {
      status: err.status,
      headers: err.headers,
      totalTokens: null,
      code: err.code ?? null,
      type: err.type ?? null,
      message: err.message,
    };
  }
}

/** A user with credits and keys with these limits. */
async function tenant(h: Harness, keys: { rpmLimit?: number; tpmLimit?: number }[]) {
  const user = await h.users.create({ email: `rl-${Math.random().toString(36).slice(2)}@example.com`, fullName: 'Rate Limited' });
  await h.ledger.grant({ userId: user.id, amount: new Decimal('1000'), reason: 'test grant' });
  const made = [];
  for (const [i, k] of keys.entries()) made.push(await h.keys.create(user.id, { name: `k${i}`, ...k }));
  return { userId: user.id, keys: made.map((k) => ({ id: k.id, secret: k.secret })) };
}

/** Polls `fn` until it returns true (at most `boundMs`); whether it did. */
async function eventually(fn: () => Promise<boolean>, boundMs = 5000): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    if (await fn()) return true;
    if (Date.now() - started >= boundMs) return false;
    await sleep(20);
  }
}

describe('gateway rate limits on two replicas sharing one Redis', () => {
  let a: Harness;
  let b: Harness;
  let prefix: string;
  let redis: Redis;

  beforeAll(async () => {
    prefix = `tollgate-test-rl-${Math.random().toString(36).slice(2, 8)}`;
    a = await startHarness('rl_a', { QUEUE_PREFIX: prefix });
    b = await startHarness('rl_b', { QUEUE_PREFIX: prefix }, { databaseUrlFor: () => a.db.url });
    await createDevProvider(a);
    redis = new Redis(REDIS_URL);
  });

  afterAll(async () => {
    if (redis) {
      const keys = await redis.keys(`${prefix}:ratelimit:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
    await b?.close();
    await a?.close();
  });

  it("a key's rpm is counted over both replicas; the refusal is OpenAI's 429 with headers, recorded and not billed", async () => {
    const t = await tenant(a, [{ rpmLimit: 4 }]);
    const secret = t.keys[0].secret;
    const remaining: string[] = [];
    for (const h of [a, b, a, b]) {
      const r = await chat(h, secret);
      expect(r.status).toBe(200);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('4');
      expect(r.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m\d+(\.\d+)?s$/);
      remaining.push(r.headers.get('x-ratelimit-remaining-requests') ?? '');
      expect(r.headers.get('x-ratelimit-limit-tokens')).toBeNull(); // no token limit on this key
    }
    expect(remaining).toEqual(['3', '2', '1', '0']);

    const refused = await chat(b, secret);
    expect(refused.status).toBe(429);
    expect(refused.code).toBe('rate_limit_exceeded');
    expect(refused.type).toBe('rate_limit_error');
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('4');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(refused.headers.get('x-ratelimit-reset-requests')).toMatch(/s$/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 120).toBe(true);
    expect(await chat(a, secret)).toMatchObject({ status: 429 }); // refused calls are not counted, but the window is still full

    await a.recorder.drain();
    await b.recorder.drain();
    const calls = await a.prisma.modelCall.findMany({ where: { apiKeyId: t.keys[0].id }, orderBy: { createdAt: 'asc' } });
    expect(calls.map((c) => c.status)).toEqual(['success', 'success', 'success', 'success', 'failed', 'failed']);
    const refusedRows = calls.filter((c) => c.status === 'failed');
    expect(refusedRows.every((c) => c.errorCode === 'rate_limit_exceeded' && c.credits.isZero() && c.totalTokens === 0)).toBe(true);
    const debits = await a.prisma.creditTransaction.count({ where: { modelCallId: { in: refusedRows.map((c) => c.id) } } });
    expect(debits).toBe(0);
    expect(
      a.app.get(RateLimitService).counters().refusals.key_requests + b.app.get(RateLimitService).counters().refusals.key_requests,
    ).toBe(2);
  });

  it('a call using N tokens fills the key token window by exactly N', async () => {
    const t = await tenant(a, [{ tpmLimit: 100_000 }]);
    const first = await chat(a, t.keys[0].secret);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe('100000');
    const n = first.totalTokens!;
    expect(n).toBeGreaterThan(0);
    // counted when the record is durable, off the request path: the next call (on the other replica) sees it
    expect(await eventually(async () => (await chat(b, t.keys[0].secret)).headers.get('x-ratelimit-remaining-tokens') !== '100000')).toBe(
      true,
    );
    await a.recorder.drain();
    await b.recorder.drain();
    const calls = await a.prisma.modelCall.findMany({ where: { apiKeyId: t.keys[0].id } });
    const total = calls.reduce((s, c) => s + c.promptTokens + c.completionTokens, 0);
    const limiter = a.app.get(RateLimitService);
    const probe = () => limiter.check([{ scope: 'key_tokens', id: t.keys[0].id, windowMs: 60_000, limit: 100_000, cost: 0 }]);
    // every recorded call's tokens are in the window (the window's age-weighting takes < 1 token off in this time)
    expect(
      await eventually(async () => {
        const d = await probe();
        return d.status === 'checked' && d.rules[0].remaining === 100_000 - total;
      }),
    ).toBe(true);
  });

  it("a key whose token window is full is refused on the other replica (429, tokens' headers)", async () => {
    const t = await tenant(a, [{ tpmLimit: 5 }]);
    expect((await chat(a, t.keys[0].secret)).status).toBe(200); // window empty: admitted, then uses more than 5 tokens
    let refused: Awaited<ReturnType<typeof chat>> | null = null;
    expect(
      await eventually(async () => {
        const r = await chat(b, t.keys[0].secret);
        if (r.status === 429) refused = r;
        return r.status === 429;
      }),
    ).toBe(true);
    expect(refused!.code).toBe('rate_limit_exceeded');
    expect(refused!.headers.get('x-ratelimit-limit-tokens')).toBe('5');
    expect(refused!.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('a key without limits gets no x-ratelimit headers and leaves nothing in Redis', async () => {
    const t = await tenant(a, [{}]);
    const r = await chat(a, t.keys[0].secret);
    expect(r.status).toBe(200);
    expect([...r.headers.keys()].filter((k) => k.startsWith('x-ratelimit'))).toEqual([]);
    const stored = await redis.keys(`${prefix}:ratelimit:*${t.keys[0].id}*`);
    const storedUser = await redis.keys(`${prefix}:ratelimit:*${t.userId}*`);
    expect([...stored, ...storedUser]).toEqual([]);
  });
});

describe('per-user limits and the open failure policy', () => {
  let h: Harness;
  let proxy: FaultProxy;

  beforeAll(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startFaultProxy({ targetHost: target.hostname, targetPort: Number(target.port || 6379) });
    h = await startHarness('rl_user', {
      GATEWAY_USER_RPM: '3',
      RATE_LIMIT_REDIS_URL: proxy.url(REDIS_URL),
      RATE_LIMIT_REDIS_FAILURE_POLICY: 'open',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '200',
    });
    await createDevProvider(h);
  });

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
  });

  it("GATEWAY_USER_RPM counts the user's calls over all their keys; other users are not affected", async () => {
    const t = await tenant(h, [{}, {}]);
    const [k1, k2] = t.keys.map((k) => k.secret);
    const statuses = [];
    for (const k of [k1, k2, k1]) {
      const r = await chat(h, k);
      statuses.push(r.status);
      expect(r.headers.get('x-ratelimit-limit-requests')).toBe('3');
    }
    expect(statuses).toEqual([200, 200, 200]);
    const refused = await chat(h, k2);
    expect(refused).toMatchObject({ status: 429, code: 'rate_limit_exceeded' });
    expect(refused.message).toContain('on this account');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const other = await tenant(h, [{}]);
    expect((await chat(h, other.keys[0].secret)).status).toBe(200);
  });

  it('Redis away, policy open: calls go through unlimited, one warning is logged, the failures are counted', async () => {
    const t = await tenant(h, [{}]);
    const limiter = h.app.get(RateLimitService);
    const warningsBefore = h.logs.filter((l) => l.includes('rate limiter: Redis failed')).length;
    let before = limiter.counters();
    await proxy.cut('refuse');
    try {
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await chat(h, t.keys[0].secret)).status); // over the user rpm of 3
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(limiter.counters().failedOpen - before.failedOpen).toBe(5);
      // a partition: the connection hangs; the check gives up after RATE_LIMIT_REDIS_TIMEOUT_MS
      await proxy.restore();
      const probe = [{ scope: 'user_requests' as const, id: 'probe', windowMs: 1000, limit: 1000, cost: 0 }];
      expect(await eventually(async () => (await limiter.check(probe)).status === 'checked')).toBe(true);
      await proxy.cut({ mode: 'blackhole', existing: 'freeze' });
      before = limiter.counters();
      const hung = await chat(h, t.keys[0].secret);
      expect(hung.status).toBe(200);
      expect([...hung.headers.keys()].filter((k) => k.startsWith('x-ratelimit'))).toEqual([]);
      expect(limiter.counters().failedOpen - before.failedOpen).toBe(1);
      expect(limiter.counters().redisFailures - before.redisFailures).toBeGreaterThanOrEqual(1);
    } finally {
      await proxy.restore();
    }
    const warnings = h.logs.filter((l) => l.includes('rate limiter: Redis failed')).length - warningsBefore;
    expect(warnings).toBeGreaterThanOrEqual(1);
    expect(warnings).toBeLessThanOrEqual(2); // rate-limited: not one line per failed check
  });
});

describe('the closed failure policy', () => {
  let h: Harness;
  let proxy: FaultProxy;

  beforeAll(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startFaultProxy({ targetHost: target.hostname, targetPort: Number(target.port || 6379) });
    h = await startHarness('rl_closed', {
      RATE_LIMIT_REDIS_URL: proxy.url(REDIS_URL),
      RATE_LIMIT_REDIS_FAILURE_POLICY: 'closed',
      RATE_LIMIT_REDIS_TIMEOUT_MS: '200',
    });
    await createDevProvider(h);
  });

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
  });

  it('Redis away: a limited key is answered 503 rate_limit_unavailable (refused or hanging link), recorded; an unlimited key still works', async () => {
    const limited = await tenant(h, [{ rpmLimit: 1000 }]);
    const free = await tenant(h, [{}]);
    expect((await chat(h, limited.keys[0].secret)).status).toBe(200);
    try {
      await proxy.cut({ mode: 'blackhole', existing: 'freeze' });
      const hung = await chat(h, limited.keys[0].secret);
      expect(hung).toMatchObject({ status: 503, code: 'rate_limit_unavailable' });
      expect(hung.headers.get('retry-after')).toBe('1');
      await proxy.cut('refuse');
      expect(await chat(h, limited.keys[0].secret)).toMatchObject({ status: 503, code: 'rate_limit_unavailable' });
      expect((await chat(h, free.keys[0].secret)).status).toBe(200);
    } finally {
      await proxy.restore();
    }
    await h.recorder.drain();
    const rows = await h.prisma.modelCall.findMany({ where: { apiKeyId: limited.keys[0].id, status: 'failed' } });
    expect(rows.map((r) => r.errorCode)).toEqual(['rate_limit_unavailable', 'rate_limit_unavailable']);
    expect(h.app.get(RateLimitService).counters().failedClosed).toBe(2);
  });
});

describe('the LLM config API is limited per service key', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('rl_llm', { LLM_CONFIG_RATE_LIMIT_PER_MINUTE: '60', LLM_CONFIG_RATE_LIMIT_PER_HOUR: '1000' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('GET /v1/users/:platform/:username/llm-config: X-RateLimit-* on every answer, the 61st in a minute is 429 with Retry-After', async () => {
    const admin = await account(h, 'admin', 'rl-llm-admin');
    const key = await serviceKey(h, admin.id, ['llm-config:read']);
    const path = '/v1/users/github/nobody-here/llm-config';
    for (let i = 0; i < 60; i++) {
      const res = await request(h.baseUrl).get(path).set('x-api-key', key);
      expect(res.status).toBe(404); // no such user: answered, and counted
      expect(res.headers['x-ratelimit-limit']).toBe('60');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(59 - i));
      expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    }
    const refused = await request(h.baseUrl).post('/v1/users/llm-configs/batch').set('x-api-key', key).send({ users: [] });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.body).toEqual({
      status: 'error',
      error: { code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded. Please try again later.', retry_after: retryAfter },
    });
    expect(refused.headers['x-ratelimit-limit']).toBe('60');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    // another service key has its own window
    const other = await serviceKey(h, admin.id, ['llm-config:read']);
    const res = await request(h.baseUrl).get(path).set('x-api-key', other);
    expect(res.status).toBe(404);
    expect(res.headers['x-ratelimit-remaining']).toBe('59');
  });
});

/** Stands in for the global AuthGuard: the caller named by x-test-key / x-test-user. */
class TestAuthGuard {
  canActivate(ctx: { switchToHttp(): { getRequest(): { headers: Record<string, string>; user?: Partial<AuthUser> } } }): boolean {
    const req = ctx.switchToHttp().getRequest();
    const keyId = req.headers['x-test-key'] ?? null;
    req.user = { id: req.headers['x-test-user'] ?? 'u1', keyId, via: keyId ? 'api_key' : 'jwt', scopes: [] };
    return true;
  }
}

@Controller('limited')
class LimitedController {
  @Get()
  @ApiRateLimit('llm-config')
  get() {
    return { ok: true };
  }
}

describe("@ApiRateLimit('llm-config') on a test-only controller", () => {
  let app: INestApplication;
  let url: string;
  const prefix = `tollgate-test-rl-api-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: 'postgresql://unused@127.0.0.1:5432/unused',
      REDIS_URL,
      ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
      JWT_SECRET: TEST_JWT_SECRET,
      QUEUE_PREFIX: prefix,
      LLM_CONFIG_RATE_LIMIT_PER_MINUTE: '60',
      LLM_CONFIG_RATE_LIMIT_PER_HOUR: '1000',
    });
    @Module({
      controllers: [LimitedController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: RATE_LIMIT_REDIS, useFactory: () => connectRateLimitRedis(config) },
        { provide: APP_GUARD, useClass: TestAuthGuard },
        RateLimitService,
        ApiRateLimitGuard,
      ],
    })
    class LimitedModule {}
    const moduleRef = await Test.createTestingModule({ imports: [LimitedModule] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });

  afterAll(async () => {
    await app?.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:ratelimit:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('60 requests a minute per service key: X-RateLimit-* on every answer, the 61st is 429 with Retry-After and the body', async () => {
    const remaining: number[] = [];
    for (let i = 0; i < 60; i++) {
      const res = await request(url).get('/limited').set('x-test-key', 'svc-1').expect(200);
      expect(res.headers['x-ratelimit-limit']).toBe('60');
      const reset = Number(res.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThan(Date.now() / 1000);
      expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 121);
      remaining.push(Number(res.headers['x-ratelimit-remaining']));
    }
    expect(remaining).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    const refused = await request(url).get('/limited').set('x-test-key', 'svc-1').expect(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(refused.body).toEqual({
      status: 'error',
      error: { code: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded. Please try again later.', retry_after: retryAfter },
    });
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(refused.headers['x-ratelimit-limit']).toBe('60');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    // another service key, and a login (JWT) caller, have their own windows
    await request(url).get('/limited').set('x-test-key', 'svc-2').expect(200);
    const jwt = await request(url).get('/limited').set('x-test-user', 'user-7').expect(200);
    expect(jwt.headers['x-ratelimit-remaining']).toBe('59');
  });

  it('the hourly rule binds when it is the tighter one', async () => {
    const hourly = app.get(RateLimitService);
    // fill 995 of the caller's hourly window directly (the minute window stays empty)
    await hourly.add([{ scope: 'llm_config_hour', id: 'key:svc-hour', windowMs: 3_600_000 }], 995);
    const res = await request(url).get('/limited').set('x-test-key', 'svc-hour').expect(200);
    expect(res.headers['x-ratelimit-limit']).toBe('1000');
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
  });
});
