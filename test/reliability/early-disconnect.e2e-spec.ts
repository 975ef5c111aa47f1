/**
 * A client that leaves after its request went to the provider, but before the provider's first
 * byte, is billed for its prompt (`aborted`), not let off as a free `failed` call.
 */
import { Decimal } from '../../src/common/decimal';
import { countPromptTokens } from '../../src/metering/token-counter';
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';

describe('client leaving before the first byte', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('earlyleave');
    await createDevProvider(h, { inputRate: '0.5', outputRate: '1.5' });
  });

  afterAll(async () => {
    await h?.close();
  });

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
    });
  }
});
