/**
 * Counting tokens never freezes the api: a 1 MB prompt of one character (the tokenizer's worst
 * case) from a client that leaves early is counted off the event loop, in bounded work, while
 * /healthz keeps answering.
 */
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';
import { startStubUpstream, StubUpstream } from '../support/stub-upstream';

describe('tokenizer on a pathological prompt', () => {
  let h: Harness;
  let stub: StubUpstream;

  beforeAll(async () => {
    h = await startHarness('tokenizer');
    stub = await startStubUpstream(() => {
      /* never answers: the client leaves first */
    });
    await createDevProvider(h, { baseUrl: stub.url, inputRate: '0.000001', outputRate: '0.000001' });
  });

  afterAll(async () => {
    await stub?.close();
    await h?.close();
  });

  it('bills a 1 MB one-character prompt of a departed client while /healthz stays responsive', async () => {
    const tenant = await createTenant(h, { credits: '100000' });
    const abort = new AbortController();
    const pending = fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'a'.repeat(1024 * 1024) }] }),
      signal: abort.signal,
    }).catch(() => null);
    for (let i = 0; i < 500 && stub.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(stub.requests).toHaveLength(1);
    abort.abort();
    await pending;

    // Probe /healthz until the call is recorded (the prompt counted).
    const latencies: number[] = [];
    let call = null;
    const deadline = Date.now() + 50_000;
    while (!call && Date.now() < deadline) {
      const t0 = performance.now();
      const res = await fetch(`${h.baseUrl}/healthz`);
      latencies.push(performance.now() - t0);
      expect(res.status).toBe(200);
      call = await h.prisma.modelCall.findFirst({ where: { userId: tenant.userId } });
      if (!call) await new Promise((r) => setTimeout(r, 20));
    }
    expect(call).not.toBeNull();
    expect(call!.status).toBe('aborted');
    expect(call!.usageSource).toBe('tokenizer');
    // 1 MB of "a" is far more than 1,000 tokens and far fewer than one per byte.
    expect(call!.promptTokens).toBeGreaterThan(1_000);
    expect(call!.promptTokens).toBeLessThan(1024 * 1024);
    const worst = Math.max(...latencies);
    // Before counting moved off the event loop, /healthz froze for minutes here. The bound is
    // loose on purpose (a shared, noisy machine); the figure is printed for the record.
    console.log(
      `healthz while counting: ${latencies.length} probes, worst ${worst.toFixed(1)} ms: ${latencies.map((l) => l.toFixed(0)).join(' ')}`,
    );
    expect(worst).toBeLessThan(1_000);
  });
});
