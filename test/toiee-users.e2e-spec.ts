/**
 * The external user API at /api/toiee (docs/api/toiee-users.md): its bodies, error shape
 * `{success:false, message, error}`, auth failures in that shape, the 3 MiB body limit, and the
 * Python client class printed in the API's specification, run unchanged (test/fixtures/toiee_client.py).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Account, account, auditRowsOf, bearer, client, serviceKey } from './fixtures/accounts';
import { Harness, startHarness } from './support/gateway-harness';

const run = promisify(execFile);
const CLIENT = path.join(__dirname, 'fixtures', 'toiee_client.py');

describe('external user API (/api/toiee)', () => {
  let h: Harness;
  let admin: Account;
  let writeKey: string;
  const api = () => client(h.baseUrl);

  beforeAll(async () => {
    h = await startHarness('toiee_users', { ALLOWED_EMAIL_DOMAINS: 'toiee.jp,example.com' });
    admin = await account(h, 'admin');
    writeKey = await serviceKey(h, admin.id, ['users:read', 'users:write']);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('the Python client of the specification works unchanged: create, 409 on a duplicate, list, new password, delete', async () => {
    const usersBefore = await h.prisma.user.count();
    // python3 with requests must be installed: a missing interpreter fails this test (CI installs python3-requests)
    const { stdout } = await run('python3', [CLIENT], {
      env: { ...process.env, TOIEE_BASE_URL: h.baseUrl, TOIEE_API_KEY: writeKey },
      timeout: 60_000,
    });
    const steps = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { step: string; value: Record<string, unknown> })
        .map((s) => [s.step, s.value]),
    ) as Record<string, Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(steps.error).toBeUndefined();
    expect(steps.create).toMatchObject({
      success: true,
      message: 'User created successfully',
      user: { email: 'student@toiee.jp', name: '\u7530\u4e2d\u592a\u90ce', username: 'tanaka' },
    });
    expect(steps.create.user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(steps.create.generatedPassword).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(steps.duplicate).toEqual({ status: 409, body: { success: false, message: 'User already exists', error: 'USER_EXISTS' } });
    expect(steps.list.success).toBe(true);
    expect(steps.list.pagination).toMatchObject({ currentPage: 1, totalUsers: usersBefore + 1 });
    expect(steps.list.users.map((u: { email: string }) => u.email)).toContain('student@toiee.jp');
    expect(steps.password).toMatchObject({ success: true, message: 'Password updated successfully' });
    expect(steps.password.generatedPassword).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(steps.delete).toEqual({ success: true, message: 'User deleted successfully' });
    expect(steps.delete_again).toEqual({ status: 404, body: { success: false, message: 'User not found', error: 'USER_NOT_FOUND' } });
    expect(await h.prisma.user.findUnique({ where: { email: 'student@toiee.jp' } })).toBeNull();
  });

  it('create: 201 with the generated password that logs in (change required); given password kept; INVALID_INPUT, INVALID_EMAIL; one audit entry', async () => {
    const res = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'a1@toiee.jp', name: 'A One', username: 'a1' })
      .expect(201);
    expect(Object.keys(res.body).sort()).toEqual(['generatedPassword', 'message', 'success', 'user']);
    expect(Object.keys(res.body.user).sort()).toEqual(['email', 'id', 'name', 'username']);
    const login = await api().post('/auth/login').send({ login: 'a1', password: res.body.generatedPassword }).expect(200);
    expect(login.body.mustChangePassword).toBe(true);
    expect(await auditRowsOf(h, res)).toEqual([
      expect.objectContaining({ action: 'users.create', actorType: 'api_key', targetId: res.body.user.id }),
    ]);

    const given = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'a2@toiee.jp', name: 'A Two', username: 'a2', password: 'password123' })
      .expect(201);
    expect(given.body.generatedPassword).toBeUndefined();
    expect(
      (await api().post('/auth/login').send({ login: 'a2@toiee.jp', password: 'password123' }).expect(200)).body.mustChangePassword,
    ).toBe(false);

    for (const body of [
      { email: 'x@toiee.jp', name: 'X' },
      { name: 'X', username: 'x' },
      { email: 'x@toiee.jp', username: 'x', name: '  ' },
    ]) {
      const r = await api().post('/api/toiee/users').set('x-api-key', writeKey).send(body).expect(400);
      expect(r.body).toEqual({ success: false, message: 'Email, name, and username are required', error: 'INVALID_INPUT' });
    }
    const extra = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'x@toiee.jp', name: 'X', username: 'x', role: 'admin' })
      .expect(400);
    expect(extra.body).toMatchObject({ success: false, error: 'INVALID_INPUT' });
    const domain = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'x@gmail.com', name: 'X', username: 'x' })
      .expect(400);
    expect(domain.body).toEqual({ success: false, message: 'Email domain not allowed', error: 'INVALID_EMAIL' });
    const sub = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'x@mail.toiee.jp', name: 'X', username: 'xsub' })
      .expect(201);
    expect(sub.body.user.email).toBe('x@mail.toiee.jp');
    const dupName = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'y@toiee.jp', name: 'Y', username: 'a1' })
      .expect(409);
    expect(dupName.body.error).toBe('USER_EXISTS');
    // the same allow-list holds on the admin API
    const adminApi = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'z@gmail.com' })
      .expect(400);
    expect(adminApi.body).toMatchObject({ statusCode: 400, code: 'INVALID_EMAIL' });
  });

  it('list: pagination and roles as documented; limit outside 1-100 or a bad page → 400 INVALID_INPUT', async () => {
    const total = await h.prisma.user.count();
    const res = await api().get('/api/toiee/users').query({ page: 1, limit: 2 }).set('x-api-key', writeKey).expect(200);
    expect(res.body.success).toBe(true);
    expect(res.body.users).toHaveLength(Math.min(2, total));
    expect(res.body.pagination).toEqual({
      currentPage: 1,
      totalPages: Math.ceil(total / 2),
      totalUsers: total,
      hasNext: total > 2,
      hasPrev: false,
    });
    for (const u of res.body.users) expect(Object.keys(u).sort()).toEqual(['createdAt', 'email', 'id', 'name', 'role', 'username']);
    const all = await api().get('/api/toiee/users').query({ limit: 100 }).set('x-api-key', writeKey).expect(200);
    const roles = Object.fromEntries(all.body.users.map((u: { id: string; role: string }) => [u.id, u.role]));
    expect(roles[admin.id]).toBe('ADMIN');
    expect(new Set(Object.values(roles))).toEqual(new Set(['ADMIN', 'USER']));
    const last = await api()
      .get('/api/toiee/users')
      .query({ page: Math.ceil(total / 2), limit: 2 })
      .set('x-api-key', writeKey)
      .expect(200);
    expect(last.body.pagination).toMatchObject({ hasNext: false, hasPrev: Math.ceil(total / 2) > 1 });
    const dflt = await api().get('/api/toiee/users').set('x-api-key', writeKey).expect(200);
    expect(dflt.body.users.length).toBe(Math.min(20, total));
    for (const query of [{ limit: 0 }, { limit: 101 }, { limit: 'abc' }, { page: 0 }, { page: -1 }, { extra: 1 }]) {
      const r = await api().get('/api/toiee/users').query(query).set('x-api-key', writeKey).expect(400);
      expect(r.body).toMatchObject({ success: false, error: 'INVALID_INPUT' });
    }
  });

  it('password and delete: 404 USER_NOT_FOUND for unknown or non-UUID ids, 403 ADMIN_DELETE_FORBIDDEN for admins', async () => {
    for (const id of [randomUUID(), '64f7b8c9d123456789abcdef']) {
      const p = await api().put(`/api/toiee/users/${id}/password`).set('x-api-key', writeKey).send({}).expect(404);
      expect(p.body).toEqual({ success: false, message: 'User not found', error: 'USER_NOT_FOUND' });
      const d = await api().delete(`/api/toiee/users/${id}`).set('x-api-key', writeKey).expect(404);
      expect(d.body).toEqual({ success: false, message: 'User not found', error: 'USER_NOT_FOUND' });
    }
    const other = await account(h, 'admin_viewer', 'toiee-viewer');
    const r = await api().delete(`/api/toiee/users/${other.id}`).set('x-api-key', writeKey).expect(403);
    expect(r.body).toEqual({ success: false, message: 'Cannot delete admin user', error: 'ADMIN_DELETE_FORBIDDEN' });
    const c = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .send({ email: 'pw@toiee.jp', name: 'Pw', username: 'pw' })
      .expect(201);
    const set = await api()
      .put(`/api/toiee/users/${c.body.user.id}/password`)
      .set('x-api-key', writeKey)
      .send({ password: 'new password 1' })
      .expect(200);
    expect(set.body).toEqual({ success: true, message: 'Password updated successfully' });
    expect(await auditRowsOf(h, set)).toEqual([expect.objectContaining({ action: 'users.set_password' })]);
    const short = await api()
      .put(`/api/toiee/users/${c.body.user.id}/password`)
      .set('x-api-key', writeKey)
      .send({ password: 'short' })
      .expect(400);
    expect(short.body).toMatchObject({ success: false, error: 'INVALID_INPUT' });
    const del = await api().delete(`/api/toiee/users/${c.body.user.id}`).set('x-api-key', writeKey).expect(200);
    expect(await auditRowsOf(h, del)).toEqual([expect.objectContaining({ action: 'users.delete', targetId: c.body.user.id })]);
  });

  it('auth failures come in this API shape: 401 MISSING_API_KEY / INVALID_API_KEY, 403 FORBIDDEN; an admin JWT works; other routes keep theirs', async () => {
    const missing = await api().get('/api/toiee/users').expect(401);
    expect(missing.body).toEqual({ success: false, message: 'API key required (X-API-Key header)', error: 'MISSING_API_KEY' });
    for (const key of ['invalid-key', `tg-${'A'.repeat(43)}`]) {
      const bad = await api()
        .post('/api/toiee/users')
        .set('x-api-key', key)
        .send({ email: 'k@toiee.jp', name: 'K', username: 'k' })
        .expect(401);
      expect(bad.body).toEqual({ success: false, message: 'Invalid API key', error: 'INVALID_API_KEY' });
    }
    const member = await account(h, 'member', 'toiee-member');
    const memberKey = await serviceKey(h, member.id, ['users:read', 'users:write', 'admin']);
    const readKey = await serviceKey(h, admin.id, ['users:read']);
    const viewer = await account(h, 'admin_viewer', 'toiee-viewer2');
    const refusals = [
      api().get('/api/toiee/users').set('x-api-key', memberKey),
      api().post('/api/toiee/users').set('x-api-key', memberKey).send({ email: 'm@toiee.jp', name: 'M', username: 'm' }),
      api().delete(`/api/toiee/users/${member.id}`).set('x-api-key', memberKey),
      api().put(`/api/toiee/users/${admin.id}/password`).set('x-api-key', memberKey).send({}),
      api().post('/api/toiee/users').set('x-api-key', readKey).send({ email: 'm@toiee.jp', name: 'M', username: 'm' }),
      api()
        .delete(`/api/toiee/users/${member.id}`)
        .set(...bearer(viewer)),
      api()
        .get('/api/toiee/users')
        .set(...bearer(member)),
    ];
    for (const r of await Promise.all(refusals)) {
      expect([r.status, r.body.success, r.body.error]).toEqual([403, false, 'FORBIDDEN']);
    }
    expect(await h.prisma.user.findUnique({ where: { id: member.id } })).not.toBeNull();
    await api().get('/api/toiee/users').set('x-api-key', readKey).expect(200);
    await api()
      .get('/api/toiee/users')
      .set(...bearer(viewer))
      .expect(200);
    const jwt = await api()
      .post('/api/toiee/users')
      .set(...bearer(admin))
      .send({ email: 'jwt@toiee.jp', name: 'J', username: 'jwt' })
      .expect(201);
    expect(jwt.body.success).toBe(true);
    const elsewhere = await api().get('/admin/users').expect(401);
    expect(elsewhere.body).toMatchObject({ statusCode: 401, code: 'unauthorized' });
  });

  it('bodies over 3 MiB answer 413 in this API shape (the rest of the API keeps its larger limit); bad JSON is INVALID_INPUT', async () => {
    const big = JSON.stringify({ email: 'big@toiee.jp', name: 'x'.repeat(3 * 1024 * 1024 + 10), username: 'big' });
    const r = await api().post('/api/toiee/users').set('x-api-key', writeKey).set('content-type', 'application/json').send(big).expect(413);
    expect(r.body).toEqual({ success: false, message: 'Request body exceeds 3 MB', error: 'PAYLOAD_TOO_LARGE' });
    const unauth = await api().post('/api/toiee/users').set('content-type', 'application/json').send(big);
    expect(unauth.body.success).toBe(false);
    // just under the limit: parsed, then refused by validation
    const under = JSON.stringify({ email: 'big@toiee.jp', name: 'x'.repeat(3 * 1024 * 1024 - 200), username: 'big' });
    const u = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .set('content-type', 'application/json')
      .send(under)
      .expect(400);
    expect(u.body).toMatchObject({ success: false, error: 'INVALID_INPUT' });
    const elsewhere = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .set('content-type', 'application/json')
      .send(big)
      .expect(400);
    expect(elsewhere.body).toMatchObject({ statusCode: 400, code: 'validation_failed' });
    const badJson = await api()
      .post('/api/toiee/users')
      .set('x-api-key', writeKey)
      .set('content-type', 'application/json')
      .send('{"email":')
      .expect(400);
    expect(badJson.body).toMatchObject({ success: false, error: 'INVALID_INPUT' });
    expect(await h.prisma.user.findUnique({ where: { email: 'big@toiee.jp' } })).toBeNull();
  });
});
