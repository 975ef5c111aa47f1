/** Teams for admins: /admin/teams (docs/api/teams.md). */
import { randomUUID } from 'node:crypto';
import { Account, account, auditRowsOf, bearer, client, serviceKey } from './fixtures/accounts';
import { KeyCheckService as KeyCheckServiceToken } from '../src/keys/key-check.service';
import { Harness, startHarness } from './support/gateway-harness';

describe('teams', () => {
  let h: Harness;
  let admin: Account;
  let viewer: Account;
  let member: Account;
  const api = () => client(h.baseUrl);

  beforeAll(async () => {
    h = await startHarness('teams');
    admin = await account(h, 'admin');
    viewer = await account(h, 'admin_viewer');
    member = await account(h, 'member');
  });

  afterAll(async () => {
    await h?.close();
  });

  async function newMember(label: string): Promise<string> {
    const r = await api()
      .post('/admin/users')
      .set(...bearer(admin))
      .send({ email: `${label}-${randomUUID().slice(0, 6)}@example.com` })
      .expect(201);
    return r.body.user.id as string;
  }

  it('create, list (member counts, search, paging), get (members paged), rename, allowed models; 409 TEAM_EXISTS; one audit entry per write', async () => {
    const c = await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: ' Research_1 ', allowedModels: ['gpt-4o', 'gpt-4o', 'openai/*'] })
      .expect(201);
    expect(c.body).toMatchObject({ name: 'Research_1', allowedModels: ['gpt-4o', 'openai/*'], memberCount: 0 });
    expect(await auditRowsOf(h, c)).toEqual([expect.objectContaining({ action: 'teams.create', targetId: c.body.id })]);
    const dup = await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: 'Research_1' })
      .expect(409);
    expect(dup.body.code).toBe('TEAM_EXISTS');
    await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: 'ResearchX1' })
      .expect(201);
    const ids = [await newMember('t1'), await newMember('t2'), await newMember('t3')];
    const add = await api()
      .post(`/admin/teams/${c.body.id}/members`)
      .set(...bearer(admin))
      .send({ userIds: ids })
      .expect(200);
    expect(add.body.memberCount).toBe(3);
    expect(await auditRowsOf(h, add)).toEqual([expect.objectContaining({ action: 'teams.add_members' })]);

    const list = await api()
      .get('/admin/teams')
      .query({ search: 'research_' })
      .set(...bearer(viewer))
      .expect(200);
    // "_" is taken literally: ResearchX1 does not match
    expect(list.body).toEqual({
      count: 1,
      list: [expect.objectContaining({ id: c.body.id, memberCount: 3 })],
      paging: { page: 1, pageSize: 50 },
    });
    const page = await api()
      .get(`/admin/teams/${c.body.id}`)
      .query({ pageSize: 2, page: 2 })
      .set(...bearer(viewer))
      .expect(200);
    expect(page.body.members.count).toBe(3);
    expect(page.body.members.list).toHaveLength(1);
    expect(Object.keys(page.body.members.list[0]).sort()).toEqual(['did', 'email', 'fullName', 'id', 'role', 'status', 'username']);

    const renamed = await api()
      .patch(`/admin/teams/${c.body.id}`)
      .set(...bearer(admin))
      .send({ name: 'Research', allowedModels: ['mock-model'] })
      .expect(200);
    expect(renamed.body).toMatchObject({ name: 'Research', allowedModels: ['mock-model'], memberCount: 3 });
    expect(await auditRowsOf(h, renamed)).toEqual([expect.objectContaining({ action: 'teams.update' })]);
    const user = await api()
      .get(`/admin/users/${ids[0]}`)
      .set(...bearer(admin))
      .expect(200);
    expect(user.body.team).toEqual({ id: c.body.id, name: 'Research' });
    const clash = await api()
      .patch(`/admin/teams/${c.body.id}`)
      .set(...bearer(admin))
      .send({ name: 'ResearchX1' })
      .expect(409);
    expect(clash.body.code).toBe('TEAM_EXISTS');
  });

  it('members: add is all or nothing (unknown id → 404 listing it), remove one (404 if not a member), delete keeps the users', async () => {
    const t = await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: 'Ops' })
      .expect(201);
    const [a, b] = [await newMember('ops-a'), await newMember('ops-b')];
    const ghost = randomUUID();
    const bad = await api()
      .post(`/admin/teams/${t.body.id}/members`)
      .set(...bearer(admin))
      .send({ userIds: [a, ghost] })
      .expect(404);
    expect(bad.body).toMatchObject({ code: 'USER_NOT_FOUND', userIds: [ghost] });
    expect((await h.prisma.user.findUnique({ where: { id: a } }))?.teamId).toBeNull();
    await api()
      .post(`/admin/teams/${t.body.id}/members`)
      .set(...bearer(admin))
      .send({ userIds: [a, b] })
      .expect(200);
    const rm = await api()
      .delete(`/admin/teams/${t.body.id}/members/${a}`)
      .set(...bearer(admin))
      .expect(204);
    expect(await auditRowsOf(h, rm)).toEqual([expect.objectContaining({ action: 'teams.remove_member' })]);
    const again = await api()
      .delete(`/admin/teams/${t.body.id}/members/${a}`)
      .set(...bearer(admin))
      .expect(404);
    expect(again.body.code).toBe('USER_NOT_FOUND');
    const adminIn = await api()
      .post(`/admin/teams/${t.body.id}/members`)
      .set(...bearer(admin))
      .send({ userIds: [viewer.id] })
      .expect(403);
    expect(adminIn.body.code).toBe('ADMIN_ROLE_FORBIDDEN');
    const del = await api()
      .delete(`/admin/teams/${t.body.id}`)
      .set(...bearer(admin))
      .expect(204);
    expect(await auditRowsOf(h, del)).toEqual([expect.objectContaining({ action: 'teams.delete', targetId: t.body.id })]);
    expect(await h.prisma.user.findUnique({ where: { id: b } })).toMatchObject({ teamId: null });
    for (const id of [t.body.id, 'not-a-uuid']) {
      const r = await api()
        .get(`/admin/teams/${id}`)
        .set(...bearer(admin))
        .expect(404);
      expect(r.body.code).toBe('TEAM_NOT_FOUND');
    }
  });

  it("changing a team's allowed models or deleting it drops its members' cached keys", async () => {
    const t = await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: 'Cache' })
      .expect(201);
    const u = await newMember('cache');
    await api()
      .post(`/admin/teams/${t.body.id}/members`)
      .set(...bearer(admin))
      .send({ userIds: [u] })
      .expect(200);
    const spy = jest.spyOn(h.app.get(KeyCheckServiceToken), 'invalidateUsers');
    await api()
      .patch(`/admin/teams/${t.body.id}`)
      .set(...bearer(admin))
      .send({ allowedModels: ['x'] })
      .expect(200);
    expect(spy).toHaveBeenLastCalledWith([u]);
    spy.mockClear();
    await api()
      .patch(`/admin/teams/${t.body.id}`)
      .set(...bearer(admin))
      .send({ name: 'Cache2' })
      .expect(200);
    expect(spy).not.toHaveBeenCalled();
    await api()
      .delete(`/admin/teams/${t.body.id}`)
      .set(...bearer(admin))
      .expect(204);
    expect(spy).toHaveBeenLastCalledWith([u]);
    spy.mockRestore();
  });

  it('BOLA: members (JWT or a key with user scopes) cannot call any team route; viewers only read; a users:read key only reads', async () => {
    const t = await api()
      .post('/admin/teams')
      .set(...bearer(admin))
      .send({ name: 'Guarded' })
      .expect(201);
    const memberKey = await serviceKey(h, member.id, ['users:read', 'users:write', 'admin']);
    const routes: [string, string, object?][] = [
      ['get', '/admin/teams'],
      ['get', `/admin/teams/${t.body.id}`],
      ['post', '/admin/teams', { name: 'Mine' }],
      ['patch', `/admin/teams/${t.body.id}`, { name: 'Mine' }],
      ['delete', `/admin/teams/${t.body.id}`],
      ['post', `/admin/teams/${t.body.id}/members`, { userIds: [member.id] }],
      ['delete', `/admin/teams/${t.body.id}/members/${member.id}`],
    ];
    for (const [method, path, body] of routes) {
      for (const header of [bearer(member), ['x-api-key', memberKey] as [string, string]]) {
        const call = (api() as unknown as Record<string, (p: string) => import('supertest').Test>)[method](path).set(...header);
        const res = await (body ? call.send(body) : call);
        expect([method, path, res.status]).toEqual([method, path, 403]);
      }
    }
    const vw = await api()
      .post('/admin/teams')
      .set(...bearer(viewer))
      .send({ name: 'ViewerTeam' })
      .expect(403);
    expect(vw.body.code).toBe('read_only_role');
    const readKey = await serviceKey(h, admin.id, ['users:read']);
    await api().get('/admin/teams').set('x-api-key', readKey).expect(200);
    await api().delete(`/admin/teams/${t.body.id}`).set('x-api-key', readKey).expect(403);
    expect(await h.prisma.team.findUnique({ where: { id: t.body.id } })).toMatchObject({ name: 'Guarded' });
  });
});
