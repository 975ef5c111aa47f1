/**
 * GET /user/model-calls/export (docs/api/model-calls.md): header, rows, filters, escaping, row
 * limit, auth; then, on a PostgreSQL reached through a fault proxy, what clients and the database
 * can do to it: clients that stop reading or leave, the concurrency bound, a backend killed or a
 * partition mid-export, the overall time limit. Every one must leave no COPY running
 * (pg_stat_activity) and the api serving. Last, the per-user cap
 * (MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER): its 429, its precedence over the process-wide 503,
 * and its slot freed however the export ends.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import { parseString } from '@fast-csv/parse';
import { Client } from 'pg';
import request from 'supertest';
import { CopyCsvStream } from '../src/model-calls/call-export-stream';
import { CallExportService, EXPORT_APPLICATION_NAME } from '../src/model-calls/call-export.service';
import { isConnectionError } from '../src/prisma/pool-query';
import { FaultProxy, startFaultProxy } from './support/fault-proxy';
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

/** Reads a stream until it fails: the bytes it gave first and its error (rejects if it ends normally). */
function firstError(stream: NodeJS.ReadableStream): Promise<{ bytes: number; err: Error }> {
  let bytes = 0;
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => (bytes += c.length));
    stream.on('error', (err: Error) => resolve({ bytes, err }));
    stream.on('end', () => reject(new Error('ended normally')));
  });
}

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface RawExport {
  req: http.ClientRequest;
  res: http.IncomingMessage;
  /** bytes read so far */
  received: number;
  /**
   * Resolves when the connection closes: complete = the whole response arrived (its chunked
   * terminator included), as a client knows it.
   */
  closed: Promise<{ complete: boolean; at: number }>;
}

/** GET the export (`query`: its query string) with a raw client that reads nothing until told (readAtLeast, readSome, readAll). */
function openRawExport(baseUrl: string, auth: string, query = ''): Promise<RawExport> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${baseUrl}/user/model-calls/export${query}`, { headers: { authorization: auth } }, (res) => {
      res.on('error', () => undefined);
      const closed = new Promise<{ complete: boolean; at: number }>((r) =>
        req.on('close', () => r({ complete: res.complete, at: Date.now() })),
      );
      resolve({ req, res, received: 0, closed });
    });
    req.on('error', (err) => reject(err));
  });
}

/** Reads what the response has buffered (at most about 16 KiB), without waiting. */
const readSome = (x: RawExport): void => {
  const c = x.res.read() as Buffer | null;
  if (c) x.received += c.length;
};

/** Reads until `n` bytes were read in all. */
const readAtLeast = (x: RawExport, n: number) =>
  eventually(
    'bytes read',
    async () => {
      readSome(x);
      return x.received;
    },
    (got) => got >= n,
  );

/** Reads everything from now on. */
const readAll = (x: RawExport): void => {
  x.res.on('data', (c: Buffer) => (x.received += c.length));
  x.res.resume();
};

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

  it('writes the documented bytes for awkward values (quoting, formula cells, empty and long cells, unicode), and takes any filter text literally', async () => {
    const uc = await h.users.create({ email: 'c@example.com', password: PASSWORD });
    const token = await login(h, 'c@example.com');
    // [request id, model, app DID, credits as stored, credits as written, type, status]
    const calls: [string, string, string | null, string, string, string, string][] = [
      ['a,b', 'm"q', null, '0.0000000001', '0.0000000001', 'chatCompletion', 'success'],
      ['line1\nline2', 'cr\rin', '', '12.3400000000', '12.34', 'embedding', 'failed'],
      ['pipe|x', "o'brien\\model", '=cmd', '1000000.5', '1000000.5', 'imageGeneration', 'aborted'],
      ['', 'ünïcødé ✓', '@x', '3', '3', 'chatCompletion', 'interrupted'],
      [' -lead', '+plus', '\t', '0', '0', 'chatCompletion', 'success'],
      ['\r', '-', 'x'.repeat(20_000), '7.5', '7.5', 'chatCompletion', 'success'],
    ];
    const label: Record<string, string> = { chatCompletion: 'chat', embedding: 'embedding', imageGeneration: 'image' };
    for (const [i, [requestId, model, appDid, credits, , type, status]] of calls.entries()) {
      await h.prisma.pool.query(
        `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, app_did, request_id, created_at)
         VALUES ($1, $2, $3, $4, $5, 100, 200, 300, $6, 500, $7, $8, to_timestamp($9))`,
        [randomUUID(), uc.id, model, type, status, credits, appDid, requestId, t0 + 100 + i + 0.123456],
      );
    }
    // The documented rules, written out independently of the SQL: formula cells get an apostrophe,
    // then a cell holding a comma, quote, CR or LF is quoted with its quotes doubled.
    const cell = (v: string | null): string => {
      const s = v === null ? '' : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
      return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    const expected =
      HEADER +
      calls
        .map(([requestId, model, appDid, , credits, type, status], i) =>
          [
            `\n${new Date((t0 + 100 + i) * 1000 + 123).toISOString()}`,
            cell(requestId),
            cell(uc.did),
            '',
            'c@example.com',
            cell(model),
            '',
            label[type],
            status,
            '100',
            '200',
            '300',
            credits,
            '500',
            cell(appDid),
          ].join(','),
        )
        .reverse()
        .join('');
    const text = (await exportCsv(token).expect(200)).body as string;
    expect(text).toBe(expected);
    const rows = await parseCsv(text);
    expect(rows.slice(1).map((r) => r[1])).toEqual(["'\r", ' -lead', '', 'pipe|x', 'line1\nline2', 'a,b']);

    // Filters are values, never SQL: quotes, backslashes, placeholders, LIKE wildcards, NUL.
    const requestIds = async (query: Record<string, string>) => {
      const res = await exportCsv(token, query);
      if (res.status !== 200) throw new Error(`${JSON.stringify(query)}: ${res.status} ${res.body}`);
      return (await parseCsv(res.body as string)).slice(1).map((r) => r[1]);
    };
    expect(await requestIds({ model: "o'brien\\model" })).toEqual(['pipe|x']);
    expect(await requestIds({ search: 'a,b' })).toEqual(['a,b']);
    expect(await requestIds({ search: 'ünïcødé' })).toEqual(['']);
    for (const search of ["x' OR '1'='1", "\\' OR TRUE --", '$1', '%', '_']) expect(await requestIds({ search })).toEqual([]);
    expect(await requestIds({ appDid: '$2' })).toEqual([]);
    // NUL never reaches the statement: the api refuses it in any query value.
    expect((await exportCsv(token, { model: 'm"q\u0000' }).expect(400)).body).toContain('invalid_text');
    const stillThere = await h.prisma.pool.query(`SELECT count(*)::int n FROM model_calls WHERE user_id = $1`, [uc.id]);
    expect(stillThere.rows[0].n).toBe(calls.length);
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

describe('model calls export against slow, vanishing and hostile clients and a failing database', () => {
  const ROWS = 150_000;
  // Long enough that, on a loaded machine, both backends are seen blocked before the api gives up.
  const STALL_MS = 4000;
  const TIMEOUT_MS = 10_000;
  let h: Harness;
  let proxy: FaultProxy;
  /** a direct connection to the suite's database (not through the proxy) */
  let db: Client;
  let token: string;
  let fullSize = 0;

  /** The export backends of this database: pid, state, wait event. */
  const exportBackends = async () =>
    (
      await db.query<{ pid: number; state: string; wait_event: string | null }>(
        `SELECT pid, state, wait_event FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1 AND backend_type = 'client backend'`,
        [EXPORT_APPLICATION_NAME],
      )
    ).rows;

  /** No export left in the api nor in PostgreSQL. */
  const nothingLeft = async () => {
    await eventually('export backends', exportBackends, (b) => b.length === 0);
    await eventually(
      'exports in the api',
      async () => h.app.get(CallExportService).inProgress,
      (n) => n === 0,
    );
  };

  /** GET the export with a raw client that reads nothing until told (readAtLeast, readSome, readAll). */
  const openExport = (auth = `Bearer ${token}`): Promise<RawExport> => openRawExport(h.baseUrl, auth);

  beforeAll(async () => {
    proxy = await startFaultProxy({ targetHost: '127.0.0.1', targetPort: 5432 });
    h = await startHarness(
      'model_calls_export_abuse',
      {
        MODEL_CALLS_EXPORT_MAX_ROWS: '1000000',
        MODEL_CALLS_EXPORT_MAX_CONCURRENT: '2',
        // One user here stands for many clients (the per-user cap has its own suite below).
        MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER: '1000',
        MODEL_CALLS_EXPORT_STALL_TIMEOUT_MS: String(STALL_MS),
        MODEL_CALLS_EXPORT_TIMEOUT_MS: String(TIMEOUT_MS),
        DATABASE_QUERY_TIMEOUT_MS: '2000',
      },
      { databaseUrlFor: (url) => proxy.url(url) },
    );
    db = new Client({ connectionString: h.db.url });
    await db.connect();
    const u = await h.users.create({ email: 'bulk@example.com', password: PASSWORD });
    token = await login(h, 'bulk@example.com');
    // About 50 MB of CSV: far more than socket and stream buffers hold.
    await db.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, credits, request_id, created_at)
       SELECT gen_random_uuid(), $1, 'bulk', 'chatCompletion', 'success', 1.5, 'req-' || i || '-' || repeat('x', 250), to_timestamp($2 - i)
       FROM generate_series(1, $3) i`,
      [u.id, Date.UTC(2026, 5, 1) / 1000, ROWS],
    );
    const full = await exportWhole();
    fullSize = full.bytes;
    expect(full.lines).toBe(ROWS + 1);
  });

  afterAll(async () => {
    await proxy?.restore();
    await db?.end();
    await h?.close();
    await proxy?.close();
  });

  /** A whole export read as fast as possible: its size and line count. */
  async function exportWhole(): Promise<{ status: number; bytes: number; lines: number }> {
    const res = await fetch(`${h.baseUrl}/user/model-calls/export`, { headers: { authorization: `Bearer ${token}` } });
    let bytes = 0;
    let newlines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines++;
    }
    return { status: res.status, bytes, lines: newlines + 1 };
  }

  it('backpressure reaches PostgreSQL; clients that stop reading are cut off after the stall timeout, their COPY ended; past the bound a 503; others are served meanwhile', async () => {
    const stalled = [await openExport(), await openExport()];
    for (const x of stalled) {
      expect(x.res.statusCode).toBe(200);
      await readAtLeast(x, 100_000);
    }
    const stalledAt = Date.now();
    // Both backends wait on their client: nothing is buffered in the api beyond a few hundred KiB.
    await eventually(
      'backends blocked in ClientWrite',
      exportBackends,
      (b) => b.length === 2 && b.every((r) => r.wait_event === 'ClientWrite'),
      STALL_MS,
    );

    const third = await request(h.baseUrl).get('/user/model-calls/export').set('authorization', `Bearer ${token}`).expect(503);
    expect(third.body.code).toBe('too_many_concurrent_exports');
    expect(third.headers['retry-after']).toBe('5');

    const t = Date.now();
    await request(h.baseUrl).get('/user/model-calls').query({ pageSize: 5 }).set('authorization', `Bearer ${token}`).expect(200);
    expect(Date.now() - t).toBeLessThan(1000);

    // The api gives up on them: their COPY ended, their connections closed, their slots free.
    await nothingLeft();
    const gaveUpAfter = Date.now() - stalledAt;
    expect(gaveUpAfter).toBeGreaterThanOrEqual(STALL_MS - 100);
    expect(gaveUpAfter).toBeLessThan(STALL_MS + 5000);
    expect(h.logs.join('')).toContain('export_client_stalled');
    // Their clients, reading again, find the response cut off (the end of the connection comes
    // after the bytes already in their socket buffers).
    for (const x of stalled) {
      readAll(x);
      expect((await x.closed).complete).toBe(false);
      expect(x.received).toBeLessThan(fullSize);
    }
    // The slots are free again.
    const again = await exportWhole();
    expect(again).toEqual({ status: 200, bytes: fullSize, lines: ROWS + 1 });
  });

  it('a client that disconnects mid-export: the COPY is cancelled and its connection closed', async () => {
    const x = await openExport();
    await readAtLeast(x, 1_000_000);
    await eventually('an export backend', exportBackends, (b) => b.length === 1);
    x.req.destroy();
    await nothingLeft();
    expect((await exportWhole()).bytes).toBe(fullSize);
  });

  it('a backend killed mid-export: the response ends without its terminating chunk (the client can tell it is truncated)', async () => {
    const x = await openExport();
    await readAtLeast(x, 1_000_000);
    const [backend] = await eventually('an export backend', exportBackends, (b) => b.length === 1);
    await db.query('SELECT pg_terminate_backend($1)', [backend.pid]);
    readAll(x);
    const end = await x.closed;
    expect(end.complete).toBe(false);
    expect(x.received).toBeLessThan(fullSize);
    await nothingLeft();
    // fetch, as a browser or script would: reading the body fails, it does not just end.
    const res = await fetch(`${h.baseUrl}/user/model-calls/export`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let got = 0;
    while (got < 100_000) got += (await reader.read()).value?.length ?? 0;
    const [b2] = await eventually('an export backend', exportBackends, (b) => b.length === 1);
    await db.query('SELECT pg_terminate_backend($1)', [b2.pid]);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return 'a clean end';
      })(),
    ).rejects.toThrow();
    await nothingLeft();
    expect(await exportWhole()).toEqual({ status: 200, bytes: fullSize, lines: ROWS + 1 });
  });

  it('a database that falls silent mid-export (partition): cut off after DATABASE_QUERY_TIMEOUT_MS', async () => {
    const x = await openExport();
    await readAtLeast(x, 1_000_000);
    await proxy.cut({ mode: 'blackhole', existing: 'freeze' });
    const cutAt = Date.now();
    try {
      readAll(x);
      const end = await x.closed;
      expect(end.complete).toBe(false);
      expect(end.at - cutAt).toBeGreaterThanOrEqual(1900);
      expect(end.at - cutAt).toBeLessThan(2000 + 4000);
      expect(x.received).toBeLessThan(fullSize);
    } finally {
      await proxy.restore();
    }
    // The api closed its side: once the link is back the backend finds its client gone.
    await nothingLeft();
    expect(await exportWhole()).toEqual({ status: 200, bytes: fullSize, lines: ROWS + 1 });
  });

  it('an export slower than MODEL_CALLS_EXPORT_TIMEOUT_MS is cut off, though its client keeps reading', async () => {
    const x = await openExport();
    const startedAt = Date.now();
    // At most about 16 KiB every 50 ms: never stalled for long, far too slow to finish.
    const reader = setInterval(() => readSome(x), 50);
    try {
      const end = await x.closed;
      expect(end.complete).toBe(false);
      expect(end.at - startedAt).toBeGreaterThanOrEqual(TIMEOUT_MS - 100);
      expect(end.at - startedAt).toBeLessThan(TIMEOUT_MS + 4000);
    } finally {
      clearInterval(reader);
    }
    await nothingLeft();
    expect(h.logs.join('')).toContain('export_timeout');
  }, 30_000);

  it('the database unreachable when an export starts: the stream fails before its first byte, with an error the api answers 503 for', async () => {
    // Through HTTP the request would fail in authentication first (it reads the database too), so
    // the export's stream is driven directly, on the same proxy.
    await proxy.cut('refuse');
    try {
      const stream = new CopyCsvStream({
        connection: { connectionString: proxy.url(h.db.url), connectionTimeoutMillis: 2000 },
        sql: 'COPY (SELECT 1) TO STDOUT WITH (FORMAT csv)',
        header: 'n',
        stallTimeoutMs: 1000,
        dbSilenceTimeoutMs: 1000,
        maxDurationMs: 5000,
      });
      const { bytes, err } = await firstError(stream);
      expect(bytes).toBe(0);
      expect((err as { code?: unknown }).code).toBe('ECONNRESET');
      expect(isConnectionError(err)).toBe(true);
    } finally {
      await proxy.restore();
    }
  });

  it('the database unreachable when an export starts: the export frees its slots, the process’s and its requester’s', async () => {
    // Driven through the service, as above (authentication would fail first over HTTP).
    const exporter = h.app.get(CallExportService);
    const requester = randomUUID();
    await proxy.cut('refuse');
    try {
      const stream = exporter.export(null, {}, requester);
      expect(exporter.inProgressFor(requester)).toBe(1);
      const { bytes, err } = await firstError(stream);
      expect(bytes).toBe(0);
      expect(isConnectionError(err)).toBe(true);
      await eventually(
        'the requester’s exports',
        async () => [exporter.inProgressFor(requester), exporter.inProgress],
        ([mine, all]) => mine === 0 && all === 0,
      );
    } finally {
      await proxy.restore();
    }
  });
});

describe('model calls export: at most MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER exports per user', () => {
  // About 20 MB of CSV for A (and for an admin's all-users export): far more than socket and
  // stream buffers hold, so an export whose client stops reading stays open.
  const ROWS = 60_000;
  let h: Harness;
  /** a direct connection to the suite's database */
  let db: Client;
  let exporter: CallExportService;
  let a: { id: string; token: string };
  let b: { id: string; token: string };
  let c: { id: string; token: string };
  let admin: { id: string; token: string };
  const bRows = 3;

  const newUser = async (email: string, role?: 'admin') => {
    const u = await h.users.create({ email, password: PASSWORD, ...(role ? { role } : {}) });
    return { id: u.id, token: await login(h, email) };
  };
  const exportAs = (who: { token: string }, query: Record<string, string> = {}) =>
    request(h.baseUrl).get('/user/model-calls/export').query(query).set('authorization', `Bearer ${who.token}`);
  /** an export of A's that is small (no row matches): the header only */
  const smallExportOfA = () => exportAs(a, { model: 'no such model' });
  const exportBackends = async () =>
    (
      await db.query<{ pid: number; wait_event_type: string | null }>(
        `SELECT pid, wait_event_type FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = $1 AND backend_type = 'client backend'`,
        [EXPORT_APPLICATION_NAME],
      )
    ).rows;
  const nothingLeft = async () => {
    await eventually(
      'exports in the api',
      async () => exporter.inProgress,
      (n) => n === 0,
    );
    await eventually('export backends', exportBackends, (rows) => rows.length === 0);
  };
  /** Asserts the per-user refusal: 429 `too_many_concurrent_exports`, Retry-After 5, the count and the limit in the message. */
  const expectUserCapRefusal = (res: request.Response) => {
    expect({ status: res.status, code: res.body.code, retryAfter: res.headers['retry-after'] }).toEqual({
      status: 429,
      code: 'too_many_concurrent_exports',
      retryAfter: '5',
    });
    expect(res.body.message).toBe('You already have 1 export running (at most 1 at once per user); try again when one ends');
  };

  beforeAll(async () => {
    h = await startHarness('model_calls_export_per_user', {
      MODEL_CALLS_EXPORT_MAX_ROWS: '1000000',
      MODEL_CALLS_EXPORT_MAX_CONCURRENT: '2',
      MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER: '1',
      // Exports held open by the tests must not be cut off meanwhile.
      MODEL_CALLS_EXPORT_STALL_TIMEOUT_MS: '60000',
    });
    db = new Client({ connectionString: h.db.url });
    await db.connect();
    exporter = h.app.get(CallExportService);
    a = await newUser('cap-a@example.com');
    b = await newUser('cap-b@example.com');
    c = await newUser('cap-c@example.com');
    admin = await newUser('cap-root@example.com', 'admin');
    await db.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, credits, request_id, created_at)
       SELECT gen_random_uuid(), $1, 'bulk', 'chatCompletion', 'success', 1.5, 'req-' || i || '-' || repeat('x', 250), to_timestamp($2 - i)
       FROM generate_series(1, $3) i`,
      [a.id, Date.UTC(2026, 5, 1) / 1000, ROWS],
    );
    await db.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, credits, request_id, created_at)
       SELECT gen_random_uuid(), $1, 'small', 'chatCompletion', 'success', 1, 'b-' || i, to_timestamp($2 - i)
       FROM generate_series(1, $3) i`,
      [b.id, Date.UTC(2026, 5, 1) / 1000, bRows],
    );
  });

  afterAll(async () => {
    await db?.end();
    await h?.close();
  });

  afterEach(async () => {
    await nothingLeft();
  });

  it('a user at the cap gets 429 with Retry-After 5, while another user’s export goes through; once the first export’s client leaves, the user can export again', async () => {
    const first = await openRawExport(h.baseUrl, `Bearer ${a.token}`);
    expect(first.res.statusCode).toBe(200);
    await readAtLeast(first, 100_000);
    expect(exporter.inProgressFor(a.id)).toBe(1);

    expectUserCapRefusal(await smallExportOfA());
    expectUserCapRefusal(await exportAs(a));

    // B meanwhile: served in full.
    const ofB = await exportAs(b).expect(200);
    expect(ofB.text.split('\n')).toHaveLength(bRows + 1);
    // A's first export is still running: the refusals took nothing from it.
    expect(exporter.inProgressFor(a.id)).toBe(1);
    expect(first.res.complete).toBe(false);

    first.req.destroy();
    expect((await first.closed).complete).toBe(false);
    // The slot is freed when the export's stream closes (its COPY cancelled): A gets in again.
    const again = await eventually(
      'A’s next export',
      async () => {
        const res = await smallExportOfA();
        return { status: res.status, text: res.text };
      },
      (r) => r.status === 200,
      10_000,
    );
    expect(again.text).toBe(HEADER);
    expect(exporter.inProgressFor(a.id)).toBe(0);
  });

  it('the per-user refusal wins when the process is full as well; others then get the process-wide 503; an admin’s all-users export counts against the admin', async () => {
    const ofA = await openRawExport(h.baseUrl, `Bearer ${a.token}`);
    const ofAdmin = await openRawExport(h.baseUrl, `Bearer ${admin.token}`, '?allUsers=true');
    try {
      for (const x of [ofA, ofAdmin]) {
        expect(x.res.statusCode).toBe(200);
        await readAtLeast(x, 100_000);
      }
      expect([exporter.inProgress, exporter.inProgressFor(a.id), exporter.inProgressFor(admin.id)]).toEqual([2, 1, 1]);

      // The process is full (2) and A and the admin are at their cap: theirs is the 429.
      expectUserCapRefusal(await smallExportOfA());
      expectUserCapRefusal(await exportAs(admin));
      expectUserCapRefusal(await exportAs(admin, { allUsers: 'true' }));
      // C has no export running: the process-wide refusal.
      const ofC = await exportAs(c);
      expect({ status: ofC.status, code: ofC.body.code, retryAfter: ofC.headers['retry-after'] }).toEqual({
        status: 503,
        code: 'too_many_concurrent_exports',
        retryAfter: '5',
      });
    } finally {
      ofA.req.destroy();
      ofAdmin.req.destroy();
    }
    await nothingLeft();
    expect((await exportAs(c).expect(200)).text).toBe(HEADER);
    expect((await exportAs(admin, { allUsers: 'true', model: 'small' }).expect(200)).text.split('\n')).toHaveLength(bRows + 1);
  });

  it('an export that fails before its first byte (its backend terminated while it waits for a lock) answers 503 and frees its slot', async () => {
    // The export's COPY waits behind this lock, before any row; the request's authentication
    // (users) and everything else the api reads meanwhile do not need model_calls.
    const locker = new Client({ connectionString: h.db.url });
    await locker.connect();
    let status: number;
    let code: unknown;
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE model_calls IN ACCESS EXCLUSIVE MODE');
      const pending = fetch(`${h.baseUrl}/user/model-calls/export`, { headers: { authorization: `Bearer ${a.token}` } });
      pending.catch(() => undefined); // awaited below; not an unhandled rejection if the wait fails first
      const [waiting] = await eventually(
        'the export waiting on the lock',
        exportBackends,
        (rows) => rows.length === 1 && rows[0].wait_event_type === 'Lock',
      );
      expect(exporter.inProgressFor(a.id)).toBe(1);
      await db.query('SELECT pg_terminate_backend($1)', [waiting.pid]);
      const res = await pending;
      status = res.status;
      code = ((await res.json()) as { code?: unknown }).code;
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
    expect({ status, code }).toEqual({ status: 503, code: 'service_unavailable' });
    await eventually(
      'A’s exports',
      async () => exporter.inProgressFor(a.id),
      (n) => n === 0,
    );
    expect((await smallExportOfA().expect(200)).text).toBe(HEADER);
  });
});
