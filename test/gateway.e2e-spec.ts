/**
 * The gateway end to end: the official `openai` SDK against a running Tollgate (real Fastify/Nest
 * stack, PostgreSQL, Redis) with the bundled dev upstream as provider.
 */
import OpenAI from 'openai';
import { Decimal } from '../src/common/decimal';
import { creditsFor } from '../src/metering/credits-formula';
import { countPromptTokens, countTextTokens } from '../src/metering/token-counter';
import { SETTING_KEYS, SettingsService } from '../src/settings/settings.service';
import { createDevProvider, createTenant, Harness, startHarness, Tenant, UPSTREAM_SECRET } from './support/gateway-harness';

const RATE_IN = new Decimal('0.5');
const RATE_OUT = new Decimal('1.5');

describe('gateway /v1', () => {
  let h: Harness;
  let tenant: Tenant;
  const responses: string[] = [];

  const client = (key: string, extra: Partial<ConstructorParameters<typeof OpenAI>[0]> = {}) =>
    new OpenAI({
      apiKey: key,
      baseURL: `${h.baseUrl}/v1`,
      maxRetries: 0,
      fetch: async (url: Parameters<typeof fetch>[0], init?: RequestInit) => {
        const res = await fetch(url, init);
        if (!(res.headers.get('content-type') ?? '').includes('event-stream')) responses.push(await res.clone().text());
        return res;
      },
      ...extra,
    });

  // Debits are written right after the durable call record, off the response path: wait for them.
  const balance = async (userId: string) => {
    await h.recorder.drain();
    return (await h.ledger.balance(userId)).toFixed();
  };
  const lastCall = (userId: string) => h.prisma.modelCall.findFirstOrThrow({ where: { userId }, orderBy: { createdAt: 'desc' } });

  beforeAll(async () => {
    h = await startHarness('gateway', { CREDIT_PAYMENT_LINK: 'https://pay.example.com/credits' });
    await createDevProvider(h, { inputRate: RATE_IN.toFixed(), outputRate: RATE_OUT.toFixed() });
    tenant = await createTenant(h, { credits: '100000' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('bills a non-streaming completion exactly: balance drops by the formula applied to upstream usage', async () => {
    const before = new Decimal(await balance(tenant.userId));
    const messages = [{ role: 'user' as const, content: 'Hello Tollgate, how are you today?' }];
    const completion = await client(tenant.key).chat.completions.create(
      { model: 'mock-model', messages },
      { headers: { 'x-app-did': 'zAppDid123' } },
    );

    expect(completion.choices[0].message.content).toContain('Hello Tollgate');
    const usage = completion.usage!;
    expect(usage.prompt_tokens).toBe(countPromptTokens(messages));
    const expected = creditsFor(usage.prompt_tokens, usage.completion_tokens, RATE_IN, RATE_OUT);

    const call = await lastCall(tenant.userId);
    expect(call.status).toBe('success');
    expect(call.promptTokens).toBe(usage.prompt_tokens);
    expect(call.completionTokens).toBe(usage.completion_tokens);
    expect(call.totalTokens).toBe(usage.total_tokens);
    expect(call.usageSource).toBe('upstream');
    expect(call.appDid).toBe('zAppDid123');
    expect(call.credits.toFixed()).toBe(expected.toFixed());
    expect(call.durationMs).toBeGreaterThanOrEqual(0);
    expect(before.sub(await balance(tenant.userId)).toFixed()).toBe(expected.toFixed());

    const after = await balance(tenant.userId);
    const tx = await h.prisma.creditTransaction.findUniqueOrThrow({ where: { modelCallId: call.id } });
    expect(tx.amount.toFixed()).toBe(expected.neg().toFixed());
    expect(tx.balanceAfter.toFixed()).toBe(after);
    expect(await h.prisma.pendingDebit.count()).toBe(0);
    expect((await h.prisma.creditAccount.findUniqueOrThrow({ where: { userId: tenant.userId } })).held.toFixed()).toBe('0');
    expect(await h.prisma.creditHold.count()).toBe(0);
  });

  it('streams chunk by chunk, bills from the usage chunk, and passes the usage chunk only when asked', async () => {
    for (const includeUsage of [true, false]) {
      const before = new Decimal(await balance(tenant.userId));
      const messages = [{ role: 'user' as const, content: `Stream please #mock:words=12 (${includeUsage})` }];
      const stream = await client(tenant.key).chat.completions.create({
        model: 'mock-model',
        messages,
        stream: true,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
      });
      let text = '';
      let chunks = 0;
      let usage: OpenAI.CompletionUsage | null | undefined = null;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(chunks).toBeGreaterThan(10);
      expect(text.split(' ').length).toBeGreaterThanOrEqual(12);
      const promptTokens = countPromptTokens(messages);
      const completionTokens = countTextTokens(text);
      if (includeUsage) {
        expect(usage).toMatchObject({ prompt_tokens: promptTokens, completion_tokens: completionTokens });
      } else {
        expect(usage).toBeNull();
      }
      const call = await lastCall(tenant.userId);
      expect(call).toMatchObject({ status: 'success', stream: true, promptTokens, completionTokens, usageSource: 'upstream' });
      const expected = creditsFor(promptTokens, completionTokens, RATE_IN, RATE_OUT);
      expect(call.credits.toFixed()).toBe(expected.toFixed());
      expect(before.sub(await balance(tenant.userId)).toFixed()).toBe(expected.toFixed());
    }
  });

  it('counts tokens with the tokenizer when the upstream reports no usage', async () => {
    const messages = [{ role: 'user' as const, content: 'No usage here please #mock:no-usage' }];
    const completion = await client(tenant.key).chat.completions.create({ model: 'mock-model', messages });
    expect(completion.usage).toBeUndefined();
    const call = await lastCall(tenant.userId);
    expect(call.usageSource).toBe('tokenizer');
    expect(call.promptTokens).toBe(countPromptTokens(messages));
    expect(call.completionTokens).toBe(countTextTokens(completion.choices[0].message.content!));
    expect(call.credits.toFixed()).toBe(creditsFor(call.promptTokens, call.completionTokens, RATE_IN, RATE_OUT).toFixed());
  });

  it('gives calls and their debits time-ordered ids (UUID version 7), refusals included', async () => {
    const t = await createTenant(h, { credits: '100' });
    await client(t.key).chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'first' }] });
    await expect(
      client(t.key).chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toThrow();
    await client(t.key).chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'third' }] });
    await h.recorder.drain();
    const calls = await h.prisma.modelCall.findMany({ where: { userId: t.userId }, orderBy: { createdAt: 'asc' } });
    expect(calls.map((c) => c.status)).toEqual(['success', 'failed', 'success']);
    for (const c of calls) expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(calls.map((c) => c.id)).toEqual(calls.map((c) => c.id).sort());
    // their debit transactions too (tollgate_uuid_v7 in settlement)
    const debits = await h.prisma.creditTransaction.findMany({ where: { userId: t.userId, type: 'debit' } });
    expect(debits).toHaveLength(2);
    for (const d of debits) expect(d.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('answers embeddings and bills prompt tokens at the input rate', async () => {
    const before = new Decimal(await balance(tenant.userId));
    const res = await client(tenant.key).embeddings.create({ model: 'mock-embed', input: ['alpha beta', 'gamma'] });
    expect(res.data).toHaveLength(2);
    const call = await lastCall(tenant.userId);
    expect(call).toMatchObject({ type: 'embedding', status: 'success', promptTokens: res.usage.prompt_tokens, completionTokens: 0 });
    const expected = creditsFor(res.usage.prompt_tokens, 0, RATE_IN, new Decimal(0));
    expect(before.sub(await balance(tenant.userId)).toFixed()).toBe(expected.toFixed());
  });

  it('lists only the models the key may use', async () => {
    const all = await client(tenant.key).models.list();
    expect(all.data.map((m) => m.id).sort()).toEqual(['mock-embed', 'mock-model']);
    const limited = await createTenant(h, { credits: '10', allowedModels: ['devup/mock-embed'] });
    const some = await client(limited.key).models.list();
    expect(some.data.map((m) => m.id)).toEqual(['devup/mock-embed']);
  });

  describe('refusals', () => {
    const chat = (key: string, model = 'mock-model') =>
      client(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

    it('401 for a missing, malformed, unknown, revoked or expired key', async () => {
      const missing = await fetch(`${h.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(missing.status).toBe(401);
      expect(((await missing.json()) as { error: unknown }).error).toMatchObject({
        code: 'missing_api_key',
        type: 'invalid_request_error',
      });
      await expect(chat('sk-not-a-tollgate-key')).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
      await expect(chat(`tg-${'A'.repeat(43)}`)).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });

      const t = await createTenant(h, { credits: '100' });
      await chat(t.key); // now cached
      expect((await h.keys.revoke(t.userId, t.keyId)).status).toBe('revoked');
      await expect(chat(t.key)).rejects.toMatchObject({ status: 401, code: 'revoked_api_key' });

      const u = await h.users.create({ email: `exp-${Date.now()}@example.com` });
      const expired = await h.keys.create(u.id, { name: 'old', expiresAt: new Date(Date.now() - 1000) });
      await expect(chat(expired.secret)).rejects.toMatchObject({ status: 401, code: 'expired_api_key' });
    });

    it('403 for a model the key may not use, 404 for an unknown model; both logged, not billed', async () => {
      const t = await createTenant(h, { credits: '100', allowedModels: ['mock-embed'] });
      await expect(chat(t.key)).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
      await expect(chat(t.key, 'no-such-model')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
      const calls = await h.prisma.modelCall.findMany({ where: { userId: t.userId }, orderBy: { createdAt: 'asc' } });
      expect(calls.map((c) => [c.status, c.errorCode])).toEqual([
        ['failed', 'model_not_allowed'],
        ['failed', 'model_not_found'],
      ]);
      expect(await balance(t.userId)).toBe('100');
    });

    it('402 with the payment link when the credits are used up', async () => {
      const t = await createTenant(h, { credits: '0' });
      const upstreamBefore = h.upstream.stats.requests;
      const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
        body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(402);
      const body = (await res.json()) as { error: unknown };
      expect(body.error).toMatchObject({
        code: 'insufficient_credits',
        type: 'insufficient_quota',
        payment_link: 'https://pay.example.com/credits',
      });
      expect(h.upstream.stats.requests).toBe(upstreamBefore); // refused before any upstream request
      expect(await balance(t.userId)).toBe('0');
    });

    it('400 in OpenAI shape for a malformed body', async () => {
      await expect(client(tenant.key).chat.completions.create({ model: 'mock-model', messages: [] })).rejects.toMatchObject({
        status: 400,
        param: 'messages',
      });
      const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.key}` },
        body: '{not json',
      });
      const text = await res.text();
      expect([res.status, text]).toEqual([400, expect.stringContaining('"type":"invalid_request_error"')]);
    });
  });

  it('logs an upstream 500 as failed and leaves the balance unchanged', async () => {
    const before = await balance(tenant.userId);
    const upstreamBefore = h.upstream.stats.requests;
    await expect(
      client(tenant.key).chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'fail #mock:status=500' }] }),
    ).rejects.toMatchObject({ status: 502, code: 'upstream_error' });
    const call = await lastCall(tenant.userId);
    expect(call).toMatchObject({ status: 'failed', upstreamStatus: 500, errorCode: 'upstream_error', promptTokens: 0 });
    expect(call.credits.toFixed()).toBe('0');
    expect(await balance(tenant.userId)).toBe(before);
    expect(await h.prisma.creditTransaction.count({ where: { modelCallId: call.id } })).toBe(0);
    expect(await h.prisma.creditHold.count({ where: { userId: tenant.userId } })).toBe(0);
    expect(h.upstream.stats.requests - upstreamBefore).toBe(1); // one credential: nothing to retry on
  });

  it('retries once on another credential when the first is refused, and bills once', async () => {
    const p = await createDevProvider(h, {
      name: 'devup2',
      credentials: [
        { name: 'Broken Key', value: 'sk-wrong-credential-value-000', weight: 1_000_000 },
        { name: 'Good Key', value: UPSTREAM_SECRET, weight: 1 },
      ],
    });
    const t = await createTenant(h, { credits: '1000', allowedModels: ['devup2/*'] });
    const seen = h.upstream.stats.authorizations.length;
    const completion = await client(t.key).chat.completions.create({
      model: 'devup2/mock-model',
      messages: [{ role: 'user', content: 'retry me' }],
    });
    expect(completion.choices[0].message.content).toContain('retry me');
    expect(h.upstream.stats.authorizations.slice(seen)).toEqual(['Bearer sk-wrong-credential-value-000', `Bearer ${UPSTREAM_SECRET}`]);
    const calls = await h.prisma.modelCall.findMany({ where: { userId: t.userId } });
    expect(calls).toHaveLength(1);
    expect(calls[0].providerId).toBe(p.provider.id);
    await h.recorder.drain();
    expect(await h.prisma.creditTransaction.count({ where: { userId: t.userId, type: 'debit' } })).toBe(1);
  });

  it('502 upstream_auth_failed when every credential is refused, without the provider text or the credential', async () => {
    await createDevProvider(h, { name: 'zzbad', credentials: [{ name: 'Stale Key', value: 'sk-stale-credential-value-111' }] });
    const t = await createTenant(h, { credits: '100', allowedModels: ['zzbad/*'] });
    const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ model: 'zzbad/mock-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const text = await res.text();
    expect(res.status).toBe(502);
    expect(JSON.parse(text).error).toMatchObject({ code: 'upstream_auth_failed', type: 'upstream_error' });
    expect(text).not.toContain('sk-stale');
    await h.recorder.drain();
    expect(await balance(t.userId)).toBe('100');
  });

  it('bills a stream the client aborts for the tokens actually streamed', async () => {
    const t = await createTenant(h, { credits: '1000' });
    const messages = [{ role: 'user', content: 'long one #mock:words=200 #mock:chunk-delay=60' }];
    const ctrl = new AbortController();
    const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.key}` },
      body: JSON.stringify({ model: 'mock-model', messages, stream: true }),
      signal: ctrl.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    let text = '';
    let contentChunks = 0;
    while (contentChunks < 5) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) !== -1) {
        const event = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const data = event.replace(/^data: /, '');
        if (data === '[DONE]') continue;
        const delta = JSON.parse(data).choices[0]?.delta?.content;
        if (delta) {
          text += delta;
          contentChunks++;
        }
      }
    }
    ctrl.abort();
    let call = null;
    for (let i = 0; i < 100 && !call; i++) {
      call = await h.prisma.modelCall.findFirst({ where: { userId: t.userId } });
      if (!call) await new Promise((r) => setTimeout(r, 50));
    }
    expect(call).not.toBeNull();
    const promptTokens = countPromptTokens(messages);
    expect(call).toMatchObject({ status: 'aborted', usageSource: 'tokenizer', promptTokens, errorCode: 'client_closed' });
    // Billed for what the gateway sent: what the client read, plus at most the chunk or two that
    // were on the wire when it left (a chunk is one word, at most 3 tokens).
    const read = countTextTokens(text);
    expect(call!.completionTokens).toBeGreaterThanOrEqual(read);
    expect(call!.completionTokens).toBeLessThanOrEqual(read + 6);
    const expected = creditsFor(promptTokens, call!.completionTokens, RATE_IN, RATE_OUT);
    expect(call!.credits.toFixed()).toBe(expected.toFixed());
    expect(new Decimal(1000).sub(await balance(t.userId)).toFixed()).toBe(expected.toFixed());
  });

  it('follows the settings table: billing off meters and logs without holds or debits; 402 links to the stored payment link', async () => {
    const settings = h.app.get(SettingsService);
    const broke = await createTenant(h, { credits: '0' });
    await settings.set(SETTING_KEYS.paymentLink, 'https://shop.example.com/buy');
    try {
      await expect(
        client(broke.key).chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }),
      ).rejects.toMatchObject({ status: 402, error: { payment_link: 'https://shop.example.com/buy' } });
      await settings.set(SETTING_KEYS.creditBillingEnabled, false);
      const completion = await client(broke.key).chat.completions.create({
        model: 'mock-model',
        messages: [{ role: 'user', content: 'free now' }],
      });
      const call = await lastCall(broke.userId);
      expect(call.status).toBe('success');
      expect(call.credits.toFixed()).toBe(
        creditsFor(completion.usage!.prompt_tokens, completion.usage!.completion_tokens, RATE_IN, RATE_OUT).toFixed(),
      );
      expect(await balance(broke.userId)).toBe('0');
      expect(await h.prisma.creditTransaction.count({ where: { userId: broke.userId, type: 'debit' } })).toBe(0);
    } finally {
      await settings.reset(SETTING_KEYS.creditBillingEnabled);
      await settings.reset(SETTING_KEYS.paymentLink);
    }
  });

  it('never puts a key secret or credential value in a response body or a log line', async () => {
    await h.recorder.drain();
    const secrets = [tenant.key, UPSTREAM_SECRET, 'sk-wrong-credential-value-000', 'sk-stale-credential-value-111'];
    expect(responses.length).toBeGreaterThan(5);
    expect(h.logs.length).toBeGreaterThan(5);
    for (const s of secrets) {
      for (const body of responses) expect(body).not.toContain(s);
      for (const line of h.logs) expect(line).not.toContain(s);
    }
    const stored = await h.prisma.aiCredential.findMany();
    for (const c of stored) {
      expect(c.encryptedValue).not.toContain(UPSTREAM_SECRET);
      expect(c.maskedValue).toMatch(/^.{3}••••.{3}$/);
    }
  });
});
