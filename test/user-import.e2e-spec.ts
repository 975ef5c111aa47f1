/** POST /admin/users/import, its files and status, GET /admin/users/export (docs/api/user-import.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseString } from '@fast-csv/parse';
import request from 'supertest';
import { AuditService } from '../src/audit/audit.service';
import { Decimal } from '../src/common/decimal';
import { createDevProvider, Harness, startHarness } from './support/gateway-harness';
import { createAccount, tableCounts, TestAccount } from './support/user-import-accounts';

const MAX_ROWS = 3000;
const MAX_BYTES = 200_000;
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name));

function parseCsv(text: string): Promise<Record<string, string>[]> {
  return new Promise((resolve, reject) => {
    const rows: Record<string, string>[] = [];
    parseString(text, { headers: true })
      .on('data', (r: Record<string, string>) => rows.push(r))
      .on('error', reject)
      .on('end', () => resolve(rows));
  });
}

describe('user import', () => {
  let h: Harness;
  let admin: TestAccount;
  let superAdmin: TestAccount;
  let otherAdmin: TestAccount;
  let member: TestAccount;

  const upload = (who: TestAccount, query: string, body: Buffer | string) =>
    request(h.baseUrl)
      .post(`/admin/users/import?${query}`)
      .set('authorization', `Bearer ${who.key}`)
      .attach('file', Buffer.from(body), 'users.csv');
  const text = (who: TestAccount, path: string) =>
    request(h.baseUrl)
      .get(path)
      .set('authorization', `Bearer ${who.key}`)
      .buffer(true)
      .parse((res, cb) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (s += c));
        res.on('end', () => cb(null, s));
      });
  const pool = () => h.prisma.pool;
  const userRow = async (email: string) =>
    (
      await pool().query<{ id: string; role: string; team: string | null }>(
        'SELECT u.id, u.role::text AS role, t.name AS team FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.email = $1',
        [email],
      )
    ).rows[0];
  const quietCounts = async () => {
    await h.app.get(AuditService).flush();
    return tableCounts(pool());
  };

  beforeAll(async () => {
    h = await startHarness('user_import', { USER_IMPORT_MAX_ROWS: String(MAX_ROWS), USER_IMPORT_MAX_BYTES: String(MAX_BYTES) });
    admin = await createAccount(pool(), 'importer@example.com', 'admin', ['users:write', 'users:read']);
    superAdmin = await createAccount(pool(), 'root-importer@example.com', 'super_admin', ['users:write', 'users:read']);
    otherAdmin = await createAccount(pool(), 'other-admin@example.com', 'admin', ['users:write', 'users:read']);
    member = await createAccount(pool(), 'plain-member@example.com', 'member', ['users:write', 'users:read']);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('dry run of an add reports what would change and writes nothing (users, teams, keys, audit entries)', async () => {
    const before = await quietCounts();
    const res = await upload(admin, 'mode=add&dryRun=true', fixture('user-import-add.csv')).expect(200);
    expect(res.body.dryRun).toBe(true);
    expect(res.body.summary).toEqual({ rows: 9, created: 5, updated: 0, deleted: 0, unchanged: 0, errors: 4, keysCreated: 1 });
    expect(await quietCounts()).toEqual(before);
    const result = await parseCsv((await text(admin, res.body.resultCsvUrl).expect(200)).body as string);
    expect(result.find((r) => r.email === 'alice@example.com')).toMatchObject({ status: 'created', key_name: 'laptop', key: '' });
  });

  it('add: good rows are created, bad rows reported by line with a code, LiteLLM role names read, one audit entry per batch', async () => {
    const res = await upload(admin, 'mode=add', fixture('user-import-add.csv')).expect(200);
    expect(res.body.summary).toEqual({ rows: 9, created: 5, updated: 0, deleted: 0, unchanged: 0, errors: 4, keysCreated: 1 });
    expect(res.body.errors.map((e: { line: number; code: string }) => [e.line, e.code])).toEqual([
      [4, 'ADMIN_ROLE_FORBIDDEN'],
      [5, 'INVALID_EMAIL'],
      [6, 'UNKNOWN_ROLE'],
      [7, 'DUPLICATE_EMAIL'],
    ]);
    expect(await userRow('alice@example.com')).toMatchObject({ role: 'member', team: 'Research' });
    expect(await userRow('bob@example.com')).toMatchObject({ role: 'member', team: 'Research' });
    expect(await userRow('frank@example.com')).toMatchObject({ role: 'member_viewer', team: null });
    expect(await userRow('+1cmd@example.com')).toMatchObject({ role: 'member' });
    // a formula-looking cell is stored as typed text
    expect(await userRow('eve@example.com')).toMatchObject({ team: '=HYPERLINK("http://evil.example")' });
    expect(await userRow('carol@example.com')).toBeUndefined();
    const noPassword = await pool().query('SELECT 1 FROM users WHERE email = $1 AND password_hash IS NULL', ['alice@example.com']);
    expect(noPassword.rowCount).toBe(1);
    const credit = await pool().query('SELECT 1 FROM credit_accounts c JOIN users u ON u.id = c.user_id WHERE u.email = $1', [
      'bob@example.com',
    ]);
    expect(credit.rowCount).toBe(1);

    const audit = await pool().query<{ changes: Record<string, unknown>; target_id: string }>(
      `SELECT changes, target_id FROM audit_logs WHERE action = 'users.import'`,
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].target_id).toBe(res.body.importId);
    expect(audit.rows[0].changes).toMatchObject({ mode: 'add', created: 5, errors: 4, keysCreated: 1 });
    expect(JSON.stringify(audit.rows[0].changes)).not.toContain('tg-');

    // the result file carries the new key's secret; cells that look like formulas are neutralised
    const result = await parseCsv((await text(admin, res.body.resultCsvUrl).expect(200)).body as string);
    const alice = result.find((r) => r.email === 'alice@example.com')!;
    expect(alice.key).toMatch(/^tg-/);
    expect(result.find((r) => r.email === "'+1cmd@example.com")).toMatchObject({ status: 'created' });
    expect(result.find((r) => r.email === 'eve@example.com')!.team_name).toBe(`'=HYPERLINK("http://evil.example")`);
    const errorFile = await parseCsv((await text(admin, res.body.errorCsvUrl).expect(200)).body as string);
    expect(errorFile.map((r) => [r.line, r.email, r.code])).toEqual([
      ['4', 'carol@example.com', 'ADMIN_ROLE_FORBIDDEN'],
      ['5', 'not-an-email', 'INVALID_EMAIL'],
      ['6', 'dave@example.com', 'UNKNOWN_ROLE'],
      ['7', 'alice@example.com', 'DUPLICATE_EMAIL'],
    ]);
    expect(h.logs.join('')).not.toContain(alice.key);

    // the key from the result file works on the gateway
    await createDevProvider(h);
    await h.ledger.grant({ userId: (await userRow('alice@example.com')).id, amount: new Decimal('1000'), reason: 'test grant' });
    const call = await fetch(`${h.baseUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock-model', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(call.status).toBe(200);

    // the files are the caller's only
    await text(otherAdmin, res.body.resultCsvUrl).expect(404);
    const status = await request(h.baseUrl)
      .get(`/admin/users/import/${res.body.importId}`)
      .set('authorization', `Bearer ${admin.key}`)
      .expect(200);
    expect(status.body).toMatchObject({ importId: res.body.importId, state: 'done', rowsProcessed: 9, rowsTotal: 9 });
    expect(status.body.ownerId).toBeUndefined();
  });

  it('running the same add again changes nothing and creates no key', async () => {
    const before = await quietCounts();
    const res = await upload(admin, 'mode=add', fixture('user-import-add.csv')).expect(200);
    expect(res.body.summary).toEqual({ rows: 9, created: 0, updated: 0, deleted: 0, unchanged: 5, errors: 4, keysCreated: 0 });
    const after = await quietCounts();
    expect({ ...after, audit_logs: 0 }).toEqual({ ...before, audit_logs: 0 });
  });

  it('a super_admin may import admin-level roles (LiteLLM proxy_admin becomes admin)', async () => {
    const res = await upload(superAdmin, 'mode=add', 'email,role\ncarol@example.com,proxy_admin\n').expect(200);
    expect(res.body.summary.created).toBe(1);
    expect(await userRow('carol@example.com')).toMatchObject({ role: 'admin' });
  });

  it('a file without a required column is refused whole (400 missing_column) and writes nothing', async () => {
    const before = await quietCounts();
    const res = await upload(admin, 'mode=sync', fixture('user-import-missing-column.csv')).expect(400);
    expect(res.body).toMatchObject({ code: 'missing_column', missing: ['team_name'] });
    expect({ ...(await quietCounts()), audit_logs: 0 }).toEqual({ ...before, audit_logs: 0 });
  });

  it('row and size limits: too_many_rows writes nothing, payload_too_large is 413', async () => {
    const before = await quietCounts();
    const rows = Array.from({ length: MAX_ROWS + 1 }, (_, i) => `limit${i}@example.com`).join('\n');
    const tooMany = await upload(admin, 'mode=add', `email\n${rows}\n`).expect(400);
    expect(tooMany.body.code).toBe('too_many_rows');
    expect({ ...(await quietCounts()), audit_logs: 0 }).toEqual({ ...before, audit_logs: 0 });
    const big = `email\n${'x'.repeat(MAX_BYTES)}@example.com\n`;
    const tooBig = await upload(admin, 'mode=add', big).expect(413);
    expect(tooBig.body.code).toBe('payload_too_large');
  });

  it('a large file is written in batches of 1000, one audit entry each', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => `bulk${i}@example.com,,Bulk`).join('\n');
    const res = await upload(admin, 'mode=add', `email,role,team_name\n${rows}\n`).expect(200);
    expect(res.body.summary).toMatchObject({ rows: 2500, created: 2500, errors: 0 });
    const audit = await pool().query(`SELECT 1 FROM audit_logs WHERE action = 'users.import' AND target_id = $1`, [res.body.importId]);
    expect(audit.rowCount).toBe(3);
    const team = await pool().query(`SELECT count(*)::int AS n FROM users u JOIN teams t ON t.id = u.team_id WHERE t.name = 'Bulk'`);
    expect(team.rows[0].n).toBe(2500);
  });

  it('delete: removes listed users, reports unknown ones as not_found, never the caller or (for an admin) an admin', async () => {
    const csv = `${fixture('user-import-delete.csv').toString()}importer@example.com\nother-admin@example.com\n`;
    const res = await upload(admin, 'mode=delete', csv).expect(200);
    expect(res.body.summary).toMatchObject({ rows: 4, deleted: 1, unchanged: 1, errors: 2 });
    expect(res.body.errors.map((e: { code: string }) => e.code)).toEqual(['CANNOT_CHANGE_SELF', 'ADMIN_ROLE_FORBIDDEN']);
    expect(await userRow('bob@example.com')).toBeUndefined();
    expect(await userRow('other-admin@example.com')).toBeDefined();
  });

  it('sync: the file is the desired state (create, update, delete absent members; admins and caller kept); a re-run is a no-op', async () => {
    await pool().query(`DELETE FROM users WHERE email LIKE 'bulk%'`);
    const res = await upload(admin, 'mode=sync', fixture('user-import-sync.csv')).expect(200);
    // bob was deleted above and comes back; the members absent from the file go (eve, +1cmd, frank, plain-member); admins stay
    expect(res.body.summary).toMatchObject({ rows: 3, created: 2, updated: 1, deleted: 4, errors: 0 });
    expect(await userRow('alice@example.com')).toMatchObject({ role: 'member_viewer', team: 'Ops' });
    expect(await userRow('grace@example.com')).toMatchObject({ role: 'member', team: null });
    for (const gone of ['eve@example.com', 'frank@example.com', '+1cmd@example.com']) expect(await userRow(gone)).toBeUndefined();
    for (const kept of ['importer@example.com', 'other-admin@example.com', 'carol@example.com', 'root-importer@example.com'])
      expect(await userRow(kept)).toBeDefined();
    const result = await parseCsv((await text(admin, res.body.resultCsvUrl).expect(200)).body as string);
    expect(
      result
        .filter((r) => r.status === 'deleted')
        .map((r) => r.email)
        .sort(),
    ).toEqual(["'+1cmd@example.com", 'eve@example.com', 'frank@example.com', 'plain-member@example.com']);

    const again = await upload(admin, 'mode=sync', fixture('user-import-sync.csv')).expect(200);
    expect(again.body.summary).toEqual({ rows: 3, created: 0, updated: 0, deleted: 0, unchanged: 3, errors: 0, keysCreated: 0 });
  });

  it('export: CSV of users with their keys (never secrets), filtered by role, formula cells neutralised', async () => {
    await upload(admin, 'mode=add', 'email,team_name\nzed@example.com,@SUM(A1)\n').expect(200);
    const res = await text(admin, '/admin/users/export?includeKeys=true').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const rows = await parseCsv(res.body as string);
    expect(Object.keys(rows[0])).toEqual([
      'email',
      'role',
      'team_name',
      'status',
      'created_at',
      'key_name',
      'key_prefix',
      'key_created_at',
      'key_expires_at',
      'key_revoked',
    ]);
    const alice = rows.find((r) => r.email === 'alice@example.com' && r.key_name === 'laptop')!;
    expect(alice).toMatchObject({ role: 'member_viewer', team_name: 'Ops', status: 'active', key_revoked: 'false' });
    expect(alice.key_prefix).toMatch(/^tg-/);
    expect(alice.key_prefix.length).toBe(10);
    expect(rows.find((r) => r.email === 'zed@example.com')!.team_name).toBe("'@SUM(A1)");
    const secrets = await pool().query<{ secret_hash: string }>('SELECT secret_hash FROM api_keys');
    for (const s of secrets.rows) expect(res.body as string).not.toContain(s.secret_hash);
    const admins = await parseCsv((await text(admin, '/admin/users/export?role=proxy_admin').expect(200)).body as string);
    expect(admins.map((r) => r.email).sort()).toEqual(['carol@example.com', 'importer@example.com', 'other-admin@example.com']);
    expect((await text(admin, '/admin/users/export?role=wizard').expect(400)).body).toBeDefined();
  });

  it('a member (even with users:write) gets 403', async () => {
    member = await createAccount(pool(), 'member-again@example.com', 'member', ['users:write', 'users:read']);
    const res = await upload(member, 'mode=add', 'email\nm1@example.com\n').expect(403);
    expect(res.body.code).toBe('forbidden');
    await text(member, '/admin/users/export').expect(403);
    expect(await userRow('m1@example.com')).toBeUndefined();
  });

  it('refuses a request without a file and an unknown mode', async () => {
    const noFile = await request(h.baseUrl)
      .post('/admin/users/import?mode=add')
      .set('authorization', `Bearer ${admin.key}`)
      .send({})
      .expect(400);
    expect(noFile.body.code).toBe('file_required');
    await upload(admin, 'mode=merge', 'email\n').expect(400);
  });
});
