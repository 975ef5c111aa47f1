/** User management for admins: /admin/users and /admin/admins (docs/api/users.md). */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Decimal } from '../src/common/decimal';
import { monthStart } from '../src/users/users.service';
import { Account, account, ACCOUNT_PASSWORD, auditRowsOf, bearer, client, loginToken, serviceKey } from './fixtures/accounts';
import { Harness, startHarness } from './support/gateway-harness';

describe('admin users', () => {
  let h: Harness;
  let root: Account; // super_admin
  let admin: Account;
  let viewer: Account; // admin_viewer
  let member: Account;
  const api = () => client(h.baseUrl);

  beforeAll(async () => {
    h = await startHarness('admin_users');
    root = await account(h, 'super_admin', 'root');
    admin = await account(h, 'admin');
    viewer = await account(h, 'admin_viewer');
    member = await account(h, 'member');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('creates a user with a generated password that logs in and must be changed; one audit entry without the password', async () => {
    const res = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({
        email: ' New.User@Example.com ',
        fullName: 'New User',
        username: 'newuser',
        allowedModels: ['gpt-4o', 'gpt-4o'],
        metadata: { dept: 'R&D' },
      })
      .expect(201);
    expect(res.body.generatedPassword).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(res.body.user).toMatchObject({
      email: 'new.user@example.com',
      username: 'newuser',
      fullName: 'New User',
      role: 'member',
      status: 'active',
      team: null,
      allowedModels: ['gpt-4o'],
      allowedServices: [],
      metadata: { dept: 'R&D' },
      mustChangePassword: true,
      lastLoginAt: null,
      spend: { balance: '0', creditsUsedThisMonth: '0', lastCallAt: null },
    });
    expect(res.body.user.did).toMatch(/^z/);
    expect(JSON.stringify(res.body)).not.toMatch(/passwordHash|argon2/);
    const login = await api().post('/auth/login').send({ login: 'newuser', password: res.body.generatedPassword }).expect(200);
    expect(login.body.mustChangePassword).toBe(true);
    const rows = await auditRowsOf(h, res);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'users.create', targetId: res.body.user.id, actorUserId: admin.id, result: 'success' });
    expect(JSON.stringify(rows[0].changes)).not.toContain(res.body.generatedPassword);
  });

  it('an explicit password is kept (no forced change); 409 USER_EXISTS on a duplicate email or username; 400 INVALID_EMAIL, INVALID_PASSWORD', async () => {
    const res = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'explicit@example.com', username: 'explicit', password: 'a chosen password' })
      .expect(201);
    expect(res.body.generatedPassword).toBeUndefined();
    expect(res.body.user.mustChangePassword).toBe(false);
    await loginToken(h, 'explicit@example.com', 'a chosen password');
    for (const body of [{ email: 'EXPLICIT@example.com' }, { email: 'other@example.com', username: 'explicit' }]) {
      const dup = await api()
        .post('/admin/users')
        .set(...bearer(admin))
        .send(body)
        .expect(409);
      expect(dup.body).toMatchObject({ statusCode: 409, code: 'USER_EXISTS' });
    }
    const bad = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'not-an-email' })
      .expect(400);
    expect(bad.body.code).toBe('INVALID_EMAIL');
    const short = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'short@example.com', password: 'short' })
      .expect(400);
    expect(short.body.code).toBe('INVALID_PASSWORD');
    const long = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'long@example.com', fullName: 'x'.repeat(1_000_000) })
      .expect(400);
    expect(long.body.code).toBe('validation_failed');
    expect(await h.prisma.user.count({ where: { email: { in: ['short@example.com', 'long@example.com', 'other@example.com'] } } })).toBe(0);
  });

  it('lists with search (LIKE wildcards literal), role, status, team filters, sort, order and paging', async () => {
    const tag = `ls${randomUUID().slice(0, 6)}`;
    const team = await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: `Team ${tag}` })
      .expect(201);
    const ids: string[] = [];
    for (const [i, name] of ['Carol', 'alice', 'Bob'].entries()) {
      const r = await api()
        .post('/admin/users')
        .set(...bearer(admin))
        .send({
          email: `${name.toLowerCase()}.${tag}@example.com`,
          fullName: `${name} ${tag}`,
          ...(i === 0 ? { teamId: team.body.id } : {}),
        })
        .expect(201);
      ids.push(r.body.user.id);
    }
    await api()
      .post(`/admin/users/${ids[2]}/disable`)
      .set(...bearer(admin))
      .expect(200);
    const page = await api()
      .get('/admin/users')
      .query({ search: tag.toUpperCase(), sort: 'email', order: 'asc', pageSize: 2 })
      .set(...bearer(viewer))
      .expect(200);
    expect(page.body.count).toBe(3);
    expect(page.body.paging).toEqual({ page: 1, pageSize: 2 });
    expect(page.body.list.map((u: { fullName: string }) => u.fullName)).toEqual([`alice ${tag}`, `Bob ${tag}`]);
    const page2 = await api()
      .get('/admin/users')
      .query({ search: tag, sort: 'email', order: 'asc', pageSize: 2, page: 2 })
      .set(...bearer(viewer))
      .expect(200);
    expect(page2.body.list.map((u: { fullName: string }) => u.fullName)).toEqual([`Carol ${tag}`]);
    const desc = await api()
      .get('/admin/users')
      .query({ search: tag, sort: 'fullName', order: 'desc' })
      .set(...bearer(viewer))
      .expect(200);
    expect(desc.body.list.map((u: { fullName: string }) => u.fullName)).toEqual([`Carol ${tag}`, `Bob ${tag}`, `alice ${tag}`]);
    const byTeamName = await api()
      .get('/admin/users')
      .query({ search: `team ${tag}` })
      .set(...bearer(viewer))
      .expect(200);
    expect(byTeamName.body.list.map((u: { id: string }) => u.id)).toEqual([ids[0]]);
    expect(byTeamName.body.list[0].team).toEqual({ id: team.body.id, name: `Team ${tag}` });
    const byTeam = await api()
      .get('/admin/users')
      .query({ teamId: team.body.id })
      .set(...bearer(viewer))
      .expect(200);
    expect(byTeam.body.count).toBe(1);
    const disabled = await api()
      .get('/admin/users')
      .query({ search: tag, status: 'disabled' })
      .set(...bearer(viewer))
      .expect(200);
    expect(disabled.body.list.map((u: { id: string }) => u.id)).toEqual([ids[2]]);
    const supers = await api()
      .get('/admin/users')
      .query({ role: 'super_admin' })
      .set(...bearer(viewer))
      .expect(200);
    expect(supers.body.list.every((u: { role: string }) => u.role === 'super_admin')).toBe(true);
    expect(supers.body.list.map((u: { id: string }) => u.id)).toContain(root.id);
    for (const wild of ['%', '_', '\\']) {
      const none = await api()
        .get('/admin/users')
        .query({ search: `${tag}${wild}` })
        .set(...bearer(viewer))
        .expect(200);
      expect(none.body.count).toBe(0);
    }
    const bad = await api()
      .get('/admin/users')
      .query({ pageSize: 101, sort: 'passwordHash' })
      .set(...bearer(viewer))
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('shows balance, credits used this month (hourly stats + calls after the watermarks) and the last call, and sorts by them', async () => {
    const tag = `sp${randomUUID().slice(0, 6)}`;
    const mk = async (n: string) =>
      (
        await api()
          .post('/admin/users')
          .set(...bearer(admin))
          .send({ email: `${n}.${tag}@example.com` })
          .expect(201)
      ).body.user.id as string;
    const [spender, idle] = [await mk('spender'), await mk('idle')];
    await h.ledger.grant({ userId: idle, amount: new Decimal('12.5'), reason: 'test' });
    const month = monthStart();
    const now = Date.now();
    const hourAfterNow = new Date(Math.floor(now / 3_600_000) * 3_600_000 + 3_600_000);
    await h.prisma.modelCallStatsState.upsert({
      where: { id: 1 },
      create: { id: 1, hourWatermark: hourAfterNow, recordedWatermark: new Date(now - 60_000) },
      update: { hourWatermark: hourAfterNow, recordedWatermark: new Date(now - 60_000) },
    });
    const call = (credits: string, createdAt: Date, recordedAt?: Date) =>
      h.prisma.modelCall.create({
        data: {
          id: randomUUID(),
          userId: spender,
          model: 'm',
          type: 'chatCompletion',
          status: 'success',
          credits: new Decimal(credits),
          requestId: 'r',
          createdAt,
          ...(recordedAt ? { recordedAt } : {}),
        },
      });
    await call('2', month, new Date(now - 120_000)); // aggregated (below both watermarks)
    await h.prisma.modelCallHourlyStat.create({
      data: {
        hour: month,
        userId: spender,
        model: 'm',
        type: 'chatCompletion',
        status: 'success',
        calls: 1,
        promptTokens: 1n,
        completionTokens: 1n,
        totalTokens: 2n,
        credits: new Decimal('2'),
        durationMs: 1n,
      },
    });
    await call('0.25', month); // recorded after the recorded watermark: read from the call log
    await call('100', new Date(month.getTime() - 86_400_000)); // last month
    const res = await api()
      .get('/admin/users')
      .query({ search: tag, sort: 'creditsUsedThisMonth', order: 'desc' })
      .set(...bearer(admin))
      .expect(200);
    expect(res.body.list.map((u: { id: string }) => u.id)).toEqual([spender, idle]);
    expect(res.body.list[0].spend).toEqual({ balance: '0', creditsUsedThisMonth: '2.25', lastCallAt: month.toISOString() });
    expect(res.body.list[1].spend).toEqual({ balance: '12.5', creditsUsedThisMonth: '0', lastCallAt: null });
    const byBalance = await api()
      .get('/admin/users')
      .query({ search: tag, sort: 'balance', order: 'desc' })
      .set(...bearer(admin))
      .expect(200);
    expect(byBalance.body.list.map((u: { id: string }) => u.id)).toEqual([idle, spender]);
    const one = await api()
      .get(`/admin/users/${spender}`)
      .set(...bearer(admin))
      .expect(200);
    expect(one.body.spend.creditsUsedThisMonth).toBe('2.25');
  });

  it('GET/PATCH/password/disable/enable/DELETE a user; 404 USER_NOT_FOUND for unknown and non-UUID ids; one audit entry per write', async () => {
    const c = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'crud@example.com', password: ACCOUNT_PASSWORD })
      .expect(201);
    const id = c.body.user.id as string;
    const token = await loginToken(h, 'crud@example.com');
    const key = await serviceKey(h, id, ['usage:read']);
    await api().get('/auth/me').set('x-api-key', key).expect(200);

    const patched = await api()
      .patch(`/admin/users/${id}`)
      .set(...bearer(admin))
      .send({ fullName: 'Crud User', username: 'crud', allowedServices: ['chat'], role: 'member_viewer' })
      .expect(200);
    expect(patched.body).toMatchObject({ fullName: 'Crud User', username: 'crud', allowedServices: ['chat'], role: 'member_viewer' });
    expect(await auditRowsOf(h, patched)).toEqual([expect.objectContaining({ action: 'users.update', targetId: id })]);
    // a role change ends existing sessions
    await api().get('/auth/me').set('authorization', `Bearer ${token}`).expect(401);

    const disabled = await api()
      .post(`/admin/users/${id}/disable`)
      .set(...bearer(admin))
      .expect(200);
    expect(disabled.body.status).toBe('disabled');
    expect(await auditRowsOf(h, disabled)).toEqual([expect.objectContaining({ action: 'users.disable' })]);
    await api().post('/auth/login').send({ login: 'crud', password: ACCOUNT_PASSWORD }).expect(401);
    await api().get('/auth/me').set('x-api-key', key).expect(401);
    const enabled = await api()
      .post(`/admin/users/${id}/enable`)
      .set(...bearer(admin))
      .expect(200);
    expect(enabled.body.status).toBe('active');
    await loginToken(h, 'crud');

    const pw = await api()
      .post(`/admin/users/${id}/password`)
      .set(...bearer(admin))
      .send({})
      .expect(200);
    expect(Object.keys(pw.body)).toEqual(['generatedPassword']);
    expect(await auditRowsOf(h, pw)).toEqual([expect.objectContaining({ action: 'users.set_password' })]);
    const relog = await api().post('/auth/login').send({ login: 'crud', password: pw.body.generatedPassword }).expect(200);
    expect(relog.body.mustChangePassword).toBe(true);
    await api().post('/auth/login').send({ login: 'crud', password: ACCOUNT_PASSWORD }).expect(401);

    for (const bad of [randomUUID(), 'not-a-uuid', "1' OR '1'='1"]) {
      const r = await api()
        .get(`/admin/users/${encodeURIComponent(bad)}`)
        .set(...bearer(admin))
        .expect(404);
      expect(r.body.code).toBe('USER_NOT_FOUND');
      await api()
        .patch(`/admin/users/${encodeURIComponent(bad)}`)
        .set(...bearer(admin))
        .send({ fullName: 'x' })
        .expect(404);
    }

    const del = await api()
      .delete(`/admin/users/${id}`)
      .set(...bearer(admin))
      .expect(204);
    expect(await auditRowsOf(h, del)).toEqual([expect.objectContaining({ action: 'users.delete', targetId: id })]);
    await api()
      .get(`/admin/users/${id}`)
      .set(...bearer(admin))
      .expect(404);
    await api().get('/auth/me').set('x-api-key', key).expect(401);
  });

  it('only a super admin manages admin accounts: 403 ADMIN_ROLE_FORBIDDEN for an admin; DELETE /admin/users refuses admins (403 ADMIN_DELETE_FORBIDDEN)', async () => {
    for (const role of ['admin', 'admin_viewer', 'super_admin', 'proxy_admin']) {
      const r = await api()
        .post('/admin/users')
        .set(...bearer(admin))
        .send({ email: `made-${role}@example.com`, role })
        .expect(403);
      expect(r.body.code).toBe('ADMIN_ROLE_FORBIDDEN');
    }
    expect(await h.prisma.user.count({ where: { email: { startsWith: 'made-' } } })).toBe(0);
    const promote = await api()
      .patch(`/admin/users/${member.id}`)
      .set(...bearer(admin))
      .send({ role: 'admin' })
      .expect(403);
    expect(promote.body.code).toBe('ADMIN_ROLE_FORBIDDEN');
    for (const path of [`/admin/users/${viewer.id}/disable`, `/admin/users/${viewer.id}/password`]) {
      const r = await api()
        .post(path)
        .set(...bearer(admin))
        .send({})
        .expect(403);
      expect(r.body.code).toBe('ADMIN_ROLE_FORBIDDEN');
    }
    const adminsList = await api()
      .get('/admin/admins')
      .set(...bearer(admin))
      .expect(403);
    expect(adminsList.body.code).toBe('forbidden');
    await api()
      .post('/admin/admins')
      .set(...bearer(admin))
      .send({ email: 'made-admin2@example.com' })
      .expect(403);
    // a super admin can, through /admin/users (create, change) and /admin/admins (delete)
    const made = await api()
      .post('/admin/users')
      .set(...bearer(root))
      .send({ email: 'made-by-root@example.com', role: 'proxy_admin_viewer' })
      .expect(201);
    expect(made.body.user.role).toBe('admin_viewer');
    const refused = await api()
      .delete(`/admin/users/${made.body.user.id}`)
      .set(...bearer(root))
      .expect(403);
    expect(refused.body.code).toBe('ADMIN_DELETE_FORBIDDEN');
    await api()
      .delete(`/admin/admins/${made.body.user.id}`)
      .set(...bearer(root))
      .expect(204);
  });

  it('/admin/admins: a super admin creates, lists and deletes admins (non-admins are not found there)', async () => {
    const c = await api()
      .post('/admin/admins')
      .set(...bearer(root))
      .send({ email: 'second-admin@example.com', fullName: 'Second' })
      .expect(201);
    expect(c.body.user.role).toBe('admin');
    expect(c.body.generatedPassword).toBeDefined();
    expect(await auditRowsOf(h, c)).toEqual([expect.objectContaining({ action: 'admins.create' })]);
    const memberRole = await api()
      .post('/admin/admins')
      .set(...bearer(root))
      .send({ email: 'not-admin@example.com', role: 'member' })
      .expect(400);
    expect(memberRole.body.code).toBe('INVALID_INPUT');
    const list = await api()
      .get('/admin/admins')
      .query({ pageSize: 100 })
      .set(...bearer(root))
      .expect(200);
    const roles = new Set(list.body.list.map((u: { role: string }) => u.role));
    expect([...roles].every((r) => ['super_admin', 'admin', 'admin_viewer'].includes(r as string))).toBe(true);
    expect(list.body.list.map((u: { id: string }) => u.id)).toEqual(expect.arrayContaining([c.body.user.id, root.id, admin.id, viewer.id]));
    const notAdmin = await api()
      .delete(`/admin/admins/${member.id}`)
      .set(...bearer(root))
      .expect(404);
    expect(notAdmin.body.code).toBe('USER_NOT_FOUND');
    const del = await api()
      .delete(`/admin/admins/${c.body.user.id}`)
      .set(...bearer(root))
      .expect(204);
    expect(await auditRowsOf(h, del)).toEqual([expect.objectContaining({ action: 'admins.delete' })]);
  });

  it('bulk update is all or nothing (one unknown id → 404 listing it, nothing changed); replace, add and remove', async () => {
    const ids: string[] = [];
    for (const n of ['b1', 'b2']) {
      const r = await api()
        .post('/admin/users')
        .set(...bearer(admin))
        .send({ email: `${n}@example.com`, allowedModels: ['a', 'b'], allowedServices: ['s1'] })
        .expect(201);
      ids.push(r.body.user.id);
    }
    const ghost = randomUUID();
    const bad = await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: [...ids, ghost], allowedModels: { mode: 'replace', values: ['z'] } })
      .expect(404);
    expect(bad.body).toMatchObject({ code: 'USER_NOT_FOUND', userIds: [ghost] });
    const untouched = await h.prisma.user.findMany({ where: { id: { in: ids } } });
    expect(untouched.map((u) => u.allowedModels)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    const withAdmin = await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: [ids[0], viewer.id], allowedServices: { mode: 'add', values: ['x'] } })
      .expect(403);
    expect(withAdmin.body).toMatchObject({ code: 'ADMIN_ROLE_FORBIDDEN', userIds: [viewer.id] });
    expect((await h.prisma.user.findUnique({ where: { id: ids[0] } }))?.allowedServices).toEqual(['s1']);

    const add = await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: ids, allowedModels: { mode: 'add', values: ['b', 'c'] }, allowedServices: { mode: 'remove', values: ['s1'] } })
      .expect(200);
    expect(add.body.updated.sort()).toEqual([...ids].sort());
    expect(await auditRowsOf(h, add)).toEqual([expect.objectContaining({ action: 'users.bulk_update' })]);
    let rows = await h.prisma.user.findMany({ where: { id: { in: ids } } });
    expect(rows.map((u) => [u.allowedModels, u.allowedServices])).toEqual([
      [['a', 'b', 'c'], []],
      [['a', 'b', 'c'], []],
    ]);
    await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: ids, allowedModels: { mode: 'remove', values: ['a'] } })
      .expect(200);
    await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: [ids[0]], allowedModels: { mode: 'replace', values: ['only'] } })
      .expect(200);
    rows = await h.prisma.user.findMany({ where: { id: { in: ids } }, orderBy: { email: 'asc' } });
    expect(rows.map((u) => u.allowedModels)).toEqual([['only'], ['b', 'c']]);
    const tooMany = await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: Array.from({ length: 1001 }, () => randomUUID()), teamId: null })
      .expect(400);
    expect(tooMany.body.code).toBe('validation_failed');
    const badTeam = await api()
      .post('/admin/users/bulk-update')
      .set(...bearer(admin))
      .send({ userIds: ids, teamId: randomUUID() })
      .expect(404);
    expect(badTeam.body.code).toBe('TEAM_NOT_FOUND');
  });

  it('bulk delete deletes members, refuses admins and reports unknown ids, in one transaction with one audit entry', async () => {
    const r = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: 'gone@example.com' })
      .expect(201);
    const ghost = randomUUID();
    const res = await api()
      .post('/admin/users/bulk-delete')
      .set(...bearer(admin))
      .send({ userIds: [r.body.user.id, viewer.id, ghost, 'nope'] })
      .expect(200);
    expect(res.body).toEqual({
      deleted: [r.body.user.id],
      notFound: ['nope', ghost],
      refused: [{ id: viewer.id, code: 'ADMIN_DELETE_FORBIDDEN' }],
    });
    expect(await h.prisma.user.findUnique({ where: { id: r.body.user.id } })).toBeNull();
    expect(await h.prisma.user.findUnique({ where: { id: viewer.id } })).not.toBeNull();
    expect(await auditRowsOf(h, res)).toEqual([expect.objectContaining({ action: 'users.bulk_delete' })]);
  });

  it('BOLA: a member (JWT, or a key with users:write) and viewers writing are refused on every route', async () => {
    const memberKey = await serviceKey(h, member.id, ['users:read', 'users:write', 'admin']);
    const target = admin.id;
    const routes: [string, string, object?][] = [
      ['get', '/admin/users'],
      ['get', `/admin/users/${target}`],
      ['post', '/admin/users', { email: 'bola@example.com' }],
      ['patch', `/admin/users/${target}`, { fullName: 'pwned' }],
      ['post', `/admin/users/${target}/disable`],
      ['post', `/admin/users/${target}/enable`],
      ['post', `/admin/users/${target}/password`, {}],
      ['delete', `/admin/users/${target}`],
      ['post', '/admin/users/bulk-delete', { userIds: [target] }],
      ['post', '/admin/users/bulk-update', { userIds: [target], teamId: null }],
      ['get', '/admin/admins'],
      ['post', '/admin/admins', { email: 'bola2@example.com' }],
      ['delete', `/admin/admins/${target}`],
    ];
    for (const [method, path, body] of routes) {
      for (const header of [bearer(member), ['x-api-key', memberKey] as [string, string]]) {
        const call = (api() as unknown as Record<string, (p: string) => request.Test>)[method](path).set(...header);
        const res = await (body ? call.send(body) : call);
        expect([method, path, res.status]).toEqual([method, path, 403]);
      }
    }
    const viewerWrite = await api()
      .post('/admin/users')
      .set(...bearer(viewer))
      .send({ email: 'viewer-made@example.com' })
      .expect(403);
    expect(viewerWrite.body.code).toBe('read_only_role');
    const readKey = await serviceKey(h, admin.id, ['users:read']);
    await api().get('/admin/users').set('x-api-key', readKey).expect(200);
    const noScope = await api().post('/admin/users').set('x-api-key', readKey).send({ email: 'scoped@example.com' }).expect(403);
    expect(noScope.body.code).toBe('insufficient_scope');
    const writeKey = await serviceKey(h, admin.id, ['users:write']);
    await api().post('/admin/users').set('x-api-key', writeKey).send({ email: 'scoped@example.com' }).expect(201);
    expect((await h.prisma.user.findUnique({ where: { id: admin.id } }))?.fullName).toBe('');
  });

  it('the last active super admin cannot be deleted, demoted or disabled (409 LAST_SUPER_ADMIN)', async () => {
    const other = await account(h, 'super_admin', 'other-root');
    // every other active super admin (the first-boot one included) goes away
    const supers = await h.prisma.user.findMany({ where: { role: 'super_admin', status: 'active', id: { not: root.id } } });
    expect(supers.map((s) => s.id)).toContain(other.id);
    for (const s of supers) {
      await api()
        .delete(`/admin/admins/${s.id}`)
        .set(...bearer(root))
        .expect(204);
    }
    const demote = await api()
      .patch(`/admin/users/${root.id}`)
      .set(...bearer(root))
      .send({ role: 'admin' })
      .expect(409);
    expect(demote.body.code).toBe('LAST_SUPER_ADMIN');
    const disable = await api()
      .post(`/admin/users/${root.id}/disable`)
      .set(...bearer(root))
      .expect(409);
    expect(disable.body.code).toBe('LAST_SUPER_ADMIN');
    const del = await api()
      .delete(`/admin/admins/${root.id}`)
      .set(...bearer(root))
      .expect(409);
    expect(del.body.code).toBe('LAST_SUPER_ADMIN');
    expect(await h.prisma.user.findUnique({ where: { id: root.id } })).toMatchObject({ role: 'super_admin', status: 'active' });
    // with a second one, demoting either is allowed again
    const again = await account(h, 'super_admin', 'again');
    await api()
      .patch(`/admin/users/${again.id}`)
      .set(...bearer(root))
      .send({ role: 'admin' })
      .expect(200);
  });

  it('concurrent demotions of the two last super admins: exactly one succeeds', async () => {
    const supers = await h.prisma.user.findMany({ where: { role: 'super_admin', status: 'active' } });
    expect(supers).toHaveLength(1);
    const second = await account(h, 'super_admin', 'race');
    const [a, b] = await Promise.all([
      api()
        .patch(`/admin/users/${root.id}`)
        .set(...bearer(second))
        .send({ role: 'admin' }),
      api()
        .patch(`/admin/users/${second.id}`)
        .set(...bearer(root))
        .send({ role: 'admin' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    expect(await h.prisma.user.count({ where: { role: 'super_admin', status: 'active' } })).toBe(1);
  });
});
