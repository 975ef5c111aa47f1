/** GET /user/model-calls/export (docs/api/model-calls.md): header, rows, filters, escaping, row limit, auth. */
import { randomUUID } from 'node:crypto';
import { parseString } from '@fast-csv/parse';
import request from 'supertest';
import { Harness, startHarness } from './support/gateway-harness';

const PASSWORD = 'export password 0123456789';
const HEADER =
  'Timestamp,Request ID,User DID,User Name,User Email,Model,Provider,Type,Status,Input Tokens,Output Tokens,Total Usage,Credits,Duration(ms),App DID';
const LIMIT = 4500;

function parseCsv(text: string): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const rows: string[][] = [];
    parseString(text, { headers: false })
      .on('data', (r: string[]) => rows.push(r))
      .on('error', reject)
      .on('end', () => resolve(rows));
  });
}

async function login(h: Harness, email: string): Promise<string> {
  return (await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200)).body.accessToken as string;
}

describe('model calls export', () => {
  let h: Harness;
  let a: { id: string; did: string; token: string };
  let b: { id: string; did: string; token: string };
  let adminToken: string;
  const t0 = Date.UTC(2026, 1, 1) / 1000;

  const exportCsv = (token: string, query: Record<string, string | number> = {}) =>
    request(h.baseUrl)
      .get('/user/model-calls/export')
      .query(query)
      .set('authorization', `Bearer ${token}`)
      .buffer(true)
      .parse((res, cb) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (s += c));
        res.on('end', () => cb(null, s));
      });

  beforeAll(async () => {
    h = await startHarness('model_calls_export', { MODEL_CALLS_EXPORT_MAX_ROWS: String(LIMIT) });
    const ua = await h.users.create({ email: 'a@example.com', fullName: '=HYPERLINK("http://evil")', password: PASSWORD });
    const ub = await h.users.create({ email: 'b@example.com', fullName: 'Bob, "the" B', password: PASSWORD });
    await h.users.create({ email: 'root@example.com', role: 'admin', password: PASSWORD });
    a = { id: ua.id, did: ua.did, token: await login(h, 'a@example.com') };
    b = { id: ub.id, did: ub.did, token: await login(h, 'b@example.com') };
    adminToken = await login(h, 'root@example.com');
    const q = `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, app_did, request_id, created_at)
      VALUES ($1, $2, $3, $4, $5, 100, 200, 300, $6, 500, $7, $8, to_timestamp($9))`;
    await h.prisma.pool.query(q, [randomUUID(), a.id, '+cmd|calc', 'chatCompletion', 'success', '150.75', '@SUM(A1)', '-2+3', t0 + 10]);
    await h.prisma.pool.query(q, [randomUUID(), a.id, 'gpt-4', 'imageGeneration', 'failed', '0', '\tz', '\rx', t0 + 20]);
    await h.prisma.pool.query(q, [randomUUID(), b.id, 'gpt-4', 'chatCompletion', 'success', '2.5', null, 'req-b', t0 + 30]);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('answers text/csv with the documented header row (docs/api/model-calls.md) and the caller’s rows only, formula cells escaped', async () => {
    const res = await exportCsv(a.token).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toContain('attachment');
    const text = res.body as string;
    expect(text.split('\n')[0]).toBe(HEADER);
    const rows = await parseCsv(text);
    expect(rows).toHaveLength(3);
    expect(rows[1]).toEqual([
      new Date((t0 + 20) * 1000).toISOString(),
      "'\rx",
      a.did,
      `'=HYPERLINK("http://evil")`,
      'a@example.com',
      'gpt-4',
      '',
      'image',
      'failed',
      '100',
      '200',
      '300',
      '0',
      '500',
      "'\tz",
    ]);
    expect(rows[2]).toEqual([
      new Date((t0 + 10) * 1000).toISOString(),
      "'-2+3",
      a.did,
      `'=HYPERLINK("http://evil")`,
      'a@example.com',
      "'+cmd|calc",
      '',
      'chat',
      'success',
      '100',
      '200',
      '300',
      '150.75',
      '500',
      "'@SUM(A1)",
    ]);
  });

  it('quotes commas and quotes; applies filters; allUsers only for admins', async () => {
    const own = await parseCsv((await exportCsv(b.token).expect(200)).body as string);
    expect(own.slice(1).map((r) => r[3])).toEqual(['Bob, "the" B']);
    const filtered = await parseCsv((await exportCsv(a.token, { status: 'failed' }).expect(200)).body as string);
    expect(filtered.slice(1).map((r) => r[8])).toEqual(['failed']);
    const none = (await exportCsv(a.token, { startTime: t0 + 100 }).expect(200)).body as string;
    expect(none.trim()).toBe(HEADER);
    expect(JSON.parse((await exportCsv(a.token, { allUsers: 'true' }).expect(403)).body as string)).toMatchObject({ code: 'forbidden' });
    const all = await parseCsv((await exportCsv(adminToken, { allUsers: 'true' }).expect(200)).body as string);
    expect(all).toHaveLength(4);
  });

  it('401 anonymous; 400 with the field for bad filters; page/pageSize are accepted and ignored (the list query string can be reused)', async () => {
    expect((await request(h.baseUrl).get('/user/model-calls/export').expect(401)).body.code).toBe('unauthorized');
    for (const [query, field] of [
      [{ status: 'nope' }, 'status'],
      [{ endTime: 'x' }, 'endTime'],
    ] as const) {
      const res = await request(h.baseUrl)
        .get('/user/model-calls/export')
        .query(query)
        .set('authorization', `Bearer ${a.token}`)
        .expect(400);
      expect(res.body.code).toBe('validation_failed');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    }
    const paged = await request(h.baseUrl)
      .get('/user/model-calls/export')
      .query({ page: 2, pageSize: 1 })
      .set('authorization', `Bearer ${a.token}`)
      .expect(200);
    const all = await request(h.baseUrl).get('/user/model-calls/export').set('authorization', `Bearer ${a.token}`).expect(200);
    expect(paged.text).toBe(all.text);
  });

  it('stops at the configured row limit, across keyset batches with equal timestamps, newest first', async () => {
    // 5,000 calls, 50 per timestamp: batches must break ties by id without skipping or repeating.
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, credits, request_id, created_at)
       SELECT gen_random_uuid(), $1, 'bulk', 'chatCompletion', 'success', 1, 'bulk-' || i, to_timestamp($2 + (i / 50))
       FROM generate_series(0, 4999) i`,
      [b.id, t0 + 1000],
    );
    const rows = (await parseCsv((await exportCsv(b.token, { model: 'bulk' }).expect(200)).body as string)).slice(1);
    expect(rows).toHaveLength(LIMIT);
    const expected = await h.prisma.pool.query<{ request_id: string }>(
      `SELECT request_id FROM model_calls WHERE user_id = $1 AND model = 'bulk' ORDER BY created_at DESC, id DESC LIMIT $2`,
      [b.id, LIMIT],
    );
    expect(rows.map((r) => r[1])).toEqual(expected.rows.map((r) => r.request_id));
    expect(new Set(rows.map((r) => r[1])).size).toBe(LIMIT);
  });
});
