/**
 * A client that leaves after its request went to the provider, but before the provider's first
 * byte, is billed for its prompt (`aborted`), not let off as a free `failed` call. That is a
 * client's doing, not a fault: nothing is logged at error level, also when it leaves while the
 * provider's answer is arriving (after its headers, before the end of its body).
 */
import { Decimal } from '../../src/common/decimal';
import { countPromptTokens } from '../../src/metering/token-counter';
import { createDevProvider, createTenant, Harness, startHarness, UPSTREAM_SECRET } from '../support/gateway-harness';
import { startStubUpstream, StubUpstream } from '../support/stub-upstream';

describe('client leaving before the first byte', () => {
  let h: Harness;
  /** answers 200 with half a JSON body, then waits (the rest never comes while the client waits) */
  let halfBody: StubUpstream;

  beforeAll(async () => {
    h = await startHarness('earlyleave');
    await createDevProvider(h, { inputRate: '0.5', outputRate: '1.5' });
    halfBody = await startStubUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"id":"chatcmpl-half","object":"chat.completion","choices":[');
      setTimeout(() => res.destroy(), 5_000);
    });
    await createDevProvider(h, {
      name: 'halfbody',
      baseUrl: halfBody.url,
      inputRate: '0.5',
      outputRate: '1.5',
      credentials: [{ name: 'stub', value: UPSTREAM_SECRET }],
    });
  });

  afterAll(async () => {
    await h?.close();
    await halfBody?.close();
  });

  /** Lines at error level written since `from` (an index into h.logs). */
  const errorLinesSince = (from: number) =>
    h.logs
      .slice(from)
      .flatMap((l) => l.split('\n').filter(Boolean))
      .map((l) => JSON.parse(l) as { level: number; msg?: string })
      .filter((l) => l.level >= 50)
      .map((l) => l.msg);

  async function leaveEarly(key: string, body: object): Promise<void> {
    const abort = new AbortController();
    const pending = fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: abort.signal,
    }).catch((err: Error) => err);
    // Wait until the provider has the request, then leave.
    for (let i = 0; i < 200 && h.upstream.stats.requests === before; i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await pending;
  }
  let before = 0;

  for (const stream of [false, true]) {
    it(`bills the prompt as aborted (${stream ? 'stream' : 'non-stream'})`, async () => {
      const tenant = await createTenant(h, { credits: '1000' });
      const logsBefore = h.logs.length;
      const messages = [{ role: 'user', content: `Tell me a long story about lighthouses ${stream} #mock:latency=1500` }];
      before = h.upstream.stats.requests;
      await leaveEarly(tenant.key, { model: 'mock-model', messages, stream });
      let call = null;
      for (let i = 0; i < 300 && !call; i++) {
        await h.recorder.drain();
        call = await h.prisma.modelCall.findFirst({ where: { userId: tenant.userId } });
        if (!call) await new Promise((r) => setTimeout(r, 20));
      }
      expect(call).not.toBeNull();
      expect(call!.status).toBe('aborted');
      expect(call!.errorCode).toBe('client_closed');
      const promptTokens = countPromptTokens(messages);
      expect(call!.promptTokens).toBe(promptTokens);
      expect(call!.completionTokens).toBe(0);
      const expected = new Decimal('0.5').mul(promptTokens);
      expect(call!.credits.toFixed()).toBe(expected.toFixed());
      await h.recorder.drain();
      const balance = await h.ledger.balance(tenant.userId);
      expect(balance.toFixed()).toBe(new Decimal(1000).sub(expected).toFixed());
      const account = await h.prisma.creditAccount.findUniqueOrThrow({ where: { userId: tenant.userId } });
      expect(account.held.toFixed()).toBe('0');
      // The abort reaches the client's (closed) response after the record: give it a moment.
      await new Promise((r) => setTimeout(r, 200));
      expect(errorLinesSince(logsBefore)).toEqual([]);
    });
  }

  it('a client leaving while the answer body arrives is recorded aborted, and nothing is logged as an error', async () => {
    // The key may use the stub's provider only, so the call goes there.
    const tenant = await createTenant(h, { credits: '1000', allowedModels: ['halfbody/*'] });
    const logsBefore = h.logs.length;
    const sent = halfBody.requests.length;
    const abort = new AbortController();
    const pending = fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
      signal: abort.signal,
    }).catch((err: Error) => err);
    for (let i = 0; i < 200 && halfBody.requests.length === sent; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100)); // the half body is in the gateway's hands
    abort.abort();
    await pending;
    let call = null;
    for (let i = 0; i < 300 && !call; i++) {
      await h.recorder.drain();
      call = await h.prisma.modelCall.findFirst({ where: { userId: tenant.userId } });
      if (!call) await new Promise((r) => setTimeout(r, 20));
    }
    expect(call?.status).toBe('aborted');
    expect(call?.errorCode).toBe('client_closed');
    await new Promise((r) => setTimeout(r, 200));
    expect(errorLinesSince(logsBefore)).toEqual([]);
  });
});
