/**
 * CORS and proxies (docs/operations.md "CORS and proxies"):
 * - with CORS_ORIGINS, a preflight or a request from a listed origin gets the CORS headers
 *   (credentials allowed, x-request-id and x-ratelimit-* exposed); any other origin gets none;
 *   without CORS_ORIGINS no answer carries CORS headers;
 * - with TRUST_PROXY naming the proxy's address, X-Forwarded-For decides the client IP (seen in the
 *   audit log's ip column and in login throttling per IP); without it the header is ignored.
 */
import request from 'supertest';
import { auditRowsOf, client } from './fixtures/accounts';
import { Harness, startHarness } from './support/gateway-harness';

const CONSOLE = 'https://console.example.com';
const OTHER = 'https://evil.example.net';

const corsHeaders = (headers: Record<string, string>) => Object.keys(headers).filter((k) => k.startsWith('access-control-'));

describe('CORS and trusted proxies', () => {
  let behind: Harness; // CORS_ORIGINS set, TRUST_PROXY = the loopback proxy
  let direct: Harness; // defaults: no CORS, no trusted proxy

  beforeAll(async () => {
    behind = await startHarness('cors_proxy', {
      CORS_ORIGINS: `${CONSOLE},https://other-console.example.com`,
      TRUST_PROXY: '127.0.0.1',
      LOGIN_MAX_FAILURES_PER_IP: '3',
    });
    direct = await startHarness('cors_proxy_direct', { LOGIN_MAX_FAILURES_PER_IP: '3' });
  });

  afterAll(async () => {
    await behind?.close();
    await direct?.close();
  });

  describe('CORS', () => {
    it('a preflight from a listed origin gets the CORS headers, credentials allowed', async () => {
      const res = await request(behind.baseUrl)
        .options('/admin/users')
        .set('origin', CONSOLE)
        .set('access-control-request-method', 'POST')
        .set('access-control-request-headers', 'authorization,content-type');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe(CONSOLE);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      expect(res.headers['access-control-allow-methods']).toContain('POST');
      expect(res.headers['access-control-allow-headers']).toBe('authorization,content-type');
      expect(res.headers.vary).toMatch(/origin/i);
    });

    it('an answer to a listed origin exposes x-request-id and the rate-limit headers', async () => {
      const res = await request(behind.baseUrl).get('/healthz').set('origin', CONSOLE).expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(CONSOLE);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      const exposed = String(res.headers['access-control-expose-headers'])
        .split(',')
        .map((h) => h.trim());
      expect(exposed).toEqual(
        expect.arrayContaining(['x-request-id', 'x-ratelimit-limit', 'x-ratelimit-remaining-requests', 'retry-after']),
      );
      // an error answer carries them too (the exception filter keeps the headers set before it)
      const refused = await request(behind.baseUrl).get('/admin/users').set('origin', CONSOLE).expect(401);
      expect(refused.headers['access-control-allow-origin']).toBe(CONSOLE);
    });

    it('another origin, or the same host on another scheme, gets no CORS header at all', async () => {
      for (const origin of [OTHER, 'http://console.example.com', `${CONSOLE}.evil.net`]) {
        const pre = await request(behind.baseUrl)
          .options('/admin/users')
          .set('origin', origin)
          .set('access-control-request-method', 'POST');
        expect([origin, corsHeaders(pre.headers)]).toEqual([origin, []]);
        const get = await request(behind.baseUrl).get('/healthz').set('origin', origin).expect(200);
        expect([origin, corsHeaders(get.headers)]).toEqual([origin, []]);
      }
    });

    it('without CORS_ORIGINS no answer carries CORS headers, even to a preflight', async () => {
      const pre = await request(direct.baseUrl).options('/admin/users').set('origin', CONSOLE).set('access-control-request-method', 'POST');
      expect(corsHeaders(pre.headers)).toEqual([]);
      const get = await request(direct.baseUrl).get('/healthz').set('origin', CONSOLE).expect(200);
      expect(corsHeaders(get.headers)).toEqual([]);
    });
  });

  describe('client IP', () => {
    const failLogin = (h: Harness, forwardedFor: string, login: string) =>
      client(h.baseUrl).post('/auth/login').set('x-forwarded-for', forwardedFor).send({ login, password: 'not the password 0123' });

    it('behind a trusted proxy, X-Forwarded-For is the client IP in the audit log', async () => {
      const res = await failLogin(behind, '203.0.113.7', 'nobody-1@example.com').expect(401);
      const rows = await auditRowsOf(behind, res);
      expect(rows.map((r) => [r.action, r.ip])).toEqual([['auth.login', '203.0.113.7']]);
    });

    it('behind a trusted proxy, login throttling counts per forwarded IP', async () => {
      for (let i = 0; i < 3; i++) await failLogin(behind, '198.51.100.20', `throttle-${i}@example.com`).expect(401);
      await failLogin(behind, '198.51.100.20', 'throttle-x@example.com').expect(429);
      // another client behind the same proxy is not throttled
      await failLogin(behind, '198.51.100.21', 'throttle-y@example.com').expect(401);
    });

    it('without TRUST_PROXY, X-Forwarded-For is ignored: the peer address counts', async () => {
      const res = await failLogin(direct, '203.0.113.7', 'nobody-2@example.com').expect(401);
      const rows = await auditRowsOf(direct, res);
      expect(rows.map((r) => [r.action, r.ip])).toEqual([['auth.login', '127.0.0.1']]);
      // failures sent with different forwarded addresses all count against the one peer
      await failLogin(direct, '198.51.100.31', 'spoof-1@example.com').expect(401);
      await failLogin(direct, '198.51.100.32', 'spoof-2@example.com').expect(401);
      await failLogin(direct, '198.51.100.33', 'spoof-3@example.com').expect(429);
    });
  });
});
