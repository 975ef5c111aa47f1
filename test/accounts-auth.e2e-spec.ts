/**
 * Accounts and sessions (docs/api/auth.md, docs/roles.md): the first boot's super admin, login
 * tokens with session version and id, password change, logout, logout everywhere, and login
 * throttling per account and per IP in real Redis, through the real HTTP stack.
 */
import Redis from 'ioredis';
import request from 'supertest';
import { AuditService } from '../src/audit/audit.service';
import { BootstrapAdminService } from '../src/auth/bootstrap-admin.service';
import { AppConfig } from '../src/config/app-config';
import { APP_CONFIG } from '../src/config/config.module';
import { REDIS } from '../src/redis/redis.tokens';
import { Harness, startHarness, TEST_BOOTSTRAP_ADMIN_PASSWORD } from './support/gateway-harness';

const ADMIN_EMAIL = 'admin@tollgate.local';
const ADMIN_ROUTE = `/user/admin/user-stats?startTime=0&endTime=${Math.floor(Date.now() / 1000) + 3600}`;

type Claims = { sub: string; sv: number; jti: string; iat: number; exp: number };

function claims(token: string): Claims {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Claims;
}

function bearer(token: string): [string, string] {
  return ['authorization', `Bearer ${token}`];
}

function login(h: Harness, loginName: string, password: string) {
  return request(h.baseUrl).post('/auth/login').send({ login: loginName, password });
}

/** Every audit row as text (all columns), after the buffered entries are written. */
async function auditText(h: Harness): Promise<string> {
  await h.app.get(AuditService).flush();
  const { rows } = await h.prisma.pool.query<{ t: string }>('SELECT row_to_json(a)::text AS t FROM audit_logs a');
  return rows.map((r) => r.t).join('\n');
}

async function auditRows(h: Harness, action: string) {
  await h.app.get(AuditService).flush();
  return h.prisma.auditLog.findMany({ where: { action }, orderBy: { createdAt: 'asc' } });
}

describe('accounts and sessions', () => {
  let h: Harness;
  const PASSWORDS = ['member password one', 'member password two', 'admin new password 77', 'throttled password 3'];

  beforeAll(async () => {
    h = await startHarness('accounts_auth', {
      LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
      LOGIN_MAX_FAILURES_PER_IP: '1000',
      LOGIN_THROTTLE_WINDOW_SECONDS: '120',
      ACCESS_TOKEN_TTL_SECONDS: '1800',
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('first boot created exactly one super admin, audited auth.bootstrap, who must change the password', async () => {
    const admins = await h.prisma.user.findMany({ where: { role: 'super_admin' } });
    expect(admins).toHaveLength(1);
    expect(admins[0]).toMatchObject({ email: ADMIN_EMAIL, mustChangePassword: true, status: 'active' });
    const entries = await auditRows(h, 'auth.bootstrap');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorType: 'system', actorLabel: 'bootstrap', targetId: admins[0].id, result: 'success' });
    expect(entries[0].changes).toEqual({ created: { email: ADMIN_EMAIL, role: 'super_admin', initialLogin: 'configured' } });
  });

  it('bootstrap admin: 403 password_change_required everywhere but own-account endpoints until the password is changed', async () => {
    const first = await login(h, ADMIN_EMAIL, TEST_BOOTSTRAP_ADMIN_PASSWORD).expect(200);
    expect(first.body).toMatchObject({ mustChangePassword: true, user: { email: ADMIN_EMAIL, role: 'super_admin' } });
    const oldToken = first.body.accessToken as string;

    const refused = await request(h.baseUrl)
      .get(ADMIN_ROUTE)
      .set(...bearer(oldToken))
      .expect(403);
    expect(refused.body.code).toBe('password_change_required');
    const me = await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(oldToken))
      .expect(200);
    expect(me.body).toMatchObject({ email: ADMIN_EMAIL, mustChangePassword: true });

    const wrong = await request(h.baseUrl)
      .post('/auth/password')
      .set(...bearer(oldToken))
      .send({ currentPassword: 'not the password', newPassword: 'admin new password 77' })
      .expect(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const weak = await request(h.baseUrl)
      .post('/auth/password')
      .set(...bearer(oldToken))
      .send({ currentPassword: TEST_BOOTSTRAP_ADMIN_PASSWORD, newPassword: 'short' })
      .expect(400);
    expect(weak.body.code).toBe('INVALID_PASSWORD');
    const same = await request(h.baseUrl)
      .post('/auth/password')
      .set(...bearer(oldToken))
      .send({ currentPassword: TEST_BOOTSTRAP_ADMIN_PASSWORD, newPassword: TEST_BOOTSTRAP_ADMIN_PASSWORD })
      .expect(400);
    expect(same.body.code).toBe('INVALID_PASSWORD');

    const changed = await request(h.baseUrl)
      .post('/auth/password')
      .set(...bearer(oldToken))
      .send({ currentPassword: TEST_BOOTSTRAP_ADMIN_PASSWORD, newPassword: 'admin new password 77' })
      .expect(200);
    expect(changed.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 1800, mustChangePassword: false });
    const newToken = changed.body.accessToken as string;
    expect(claims(newToken).sv).toBe(claims(oldToken).sv + 1);

    // the token from before the change is dead; the fresh one reaches admin endpoints
    const dead = await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(oldToken))
      .expect(401);
    expect(dead.body.code).toBe('unauthorized');
    await request(h.baseUrl)
      .get(ADMIN_ROUTE)
      .set(...bearer(newToken))
      .expect(200);

    const row = await h.prisma.user.findUniqueOrThrow({ where: { email: ADMIN_EMAIL } });
    expect(row.mustChangePassword).toBe(false);
    expect(row.passwordChangedAt).toBeInstanceOf(Date);
    await login(h, ADMIN_EMAIL, TEST_BOOTSTRAP_ADMIN_PASSWORD).expect(401);
    await login(h, ADMIN_EMAIL, 'admin new password 77').expect(200);

    const entries = await auditRows(h, 'auth.password_change');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorType: 'user', actorUserId: row.id, targetId: row.id, result: 'success', status: 200 });
  });

  it('login: token with sv, jti and the configured lifetime; lastLoginAt and auth.login in one go; failures audited as anonymous', async () => {
    const user = await h.users.create({ email: 'member1@example.com', username: 'member1', password: PASSWORDS[0] });
    expect(user.lastLoginAt).toBeNull();
    const res = await login(h, ' Member1@Example.com ', PASSWORDS[0]).expect(200);
    expect(res.body).toMatchObject({
      tokenType: 'Bearer',
      expiresIn: 1800,
      mustChangePassword: false,
      user: { email: 'member1@example.com' },
    });
    const c = claims(res.body.accessToken);
    expect(c).toMatchObject({ sub: user.id, sv: 0 });
    expect(c.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(c.exp - c.iat).toBe(1800);
    const again = claims((await login(h, 'member1', PASSWORDS[0]).expect(200)).body.accessToken);
    expect(again.jti).not.toBe(c.jti);
    expect((await h.prisma.user.findUniqueOrThrow({ where: { id: user.id } })).lastLoginAt).toBeInstanceOf(Date);

    await login(h, 'member1@example.com', 'wrong password here').expect(401);
    await login(h, 'nobody-at-all', 'wrong password here').expect(401);

    const entries = await auditRows(h, 'auth.login');
    const mine = entries.filter((e) => e.targetId === user.id || e.actorLabel === 'nobody-at-all');
    expect(mine.filter((e) => e.result === 'success')).toEqual([
      expect.objectContaining({ actorType: 'user', actorUserId: user.id, actorLabel: 'member1@example.com', status: 200 }),
      expect.objectContaining({ actorType: 'user', actorUserId: user.id, status: 200 }),
    ]);
    expect(mine.filter((e) => e.result === 'failure')).toEqual([
      expect.objectContaining({ actorType: 'anonymous', actorUserId: null, actorLabel: 'member1@example.com', status: 401 }),
      expect.objectContaining({ actorType: 'anonymous', actorUserId: null, actorLabel: 'nobody-at-all', status: 401 }),
    ]);
    // one entry per request: the response hook added no "request POST /auth/login" entry
    expect((await auditText(h)).includes('request POST /auth/login')).toBe(false);
  });

  it('logout ends only that token; logout-all ends every token of the user', async () => {
    await h.users.create({ email: 'member2@example.com', password: PASSWORDS[1] });
    const t1 = (await login(h, 'member2@example.com', PASSWORDS[1]).expect(200)).body.accessToken as string;
    const t2 = (await login(h, 'member2@example.com', PASSWORDS[1]).expect(200)).body.accessToken as string;
    const t3 = (await login(h, 'member2@example.com', PASSWORDS[1]).expect(200)).body.accessToken as string;

    await request(h.baseUrl)
      .post('/auth/logout')
      .set(...bearer(t1))
      .expect(204);
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(t1))
      .expect(401);
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(t2))
      .expect(200);
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(t3))
      .expect(200);

    await request(h.baseUrl)
      .post('/auth/logout-all')
      .set(...bearer(t2))
      .expect(204);
    for (const t of [t2, t3]) {
      await request(h.baseUrl)
        .get('/auth/me')
        .set(...bearer(t))
        .expect(401);
    }
    const fresh = (await login(h, 'member2@example.com', PASSWORDS[1]).expect(200)).body.accessToken as string;
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(fresh))
      .expect(200);

    // the deny-list entry lives until the token's own expiry, under the deployment's prefix
    const prefix = h.app.get<AppConfig>(APP_CONFIG).queuePrefix;
    const ttl = await h.app.get<Redis>(REDIS).ttl(`${prefix}:jwt-deny:${claims(t1).jti}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1800);

    const user = await h.prisma.user.findUniqueOrThrow({ where: { email: 'member2@example.com' } });
    expect((await auditRows(h, 'auth.logout')).filter((e) => e.actorUserId === user.id)).toHaveLength(1);
    expect((await auditRows(h, 'auth.logout_all')).filter((e) => e.actorUserId === user.id)).toHaveLength(1);
  });

  it('API keys cannot change passwords or log out (403 jwt_required)', async () => {
    const user = await h.users.create({ email: 'member3@example.com', password: 'member password three' });
    const key = await h.keys.create(user.id, { name: 'dashboards', scopes: ['usage:read'] });
    const res = await request(h.baseUrl)
      .post('/auth/password')
      .set('x-api-key', key.secret)
      .send({ currentPassword: 'member password three', newPassword: 'another password 99' })
      .expect(403);
    expect(res.body.code).toBe('jwt_required');
    for (const path of ['/auth/logout', '/auth/logout-all']) {
      const r = await request(h.baseUrl).post(path).set('x-api-key', key.secret).expect(403);
      expect(r.body.code).toBe('jwt_required');
    }
    await login(h, 'member3@example.com', 'member password three').expect(200);
  });

  it('throttles an account after N failures: 429 with Retry-After, without checking the password; other accounts unaffected', async () => {
    const user = await h.users.create({ email: 'victim@example.com', username: 'victim', password: PASSWORDS[3] });
    await h.users.create({ email: 'bystander@example.com', password: 'bystander password' });
    // the same account by email and by username: one counter
    await login(h, 'victim@example.com', 'guess 1').expect(401);
    await login(h, 'victim', 'guess 2').expect(401);
    await login(h, 'VICTIM@example.com', 'guess 3').expect(401);
    const locked = await login(h, 'victim@example.com', PASSWORDS[3]).expect(429);
    expect(locked.body).toMatchObject({ statusCode: 429, code: 'too_many_login_attempts' });
    const retryAfter = Number(locked.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(120);
    await login(h, 'victim', PASSWORDS[3]).expect(429);
    await login(h, 'bystander@example.com', 'bystander password').expect(200);

    const throttled = (await auditRows(h, 'auth.login')).filter((e) => e.targetId === user.id && e.status === 429);
    expect(throttled).toHaveLength(2);
    expect(throttled[0]).toMatchObject({ actorType: 'anonymous', result: 'failure', changes: { throttled: 'account' } });

    // no login in clear in Redis: the account counter is a hash under the deployment's prefix
    const prefix = h.app.get<AppConfig>(APP_CONFIG).queuePrefix;
    const keys = await h.app.get<Redis>(REDIS).keys(`${prefix}:login-fail:*`);
    expect(keys.some((k) => /:login-fail:acct:[0-9a-f]{64}$/.test(k))).toBe(true);
    expect(keys.join(' ')).not.toContain('victim');
  });

  it('a success resets the account counter; wrong current passwords on POST /auth/password count too', async () => {
    await h.users.create({ email: 'forgetful@example.com', password: 'forgetful password' });
    for (let round = 0; round < 3; round++) {
      await login(h, 'forgetful@example.com', 'wrong 1').expect(401);
      await login(h, 'forgetful@example.com', 'wrong 2').expect(401);
      await login(h, 'forgetful@example.com', 'forgetful password').expect(200);
    }
    const token = (await login(h, 'forgetful@example.com', 'forgetful password').expect(200)).body.accessToken as string;
    for (let i = 0; i < 3; i++) {
      await request(h.baseUrl)
        .post('/auth/password')
        .set(...bearer(token))
        .send({ currentPassword: `wrong ${i}`, newPassword: 'a brand new password' })
        .expect(401);
    }
    const res = await request(h.baseUrl)
      .post('/auth/password')
      .set(...bearer(token))
      .send({ currentPassword: 'forgetful password', newPassword: 'a brand new password' })
      .expect(429);
    expect(res.body.code).toBe('too_many_login_attempts');
    await login(h, 'forgetful@example.com', 'forgetful password').expect(429);
  });

  it('never writes a password to the log or the audit log', async () => {
    const secrets = [TEST_BOOTSTRAP_ADMIN_PASSWORD, ...PASSWORDS, 'forgetful password', 'a brand new password', 'bystander password'];
    const logs = h.logs.join('\n');
    const audit = await auditText(h);
    for (const s of secrets) {
      expect(logs).not.toContain(s);
      expect(audit).not.toContain(s);
    }
    expect(audit).toContain('auth.password_change'); // the audit text is really there
  });
});

describe('login throttling per IP, and Redis away', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness('accounts_ip', { LOGIN_MAX_FAILURES_PER_ACCOUNT: '100', LOGIN_MAX_FAILURES_PER_IP: '3' });
    await h.users.create({ email: 'honest@example.com', password: 'honest password' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('after N failures from one IP, over different logins, even a right password answers 429 with Retry-After', async () => {
    for (const name of ['a@example.com', 'b@example.com', 'c@example.com']) await login(h, name, 'guess').expect(401);
    const res = await login(h, 'honest@example.com', 'honest password').expect(429);
    expect(res.body.code).toBe('too_many_login_attempts');
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(900);
    const throttled = (await auditRows(h, 'auth.login')).filter((e) => e.status === 429);
    expect(throttled).toEqual([expect.objectContaining({ actorLabel: 'honest@example.com', changes: { throttled: 'ip' } })]);
  });

  it('with Redis away, logins and tokens still work unthrottled (fail open, warned)', async () => {
    const redis = h.app.get<Redis>(REDIS);
    await redis.ping(); // connected before the cut
    redis.disconnect();
    for (let i = 0; i < 5; i++) await login(h, 'honest@example.com', 'guess').expect(401);
    const ok = await login(h, 'honest@example.com', 'honest password').expect(200);
    await request(h.baseUrl)
      .get('/auth/me')
      .set(...bearer(ok.body.accessToken))
      .expect(200);
    const logs = h.logs.join('\n');
    expect(logs).toMatch(/login throttle check skipped, Redis failed/);
    expect(logs).toMatch(/logout deny-list not checked, Redis failed/);
  });
});

describe('first boot with a generated password', () => {
  let h: Harness;
  let printed = '';

  beforeAll(async () => {
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    });
    try {
      h = await startHarness('accounts_boot', { BOOTSTRAP_ADMIN_PASSWORD: '', BOOTSTRAP_ADMIN_EMAIL: 'Root@Example.org' });
    } finally {
      spy.mockRestore();
    }
  });

  afterAll(async () => {
    await h?.close();
  });

  function capture<T>(fn: () => Promise<T>): Promise<{ out: string; value: T }> {
    let out = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      return true;
    });
    return fn()
      .then((value) => ({ out, value }))
      .finally(() => spy.mockRestore());
  }

  it('prints the password once on stdout; it logs in (must change), and appears in no log line nor audit entry', async () => {
    const matches = [...printed.matchAll(/password: (\S+)/g)];
    expect(matches).toHaveLength(1);
    const password = matches[0][1];
    expect(password).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(printed).toContain('login:    root@example.org');
    const res = await login(h, 'root@example.org', password).expect(200);
    expect(res.body).toMatchObject({ mustChangePassword: true, user: { role: 'super_admin' } });
    expect(h.logs.join('\n')).not.toContain(password);
    const audit = await auditText(h);
    expect(audit).toContain('auth.bootstrap');
    expect(audit).not.toContain(password);
  });

  it('a later boot creates nothing; concurrent boots with no super admin create exactly one', async () => {
    const svc = h.app.get(BootstrapAdminService);
    const later = await capture(() => svc.bootstrap());
    expect(later.value).toEqual({ created: false, reason: 'super_admin_exists' });
    expect(later.out).toBe('');

    // the first super admin steps down: the next boots (five replicas at once) create one more
    await h.prisma.user.update({ where: { email: 'root@example.org' }, data: { role: 'admin', email: 'former-root@example.org' } });
    const runs = await capture(() => Promise.all(Array.from({ length: 5 }, () => svc.bootstrap())));
    expect(runs.value.filter((o) => o.created)).toHaveLength(1);
    expect(runs.value.filter((o) => !o.created)).toHaveLength(4);
    expect([...runs.out.matchAll(/password: (\S+)/g)]).toHaveLength(1);
    expect(await h.prisma.user.count({ where: { role: 'super_admin' } })).toBe(1);
    expect(await auditRows(h, 'auth.bootstrap')).toHaveLength(2);
  });

  it('never promotes an existing user whose email is the bootstrap email', async () => {
    const svc = h.app.get(BootstrapAdminService);
    await h.prisma.user.updateMany({ where: { role: 'super_admin' }, data: { role: 'member' } });
    const outcome = await capture(() => svc.bootstrap());
    expect(outcome.value).toEqual({ created: false, reason: 'email_taken' });
    expect(outcome.out).toBe('');
    expect(await h.prisma.user.count({ where: { role: 'super_admin' } })).toBe(0);
    expect((await h.prisma.user.findUniqueOrThrow({ where: { email: 'root@example.org' } })).role).toBe('member');
  });
});
