/**
 * A client that stops reading a large stream does not make the api buffer the stream: the relay
 * waits for the socket to drain (it stops reading the provider), and drops the client after
 * STREAM_STALL_TIMEOUT_MS, billing what it was sent.
 */
import { request as httpRequest } from 'node:http';
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';

describe('slow streaming readers', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('slowreader', { STREAM_STALL_TIMEOUT_MS: '1000' });
    await createDevProvider(h, { inputRate: '0.001', outputRate: '0.001' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('stops reading the provider while the client does not read, then drops the client and bills what it was sent', async () => {
    const tenant = await createTenant(h, { credits: '100000' });
    const words = Number(process.env.SR_WORDS ?? 100_000);
    const body = JSON.stringify({
      model: 'mock-model',
      stream: true,
      max_tokens: 1_000_000,
      messages: [{ role: 'user', content: `#mock:words=${words}` }],
    });
    const url = new URL(`${h.baseUrl}/v1/chat/completions`);
    let received = 0;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.once('data', (c: Buffer) => {
          received += c.length;
          res.pause(); // stop reading: the socket's buffers fill up
        });
        res.on('error', () => undefined);
      },
    );
    req.on('error', () => undefined);
    req.end(body);
    let call = null;
    try {
      for (let i = 0; i < 1000 && !call; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await h.recorder.drain();
        call = await h.prisma.modelCall.findFirst({ where: { userId: tenant.userId } });
      }
    } finally {
      req.destroy();
    }
    expect(received).toBeGreaterThan(0);
    expect({ status: call!.status, code: call!.errorCode, message: call!.errorMessage }).toEqual({
      status: 'aborted',
      code: 'client_stalled',
      message: expect.any(String),
    });
    // Billed for what was relayed before the stall: a part of the completion, not all of it.
    expect(call!.completionTokens).toBeGreaterThan(0);
    expect(call!.completionTokens).toBeLessThan(words); // the whole completion is over 2 tokens a word
    expect(call!.credits.gt(0)).toBe(true);
  });
});
