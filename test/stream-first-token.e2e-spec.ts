/**
 * A stream's response headers when the provider is slow to its first token
 * (src/gateway/stream-relay.ts): the relay sends its headers with the first events when those are
 * already in, but a provider that answers its headers and then thinks must not keep the client
 * waiting for ours: the client sees the answer begin at once, then the events as they come.
 */
import { ServerResponse } from 'node:http';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from './support/gateway-harness';
import { startStubUpstream, StubUpstream } from './support/stub-upstream';

describe('stream headers before a slow first token', () => {
  let h: Harness;
  let stub: StubUpstream;
  let tenant: Tenant;
  /** The stub's response of the call in flight, headers sent, first event not yet. */
  let waiting: ((res: ServerResponse) => void) | null = null;

  beforeAll(async () => {
    h = await startHarness('stream-first-token');
    stub = await startStubUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.flushHeaders();
      waiting?.(res);
    });
    await createDevProvider(h, { baseUrl: stub.url });
    tenant = await createTenant(h, { credits: '1000' });
  });

  afterAll(async () => {
    await h?.close();
    await stub?.close();
  });

  it('answers its headers at once, then relays the events when they come', async () => {
    const upstreamRes = new Promise<ServerResponse>((resolve) => (waiting = resolve));
    const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tenant.key}` },
      body: JSON.stringify({ model: 'mock-model', stream: true, max_tokens: 20, messages: [{ role: 'user', content: 'think first' }] }),
    });
    // fetch resolved with the headers while the provider has not sent a single event.
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const upstream = await upstreamRes;
    expect(upstream.writableEnded).toBe(false);
    const chunk = (content: string | null, finish: string | null, usage?: object) =>
      `data: ${JSON.stringify({
        id: 'c1',
        object: 'chat.completion.chunk',
        created: 0,
        model: 'mock-model',
        choices: usage ? [] : [{ index: 0, delta: content === null ? {} : { content }, finish_reason: finish }],
        ...(usage ? { usage } : {}),
      })}\n\n`;
    upstream.write(chunk('Hello', null));
    upstream.write(chunk(null, 'stop'));
    upstream.end(chunk(null, null, { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 }) + 'data: [DONE]\n\n');
    const text = await res.text();
    expect(text).toContain('"content":"Hello"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    await h.recorder.drain();
    const call = await h.prisma.modelCall.findFirstOrThrow({ where: { userId: tenant.userId } });
    expect(call).toMatchObject({ status: 'success', stream: true, promptTokens: 5, completionTokens: 1 });
  });
});
