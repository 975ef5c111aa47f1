/**
 * The console served by the api (src/console/console-static.ts, docs/console.md): files of a build
 * with their cache headers, ETag/304 and gzip, the single-page fallback, 404 for a missing asset,
 * security headers, request ids; and a clear 503 when no build is there. A small fake build in a
 * temporary folder stands in for dist/console (CONSOLE_DIST_DIR), so the suite does not need Vite.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import request from 'supertest';
import { ASSET_CACHE_CONTROL } from '../src/console/console-static';
import { Harness, startHarness } from './support/gateway-harness';

const INDEX = '<!doctype html><html><head><script type="module" src="/console/assets/index-AbC123.js"></script></head><body></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

function fakeBuild(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-console-'));
  fs.mkdirSync(path.join(dir, 'assets'));
  fs.writeFileSync(path.join(dir, 'index.html'), INDEX);
  fs.writeFileSync(path.join(dir, 'assets', 'index-AbC123.js'), SCRIPT);
  fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

describe('console static files', () => {
  let h: Harness;
  let dir: string;

  beforeAll(async () => {
    dir = fakeBuild();
    h = await startHarness('console_static', { CONSOLE_DIST_DIR: dir });
  });

  afterAll(async () => {
    await h?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at /console and /console/ with no-cache and the security headers', async () => {
    for (const p of ['/console', '/console/']) {
      const res = await request(h.baseUrl).get(p).expect(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.text).toBe(INDEX);
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const csp = res.headers['content-security-policy'] as string;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    }
  });

  it('answers index.html for any console route (single-page fallback), query string included', async () => {
    for (const p of ['/console/usage', '/console/admin/users/123?tab=keys', '/console/keys/']) {
      const res = await request(h.baseUrl).get(p).expect(200);
      expect(res.text).toBe(INDEX);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  it('serves hashed assets for a year, immutable, with a strong ETag, 304 on If-None-Match, and gzip when accepted', async () => {
    const plain = await request(h.baseUrl).get('/console/assets/index-AbC123.js').set('accept-encoding', 'identity').expect(200);
    expect(plain.headers['cache-control']).toBe(ASSET_CACHE_CONTROL);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe(SCRIPT);
    const etag = plain.headers['etag'] as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    await request(h.baseUrl).get('/console/assets/index-AbC123.js').set('if-none-match', etag).expect(304);

    // raw HTTP: supertest would decompress the body
    const gz = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get(`${h.baseUrl}/console/assets/index-AbC123.js`, { headers: { 'accept-encoding': 'gzip, br' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['vary']).toContain('accept-encoding');
    expect(gz.body.length).toBeLessThan(SCRIPT.length / 4);
    expect(gunzipSync(gz.body).toString('utf8')).toBe(SCRIPT);
  });

  it('serves other files of the build with no-cache', async () => {
    const res = await request(h.baseUrl).get('/console/favicon.svg').expect(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('answers 404 (JSON, not index.html) for a missing asset and for path tricks', async () => {
    const missing = await request(h.baseUrl).get('/console/assets/index-Gone99.js').expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, code: 'not_found' });
    expect(missing.body.requestId).toBe(missing.headers['x-request-id']);
    for (const p of ['/console/%2e%2e/package.json', '/console/assets/%2e%2e%2f..%2fpackage.json', '/console/%E0%A4%A']) {
      const res = await request(h.baseUrl).get(p);
      expect([400, 404]).toContain(res.status);
      expect(res.text).not.toContain('"dependencies"');
    }
  });

  it('HEAD answers the headers without a body', async () => {
    const res = await request(h.baseUrl).head('/console/usage').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text ?? '').toBe('');
  });

  it('leaves the API alone: /consoles is not the console, and API routes keep their answers', async () => {
    await request(h.baseUrl).get('/consoles').expect(404);
    const me = await request(h.baseUrl).get('/auth/me').expect(401);
    expect((me.body as { code: string }).code).toBe('unauthorized');
  });
});

describe('console not built', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('console_missing', { CONSOLE_DIST_DIR: path.join(os.tmpdir(), 'tollgate-console-does-not-exist') });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers 503 console_not_built as JSON on every console path, and the api keeps working', async () => {
    for (const p of ['/console', '/console/usage', '/console/assets/x.js']) {
      const res = await request(h.baseUrl).get(p).expect(503);
      expect(res.body).toMatchObject({ statusCode: 503, code: 'console_not_built' });
      expect(res.body.requestId).toBe(res.headers['x-request-id']);
    }
    await request(h.baseUrl).get('/healthz').expect(200);
  });
});
