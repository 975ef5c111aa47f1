import OpenAI from 'openai';
import { countEmbeddingInputTokens, countPromptTokens, countTextTokens } from '../metering/token-counter';
import { startDevUpstream, type DevUpstream } from './dev-upstream';

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;
type Msg = OpenAI.Chat.Completions.ChatCompletionMessageParam;

describe('dev upstream', () => {
  let upstream: DevUpstream;
  let client: OpenAI;
  const extra: DevUpstream[] = [];

  beforeAll(async () => {
    upstream = await startDevUpstream();
    client = new OpenAI({ baseURL: upstream.url, apiKey: 'sk-test', maxRetries: 0 });
  });

  afterAll(async () => {
    await Promise.all([upstream?.close(), ...extra.map((u) => u.close())]);
  });

  async function startExtra(opts: Parameters<typeof startDevUpstream>[0]): Promise<DevUpstream> {
    const u = await startDevUpstream(opts);
    extra.push(u);
    return u;
  }

  async function streamChat(params: Omit<ChatParams, 'stream'> & { stream_options?: { include_usage?: boolean } }) {
    const stream = await client.chat.completions.create({ ...params, stream: true });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    return { chunks, text };
  }

  const messages: Msg[] = [
    { role: 'system', content: 'You are a test.' },
    { role: 'user', content: 'first question' },
    { role: 'assistant', content: 'first answer' },
    { role: 'user', content: 'Hello there, how are you today?' },
  ];

  it('answers chat completions with usage equal to the shared token counter', async () => {
    const res = await client.chat.completions.create({ model: 'gpt-test', messages });
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.object).toBe('chat.completion');
    expect(res.model).toBe('gpt-test');
    expect(typeof res.created).toBe('number');
    expect(res.choices).toHaveLength(1);
    expect(res.choices[0].message.role).toBe('assistant');
    expect(res.choices[0].message.content).toBe('Echo: Hello there, how are you today?');
    expect(res.choices[0].finish_reason).toBe('stop');
    const promptTokens = countPromptTokens(messages as never);
    const completionTokens = countTextTokens(res.choices[0].message.content!);
    expect(res.usage).toEqual({
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    });
    expect(promptTokens).toBeGreaterThan(0);
  });

  it('is deterministic and handles content-part arrays', async () => {
    const parts: Msg[] = [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'part one' },
          { type: 'text', text: 'part two' },
        ],
      },
    ];
    const a = await client.chat.completions.create({ model: 'm', messages: parts });
    const b = await client.chat.completions.create({ model: 'm', messages: parts });
    expect(a.choices[0].message.content).toBe('Echo: part one\npart two');
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
    expect(b.usage).toEqual(a.usage);
    expect(a.usage!.prompt_tokens).toBe(countPromptTokens(parts as never));
    expect(a.id).not.toBe(b.id);
  });

  it('streams deltas that concatenate to the non-streaming content; usage chunk only with include_usage', async () => {
    const plain = await client.chat.completions.create({ model: 'gpt-test', messages });

    const withUsage = await streamChat({ model: 'gpt-test', messages, stream_options: { include_usage: true } });
    expect(withUsage.text).toBe(plain.choices[0].message.content);
    const first = withUsage.chunks[0];
    expect(first.object).toBe('chat.completion.chunk');
    expect(first.choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(withUsage.chunks.length).toBeGreaterThan(4);
    const usageChunk = withUsage.chunks[withUsage.chunks.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toEqual(plain.usage);
    const finishChunk = withUsage.chunks[withUsage.chunks.length - 2];
    expect(finishChunk.choices[0].delta).toEqual({});
    expect(finishChunk.choices[0].finish_reason).toBe('stop');
    for (const c of withUsage.chunks.slice(0, -1)) {
      expect(c.usage).toBeNull();
      expect(c.id).toBe(first.id);
      expect(c.model).toBe('gpt-test');
    }

    const noUsage = await streamChat({ model: 'gpt-test', messages });
    expect(noUsage.text).toBe(plain.choices[0].message.content);
    expect(noUsage.chunks.every((c) => !('usage' in c))).toBe(true);
    expect(noUsage.chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(noUsage.chunks[noUsage.chunks.length - 1].choices[0].finish_reason).toBe('stop');
  });

  it('#mock:words=N produces N deterministic words', async () => {
    const msgs: Msg[] = [{ role: 'user', content: 'give me words #mock:words=5' }];
    const res = await client.chat.completions.create({ model: 'm', messages: msgs });
    expect(res.choices[0].message.content).toBe('word1 word2 word3 word4 word5');
    expect(res.usage!.completion_tokens).toBe(countTextTokens('word1 word2 word3 word4 word5'));
    expect(res.usage!.prompt_tokens).toBe(countPromptTokens(msgs as never));
    const streamed = await streamChat({ model: 'm', messages: msgs });
    expect(streamed.text).toBe('word1 word2 word3 word4 word5');
  });

  it('truncates to max_tokens / max_completion_tokens with finish_reason length', async () => {
    const msgs: Msg[] = [{ role: 'user', content: '#mock:words=50' }];
    const full = (await client.chat.completions.create({ model: 'm', messages: msgs })).choices[0].message.content!;

    const cut = await client.chat.completions.create({ model: 'm', messages: msgs, max_tokens: 7 });
    const text = cut.choices[0].message.content!;
    expect(cut.choices[0].finish_reason).toBe('length');
    expect(full.startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(full.length);
    expect(cut.usage!.completion_tokens).toBe(countTextTokens(text));
    expect(cut.usage!.completion_tokens).toBe(7);

    const cut2 = await client.chat.completions.create({ model: 'm', messages: msgs, max_completion_tokens: 7 });
    expect(cut2.choices[0].message.content).toBe(text);

    const streamed = await streamChat({ model: 'm', messages: msgs, max_tokens: 7, stream_options: { include_usage: true } });
    expect(streamed.text).toBe(text);
    expect(streamed.chunks[streamed.chunks.length - 2].choices[0].finish_reason).toBe('length');
    expect(streamed.chunks[streamed.chunks.length - 1].usage).toEqual(cut.usage);

    const roomy = await client.chat.completions.create({ model: 'm', messages: msgs, max_tokens: 10_000 });
    expect(roomy.choices[0].message.content).toBe(full);
    expect(roomy.choices[0].finish_reason).toBe('stop');

    // Non-ASCII text is cut to a true prefix within budget.
    const unicode: Msg[] = [{ role: 'user', content: 'héllo wörld 日本語のテキストです 🎉🎉🎉 ok' }];
    for (const max of [1, 2, 3, 5, 8]) {
      const r = await client.chat.completions.create({ model: 'm', messages: unicode, max_tokens: max });
      const t = r.choices[0].message.content!;
      expect('Echo: héllo wörld 日本語のテキストです 🎉🎉🎉 ok'.startsWith(t)).toBe(true);
      expect(countTextTokens(t)).toBe(r.usage!.completion_tokens);
      expect(r.usage!.completion_tokens).toBeLessThanOrEqual(max);
      expect(r.usage!.completion_tokens).toBeGreaterThan(0);
      expect(r.choices[0].finish_reason).toBe('length');
    }
  });

  it('answers embeddings with 8 deterministic floats per input and token-counter usage', async () => {
    const single = await client.embeddings.create({ model: 'emb', input: 'hello world' });
    expect(single.object).toBe('list');
    expect(single.model).toBe('emb');
    expect(single.data).toHaveLength(1);
    expect(single.data[0].object).toBe('embedding');
    expect(single.data[0].index).toBe(0);
    expect(single.data[0].embedding).toHaveLength(8);
    expect(single.usage).toEqual({
      prompt_tokens: countEmbeddingInputTokens('hello world'),
      total_tokens: countEmbeddingInputTokens('hello world'),
    });

    const input = ['alpha', 'beta gamma', 'hello world'];
    // The SDK asks for base64 by default; the float format must decode to the same numbers.
    const many = await client.embeddings.create({ model: 'emb', input });
    const asFloat = await client.embeddings.create({ model: 'emb', input, encoding_format: 'float' });
    expect(many.data.map((d) => d.index)).toEqual([0, 1, 2]);
    expect(asFloat.data.map((d) => d.embedding)).toEqual(many.data.map((d) => d.embedding));
    expect(many.data[2].embedding).toEqual(single.data[0].embedding);
    expect(many.data[0].embedding).not.toEqual(many.data[1].embedding);
    for (const d of many.data) {
      const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
      expect(norm).toBeCloseTo(1, 5);
    }
    const tokens = countEmbeddingInputTokens(input);
    expect(many.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });

    const tokenArrays = await client.embeddings.create({
      model: 'emb',
      input: [
        [1, 2, 3],
        [4, 5],
      ],
      encoding_format: 'float',
    });
    expect(tokenArrays.data).toHaveLength(2);
    expect(tokenArrays.usage.prompt_tokens).toBe(5);
  });

  it('lists models', async () => {
    const u = await startExtra({ models: ['alpha', 'beta'] });
    const c = new OpenAI({ baseURL: u.url, apiKey: 'x', maxRetries: 0 });
    const page = await c.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['alpha', 'beta']);
    expect(page.data[0]).toEqual({ id: 'alpha', object: 'model', created: expect.any(Number), owned_by: 'tollgate-dev-upstream' });
    expect((await c.models.retrieve('beta')).id).toBe('beta');

    const defaults = await client.models.list();
    expect(defaults.data.map((m) => m.id)).toEqual(['mock-model']);
    u.configure({ models: ['gamma'] });
    expect((await c.models.list()).data.map((m) => m.id)).toEqual(['gamma']);
  });

  it('enforces apiKey with an OpenAI-style 401 and records Authorization headers', async () => {
    const u = await startExtra({ apiKey: 'sk-dev-secret' });
    const wrong = new OpenAI({ baseURL: u.url, apiKey: 'sk-wrong', maxRetries: 0 });
    const err = await wrong.chat.completions.create({ model: 'm', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(401);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
    await expect(wrong.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);

    const right = new OpenAI({ baseURL: u.url, apiKey: 'sk-dev-secret', maxRetries: 0 });
    const ok = await right.chat.completions.create({ model: 'm', messages });
    expect(ok.choices[0].message.content).toMatch(/^Echo: /);
    expect(u.stats.authorizations).toEqual(['Bearer sk-wrong', 'Bearer sk-wrong', 'Bearer sk-dev-secret']);
    expect(u.stats.requests).toBe(3);
    expect(u.stats.byPath).toEqual({ '/v1/chat/completions': 2, '/v1/models': 1 });

    const missing = await fetch(`${u.url}/models`);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  });

  it('errorRate 1 answers every request with 500; fractional rates are deterministic', async () => {
    const u = await startExtra({ errorRate: 1 });
    const c = new OpenAI({ baseURL: u.url, apiKey: 'x', maxRetries: 0 });
    for (let i = 0; i < 3; i++) {
      const err = await c.chat.completions.create({ model: 'm', messages }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
    }
    await expect(c.embeddings.create({ model: 'e', input: 'x' })).rejects.toBeInstanceOf(OpenAI.InternalServerError);

    u.configure({ errorRate: 0.5 });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(
        await c.chat.completions.create({ model: 'm', messages }).then(
          () => 'ok',
          () => 'err',
        ),
      );
    }
    expect(outcomes).toEqual(['ok', 'err', 'ok', 'err', 'ok', 'err']);
    u.configure({ errorRate: 0 });
    await expect(c.chat.completions.create({ model: 'm', messages })).resolves.toBeDefined();
  });

  it('#mock:status=503 answers that status with an OpenAI error body, also for streams', async () => {
    const msgs: Msg[] = [{ role: 'user', content: 'fail please #mock:status=503' }];
    const err = await client.chat.completions.create({ model: 'm', messages: msgs }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiErr = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.status).toBe(503);
    expect(apiErr.type).toBe('server_error');
    expect(typeof apiErr.code).toBe('string');

    const streamErr = await client.chat.completions.create({ model: 'm', messages: msgs, stream: true }).catch((e: unknown) => e);
    expect((streamErr as InstanceType<typeof OpenAI.APIError>).status).toBe(503);

    const rateLimited = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: '#mock:status=429' }] })
      .catch((e: unknown) => e);
    expect(rateLimited).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('#mock:no-usage omits usage everywhere, even with include_usage', async () => {
    const msgs: Msg[] = [{ role: 'user', content: 'hi #mock:no-usage' }];
    const res = await client.chat.completions.create({ model: 'm', messages: msgs });
    expect(res.choices[0].message.content).toBe('Echo: hi');
    expect(res.usage).toBeUndefined();

    const streamed = await streamChat({ model: 'm', messages: msgs, stream_options: { include_usage: true } });
    expect(streamed.text).toBe('Echo: hi');
    expect(streamed.chunks.every((c) => !('usage' in c))).toBe(true);
    expect(streamed.chunks.every((c) => c.choices.length === 1)).toBe(true);

    const emb = await client.embeddings.create({ model: 'e', input: 'x #mock:no-usage', encoding_format: 'float' });
    expect(emb.usage).toBeUndefined();
  });

  it('supports combined directives: latency, chunk delay and abort mid-stream, drop', async () => {
    const t0 = Date.now();
    const slow = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'x #mock:latency=120 #mock:words=3' }],
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
    expect(slow.choices[0].message.content).toBe('word1 word2 word3');

    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: '#mock:words=40 #mock:chunk-delay=40' }],
      stream: true,
    });
    let seen = 0;
    const t1 = Date.now();
    for await (const chunk of stream) {
      void chunk;
      seen++;
      if (seen === 3) break; // aborts the request
    }
    expect(seen).toBe(3);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(60);

    const dropped = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: '#mock:drop' }] })
      .catch((e: unknown) => e);
    expect(dropped).toBeInstanceOf(OpenAI.APIConnectionError);

    const bad = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: '#mock:bogus' }] })
      .catch((e: unknown) => e);
    expect((bad as InstanceType<typeof OpenAI.APIError>).status).toBe(400);

    // The server is still healthy afterwards.
    await expect(client.chat.completions.create({ model: 'm', messages })).resolves.toBeDefined();
  });

  it('serves paths without /v1, 404s unknown routes and 400s invalid JSON', async () => {
    const base = upstream.url.replace(/\/v1$/, '');
    const bare = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'bare' }] }),
    });
    expect(bare.status).toBe(200);
    expect(((await bare.json()) as { choices: { message: { content: string } }[] }).choices[0].message.content).toBe('Echo: bare');

    const missing = await fetch(`${upstream.url}/nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { message: string; type: string } }).error.type).toBe('invalid_request_error');

    const invalid = await fetch(`${upstream.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { error: { message: string } }).error.message).toMatch(/JSON/);

    expect(upstream.stats.byPath['/chat/completions']).toBe(1);
    expect(upstream.stats.byPath['/v1/nope']).toBe(1);
    expect(upstream.stats.requests).toBeGreaterThan(10);
  });
});
