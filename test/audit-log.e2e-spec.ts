/**
 * The audit log (docs/audit-log.md): one entry per admin write in the write's transaction,
 * refusals and service-key reads, reading with filters and keyset paging, the CSV export, the
 * buffer's flush at shutdown and while PostgreSQL is away, and no secret in any entry.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Client } from 'pg';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { systemAuditContext } from '../src/audit/audit-entry';
import { AuditService } from '../src/audit/audit.service';
import { AuditRetentionProcessor } from '../src/audit/audit-retention.processor';
import { AuditRetentionRepository } from '../src/audit/audit-retention.repository';
import { AppConfig } from '../src/config/app-config';
import { APP_CONFIG } from '../src/config/config.module';
import { ALL_QUEUES } from '../src/jobs/queues';
import { REDIS } from '../src/redis/redis.tokens';
import { startFaultProxy } from './support/fault-proxy';
import { Harness, startHarness, UPSTREAM_SECRET } from './support/gateway-harness';

const PASSWORD = 'audit tests password 123';
const MEMBER_PASSWORD = 'member-Secret-Password-9f8e7d';

interface Entry {
  id: string;
  createdAt: string;
  action: string;
  actorUserId: string | null;
  actorKeyId: string | null;
  actorLabel: string | null;
  targetType: string | null;
  targetId: string | null;
  result: string;
  status: number;
  requestId: string | null;
  path: string | null;
  changes: Record<string, unknown> | null;
}

describe('audit log', () => {
  let h: Harness;
  let admin: string;
  let adminId: string;
  let viewer: string;
  let member: string;
  let memberId: string;
  let memberDid: string;

  const login = async (name: string, password = PASSWORD) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: name, password }).expect(200)).body.accessToken as string;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const flush = () => h.app.get(AuditService).flush();
  const rowsFor = async (requestId: string) => {
    await flush();
    const r = await h.prisma.pool.query<{
      action: string;
      result: string;
      status: number;
      changes: Record<string, unknown> | null;
      target_id: string | null;
    }>('SELECT action, result, status, changes, target_id FROM audit_logs WHERE request_id = $1', [requestId]);
    return r.rows;
  };
  /** Sends an admin request with its own request id; returns the response and that id. */
  const adminCall = (method: 'post' | 'put' | 'delete', path: string, body?: object, token = admin) => {
    const rid = randomUUID();
    const req = request(h.baseUrl)[method](path).set(as(token)).set('x-request-id', rid);
    return { rid, req: body ? req.send(body) : req };
  };
  const list = async (query: Record<string, string | number>, token = admin) =>
    (await request(h.baseUrl).get('/admin/audit-logs').query(query).set(as(token)).expect(200)).body as {
      list: Entry[];
      nextCursor: string | null;
    };

  beforeAll(async () => {
    h = await startHarness('audit_log', { AUDIT_FLUSH_INTERVAL_MS: '60000' });
    adminId = (await h.users.create({ email: 'admin@example.com', role: 'admin', password: PASSWORD })).id;
    await h.users.create({ email: 'viewer@example.com', role: 'admin_viewer', password: PASSWORD });
    const m = await h.users.create({ email: 'member@example.com', password: MEMBER_PASSWORD });
    memberId = m.id;
    memberDid = m.did;
    admin = await login('admin@example.com');
    viewer = await login('viewer@example.com');
    member = await login('member@example.com', MEMBER_PASSWORD);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('providers, credentials and model rates: exactly one entry per admin action, in the documented shape, never the credential value', async () => {
    const create = adminCall('post', '/ai-providers', { name: 'auditp', displayName: 'Audit P', baseUrl: h.upstream.url });
    const provider = (await create.req.expect(201)).body as { id: string };
    const other = (
      await request(h.baseUrl)
        .post('/ai-providers')
        .set(as(admin))
        .send({ name: 'auditq', displayName: 'Q', baseUrl: h.upstream.url })
        .expect(201)
    ).body as { id: string };
    const c = await rowsFor(create.rid);
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ action: 'providers.create', result: 'success', status: 201, target_id: provider.id });
    expect(c[0].changes).toEqual({ created: { name: 'auditp', displayName: 'Audit P', baseUrl: h.upstream.url, enabled: true } });

    const upd = adminCall('put', `/ai-providers/${provider.id}`, { displayName: 'Audit P2' });
    await upd.req.expect(200);
    const u = await rowsFor(upd.rid);
    expect(u).toHaveLength(1);
    expect(u[0]).toMatchObject({
      action: 'providers.update',
      changes: { before: { displayName: 'Audit P' }, after: { displayName: 'Audit P2' } },
    });

    const cred = adminCall('post', `/ai-providers/${provider.id}/credentials`, { name: 'main', value: UPSTREAM_SECRET });
    const credId = (await cred.req.expect(201)).body.id as string;
    const cc = await rowsFor(cred.rid);
    expect(cc).toHaveLength(1);
    expect(cc[0]).toMatchObject({
      action: 'credentials.create',
      target_id: credId,
      changes: { created: { name: 'main', valueSet: true } },
    });
    const credUpd = adminCall('put', `/ai-providers/${provider.id}/credentials/${credId}`, { value: UPSTREAM_SECRET, weight: 5 });
    await credUpd.req.expect(200);
    const cu = await rowsFor(credUpd.rid);
    expect(cu).toHaveLength(1);
    expect(cu[0]).toMatchObject({
      action: 'credentials.update',
      changes: { before: { weight: 100 }, after: { weight: 5 }, valueChanged: true },
    });

    const rate = adminCall('post', `/ai-providers/${provider.id}/model-rates`, {
      model: 'audit-model',
      inputRate: '0.5',
      outputRate: '1.5',
      unitCosts: { input: '0.000001', output: '0.000002' },
    });
    const rateId = (await rate.req.expect(201)).body.id as string;
    expect(await rowsFor(rate.rid)).toEqual([expect.objectContaining({ action: 'model-rates.create', target_id: rateId, status: 201 })]);
    const multi = adminCall('post', '/ai-providers/model-rates', {
      model: 'multi',
      inputRate: 1,
      outputRate: 2,
      providers: [provider.id, other.id],
    });
    await multi.req.expect(201);
    const mr = await rowsFor(multi.rid);
    expect(mr).toHaveLength(1);
    expect((mr[0].changes as { created: unknown[] }).created).toHaveLength(2);
    const rateUpd = adminCall('put', `/ai-providers/${provider.id}/model-rates/${rateId}`, { inputRate: '0.75', reason: 'repricing' });
    await rateUpd.req.expect(200);
    expect(await rowsFor(rateUpd.rid)).toEqual([
      expect.objectContaining({
        action: 'model-rates.update',
        changes: { before: { inputRate: '0.5' }, after: { inputRate: '0.75' }, reason: 'repricing' },
      }),
    ]);
    const bulk = adminCall('post', '/ai-providers/bulk-rate-update', { profitMargin: 20, creditPrice: 0.000001, reason: 'audit' });
    await bulk.req.expect(200);
    const b = await rowsFor(bulk.rid);
    expect(b).toHaveLength(1);
    expect(b[0]).toMatchObject({
      action: 'model-rates.bulk-update',
      changes: { updated: 1, reason: 'audit', parameters: { profitMargin: '20' } },
    });

    // a refused write (404) leaves its failure entry only: the write's transaction rolled back
    const missing = adminCall('delete', `/ai-providers/${provider.id}/model-rates/${randomUUID()}`);
    await missing.req.expect(404);
    expect(await rowsFor(missing.rid)).toEqual([expect.objectContaining({ result: 'failure', status: 404 })]);

    const rateDel = adminCall('delete', `/ai-providers/${provider.id}/model-rates/${rateId}`);
    await rateDel.req.expect(204);
    expect(await rowsFor(rateDel.rid)).toEqual([
      expect.objectContaining({
        action: 'model-rates.delete',
        status: 204,
        changes: { deleted: expect.objectContaining({ model: 'audit-model' }) },
      }),
    ]);
    const credDel = adminCall('delete', `/ai-providers/${provider.id}/credentials/${credId}`);
    await credDel.req.expect(204);
    expect(await rowsFor(credDel.rid)).toEqual([
      expect.objectContaining({ action: 'credentials.delete', changes: { deleted: expect.objectContaining({ name: 'main' }) } }),
    ]);
    const del = adminCall('delete', `/ai-providers/${other.id}`);
    await del.req.expect(204);
    expect(await rowsFor(del.rid)).toEqual([
      expect.objectContaining({
        action: 'providers.delete',
        changes: { deleted: expect.objectContaining({ name: 'auditq', modelRates: ['multi (chatCompletion)'] }) },
      }),
    ]);
  });

  it('credit grants: one entry with amount, user, reason and idempotency key; a replay gets its own entry and grants nothing', async () => {
    const key = `grant-${randomUUID()}`;
    const first = adminCall('post', '/admin/credits/grants', { userDid: memberDid, amount: '12.5', reason: 'welcome' });
    void first.req.set('idempotency-key', key);
    const grant = (await first.req.expect(201)).body as { id: string };
    expect(await rowsFor(first.rid)).toEqual([
      expect.objectContaining({
        action: 'credits.grant',
        status: 201,
        target_id: grant.id,
        changes: expect.objectContaining({ userId: memberId, amount: '12.5', reason: 'welcome', idempotencyKey: key }),
      }),
    ]);
    const again = adminCall('post', '/admin/credits/grants', { userDid: memberDid, amount: '12.5', reason: 'welcome' });
    void again.req.set('idempotency-key', key);
    await again.req.expect(200);
    expect(await rowsFor(again.rid)).toEqual([expect.objectContaining({ action: 'credits.grant-replay', target_id: grant.id })]);
    const grants = await h.prisma.creditGrant.count({ where: { userId: memberId } });
    expect(grants).toBe(1);
  });

  it('admin_viewer reads the log; a member gets 403 and that refusal is recorded as a failure with status 403', async () => {
    await request(h.baseUrl).get('/admin/audit-logs').set(as(viewer)).expect(200);
    await request(h.baseUrl).get('/admin/audit-logs').expect(401);
    const rid = randomUUID();
    const denied = await request(h.baseUrl).get('/admin/audit-logs').set(as(member)).set('x-request-id', rid).expect(403);
    expect(denied.body.code).toBe('forbidden');
    const rows = await rowsFor(rid);
    expect(rows).toEqual([expect.objectContaining({ result: 'failure', status: 403 })]);
    const page = await list({ requestId: rid }, viewer);
    expect(page.list).toEqual([
      expect.objectContaining({ actorUserId: memberId, result: 'failure', status: 403, path: '/admin/audit-logs' }),
    ]);
    await request(h.baseUrl)
      .post('/ai-providers')
      .set(as(viewer))
      .send({ name: 'v', displayName: 'V', baseUrl: h.upstream.url })
      .expect(403);
  });

  it("a service key's read of /user/model-calls creates a read entry; keys need audit:read to read the log", async () => {
    const key = await h.keys.create(memberId, { name: 'svc', scopes: ['usage:read'] });
    const rid = randomUUID();
    await request(h.baseUrl).get('/user/model-calls').set('x-api-key', key.secret).set('x-request-id', rid).expect(200);
    expect(await rowsFor(rid)).toEqual([expect.objectContaining({ action: 'read GET /user/model-calls', result: 'success', status: 200 })]);
    const page = await list({ actorKeyId: key.id });
    expect(page.list[0]).toMatchObject({ actorKeyId: key.id, actorUserId: memberId, actorLabel: 'member@example.com' });
    // a member's key never reads the log; an admin's key needs audit:read (or admin)
    expect((await request(h.baseUrl).get('/admin/audit-logs').set('x-api-key', key.secret).expect(403)).body.code).toBe('forbidden');
    const usageOnly = await h.keys.create(adminId, { name: 'usage', scopes: ['usage:read'] });
    const denied = await request(h.baseUrl).get('/admin/audit-logs').set('x-api-key', usageOnly.secret).expect(403);
    expect(denied.body.code).toBe('insufficient_scope');
    const reader = await h.keys.create(adminId, { name: 'auditor', scopes: ['audit:read'] });
    await request(h.baseUrl).get('/admin/audit-logs').set('x-api-key', reader.secret).expect(200);
  });

  it('filters: actor substring, action exact and prefix*, target, result, status, from/to (ISO and Unix seconds); 400 on bad input', async () => {
    const byPrefix = await list({ action: 'providers.*', limit: 200 });
    expect(byPrefix.list.length).toBeGreaterThanOrEqual(3);
    expect(byPrefix.list.every((e) => e.action.startsWith('providers.'))).toBe(true);
    const exact = await list({ action: 'providers.update' });
    expect(exact.list.map((e) => e.action)).toEqual(['providers.update']);
    expect((await list({ actor: 'ADMIN@example', limit: 200 })).list.every((e) => e.actorLabel === 'admin@example.com')).toBe(true);
    expect((await list({ actorUserId: adminId, result: 'failure', status: 404 })).list).toHaveLength(1);
    const one = exact.list[0];
    expect((await list({ targetType: 'provider', targetId: one.targetId! })).list.length).toBeGreaterThanOrEqual(2);
    const at = Date.parse(one.createdAt);
    expect(
      (await list({ action: 'providers.update', from: new Date(at).toISOString(), to: new Date(at + 1).toISOString() })).list,
    ).toHaveLength(1);
    expect((await list({ action: 'providers.update', to: new Date(at).toISOString() })).list).toHaveLength(0);
    expect((await list({ action: 'providers.update', from: String(Math.floor(at / 1000)) })).list).toHaveLength(1);
    expect((await list({ action: 'providers.update', from: String(Math.floor(at / 1000) + 1) })).list).toHaveLength(0);
    const bad = async (q: Record<string, string>, code = 'validation_failed') =>
      expect((await request(h.baseUrl).get('/admin/audit-logs').query(q).set(as(admin)).expect(400)).body.code).toBe(code);
    await bad({ limit: '0' });
    await bad({ limit: '201' });
    await bad({ from: 'yesterday' });
    await bad({ from: '2026-01-02', to: '2026-01-01' });
    await bad({ actorUserId: 'nope' });
    await bad({ action: 'a*b*' });
    await bad({ actor: 'x'.repeat(1000) });
    await bad({ cursor: 'not-a-cursor' }, 'invalid_cursor');
    await request(h.baseUrl).get(`/admin/audit-logs/${one.id}`).set(as(viewer)).expect(200);
    expect((await request(h.baseUrl).get(`/admin/audit-logs/${randomUUID()}`).set(as(admin)).expect(404)).body.code).toBe(
      'audit_log_not_found',
    );
  });

  it('keyset paging: newest first, no duplicates and no gaps across pages while new rows are inserted', async () => {
    const audit = h.app.get(AuditService);
    for (let i = 0; i < 45; i++) audit.enqueue(systemAuditContext('pager'), { action: 'paging.seed', targetId: String(i) });
    await flush();
    const before = await h.prisma.pool.query<{ id: string }>("SELECT id FROM audit_logs WHERE action LIKE 'paging.%'");
    const seen: Entry[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { list: Entry[]; nextCursor: string | null } = await list({
        action: 'paging.*',
        limit: 7,
        ...(cursor ? { cursor } : {}),
      });
      seen.push(...page.list);
      cursor = page.nextCursor;
      // rows inserted between pages are newer than every cursor: they never shift later pages
      audit.enqueue(systemAuditContext('pager'), { action: 'paging.late', targetId: String(pages) });
      await flush();
      pages++;
    } while (cursor);
    const ids = seen.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of before.rows) expect(ids).toContain(r.id);
    const keys = seen.map((e) => `${e.createdAt} ${e.id}`);
    expect([...keys].sort().reverse()).toEqual(keys);
    expect(pages).toBe(Math.ceil(before.rows.length / 7) + (before.rows.length % 7 === 0 ? 1 : 0));
  });

  it('export: CSV of the filtered log with a header row, formula cells neutralised', async () => {
    h.app
      .get(AuditService)
      .enqueue(
        { ...systemAuditContext('=HYPERLINK("http://evil")'), requestId: 'export-test' },
        { action: 'export.check', targetId: '+1' },
      );
    await flush();
    const res = await request(h.baseUrl).get('/admin/audit-logs/export').query({ action: 'export.*' }).set(as(viewer)).expect(200);
    expect(res.headers['content-type']).toContain('text/csv');
    expect(res.headers['x-export-max-rows']).toBe('100000');
    const lines = res.text.trim().split('\n');
    expect(lines[0]).toBe(
      'Timestamp,ID,Actor Type,Actor User ID,Actor Key ID,Actor,Actor Role,Action,Target Type,Target ID,Result,Status,Request ID,IP,User Agent,Method,Path,Changes',
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(lines[1]).toContain(",'+1,");
    await request(h.baseUrl).get('/admin/audit-logs/export').query({ from: 'bad' }).set(as(admin)).expect(400);
    await request(h.baseUrl).get('/admin/audit-logs/export').set(as(member)).expect(403);
  });

  it('retention deletes entries older than AUDIT_RETENTION_DAYS and keeps the rest; 0 keeps everything', async () => {
    await h.prisma.pool.query(
      `INSERT INTO audit_logs (id, created_at, actor_type, action, result, status)
       SELECT gen_random_uuid(), now() - interval '400 days', 'system', 'retention.old', 'success', 200 FROM generate_series(1, 25)`,
    );
    const repo = new AuditRetentionRepository(h.prisma);
    const config = h.app.get<AppConfig>(APP_CONFIG);
    const keep = new AuditRetentionProcessor(repo, { ...config, audit: { ...config.audit, retentionDays: 0 } });
    expect(await keep.run(new Date())).toEqual({ deleted: 0, cutoff: null });
    const total = Number((await h.prisma.pool.query('SELECT count(*) FROM audit_logs')).rows[0].count);
    const proc = new AuditRetentionProcessor(repo, { ...config, audit: { ...config.audit, retentionDays: 365 } });
    expect((await proc.run(new Date())).deleted).toBe(25);
    expect(Number((await h.prisma.pool.query('SELECT count(*) FROM audit_logs')).rows[0].count)).toBe(total - 25);
  });

  it('no entry contains a secret: credential value, password, virtual key', async () => {
    const p = (
      await request(h.baseUrl)
        .post('/ai-providers')
        .set(as(admin))
        .send({ name: 'secretp', displayName: 'S', baseUrl: h.upstream.url })
        .expect(201)
    ).body as { id: string };
    await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: 'k', value: UPSTREAM_SECRET })
      .expect(201);
    await request(h.baseUrl)
      .post(`/ai-providers/${p.id}/credentials`)
      .set(as(admin))
      .send({ name: 'k2', value: 'sk-wrong-secret-zz9' })
      .expect(400);
    const key = await h.keys.create(memberId, { name: 'scan', scopes: ['usage:read'] });
    await request(h.baseUrl).get('/user/model-calls').set('x-api-key', key.secret).expect(200);
    await request(h.baseUrl).get('/admin/audit-logs').set('x-api-key', key.secret).expect(403);
    await request(h.baseUrl)
      .post('/auth/login')
      .send({ login: 'member@example.com', password: `${MEMBER_PASSWORD}x` })
      .expect(401);
    await login('member@example.com', MEMBER_PASSWORD);
    await flush();
    const { rows } = await h.prisma.pool.query<{ row: string }>('SELECT row_to_json(a)::text AS row FROM audit_logs a');
    expect(rows.length).toBeGreaterThan(20);
    const all = rows.map((r) => r.row).join('\n');
    for (const secret of [UPSTREAM_SECRET, 'sk-wrong-secret-zz9', MEMBER_PASSWORD, key.secret, key.secret.slice(3)])
      expect(all).not.toContain(secret);
    // not even the masked form (maskSecret: first 3, bullets, last 3; a bare 3-character tail would
    // also match random request ids)
    expect(all).not.toContain(`••••${UPSTREAM_SECRET.slice(-3)}`);
  });
});

describe('audit buffer', () => {
  it('entries queued by enqueue are written when the app closes', async () => {
    const h = await startHarness('audit_close', { AUDIT_FLUSH_INTERVAL_MS: '60000' });
    const rid = randomUUID();
    await request(h.baseUrl).get('/admin/audit-logs').set('x-request-id', rid).expect(401);
    expect(h.app.get(AuditService).pending()).toBeGreaterThan(0);
    for (const name of ALL_QUEUES) await h.app.get<Queue>(getQueueToken(name)).obliterate({ force: true });
    await h.app.close();
    const c = new Client({ connectionString: h.db.url });
    await c.connect();
    try {
      const r = await c.query('SELECT result, status FROM audit_logs WHERE request_id = $1', [rid]);
      expect(r.rows).toEqual([{ result: 'failure', status: 401 }]);
    } finally {
      await c.end();
      await h.upstream.close();
      await h.db.drop();
    }
  });

  it('while PostgreSQL is away entries go to the Redis spill, and are written once it is back', async () => {
    const proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
    const h = await startHarness(
      'audit_outage',
      { AUDIT_FLUSH_INTERVAL_MS: '60000', DATABASE_CONNECT_TIMEOUT_MS: '3000', DATABASE_QUERY_TIMEOUT_MS: '5000' },
      { databaseUrlFor: (url) => proxy.url(url) },
    );
    try {
      const audit = h.app.get(AuditService);
      const redis = h.app.get<Redis>(REDIS);
      await proxy.cut('refuse');
      for (let i = 0; i < 12; i++) audit.enqueue(systemAuditContext('outage'), { action: 'outage.entry', targetId: String(i) });
      await audit.flush();
      expect(audit.pending()).toBe(0);
      expect(await redis.xlen(audit.spillKey)).toBe(12);
      await audit.flush(); // still away: the spill keeps them
      expect(await redis.xlen(audit.spillKey)).toBe(12);
      await proxy.restore();
      // the pool reconnects on demand; on a loaded machine the first attempt may still fail, and
      // the entries then simply stay in the spill for the next flush
      for (let i = 0; i < 10 && (await redis.xlen(audit.spillKey)) > 0; i++) await audit.flush();
      expect(await redis.xlen(audit.spillKey)).toBe(0);
      const c = new Client({ connectionString: h.db.url });
      await c.connect();
      const r = await c.query("SELECT target_id FROM audit_logs WHERE action = 'outage.entry'");
      await c.end();
      expect(r.rows.map((x: { target_id: string }) => Number(x.target_id)).sort((a, b) => a - b)).toEqual([...Array(12).keys()]);
    } finally {
      await proxy.restore();
      await h.close();
      await proxy.close();
    }
  });
});
