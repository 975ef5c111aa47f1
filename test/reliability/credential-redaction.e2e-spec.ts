/**
 * A provider error that echoes Tollgate's credential never carries any part of it to the client or
 * the call log, even where the error text is cut to its length limit in the middle of the key.
 */
import { createDevProvider, createTenant, Harness, startHarness } from '../support/gateway-harness';
import { startStubUpstream, StubUpstream } from '../support/stub-upstream';

const SECRET = 'sk-live-REDACTME-0123456789abcdefghijklmnopqrstuvwxyz';

describe('credential redaction in relayed provider errors', () => {
  let h: Harness;
  let stub: StubUpstream;

  beforeAll(async () => {
    h = await startHarness('redaction');
    // The raw body is cut at 500 characters: put the key across that boundary.
    stub = await startStubUpstream((_req, res) => {
      const body = `${'x'.repeat(480)} key=${SECRET} was rejected`;
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(body);
    });
    await createDevProvider(h, { baseUrl: stub.url, credentials: [{ name: 'k', value: SECRET }] });
  });

  afterAll(async () => {
    await stub?.close();
    await h?.close();
  });

  it('redacts the whole key before cutting the text', async () => {
    const tenant = await createTenant(h, { credits: '1000' });
    const res = await fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    await h.recorder.drain();
    const call = await h.prisma.modelCall.findFirstOrThrow({ where: { userId: tenant.userId } });
    for (const seen of [text, call.errorMessage ?? '', h.logs.join('\n')]) {
      // No 8-character piece of the key survives anywhere.
      for (let i = 0; i + 8 <= SECRET.length; i++) expect(seen).not.toContain(SECRET.slice(i, i + 8));
    }
    expect(text).toContain('[redacted]');
  });
});
