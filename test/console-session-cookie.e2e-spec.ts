/**
 * The console's session cookie (docs/api/auth.md "Session cookie", src/auth/session-cookie.ts)
 * through the real HTTP stack: set at login and password change, cleared at logout, accepted when
 * no Authorization / X-API-Key header is sent, `Secure` only over https as TRUST_PROXY lets the
 * api see it, and cookie-only writes from another origin refused with 403 `csrf_origin_mismatch`.
 */
import request from 'supertest';
import { SESSION_COOKIE } from '../src/auth/session-cookie';
import { Harness, startHarness } from './support/gateway-harness';

const PASSWORD = 'cookie member password 1';

/** The Set-Cookie line of the session cookie (undefined when the answer sets none). */
function sessionSetCookie(res: request.Response): string | undefined {
  const raw = res.headers['set-cookie'] as unknown as string[] | string | undefined;
  const lines = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return lines.find((l) => l.startsWith(`${SESSION_COOKIE}=`));
}

/** The attributes of a Set-Cookie line, lower-cased names → values ('' for flags). */
function attributes(line: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of line.split(';').slice(1)) {
    const [name, ...value] = part.trim().split('=');
    map.set(name.toLowerCase(), value.join('='));
  }
  return map;
}

function cookieHeader(token: string): [string, string] {
  return ['cookie', `${SESSION_COOKIE}=${token}`];
}

describe('session cookie (no proxy trusted)', () => {
  let h: Harness;
  let email: string;

  beforeAll(async () => {
    h = await startHarness('console_cookie', { ACCESS_TOKEN_TTL_SECONDS: '1800' });
    email = `cookie-${Date.now()}@example.com`;
    await h.users.create({ email, fullName: 'Cookie Member', password: PASSWORD });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function login(): Promise<{ token: string; setCookie: string }> {
    const res = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
    const setCookie = sessionSetCookie(res);
    expect(setCookie).toBeDefined();
    return { token: (res.body as { accessToken: string }).accessToken, setCookie: setCookie! };
  }

  it('login sets an httpOnly, SameSite=Strict, Path=/ cookie holding the JWT for its lifetime, not Secure over http', async () => {
    const { token, setCookie } = await login();
    expect(setCookie.split(';')[0]).toBe(`${SESSION_COOKIE}=${token}`);
    const attrs = attributes(setCookie);
    expect(attrs.has('httponly')).toBe(true);
    expect(attrs.get('samesite')).toBe('Strict');
    expect(attrs.get('path')).toBe('/');
    expect(attrs.get('max-age')).toBe('1800');
    expect(attrs.has('secure')).toBe(false);
  });

  it('an X-Forwarded-Proto the api does not trust does not make the cookie Secure', async () => {
    const res = await request(h.baseUrl)
      .post('/auth/login')
      .set('x-forwarded-proto', 'https')
      .send({ login: email, password: PASSWORD })
      .expect(200);
    expect(attributes(sessionSetCookie(res)!).has('secure')).toBe(false);
  });

  it('a failed login sets no cookie', async () => {
    const res = await request(h.baseUrl).post('/auth/login').send({ login: email, password: 'wrong password!' }).expect(401);
    expect(sessionSetCookie(res)).toBeUndefined();
  });

  it('the cookie alone authenticates; an Authorization or X-API-Key header wins over it', async () => {
    const { token } = await login();
    const me = await request(h.baseUrl)
      .get('/auth/me')
      .set(...cookieHeader(token))
      .expect(200);
    expect(me.body).toMatchObject({ email, role: 'member', via: 'jwt', mustChangePassword: false });
    expect(typeof (me.body as { id: string }).id).toBe('string');

    // a bad bearer token next to a good cookie: the header is used, so 401
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...cookieHeader(token))
      .set('authorization', 'Bearer not-a-token')
      .expect(401);

    // an API key next to the cookie: the key acts (via api_key), not the cookie's session
    const other = await h.users.create({ email: `key-owner-${Date.now()}@example.com`, fullName: 'Key Owner', password: PASSWORD });
    const key = await h.keys.create(other.id, { name: 'reader', scopes: [] });
    const withKey = await request(h.baseUrl)
      .get('/user/keys')
      .set(...cookieHeader(token))
      .set('x-api-key', key.secret);
    expect(withKey.status).toBe(403);
    expect((withKey.body as { code: string }).code).toBe('insufficient_scope');
  });

  it('a bad or missing cookie is 401 unauthorized', async () => {
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...cookieHeader('garbage'))
      .expect(401);
    await request(h.baseUrl).get('/auth/me').expect(401);
  });

  it('cookie-only writes from another origin are refused with 403 csrf_origin_mismatch; own origin, no Origin and bearer pass', async () => {
    const { token } = await login();
    const evil = await request(h.baseUrl)
      .post('/user/keys')
      .set(...cookieHeader(token))
      .set('origin', 'https://evil.example')
      .send({ name: 'from evil' });
    expect(evil.status).toBe(403);
    expect(evil.body).toMatchObject({ statusCode: 403, code: 'csrf_origin_mismatch' });

    const nullOrigin = await request(h.baseUrl)
      .post('/user/keys')
      .set(...cookieHeader(token))
      .set('origin', 'null')
      .send({ name: 'sandboxed' });
    expect(nullOrigin.status).toBe(403);

    // reads are not refused, whatever the Origin
    await request(h.baseUrl)
      .get('/user/keys')
      .set(...cookieHeader(token))
      .set('origin', 'https://evil.example')
      .expect(200);

    const own = await request(h.baseUrl)
      .post('/user/keys')
      .set(...cookieHeader(token))
      .set('origin', h.baseUrl)
      .send({ name: 'from the console' });
    expect(own.status).toBe(201);
    const noOrigin = await request(h.baseUrl)
      .post('/user/keys')
      .set(...cookieHeader(token))
      .send({ name: 'no origin' });
    expect(noOrigin.status).toBe(201);
    const bearer = await request(h.baseUrl)
      .post('/user/keys')
      .set('authorization', `Bearer ${token}`)
      .set('origin', 'https://evil.example')
      .send({ name: 'bearer' });
    expect(bearer.status).toBe(201);
    const names = await h.prisma.apiKey.findMany({ where: { name: { in: ['from evil', 'sandboxed'] } } });
    expect(names).toEqual([]);
  });

  it('password change re-sets the cookie with the fresh token; the old cookie stops working', async () => {
    const { token } = await login();
    const res = await request(h.baseUrl)
      .post('/auth/password')
      .set(...cookieHeader(token))
      .set('origin', h.baseUrl)
      .send({ currentPassword: PASSWORD, newPassword: `${PASSWORD} new` })
      .expect(200);
    const fresh = (res.body as { accessToken: string }).accessToken;
    expect(sessionSetCookie(res)!.split(';')[0]).toBe(`${SESSION_COOKIE}=${fresh}`);
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...cookieHeader(token))
      .expect(401);
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...cookieHeader(fresh))
      .expect(200);
    // back to the shared password for the other tests
    await request(h.baseUrl)
      .post('/auth/password')
      .set(...cookieHeader(fresh))
      .send({ currentPassword: `${PASSWORD} new`, newPassword: PASSWORD })
      .expect(200);
  });

  it('logout and logout-all clear the cookie and end the session', async () => {
    for (const path of ['/auth/logout', '/auth/logout-all']) {
      const { token } = await login();
      const res = await request(h.baseUrl)
        .post(path)
        .set(...cookieHeader(token))
        .expect(204);
      const cleared = sessionSetCookie(res);
      expect(cleared).toBeDefined();
      expect(cleared!.split(';')[0]).toBe(`${SESSION_COOKIE}=`);
      const attrs = attributes(cleared!);
      expect(attrs.get('path')).toBe('/');
      const expires = attrs.get('expires');
      expect(attrs.get('max-age') === '0' || (expires !== undefined && new Date(expires).getTime() < Date.now())).toBe(true);
      await request(h.baseUrl)
        .get('/auth/me')
        .set(...cookieHeader(token))
        .expect(401);
    }
  });

  it('never logs the cookie or the token', async () => {
    const { token } = await login();
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...cookieHeader(token))
      .expect(200);
    await new Promise((r) => setTimeout(r, 200));
    const logs = h.logs.join('');
    expect(logs).toContain('/auth/me');
    expect(logs).not.toContain(token);
    expect(logs).not.toContain(token.split('.')[2]);
  });
});

describe('session cookie behind a trusted proxy', () => {
  let h: Harness;
  const email = `proxied-${Date.now()}@example.com`;

  beforeAll(async () => {
    h = await startHarness('console_cookie_proxy', { TRUST_PROXY: 'true' });
    await h.users.create({ email, fullName: 'Proxied Member', password: PASSWORD });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('is Secure when the trusted proxy says https, and not when it says http', async () => {
    const https = await request(h.baseUrl)
      .post('/auth/login')
      .set('x-forwarded-proto', 'https')
      .send({ login: email, password: PASSWORD })
      .expect(200);
    expect(attributes(sessionSetCookie(https)!).has('secure')).toBe(true);
    const http = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
    expect(attributes(sessionSetCookie(http)!).has('secure')).toBe(false);
  });

  it('the own origin is the one the proxy forwards (X-Forwarded-Proto and -Host)', async () => {
    const login = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
    const token = (login.body as { accessToken: string }).accessToken;
    const ok = await request(h.baseUrl)
      .post('/user/keys')
      .set(...cookieHeader(token))
      .set('x-forwarded-proto', 'https')
      .set('x-forwarded-host', 'tollgate.example.com')
      .set('origin', 'https://tollgate.example.com')
      .send({ name: 'through the proxy' });
    expect(ok.status).toBe(201);
    const refused = await request(h.baseUrl)
      .post('/user/keys')
      .set(...cookieHeader(token))
      .set('x-forwarded-proto', 'https')
      .set('x-forwarded-host', 'tollgate.example.com')
      .set('origin', 'http://tollgate.example.com')
      .send({ name: 'scheme differs' });
    expect(refused.status).toBe(403);
    expect((refused.body as { code: string }).code).toBe('csrf_origin_mismatch');
  });
});
