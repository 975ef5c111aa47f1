/**
 * Virtual-key management end to end (docs/api/keys.md): own keys on /user/keys, any user's keys on
 * /admin/users/:id/keys, secret reveal and the lookup by user ids, effective allowed models
 * (key ∩ user ∩ team, all-team-models) and key credit budgets on the gateway.
 */
import request from 'supertest';
import OpenAI from 'openai';
import { Decimal } from '../src/common/decimal';
import { SecretBoxService } from '../src/crypto/secret-box.service';
import { hashVirtualKeySecret } from '../src/keys/virtual-key';
import { createDevProvider, Harness, startHarness } from './support/gateway-harness';

const PASSWORD = 'key management test password 42';

interface Account {
  id: string;
  did: string;
  email: string;
  token: string;
}

describe('virtual key management', () => {
  let h: Harness;
  let member: Account;
  let other: Account;
  let viewer: Account;
  let admin: Account;
  let adminViewer: Account;
  let superAdmin: Account;

  async function account(role: 'member' | 'member_viewer' | 'admin' | 'admin_viewer' | 'super_admin'): Promise<Account> {
    const email = `${role.replace('_', '-')}-${Math.random().toString(36).slice(2, 8)}@example.com`;
    const user = await h.users.create({ email, role, password: PASSWORD, mustChangePassword: false });
    const res = await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200);
    return { id: user.id, did: user.did, email, token: res.body.accessToken as string };
  }

  const as = (who: Account | string) => {
    const auth = `Bearer ${typeof who === 'string' ? who : who.token}`;
    return {
      get: (path: string) => request(h.baseUrl).get(path).set('authorization', auth),
      post: (path: string, body: object = {}) => request(h.baseUrl).post(path).set('authorization', auth).send(body),
      patch: (path: string, body: object) => request(h.baseUrl).patch(path).set('authorization', auth).send(body),
      delete: (path: string) => request(h.baseUrl).delete(path).set('authorization', auth),
    };
  };

  const modelIds = async (secret: string) => {
    const res = await request(h.baseUrl).get('/v1/models').set('authorization', `Bearer ${secret}`);
    return res.status === 200 ? (res.body.data as { id: string }[]).map((m) => m.id).sort() : res.status;
  };

  const auditRows = (action: string, targetId: string) =>
    h.prisma.auditLog.findMany({ where: { action, targetId }, orderBy: { createdAt: 'asc' } });

  beforeAll(async () => {
    h = await startHarness('user_keys');
    await createDevProvider(h);
    member = await account('member');
    other = await account('member');
    viewer = await account('member_viewer');
    admin = await account('admin');
    adminViewer = await account('admin_viewer');
    superAdmin = await account('super_admin');
  });

  afterAll(async () => {
    await h?.close();
  });

  it('a member creates a key: secret shown once, stored hashed and sealed, audited without the secret; it works on the gateway', async () => {
    const res = await as(member)
      .post('/user/keys', {
        name: 'laptop',
        allowedModels: ['mock-model'],
        allowedServices: ['wiki-bot'],
        rpmLimit: 60,
        creditBudget: '12.5',
      })
      .expect(201);
    const key = res.body;
    expect(key.secret).toMatch(/^tg-[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({
      userId: member.id,
      name: 'laptop',
      prefix: key.secret.slice(0, 10),
      status: 'active',
      allowedModels: ['mock-model'],
      allowedServices: ['wiki-bot'],
      scopes: [],
      rpmLimit: 60,
      tpmLimit: null,
      creditBudget: 12.5,
      creditsSpent: 0,
      revokedAt: null,
    });
    const row = await h.prisma.apiKey.findUniqueOrThrow({ where: { id: key.id } });
    expect(row.secretHash).toBe(hashVirtualKeySecret(key.secret));
    expect(h.app.get(SecretBoxService).decrypt(row.encryptedSecret!)).toBe(key.secret);
    expect(row.encryptedSecret).not.toContain(key.secret);

    const audit = await auditRows('keys.create', key.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorUserId: member.id, result: 'success' });
    expect(JSON.stringify(audit[0])).not.toContain(key.secret);

    const listed = await as(member).get('/user/keys').expect(200);
    expect(listed.body.list.find((k: { id: string }) => k.id === key.id)).toMatchObject({ prefix: key.prefix, name: 'laptop' });
    const body = JSON.stringify(listed.body);
    expect(body).not.toContain(key.secret);
    expect(body).not.toContain(row.secretHash);
    expect(body).not.toContain('encryptedSecret');
    expect(body).not.toContain('secretHash');

    expect(await modelIds(key.secret)).toEqual(['mock-model']);
    expect(h.logs.join('\n')).not.toContain(key.secret);
  });

  it('a member may not give management scopes; nothing is written', async () => {
    const before = await h.prisma.apiKey.count({ where: { userId: member.id } });
    const res = await as(member)
      .post('/user/keys', { name: 'sneaky', scopes: ['usage:read'] })
      .expect(403);
    expect(res.body).toMatchObject({ statusCode: 403, code: 'scope_not_allowed' });
    expect(await h.prisma.apiKey.count({ where: { userId: member.id } })).toBe(before);
  });

  it('400 validation_failed for out-of-bounds fields, unknown scopes and unknown fields', async () => {
    const bad: object[] = [
      {},
      { name: '' },
      { name: 'x'.repeat(129) },
      { name: 'k', allowedModels: Array.from({ length: 257 }, (_, i) => `m${i}`) },
      { name: 'k', allowedModels: ['x'.repeat(201)] },
      { name: 'k', allowedServices: [''] },
      { name: 'k', scopes: ['root'] },
      { name: 'k', rpmLimit: 0 },
      { name: 'k', tpmLimit: 1.5 },
      { name: 'k', rpmLimit: 2 ** 31 },
      { name: 'k', creditBudget: '-1' },
      { name: 'k', creditBudget: '0' },
      { name: 'k', creditBudget: 'ten' },
      { name: 'k', creditBudget: '1'.repeat(19) },
      { name: 'k', expiresAt: 'tomorrow' },
      { name: 'k', secretHash: 'abc' },
    ];
    for (const body of bad) {
      const res = await as(admin).post('/user/keys', body);
      expect([res.status, res.body.code, JSON.stringify(body).slice(0, 60)]).toEqual([
        400,
        'validation_failed',
        JSON.stringify(body).slice(0, 60),
      ]);
    }
  });

  it('member_viewer lists its keys but cannot create, change or rotate them', async () => {
    await as(viewer).get('/user/keys').expect(200);
    const res = await as(viewer).post('/user/keys', { name: 'nope' }).expect(403);
    expect(res.body.code).toBe('read_only_role');
    const own = await h.keys.create(viewer.id, { name: 'given' });
    expect((await as(viewer).post(`/user/keys/${own.id}/rotate`).expect(403)).body.code).toBe('read_only_role');
    expect((await as(viewer).patch(`/user/keys/${own.id}`, { name: 'x' }).expect(403)).body.code).toBe('read_only_role');
    expect((await as(viewer).get(`/user/keys/${own.id}`).expect(200)).body.name).toBe('given');
  });

  it("another user's key id answers 404 on every own-key route (BOLA), and the key is untouched", async () => {
    const theirs = await h.keys.create(other.id, { name: 'theirs' });
    const paths = [
      () => as(member).get(`/user/keys/${theirs.id}`),
      () => as(member).patch(`/user/keys/${theirs.id}`, { name: 'mine now' }),
      () => as(member).post(`/user/keys/${theirs.id}/revoke`),
      () => as(member).delete(`/user/keys/${theirs.id}`),
      () => as(member).post(`/user/keys/${theirs.id}/rotate`),
      () => as(member).get('/user/keys/not-a-uuid'),
    ];
    for (const call of paths) {
      const res = await call();
      expect([res.status, res.body.code]).toEqual([404, 'key_not_found']);
    }
    const row = await h.prisma.apiKey.findUniqueOrThrow({ where: { id: theirs.id } });
    expect(row).toMatchObject({ name: 'theirs', revokedAt: null, secretHash: hashVirtualKeySecret(theirs.secret) });
    expect(await modelIds(theirs.secret)).toEqual(['mock-embed', 'mock-model']);
  });

  it('lists with paging and the status filter; PATCH changes fields, null clears them; a revoked key cannot be changed', async () => {
    const u = await account('member');
    const a = (await as(u).post('/user/keys', { name: 'a', creditBudget: 5 }).expect(201)).body;
    const b = (await as(u).post('/user/keys', { name: 'b' }).expect(201)).body;
    const c = (await as(u).post('/user/keys', { name: 'c' }).expect(201)).body;
    await as(u).post(`/user/keys/${b.id}/revoke`).expect(200);
    const past = new Date(Date.now() - 60_000).toISOString();
    await as(u).patch(`/user/keys/${c.id}`, { expiresAt: past }).expect(200);

    const list = async (q: string) => (await as(u).get(`/user/keys${q}`).expect(200)).body;
    expect((await list('')).count).toBe(3);
    expect((await list('?status=active')).list.map((k: { id: string }) => k.id)).toEqual([a.id]);
    expect((await list('?status=revoked')).list.map((k: { id: string }) => k.id)).toEqual([b.id]);
    expect((await list('?status=expired')).list.map((k: { id: string; status: string }) => [k.id, k.status])).toEqual([[c.id, 'expired']]);
    const page = await list('?page=2&pageSize=2');
    expect(page).toMatchObject({ count: 3, paging: { page: 2, pageSize: 2 } });
    expect(page.list).toHaveLength(1);
    await as(u).get('/user/keys?status=gone').expect(400);
    await as(u).get('/user/keys?pageSize=101').expect(400);

    const patched = await as(u)
      .patch(`/user/keys/${a.id}`, { name: 'renamed', allowedModels: ['devup/*'], tpmLimit: 1000, creditBudget: null, expiresAt: null })
      .expect(200);
    expect(patched.body).toMatchObject({
      name: 'renamed',
      allowedModels: ['devup/*'],
      tpmLimit: 1000,
      creditBudget: null,
      expiresAt: null,
    });
    const audit = await auditRows('keys.update', a.id);
    expect(audit).toHaveLength(1);
    expect(audit[0].changes).toMatchObject({ before: { name: 'a', creditBudget: 5 }, after: { name: 'renamed', creditBudget: null } });

    const refused = await as(u).patch(`/user/keys/${b.id}`, { name: 'again' }).expect(409);
    expect(refused.body.code).toBe('key_revoked');
    // revoking twice changes nothing
    expect((await as(u).delete(`/user/keys/${b.id}`).expect(200)).body.status).toBe('revoked');
  });

  it('rotation keeps the id and fields, gives a new secret; the old one is refused at once', async () => {
    const key = (
      await as(member)
        .post('/user/keys', { name: 'rotating', allowedModels: ['mock-model'] })
        .expect(201)
    ).body;
    expect(await modelIds(key.secret)).toEqual(['mock-model']); // cached now
    const rotated = (await as(member).post(`/user/keys/${key.id}/rotate`).expect(200)).body;
    expect(rotated).toMatchObject({ id: key.id, name: 'rotating', allowedModels: ['mock-model'], status: 'active' });
    expect(rotated.secret).not.toBe(key.secret);
    expect(rotated.prefix).toBe(rotated.secret.slice(0, 10));
    expect(await modelIds(key.secret)).toBe(401);
    expect(await modelIds(rotated.secret)).toEqual(['mock-model']);
    const audit = await auditRows('keys.rotate', key.id);
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0])).not.toContain(rotated.secret);
  });

  it('admin endpoints: admins manage any member key, viewers read only, members are refused; admin keys need a super_admin', async () => {
    const created = await as(admin)
      .post(`/admin/users/${member.id}/keys`, { name: 'ops-made', scopes: ['usage:read'] })
      .expect(201);
    expect(created.body).toMatchObject({ userId: member.id, scopes: ['usage:read'] });
    expect((await as(adminViewer).get(`/admin/users/${member.id}/keys`).expect(200)).body.count).toBeGreaterThan(0);
    expect((await as(adminViewer).get(`/admin/users/${member.id}/keys/${created.body.id}`).expect(200)).body.name).toBe('ops-made');
    expect((await as(adminViewer).post(`/admin/users/${member.id}/keys`, { name: 'x' }).expect(403)).body.code).toBe('read_only_role');
    expect((await as(member).get(`/admin/users/${other.id}/keys`).expect(403)).body.code).toBe('forbidden');
    await as(admin).patch(`/admin/users/${member.id}/keys/${created.body.id}`, { name: 'ops-renamed' }).expect(200);
    // a key id of another user under this user's path: 404
    const theirs = await h.keys.create(other.id, { name: 'other' });
    expect((await as(admin).get(`/admin/users/${member.id}/keys/${theirs.id}`).expect(404)).body.code).toBe('key_not_found');
    expect((await as(admin).get(`/admin/users/00000000-0000-4000-8000-000000000000/keys`).expect(404)).body.code).toBe('user_not_found');
    expect((await as(admin).get(`/admin/users/not-a-uuid/keys`).expect(404)).body.code).toBe('user_not_found');

    // an admin cannot mint or rotate a super_admin's key (it would act as the super_admin)
    const top = await h.keys.create(superAdmin.id, { name: 'top' });
    expect((await as(admin).post(`/admin/users/${superAdmin.id}/keys`, { name: 'mine' }).expect(403)).body.code).toBe('forbidden');
    expect((await as(admin).post(`/admin/users/${superAdmin.id}/keys/${top.id}/rotate`).expect(403)).body.code).toBe('forbidden');
    await as(superAdmin).post(`/admin/users/${admin.id}/keys`, { name: 'from the top' }).expect(201);
    expect((await as(admin).post(`/admin/users/${member.id}/keys/${created.body.id}/revoke`).expect(200)).body.status).toBe('revoked');
  });

  it('reveal: only an admin API key with the explicit keys:reveal scope gets the secret; audited before answering, never the secret', async () => {
    const target = await h.keys.create(member.id, { name: 'for the integration' });
    const revealer = (
      await as(admin)
        .post('/user/keys', { name: 'integration', scopes: ['keys:reveal'] })
        .expect(201)
    ).body;
    const adminScoped = (
      await as(admin)
        .post('/user/keys', { name: 'ops', scopes: ['admin'] })
        .expect(201)
    ).body;
    const path = `/admin/keys/${target.id}/secret`;

    expect((await as(admin).get(path).expect(403)).body.code).toBe('reveal_not_allowed'); // JWT admin
    expect((await as(adminScoped.secret).get(path).expect(403)).body.code).toBe('reveal_not_allowed'); // admin scope alone
    // a member's key with keys:reveal (given by an admin): the guard refuses an admin endpoint to a member
    const memberReveal = (
      await as(admin)
        .post(`/admin/users/${member.id}/keys`, { name: 'r', scopes: ['keys:reveal'] })
        .expect(201)
    ).body;
    expect((await as(memberReveal.secret).get(path).expect(403)).body.code).toBe('forbidden');

    const res = await as(revealer.secret).get(path).expect(200);
    expect(res.body).toEqual({ secret: target.secret });
    const audit = await auditRows('keys.reveal', target.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorType: 'api_key', actorKeyId: revealer.id, result: 'success' });
    expect(JSON.stringify(audit)).not.toContain(target.secret);
    expect(h.logs.join('\n')).not.toContain(target.secret);

    expect((await as(revealer.secret).get('/admin/keys/00000000-0000-4000-8000-000000000000/secret').expect(404)).body.code).toBe(
      'key_not_found',
    );
    const top = await h.keys.create(superAdmin.id, { name: 'top secret' });
    expect((await as(revealer.secret).get(`/admin/keys/${top.id}/secret`).expect(403)).body.code).toBe('forbidden');
    await h.keys.revoke(member.id, target.id);
    expect((await as(revealer.secret).get(path).expect(409)).body.code).toBe('key_revoked');
  });

  it('POST /admin/users/lookup: users with team, lists, metadata and keys; secrets only for a keys:reveal caller, one audit entry per key', async () => {
    const team = await h.prisma.team.create({ data: { name: `lookup-team-${Date.now()}`, allowedModels: ['mock-model'] } });
    const u = await account('member');
    await h.prisma.user.update({
      where: { id: u.id },
      data: { teamId: team.id, allowedModels: ['mock-model'], allowedServices: ['wiki'], metadata: { dept: 'R&D' } },
    });
    const k1 = await h.keys.create(u.id, { name: 'one', allowedServices: ['wiki'] });
    const k2 = await h.keys.create(u.id, { name: 'two' });
    await h.keys.revoke(u.id, k2.id);
    const missing = '00000000-0000-4000-8000-000000000001';

    const plain = await as(admin)
      .post('/admin/users/lookup', { userIds: [u.id, other.did, missing, 'nobody', u.id] })
      .expect(200);
    expect(plain.body.notFound).toEqual([missing, 'nobody']);
    expect(plain.body.users.map((x: { id: string }) => x.id)).toEqual([u.id, other.id]);
    expect(plain.body.users[0]).toMatchObject({
      email: u.email,
      role: 'member',
      status: 'active',
      team: { id: team.id, name: team.name },
      allowedModels: ['mock-model'],
      allowedServices: ['wiki'],
      metadata: { dept: 'R&D' },
    });
    expect(plain.body.users[0].keys.map((k: { id: string }) => k.id).sort()).toEqual([k1.id, k2.id].sort());
    expect(JSON.stringify(plain.body)).not.toContain(k1.secret);
    expect(plain.body.users[0].keys[0]).not.toHaveProperty('secret');

    const revealer = (
      await as(admin)
        .post('/user/keys', { name: 'lookup integration', scopes: ['keys:reveal', 'users:read'] })
        .expect(201)
    ).body;
    const revealed = await as(revealer.secret)
      .post('/admin/users/lookup', { userIds: [u.id] })
      .expect(200);
    const keys = revealed.body.users[0].keys as { id: string; secret: string | null }[];
    expect(keys.find((k) => k.id === k1.id)!.secret).toBe(k1.secret);
    expect(keys.find((k) => k.id === k2.id)!.secret).toBeNull(); // revoked: not given out
    expect(await auditRows('keys.reveal', k1.id)).toHaveLength(1);
    expect(await auditRows('keys.reveal', k2.id)).toHaveLength(0);

    // bounds and scopes
    const tooMany = Array.from({ length: 1001 }, (_, i) => `did-${i}`);
    expect((await as(admin).post('/admin/users/lookup', { userIds: tooMany }).expect(400)).body.code).toBe('validation_failed');
    expect((await as(admin).post('/admin/users/lookup', { userIds: [] }).expect(400)).body.code).toBe('validation_failed');
    expect(
      (
        await as(admin)
          .post('/admin/users/lookup', { userIds: ['x'.repeat(201)] })
          .expect(400)
      ).body.code,
    ).toBe('validation_failed');
    const usageOnly = (
      await as(admin)
        .post('/user/keys', { name: 'usage', scopes: ['usage:read'] })
        .expect(201)
    ).body;
    expect(
      (
        await as(usageOnly.secret)
          .post('/admin/users/lookup', { userIds: [u.id] })
          .expect(403)
      ).body.code,
    ).toBe('insufficient_scope');
    expect(
      (
        await as(member)
          .post('/admin/users/lookup', { userIds: [u.id] })
          .expect(403)
      ).body.code,
    ).toBe('forbidden');
    await as(adminViewer)
      .post('/admin/users/lookup', { userIds: [u.id] })
      .expect(200);
  });

  it('effective allowed models = key ∩ user ∩ team; all-team-models follows the team; /v1/models and calls agree', async () => {
    const team = await h.prisma.team.create({ data: { name: `models-team-${Date.now()}`, allowedModels: ['mock-embed'] } });
    const u = await account('member');
    await h.prisma.user.update({ where: { id: u.id }, data: { teamId: team.id } });
    await h.ledger.grant({ userId: u.id, amount: new Decimal('100'), reason: 'models test' });
    const teamKey = await h.keys.create(u.id, { name: 'team', allowedModels: ['all-team-models'] });
    const client = new OpenAI({ apiKey: teamKey.secret, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 });
    expect(await modelIds(teamKey.secret)).toEqual(['mock-embed']);
    await expect(
      client.chat.completions.create({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({
      status: 403,
      code: 'model_not_allowed',
    });

    // the team widens, the user narrows: key (all-team-models) ∩ user ∩ team
    await h.prisma.team.update({ where: { id: team.id }, data: { allowedModels: ['devup/*'] } });
    await h.prisma.user.update({ where: { id: u.id }, data: { allowedModels: ['mock-model'] } });
    await h.keyCheck.invalidateUsers([u.id]);
    // listed as provider/model: the team allows it only through "devup/*"
    expect(await modelIds(teamKey.secret)).toEqual(['devup/mock-model']);
    await client.chat.completions.create({ model: 'mock-model', max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] });
    await expect(client.embeddings.create({ model: 'mock-embed', input: 'hi' })).rejects.toMatchObject({ status: 403 });

    // a key list that does not meet the user's list allows nothing
    const disjoint = await h.keys.create(u.id, { name: 'disjoint', allowedModels: ['mock-embed'] });
    expect(await modelIds(disjoint.secret)).toEqual([]);

    // no team, empty user list: only the key's own list restricts
    await h.prisma.user.update({ where: { id: u.id }, data: { teamId: null, allowedModels: [] } });
    await h.keyCheck.invalidateUsers([u.id]);
    expect(await modelIds(teamKey.secret)).toEqual(['mock-embed', 'mock-model']);
    expect(await modelIds(disjoint.secret)).toEqual(['mock-embed']);
  });

  it('credit budget: debits of the key add to creditsSpent; once spent ≥ budget its calls get 402 budget_exceeded; keys without a budget are not tracked', async () => {
    const u = await account('member');
    await h.ledger.grant({ userId: u.id, amount: new Decimal('1000'), reason: 'budget test' });
    const budgeted = (await as(u).post('/user/keys', { name: 'capped', creditBudget: '0.000001' }).expect(201)).body;
    const free = (await as(u).post('/user/keys', { name: 'free' }).expect(201)).body;
    const chat = (secret: string) =>
      new OpenAI({ apiKey: secret, baseURL: `${h.baseUrl}/v1`, maxRetries: 0 }).chat.completions.create({
        model: 'mock-model',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'budget #mock:words=5' }],
      });

    await chat(budgeted.secret);
    await chat(free.secret);
    await h.recorder.drain();
    const spentCalls = await h.prisma.modelCall.findMany({ where: { apiKeyId: budgeted.id } });
    const expected = spentCalls.reduce((sum, c) => sum.add(c.credits), new Decimal(0));
    expect(expected.gt(0)).toBe(true);
    const row = await h.prisma.apiKey.findUniqueOrThrow({ where: { id: budgeted.id } });
    expect(row.creditsSpent.toFixed()).toBe(expected.toFixed());
    expect((await h.prisma.apiKey.findUniqueOrThrow({ where: { id: free.id } })).creditsSpent.toFixed()).toBe('0');

    await expect(chat(budgeted.secret)).rejects.toMatchObject({ status: 402, code: 'budget_exceeded', type: 'insufficient_quota' });
    await chat(free.secret); // the user's other key still works
    const refused = await h.prisma.modelCall.findFirst({ where: { apiKeyId: budgeted.id, errorCode: 'budget_exceeded' } });
    expect(refused?.status).toBe('failed');
    expect(refused?.credits.toFixed()).toBe('0');
    expect((await as(u).get(`/user/keys/${budgeted.id}`).expect(200)).body.creditsSpent).toBe(expected.toNumber());

    // raising the budget lets it call again at once
    await as(u).patch(`/user/keys/${budgeted.id}`, { creditBudget: '100' }).expect(200);
    await chat(budgeted.secret);
  });
});
