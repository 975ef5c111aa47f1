/**
 * The gateway's HTTP front (src/gateway/gateway-http-front.ts): the two call routes are answered
 * ahead of Fastify, with the same answers as through Fastify. Every case is sent twice: to the
 * exact path (the front) and with a query string (which the front leaves to Fastify, and the
 * route ignores), and the answers compared; the front's `served` count says which path answered.
 */
import * as http from 'node:http';
import { gatewayFrontOf } from '../src/app.factory';
import { GatewayHttpFront } from '../src/gateway/gateway-http-front';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from './support/gateway-harness';

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

describe('gateway HTTP front', () => {
  let h: Harness;
  let front: GatewayHttpFront;
  let tenant: Tenant;
  let broke: Tenant;

  /** A request sent byte for byte; `chunked` sends the body without a content-length. */
  const send = (
    path: string,
    body: string | Buffer | null,
    headers: Record<string, string> = {},
    opts: { method?: string; chunked?: boolean } = {},
  ): Promise<RawAnswer> =>
    new Promise((resolve, reject) => {
      const url = new URL(h.baseUrl);
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method: opts.method ?? 'POST',
          headers: {
            'content-type': 'application/json',
            ...(body === null
              ? {}
              : opts.chunked
                ? { 'transfer-encoding': 'chunked' }
                : { 'content-length': String(Buffer.byteLength(body)) }),
            ...headers,
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(parts).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body ?? undefined);
    });

  const auth = (t: Tenant) => ({ authorization: `Bearer ${t.key}` });
  const chat = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }], ...extra });

  /** The same request through the front and through Fastify: both answers, and which path served each. */
  async function both(path: string, body: string | Buffer | null, headers: Record<string, string>, id: string) {
    const before = front.served;
    const viaFront = await send(path, body, { ...headers, 'x-request-id': `${id}-front` });
    const servedByFront = front.served - before;
    const viaFastify = await send(`${path}?via=fastify`, body, { ...headers, 'x-request-id': `${id}-fastify` });
    expect([id, servedByFront, front.served - before]).toEqual([id, 1, 1]);
    return { viaFront, viaFastify };
  }

  beforeAll(async () => {
    h = await startHarness('gateway_front');
    front = gatewayFrontOf(h.app)!;
    await createDevProvider(h);
    tenant = await createTenant(h, { credits: '1000000' });
    broke = await createTenant(h, { credits: '0' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('serves calls itself, non-streaming, streaming and embeddings, as Fastify would', async () => {
    const { viaFront, viaFastify } = await both('/v1/chat/completions', chat(), auth(tenant), 'front-ok');
    expect([viaFront.status, viaFastify.status]).toEqual([200, 200]);
    expect(viaFront.headers['x-request-id']).toBe('front-ok-front');
    expect(viaFront.headers['content-type']).toBe(viaFastify.headers['content-type']);
    const a = JSON.parse(viaFront.text) as { object: string; usage: unknown; choices: unknown[] };
    const b = JSON.parse(viaFastify.text) as { object: string; usage: unknown; choices: unknown[] };
    expect([a.object, a.usage, a.choices]).toEqual([b.object, b.usage, b.choices]);

    const stream = await both('/v1/chat/completions', chat({ stream: true }), auth(tenant), 'front-stream');
    expect(stream.viaFront.status).toBe(200);
    expect(stream.viaFront.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.viaFront.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(stream.viaFront.text.split('\n\n').length).toBe(stream.viaFastify.text.split('\n\n').length);

    const embed = await both('/v1/embeddings', JSON.stringify({ model: 'mock-embed', input: 'hello' }), auth(tenant), 'front-embed');
    expect([embed.viaFront.status, embed.viaFastify.status]).toEqual([200, 200]);

    // every one of them recorded and billed, by request id
    const recorded = await h.prisma.pool.query<{ request_id: string; status: string }>(
      `SELECT request_id, status FROM model_calls WHERE request_id LIKE 'front-%' ORDER BY request_id`,
    );
    expect(recorded.rows).toEqual(
      ['front-embed-fastify', 'front-embed-front', 'front-ok-fastify', 'front-ok-front', 'front-stream-fastify', 'front-stream-front'].map(
        (request_id) => ({ request_id, status: 'success' }),
      ),
    );
  });

  it('refusals: the same status, body and headers as through Fastify', async () => {
    const deep = `{"model":"mock-model","messages":${'['.repeat(200)}${']'.repeat(200)}}`;
    const cases: [string, string | Buffer | null, Record<string, string>, number, string][] = [
      ['no-key', chat(), {}, 401, 'missing_api_key'],
      ['bad-key', chat(), { authorization: 'Bearer tg-not-a-key' }, 401, 'invalid_api_key'],
      ['nul-byte', Buffer.from('{"model":"mock-model\u0000","messages":[]}'), auth(tenant), 400, 'invalid_text'],
      ['nul-escape', '{"model":"mock-model\\u0000","messages":[]}', auth(tenant), 400, 'invalid_text'],
      ['lone-surrogate', '{"model":"\\ud800","messages":[]}', auth(tenant), 400, 'invalid_text'],
      ['bad-utf8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), auth(tenant), 400, 'invalid_text'],
      ['too-deep', deep, auth(tenant), 400, 'json_too_deep'],
      ['malformed', '{"model":', auth(tenant), 400, 'invalid_request'],
      ['proto', '{"__proto__":{"admin":true},"model":"mock-model","messages":[]}', auth(tenant), 400, 'invalid_request'],
      ['blank', '   ', auth(tenant), 400, 'invalid_request_error'],
      ['no-messages', chat({ messages: [] }), auth(tenant), 400, 'invalid_request_error'],
      ['unknown-model', chat({ model: 'no-such-model' }), auth(tenant), 404, 'model_not_found'],
      ['no-credits', chat(), auth(broke), 402, 'insufficient_credits'],
    ];
    for (const [id, body, headers, status, code] of cases) {
      const { viaFront, viaFastify } = await both('/v1/chat/completions', body, headers, `front-refusal-${id}`);
      const err = (JSON.parse(viaFront.text) as { error: { code: string; type: string } }).error;
      expect([id, viaFront.status, [err.code, err.type]]).toEqual([id, status, expect.arrayContaining([code])]);
      expect([id, viaFastify.status, JSON.parse(viaFastify.text)]).toEqual([id, viaFront.status, JSON.parse(viaFront.text)]);
      for (const header of ['content-type', 'content-length', 'retry-after'])
        expect([id, header, viaFront.headers[header]]).toEqual([id, header, viaFastify.headers[header]]);
      expect(viaFront.headers['x-request-id']).toBe(`front-refusal-${id}-front`);
    }
  });

  it('leaves other requests to Fastify: other methods, media types, declared bodies over the limit', async () => {
    const before = front.served;
    const xml = await send('/v1/chat/completions', chat(), { ...auth(tenant), 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    const get = await send('/v1/chat/completions', null, auth(tenant), { method: 'GET' });
    expect(get.status).toBe(404);
    const trailing = await send('/v1/chat/completions/', chat(), auth(tenant));
    expect(trailing.status).toBe(404);
    expect(front.served).toBe(before);
  });

  it('a body past the limit: 413 request_too_large, whether declared (Fastify) or streamed (the front), and the connection closed', async () => {
    const limit = 32 * 1024 * 1024;
    const big = Buffer.alloc(limit + 1024, 0x20);
    const before = front.served;
    const streamed = await send('/v1/chat/completions', big, auth(tenant), { chunked: true });
    expect(front.served).toBe(before + 1);
    expect(streamed.status).toBe(413);
    expect(streamed.headers.connection).toBe('close');
    expect(JSON.parse(streamed.text)).toEqual({
      error: { message: 'Request body is too large', type: 'invalid_request_error', param: null, code: 'request_too_large' },
    });
    const declared = await send('/v1/chat/completions', big, auth(tenant));
    expect(front.served).toBe(before + 1);
    expect([declared.status, JSON.parse(declared.text)]).toEqual([413, JSON.parse(streamed.text)]);
  });

  it('a client that leaves while sending its body: nothing answered, nothing recorded, the api serves on', async () => {
    const calls = async () => Number((await h.prisma.pool.query<{ n: string }>('SELECT count(*) AS n FROM model_calls')).rows[0].n);
    const recorded = await calls();
    const before = front.served;
    const url = new URL(h.baseUrl);
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: url.hostname,
        port: url.port,
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '10000', ...auth(tenant) },
      });
      req.on('error', () => resolve());
      req.write('{"model":"mock-model","messages":[');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    expect(front.served).toBe(before + 1);
    const after = await send('/v1/chat/completions', chat(), auth(tenant));
    expect(after.status).toBe(200);
    expect(await calls()).toBe(recorded + 1);
  });

  it('Expect: 100-continue (curl sends it for bodies over 1 kB): the body is asked for and the call served', async () => {
    const before = front.served;
    const url = new URL(h.baseUrl);
    const body = chat({ messages: [{ role: 'user', content: 'x'.repeat(4000) }] });
    const answer = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length), expect: '100-continue', ...auth(tenant) },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, continued }));
        },
      );
      req.on('continue', () => {
        continued = true;
        req.end(body);
      });
      req.on('error', reject);
    });
    expect(answer).toEqual({ status: 200, continued: true });
    expect(front.served).toBe(before + 1);
  });

  it('lines written during a call carry its request id; its request line has the pino-http shape, the key censored', async () => {
    const provider = await h.providers.createProvider({ name: 'deadup', displayName: 'Unreachable', baseUrl: 'http://127.0.0.1:9/v1' });
    await h.providers.addCredential(provider.id, { name: 'Dead Key', value: 'sk-dead-upstream-secret-1234' });
    await h.providers.addModelRate(provider.id, { model: 'dead-model', inputRate: '1', outputRate: '1' });
    const id = 'front-log-dead-upstream';
    const before = front.served;
    const res = await send('/v1/chat/completions', chat({ model: 'dead-model' }), { ...auth(tenant), 'x-request-id': id });
    expect(front.served).toBe(before + 1);
    expect(res.status).toBe(502);
    let mine: { level: number; msg?: string; context?: string; req?: { id?: string; headers?: Record<string, unknown> }; res?: unknown }[] =
      [];
    for (let i = 0; i < 100; i++) {
      mine = h.logs
        .flatMap((c) => c.split('\n'))
        .filter((l) => l.includes(id))
        .map((l) => JSON.parse(l) as (typeof mine)[number]);
      if (mine.some((l) => l.msg === 'request errored')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(mine.every((l) => l.req?.id === id)).toBe(true);
    const forwarder = mine.find((l) => l.context === 'UpstreamForwarder');
    expect(forwarder?.level).toBe(40);
    // the exception filter's line for the 502 (a failed dependency, at warn) carries it too
    const filter = mine.find((l) => l.context === 'Errors');
    expect(filter).toMatchObject({ level: 40, req: { id } });
    expect(filter?.msg).toMatch(/answered 502 upstream_unreachable/);
    const line = mine.find((l) => l.msg === 'request errored');
    expect(line).toMatchObject({ level: 40, req: { id, method: 'POST', url: '/v1/chat/completions' }, res: { statusCode: 502 } });
    expect(line?.req?.headers?.authorization).toBe('[redacted]');
    expect(h.logs.join('')).not.toContain(tenant.key);
  });
});
