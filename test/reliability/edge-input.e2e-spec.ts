/**
 * Input refused or normalised at the HTTP edge, before any handler runs (src/app.factory.ts):
 * NUL characters in JSON bodies, query values and path parameters; invalid UTF-8; JSON nested
 * too deeply; empty query values (= no filter); empty JSON bodies (= no body). Errors keep each
 * route family's shape: OpenAI's on /v1/*, `{statusCode, code, message}` elsewhere.
 */
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import request from 'supertest';
import { MAX_JSON_DEPTH } from '../../src/app.factory';
import { createDevProvider, Harness, startHarness } from '../support/gateway-harness';
import { Decimal } from '../../src/common/decimal';

const PASSWORD = 'edge input password 0123456789';

describe('edge input', () => {
  let h: Harness;
  let admin: string;
  let user: { id: string; did: string; token: string; key: string };
  let providerId: string;

  const login = async (l: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: l, password: PASSWORD }).expect(200)).body.accessToken as string;
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  /** A raw request: the body is sent byte for byte, the URL as written (no re-encoding). */
  const raw = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(h.baseUrl + path, { method, body, headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers } });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json = (r: Response): Promise<any> => r.json();
  const callCount = async () => Number((await h.prisma.pool.query('SELECT count(*) AS n FROM model_calls')).rows[0].n);

  beforeAll(async () => {
    h = await startHarness('edge_input');
    ({
      provider: { id: providerId },
    } = await createDevProvider(h));
    await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD });
    const u = await h.users.create({ email: 'user@example.com', password: PASSWORD });
    await h.ledger.grant({ userId: u.id, amount: new Decimal('100000'), reason: 'test grant' });
    const key = await h.keys.create(u.id, { name: 'k', allowedModels: [] });
    user = { id: u.id, did: u.did, token: await login('user@example.com'), key: key.secret };
    admin = await login('admin@example.com');
    // one call in the call log
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, provider_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, app_did, request_id, created_at)
       VALUES ($1, $2, $3, 'mock-model', 'chatCompletion', 'success', 10, 20, 30, '1.5', 50, 'zApp1', 'req-edge-1', now())`,
      [randomUUID(), u.id, providerId],
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('NUL and invalid text', () => {
    const expectInvalidText = async (res: Response) => {
      const body = await json(res);
      expect({ status: res.status, body }).toEqual({
        status: 400,
        body: { statusCode: 400, code: 'invalid_text', message: expect.any(String), requestId: expect.any(String) },
      });
    };

    it('refuses a \\u0000 escape in a JSON body on every route family, before authentication', async () => {
      await expectInvalidText(await raw('POST', '/auth/login', '{"login":"a\\u0000b","password":"x"}'));
      await expectInvalidText(await raw('POST', '/auth/login', '{"login":"admin@example.com","password":"x\\u0000"}'));
      // in a key, too
      await expectInvalidText(await raw('POST', '/auth/login', '{"log\\u0000in":"a","password":"x"}'));
      // not authenticated at all: still 400, the body is refused first
      await expectInvalidText(await raw('POST', '/admin/credits/grants', JSON.stringify({ userDid: 'did\u0000', amount: 1, reason: 'r' })));
    });

    it('refuses NUL in admin bodies (credit grant userDid/reason, recalculate-stats userDid); nothing is written', async () => {
      const before = await h.prisma.creditGrant.count();
      await expectInvalidText(
        await raw('POST', '/admin/credits/grants', JSON.stringify({ userDid: `${user.did}\u0000`, amount: 1, reason: 'r' }), auth(admin)),
      );
      await expectInvalidText(
        await raw('POST', '/admin/credits/grants', JSON.stringify({ userDid: user.did, amount: 1, reason: 'bonus\u0000' }), auth(admin)),
      );
      await expectInvalidText(
        await raw('POST', '/user/recalculate-stats', JSON.stringify({ userDid: `x\u0000`, startTime: 0, endTime: 3600 }), auth(admin)),
      );
      expect(await h.prisma.creditGrant.count()).toBe(before);
    });

    it('refuses a raw NUL byte and invalid UTF-8 in a JSON body', async () => {
      await expectInvalidText(await raw('POST', '/auth/login', Buffer.from('{"login":"a\u0000","password":"x"}', 'utf8')));
      await expectInvalidText(
        await raw(
          'POST',
          '/auth/login',
          Buffer.concat([Buffer.from('{"login":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('","password":"x"}')]),
        ),
      );
    });

    it('accepts an escaped backslash followed by "u0000" (no NUL there)', async () => {
      const res = await raw('POST', '/auth/login', '{"login":"a\\\\u0000","password":"x"}');
      expect(res.status).toBe(401);
      expect((await json(res)).code).toBe('invalid_credentials');
    });

    it('refuses NUL in query values: model-calls search/model/appDid, rate filters', async () => {
      for (const q of ['search=a%00b', 'model=gpt%00', 'appDid=z%00', 'search=ok&model=%00']) {
        await expectInvalidText(await raw('GET', `/user/model-calls?${q}`, undefined, auth(user.token)));
        await expectInvalidText(await raw('GET', `/user/model-calls/export?${q}`, undefined, auth(user.token)));
      }
      await expectInvalidText(await raw('GET', '/ai-providers/model-rates?model=a%00b', undefined, auth(user.token)));
      await expectInvalidText(await raw('GET', '/ai-providers/rate-history?model=a%00b', undefined, auth(admin)));
      // a repeated parameter: every value is checked
      await expectInvalidText(await raw('GET', '/user/model-calls?model=a&model=b%00', undefined, auth(user.token)));
      // a NUL in a query key
      await expectInvalidText(await raw('GET', '/user/model-calls?mo%00del=a', undefined, auth(user.token)));
      // unauthenticated: still refused first
      await expectInvalidText(await raw('GET', '/user/model-calls?search=a%00b'));
    });

    it('refuses NUL in a path parameter', async () => {
      await expectInvalidText(await raw('DELETE', `/ai-providers/${providerId}%00`, undefined, auth(admin)));
      expect(await h.prisma.aiProvider.count({ where: { id: providerId } })).toBe(1);
    });

    it('a NUL in a header value never reaches the app (the HTTP parser refuses it)', async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = net.connect(new URL(h.baseUrl).port as unknown as number, '127.0.0.1');
        let data = '';
        s.on('data', (d) => (data += d.toString('latin1')));
        s.on('end', () => resolve(data));
        s.on('error', reject);
        s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-App-Did: a\u0000b\r\nConnection: close\r\n\r\n`, 'latin1');
      });
      expect(answer.startsWith('HTTP/1.1 400')).toBe(true);
    });

    it('POST /v1/chat/completions with model "x\\u0000": 400 in OpenAI shape, not recorded in model_calls', async () => {
      const before = await callCount();
      const res = await raw(
        'POST',
        '/v1/chat/completions',
        JSON.stringify({ model: 'x\u0000', messages: [{ role: 'user', content: 'hi' }] }),
        auth(user.key),
      );
      expect(res.status).toBe(400);
      expect(await json(res)).toEqual({
        error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_text' },
      });
      const inContent = await raw(
        'POST',
        '/v1/chat/completions',
        JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'a\u0000b' }] }),
        auth(user.key),
      );
      expect(inContent.status).toBe(400);
      expect((await json(inContent)).error.code).toBe('invalid_text');
      const query = await raw('GET', '/v1/models?x=%00', undefined, auth(user.key));
      expect(query.status).toBe(400);
      expect((await json(query)).error.code).toBe('invalid_text');
      await h.recorder.drain();
      expect(await callCount()).toBe(before);
    });
  });

  describe('JSON nesting depth', () => {
    const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

    it(`refuses a body nested deeper than ${MAX_JSON_DEPTH} levels with 400 json_too_deep`, async () => {
      for (const body of [
        nested(10_000),
        nested(MAX_JSON_DEPTH + 1),
        `{"login":${nested(10_000)},"password":"x"}`,
        `{"a":`.repeat(5000) + '1' + '}'.repeat(5000),
      ]) {
        const res = await raw('POST', '/auth/login', body);
        expect(res.status).toBe(400);
        expect(await json(res)).toEqual({
          statusCode: 400,
          requestId: expect.any(String),
          code: 'json_too_deep',
          message: expect.stringContaining(String(MAX_JSON_DEPTH)),
        });
      }
      const v1 = await raw('POST', '/v1/chat/completions', `{"model":"mock-model","messages":${nested(10_000)}}`, auth(user.key));
      expect(v1.status).toBe(400);
      expect((await json(v1)).error).toMatchObject({ type: 'invalid_request_error', code: 'json_too_deep' });
    });

    it('keeps the body size limit (413 request_too_large)', async () => {
      const res = await raw('POST', '/auth/login', Buffer.alloc(33 * 1024 * 1024, 0x20));
      expect(res.status).toBe(413);
      expect((await json(res)).code).toBe('request_too_large');
    });

    it(`accepts exactly ${MAX_JSON_DEPTH} levels; brackets inside strings do not count`, async () => {
      // reaches validation (400 validation_failed), not the depth check
      const atLimit = await raw('POST', '/auth/login', nested(MAX_JSON_DEPTH));
      expect(atLimit.status).toBe(400);
      expect((await json(atLimit)).code).toBe('validation_failed');
      const inString = await raw('POST', '/auth/login', JSON.stringify({ login: '['.repeat(300) + '"\\{', password: 'x' }));
      expect(inString.status).toBe(401);
    });
  });

  describe('empty query values mean "no filter"', () => {
    it('model calls list and export: every filter empty, page/pageSize reused by export', async () => {
      const empty = 'startTime=&endTime=&search=&status=&model=&providerId=&appDid=&allUsers=';
      const list = await raw('GET', `/user/model-calls?${empty}&page=&pageSize=`, undefined, auth(user.token));
      expect(list.status).toBe(200);
      const body = await json(list);
      expect(body.count).toBe(1);
      expect(body.paging).toEqual({ page: 1, pageSize: 50 });
      const exp = await raw('GET', `/user/model-calls/export?${empty}&page=2&pageSize=10`, undefined, auth(user.token));
      expect(exp.status).toBe(200);
      expect((await exp.text()).trim().split('\n')).toHaveLength(2); // header + the one call, page ignored
      const exp2 = await raw('GET', `/user/model-calls/export?page=&pageSize=`, undefined, auth(user.token));
      expect(exp2.status).toBe(200);
      await exp2.text();
      // whitespace-only is empty too
      expect((await raw('GET', '/user/model-calls?model=%20&status=%20', undefined, auth(user.token))).status).toBe(200);
      // a non-empty bad value is still refused
      const bad = await raw('GET', '/user/model-calls?status=bogus', undefined, auth(user.token));
      expect(bad.status).toBe(400);
      expect((await json(bad)).code).toBe('validation_failed');
    });

    it('model-rates list, rate history, credit transactions', async () => {
      await request(h.baseUrl)
        .post(`/ai-providers/${providerId}/model-rates`)
        .set(auth(admin))
        .send({ model: 'hist-model', inputRate: 1, outputRate: 2 })
        .expect(201);
      const rates = await raw('GET', '/ai-providers/model-rates?model=&providerId=&page=&pageSize=', undefined, auth(user.token));
      expect(rates.status).toBe(200);
      expect((await json(rates)).count).toBe(3);
      const hist = await raw('GET', '/ai-providers/rate-history?rateId=&providerId=&model=', undefined, auth(admin));
      expect(hist.status).toBe(200);
      expect((await json(hist)).count).toBe(1);
      const tx = await raw('GET', '/user/credit/transactions?type=&page=', undefined, auth(user.token));
      expect(tx.status).toBe(200);
      expect((await json(tx)).count).toBeGreaterThanOrEqual(1);
      const grants = await raw('GET', '/user/credit/grants?page=&pageSize=', undefined, auth(user.token));
      expect(grants.status).toBe(200);
      await grants.text();
    });
  });

  describe('empty JSON body', () => {
    it('a DELETE with Content-Type: application/json and no body is accepted', async () => {
      const p = await h.providers.createProvider({
        name: `gone-${randomUUID().slice(0, 8)}`,
        displayName: 'Gone',
        baseUrl: 'http://127.0.0.1:9/v1',
      });
      // unauthenticated: 401, so the body was not what stopped it
      const anon = await raw('DELETE', `/ai-providers/${p.id}`, '', {});
      expect(anon.status).toBe(401);
      const res = await raw('DELETE', `/ai-providers/${p.id}`, '', auth(admin));
      expect(res.status).toBe(204);
      expect(await h.prisma.aiProvider.count({ where: { id: p.id } })).toBe(0);
      // a POST with an empty JSON body is a validation error, not a parse error
      const post = await raw('POST', '/auth/login', '');
      expect(post.status).toBe(400);
      expect((await json(post)).code).toBe('validation_failed');
    });
  });
});
