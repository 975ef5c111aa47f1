/**
 * Usage dashboards at volume (docs/api/model-calls.md, bench/README.md "Dashboards"):
 * - the all-users hourly rollup (model_call_hourly_totals) equals the raw sums of model_calls and
 *   the per-user aggregates summed over users, and the daily levels (model_call_daily_stats,
 *   model_call_daily_totals) the hourly ones summed per complete UTC day, after the first run,
 *   late rows and a recalculation;
 * - the admin stats equal a direct aggregation of the call log, the current hour included;
 * - GET /user/model-calls keyset paging (`cursor`/`nextCursor`), ties on created_at included,
 *   consistent with page/pageSize;
 * - its count: exact from the aggregates for time/status/model filters (before and after
 *   aggregation, with late rows and current-hour rows), counted up to 1,000 for other filters,
 *   and an estimate flagged `totalIsEstimate: true` past that.
 */
import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue, QueueEvents } from 'bullmq';
import request from 'supertest';
import { JOB, STATS_QUEUE } from '../src/jobs/queues';
import { Harness, startHarness } from './support/gateway-harness';
import { startTestWorker, TestWorker } from './support/worker-harness';

const PASSWORD = 'dashboards password 0123456789';
const DAY = 86_400;
const CALLS = 4000;

describe('usage dashboards: rollups, cursor paging and totals', () => {
  const prefix = `tollgate-test-dash-${randomUUID().slice(0, 8)}`;
  let h: Harness;
  let worker: INestApplicationContext;
  let testWorker: TestWorker;
  let queue: Queue;
  let events: QueueEvents;
  const users: { id: string; did: string; token: string }[] = [];
  let adminToken: string;
  const now = Math.floor(Date.now() / 1000);
  const q = async <T>(sql: string, params: unknown[] = []) => (await h.prisma.pool.query(sql, params)).rows as T[];

  const login = async (email: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200)).body.accessToken as string;

  const list = (token: string, query: Record<string, string | number | boolean>) =>
    request(h.baseUrl).get('/user/model-calls').query(query).set('authorization', `Bearer ${token}`);

  async function runJob(name: string, data: object = {}) {
    const job = await queue.add(name, data);
    return job.waitUntilFinished(events, 60_000);
  }

  /** The all-users rollup as text rows, and the same computed from model_calls and from the per-user aggregates. */
  async function rollups() {
    const cols = `hour, model, type::text, status::text, calls::text, prompt_tokens::text, completion_tokens::text, total_tokens::text, credits::text, duration_ms::text`;
    const totals = await q(`SELECT ${cols} FROM model_call_hourly_totals ORDER BY 1, 2, 3, 4`);
    const fromStats = await q(
      `SELECT ${cols} FROM (SELECT hour, model, type, status, sum(calls) calls, sum(prompt_tokens) prompt_tokens, sum(completion_tokens) completion_tokens,
         sum(total_tokens) total_tokens, sum(credits) credits, sum(duration_ms) duration_ms FROM model_call_hourly_stats GROUP BY 1, 2, 3, 4) s ORDER BY 1, 2, 3, 4`,
    );
    const fromCalls = await q(
      `SELECT ${cols} FROM (SELECT date_trunc('hour', created_at) AS hour, model, type, status, count(*) calls, sum(prompt_tokens) prompt_tokens,
         sum(completion_tokens) completion_tokens, sum(total_tokens) total_tokens, sum(credits) credits, sum(duration_ms) duration_ms
       FROM model_calls, model_call_stats_state st WHERE created_at < st.hour_watermark GROUP BY 1, 2, 3, 4) s ORDER BY 1, 2, 3, 4`,
    );
    // The daily levels: complete UTC days (before the watermark's day) summed from the hourly levels.
    const dcols = `day, model, type::text, status::text, calls::text, prompt_tokens::text, completion_tokens::text, total_tokens::text, credits::text, duration_ms::text`;
    const sums = `sum(calls) calls, sum(prompt_tokens) prompt_tokens, sum(completion_tokens) completion_tokens, sum(total_tokens) total_tokens, sum(credits) credits, sum(duration_ms) duration_ms`;
    const complete = `hour < (SELECT date_trunc('day', hour_watermark, 'UTC') FROM model_call_stats_state WHERE id = 1)`;
    const dailyTotals = await q(`SELECT ${dcols} FROM model_call_daily_totals ORDER BY 1, 2, 3, 4`);
    const dailyFromHourly = await q(
      `SELECT ${dcols} FROM (SELECT date_trunc('day', hour, 'UTC') AS day, model, type, status, ${sums} FROM model_call_hourly_totals WHERE ${complete} GROUP BY 1, 2, 3, 4) s ORDER BY 1, 2, 3, 4`,
    );
    const dailyStats = await q(`SELECT user_id, ${dcols} FROM model_call_daily_stats ORDER BY 1, 2, 3, 4, 5`);
    const dailyStatsFromHourly = await q(
      `SELECT user_id, ${dcols} FROM (SELECT user_id, date_trunc('day', hour, 'UTC') AS day, model, type, status, ${sums} FROM model_call_hourly_stats WHERE ${complete} GROUP BY 1, 2, 3, 4, 5) s ORDER BY 1, 2, 3, 4, 5`,
    );
    return { totals, fromStats, fromCalls, dailyTotals, dailyFromHourly, dailyStats, dailyStatsFromHourly };
  }

  async function expectRollupsExact() {
    const r = await rollups();
    expect(r.totals.length).toBeGreaterThan(0);
    expect(r.totals).toEqual(r.fromCalls);
    expect(r.totals).toEqual(r.fromStats);
    expect(r.dailyTotals.length).toBeGreaterThan(5);
    expect(r.dailyTotals).toEqual(r.dailyFromHourly);
    expect(r.dailyStats).toEqual(r.dailyStatsFromHourly);
  }

  /** Admin stats totals straight from model_calls. */
  async function adminStatsExact(s: number, e: number) {
    const res = await request(h.baseUrl)
      .get('/user/admin/user-stats')
      .query({ startTime: s, endTime: e })
      .set('authorization', `Bearer ${adminToken}`)
      .expect(200);
    const [d] = await q<{ calls: string; credits: string | null; tokens: string | null; models: string }>(
      `SELECT count(*) calls, sum(credits)::text credits, sum(total_tokens) tokens, count(DISTINCT model) models FROM model_calls
       WHERE created_at >= to_timestamp($1) AND created_at < to_timestamp($2)`,
      [s, e],
    );
    const [p] = await q<{ calls: string; credits: string | null }>(
      `SELECT count(*) calls, sum(credits)::text credits FROM model_calls WHERE created_at >= to_timestamp($1) AND created_at < to_timestamp($2)`,
      [s - (e - s), s],
    );
    const models = await q<{ model: string; calls: string; credits: string }>(
      `SELECT model, count(*) calls, sum(credits)::text credits FROM model_calls WHERE created_at >= to_timestamp($1) AND created_at < to_timestamp($2)
       GROUP BY model ORDER BY sum(credits) DESC, count(*) DESC, model`,
      [s, e],
    );
    expect(res.body.summary).toMatchObject({
      totalCalls: Number(d.calls),
      totalCredits: Number(d.credits ?? 0),
      totalUsage: Number(d.tokens ?? 0),
      modelCount: Number(d.models),
    });
    expect(res.body.trendComparison.totalCalls.previous).toBe(Number(p.calls));
    expect(res.body.trendComparison.totalCredits.previous).toBe(Number(p.credits ?? 0));
    expect(res.body.modelStats).toEqual(
      models.map((m) => ({ model: m.model, totalCalls: Number(m.calls), totalCredits: Number(m.credits) })),
    );
    return res.body as { summary: { totalCalls: number } };
  }

  /** Filters whose count comes from the aggregates, with the SQL that counts them directly. */
  const exactCases = (): [string, Record<string, string | number | boolean>, string | null, string, unknown[]][] => [
    ['own, no filter', {}, users[0].token, 'user_id = $1', [users[0].id]],
    [
      'own, 3 days, status=failed',
      { startTime: now - 3 * DAY - 77, endTime: now + 60, status: 'failed' },
      users[0].token,
      `user_id = $1 AND created_at >= to_timestamp($2) AND created_at < to_timestamp($3) AND status IN ('failed', 'aborted', 'interrupted')`,
      [users[0].id, now - 3 * DAY - 77, now + 60],
    ],
    [
      'own, model, status=success',
      { model: 'm-b', status: 'success' },
      users[1].token,
      `user_id = $1 AND model = 'm-b' AND status = 'success'`,
      [users[1].id],
    ],
    ['all, no filter', { allUsers: true }, null, 'TRUE', []],
    [
      'all, 5 days, model',
      { allUsers: true, startTime: now - 5 * DAY + 1234, endTime: now - DAY + 99, model: 'm-c' },
      null,
      `created_at >= to_timestamp($1) AND created_at < to_timestamp($2) AND model = 'm-c'`,
      [now - 5 * DAY + 1234, now - DAY + 99],
    ],
    [
      'all, status=aborted, current hour',
      { allUsers: true, status: 'aborted', startTime: now - 1800 },
      null,
      `status = 'aborted' AND created_at >= to_timestamp($1)`,
      [now - 1800],
    ],
  ];

  async function expectCountsExact() {
    for (const [name, query, token, where, params] of exactCases()) {
      const res = await list(token ?? adminToken, { ...query, pageSize: 5 }).expect(200);
      const [d] = await q<{ n: string }>(`SELECT count(*) n FROM model_calls WHERE ${where}`, params);
      expect({ name, count: res.body.count, estimate: res.body.totalIsEstimate }).toEqual({ name, count: Number(d.n), estimate: false });
    }
  }

  beforeAll(async () => {
    h = await startHarness('dashboards', { QUEUE_PREFIX: prefix });
    testWorker = await startTestWorker(h.db.url, prefix, { MODEL_CALL_STATS_SETTLE_MS: '0' });
    worker = testWorker.app;
    queue = worker.get<Queue>(getQueueToken(STATS_QUEUE));
    events = new QueueEvents(STATS_QUEUE, { connection: { url: 'redis://127.0.0.1:6379' }, prefix });
    await events.waitUntilReady();
    for (const name of ['a', 'b']) {
      const u = await h.users.create({ email: `${name}@example.com`, password: PASSWORD });
      users.push({ id: u.id, did: u.did, token: await login(`${name}@example.com`) });
    }
    await h.users.create({ email: 'root@example.com', role: 'admin', password: PASSWORD });
    adminToken = await login('root@example.com');
    // CALLS calls over the last 10 days, two users, groups of 3 sharing one created_at (keyset ties);
    // user a's calls alternate between two app DIDs (zApp0 gets more than 1,000 of them).
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, app_did, request_id, created_at)
       SELECT gen_random_uuid(), ($1::uuid[])[1 + (i % 5 = 4)::int], (ARRAY['m-a','m-b','m-c'])[1 + (i * 7) % 3],
         (ARRAY['chatCompletion','embedding','imageGeneration']::"ModelType"[])[1 + (i / 3) % 3],
         (ARRAY['success','success','failed','aborted','interrupted']::"ModelCallStatus"[])[1 + (i * 13) % 5],
         (i * 17) % 500, (i * 19) % 300, (i * 17) % 500 + (i * 19) % 300, round(((i * 23) % 1000)::numeric / 7, 10), (i * 29) % 2000,
         'zApp' || (i % 3 = 2)::int, 'req-' || i, to_timestamp($2 - (i / 3) * (10 * 86400.0 / $3) * 3)
       FROM generate_series(0, $3 - 1) i`,
      [users.map((u) => u.id), now - 5, CALLS],
    );
    // Two calls of the current hour whatever the time (read from the log, never aggregated yet).
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, app_did, request_id, created_at)
       SELECT gen_random_uuid(), $1, 'm-a', 'chatCompletion', 'aborted', 3, 4, 7, 0.25, 100, 'zApp1', 'req-now-' || i, now() FROM generate_series(1, 2) i`,
      [users[0].id],
    );
  }, 60_000);

  afterAll(async () => {
    await events?.close();
    await testWorker?.close();
    await h?.close();
  });

  it('counts exactly from the call log alone before any aggregation (totalIsEstimate false)', async () => {
    await h.prisma.pool.query('DELETE FROM model_call_stats_state');
    await expectCountsExact();
  });

  it('the first aggregation run fills the all-users rollup with the raw sums; admin stats and counts stay exact', async () => {
    await runJob(JOB.AGGREGATE_HOURLY_STATS);
    await expectRollupsExact();
    const [{ n }] = await q<{ n: string }>(`SELECT count(*) n FROM model_calls WHERE created_at >= date_trunc('hour', now())`);
    expect(Number(n)).toBeGreaterThan(0); // the current hour is read from the log
    const all = await adminStatsExact(now - 7 * DAY - 321, now + 60);
    expect(all.summary.totalCalls).toBeGreaterThan(0);
    await adminStatsExact(now - 10 * 3600, now + 60);
    await adminStatsExact(now - 20 * 60, now + 60); // inside the current hour only
    await expectCountsExact();
  });

  it('late rows and current-hour rows: fresh in counts and admin stats at once, folded into the rollup by the next run', async () => {
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, request_id, created_at)
       VALUES (gen_random_uuid(), $1, 'm-late', 'chatCompletion', 'aborted', 5, 7, 12, 3.3333333333, 10, 'late-1', to_timestamp($2)),
              (gen_random_uuid(), $1, 'm-c', 'embedding', 'aborted', 1, 0, 1, 0.0000000001, 10, 'now-1', now())`,
      [users[0].id, now - 2 * DAY],
    );
    await expectCountsExact();
    await adminStatsExact(now - 3 * DAY, now + 60);
    await runJob(JOB.AGGREGATE_HOURLY_STATS);
    expect(await q(`SELECT calls::int FROM model_call_hourly_totals WHERE model = 'm-late'`)).toEqual([{ calls: 1 }]);
    await expectRollupsExact();
    await expectCountsExact();
    await adminStatsExact(now - 3 * DAY, now + 60);
  });

  it('a recalculation rebuilds the rollup of its range from the per-user rows (a corrupted rollup row is repaired)', async () => {
    await h.prisma.pool.query(
      `UPDATE model_call_hourly_totals SET calls = calls + 5, credits = credits + 1 WHERE hour >= now() - interval '4 days' AND hour < now() - interval '3 days'`,
    );
    await h.prisma.pool.query(
      `UPDATE model_call_daily_totals SET calls = calls + 1 WHERE day = date_trunc('day', now() - interval '2 days', 'UTC')`,
    );
    await h.prisma.pool.query(
      `UPDATE model_call_daily_stats SET credits = credits * 3 WHERE user_id = $1 AND day = date_trunc('day', now() - interval '3 days', 'UTC')`,
      [users[1].id],
    );
    const corrupted = await rollups();
    expect(corrupted.totals).not.toEqual(corrupted.fromCalls);
    expect(corrupted.dailyTotals).not.toEqual(corrupted.dailyFromHourly);
    expect(corrupted.dailyStats).not.toEqual(corrupted.dailyStatsFromHourly);
    await request(h.baseUrl)
      .post('/user/recalculate-stats')
      .send({ userDid: users[1].did, startTime: now - 5 * DAY, endTime: now })
      .set('authorization', `Bearer ${adminToken}`)
      .expect(200);
    await expectRollupsExact();
  });

  it('cursor paging walks every row once, newest first, ties on created_at ordered by id; page 1 and page 3 agree with page/pageSize', async () => {
    const cases: [string, Record<string, string | number | boolean>, string, unknown[]][] = [
      ['own', {}, 'user_id = $1', [users[0].id]],
      [
        'all, status=failed, 6 days',
        { allUsers: true, status: 'failed', startTime: now - 6 * DAY },
        `status IN ('failed', 'aborted', 'interrupted') AND created_at >= to_timestamp($1)`,
        [now - 6 * DAY],
      ],
      ['all, appDid', { allUsers: true, appDid: 'zApp1' }, `app_did = 'zApp1'`, []],
    ];
    for (const [name, query, where, params] of cases) {
      const token = query.allUsers ? adminToken : users[0].token;
      const expected = (await q<{ id: string }>(`SELECT id FROM model_calls WHERE ${where} ORDER BY created_at DESC, id DESC`, params)).map(
        (r) => r.id,
      );
      expect(expected.length).toBeGreaterThan(300);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const params: Record<string, string | number | boolean> = { ...query, pageSize: 100 };
        if (cursor) params.cursor = cursor;
        const res: request.Response = await list(token, params).expect(200);
        seen.push(...res.body.list.map((c: { id: string }) => c.id));
        cursor = res.body.nextCursor;
        pages++;
        expect(res.body.list.length).toBe(cursor ? 100 : expected.length - (pages - 1) * 100);
      } while (cursor);
      expect({ name, seen }).toEqual({ name, seen: expected });
      expect(pages).toBe(Math.ceil(expected.length / 100));
      // page/pageSize still work and agree with the cursor walk; `page` is ignored next to a cursor.
      const p1 = await list(token, { ...query, pageSize: 100 }).expect(200);
      const p3 = await list(token, { ...query, pageSize: 100, page: 3 }).expect(200);
      expect(p3.body.paging).toEqual({ page: 3, pageSize: 100 });
      expect(p3.body.list.map((c: { id: string }) => c.id)).toEqual(expected.slice(200, 300));
      const p2 = await list(token, { ...query, pageSize: 100, page: 7, cursor: p1.body.nextCursor }).expect(200);
      expect(p2.body.list.map((c: { id: string }) => c.id)).toEqual(expected.slice(100, 200));
      expect(p3.body.nextCursor).toEqual(expect.any(String));
      const afterP3 = await list(token, { ...query, pageSize: 100, cursor: p3.body.nextCursor }).expect(200);
      expect(afterP3.body.list.map((c: { id: string }) => c.id)).toEqual(expected.slice(300, 400));
    }
  });

  it('the last page has nextCursor null; a cursor from past the end gives an empty page', async () => {
    const [{ n }] = await q<{ n: string }>(`SELECT count(*) n FROM model_calls WHERE user_id = $1`, [users[1].id]);
    const total = Number(n);
    const last = await list(users[1].token, { pageSize: 100, page: Math.ceil(total / 100) }).expect(200);
    expect(last.body.list.length).toBe(total % 100 || 100);
    expect(last.body.nextCursor).toBeNull();
    const [oldest] = await q<{ ts: string; id: string }>(
      `SELECT created_at::text ts, id FROM model_calls WHERE user_id = $1 ORDER BY created_at, id LIMIT 1`,
      [users[1].id],
    );
    const end = Buffer.from(JSON.stringify([oldest.ts, oldest.id])).toString('base64url');
    const empty = await list(users[1].token, { cursor: end }).expect(200);
    expect(empty.body).toMatchObject({ list: [], nextCursor: null, count: total, totalIsEstimate: false });
  });

  it.each([
    ['not base64 JSON', 'nope'],
    ['wrong shape', Buffer.from(JSON.stringify({ ts: 1 })).toString('base64url')],
    ['bad timestamp', Buffer.from(JSON.stringify(['yesterday', randomUUID()])).toString('base64url')],
    ['bad id', Buffer.from(JSON.stringify(['2026-12-02 10:11:12.123456+00', 'x'])).toString('base64url')],
  ])('400 invalid_cursor for a cursor that is %s', async (_label, cursor) => {
    const res = await list(users[0].token, { cursor }).expect(400);
    expect(res.body).toMatchObject({ code: 'invalid_cursor', field: 'cursor' });
  });

  it('other filters: counted exactly up to 1,000 matches, an estimate flagged totalIsEstimate past that', async () => {
    const count = async (where: string, params: unknown[]) =>
      Number((await q<{ n: string }>(`SELECT count(*) n FROM model_calls WHERE ${where}`, params))[0].n);
    const few = await list(users[1].token, { appDid: 'zApp1' }).expect(200);
    const fewN = await count(`user_id = $1 AND app_did = 'zApp1'`, [users[1].id]);
    expect(fewN).toBeLessThanOrEqual(1000);
    expect(few.body).toMatchObject({ count: fewN, totalIsEstimate: false });
    const search = await list(adminToken, { allUsers: true, search: 'req-12' }).expect(200);
    expect(search.body).toMatchObject({ count: await count(`request_id = 'req-12'`, []), totalIsEstimate: false });

    const manyN = await count(`user_id = $1 AND app_did = 'zApp0'`, [users[0].id]);
    expect(manyN).toBeGreaterThan(1000);
    const many = await list(users[0].token, { appDid: 'zApp0', pageSize: 10 }).expect(200);
    expect(many.body.totalIsEstimate).toBe(true);
    expect(many.body.count).toBeGreaterThan(1000);
    expect(many.body.list).toHaveLength(10);
    await h.prisma.pool.query('ANALYZE model_calls');
    const analysed = await list(users[0].token, { appDid: 'zApp0' }).expect(200);
    expect(analysed.body.totalIsEstimate).toBe(true);
    // With fresh statistics the planner's estimate is close (an estimate: within a factor of two).
    expect(analysed.body.count).toBeGreaterThan(manyN / 2);
    expect(analysed.body.count).toBeLessThan(manyN * 2);
    const provider = await list(adminToken, { allUsers: true, providerId: randomUUID() }).expect(200);
    expect(provider.body).toMatchObject({ count: 0, totalIsEstimate: false, list: [], nextCursor: null });
  });

  it('other filters: nothing counted when the planner expects more than 1,000 matches (even if fewer match); the last page of a page-based answer counts exactly', async () => {
    // User c makes 3,000 calls, 300 of them with an app DID that user d's 6,000 calls all carry:
    // the planner (user and app DID taken as independent) expects ~1,450 of c's calls to carry it.
    // Counting them would read every one of c's calls; the planner's estimate is the answer instead.
    const c = await h.users.create({ email: 'c@example.com', password: PASSWORD });
    const d = await h.users.create({ email: 'd@example.com', password: PASSWORD });
    const token = await login('c@example.com');
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, credits, app_did, request_id, created_at)
       SELECT gen_random_uuid(), CASE WHEN i < 3000 THEN $1::uuid ELSE $2::uuid END, 'm-a', 'chatCompletion', 'success', 0,
         CASE WHEN i < 300 OR i >= 3000 THEN 'zAppMix' END, 'mix-' || i, now() - i * interval '1 minute'
       FROM generate_series(0, 8999) i`,
      [c.id, d.id],
    );
    await h.prisma.pool.query('ANALYZE model_calls');
    const [{ 'QUERY PLAN': plan }] = await q<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
      `EXPLAIN (FORMAT JSON) SELECT 1 FROM model_calls mc WHERE mc.user_id = $1::uuid AND mc.app_did = $2`,
      [c.id, 'zAppMix'],
    );
    const expected = Math.round(plan[0].Plan['Plan Rows']);
    expect(expected).toBeGreaterThan(1000);
    expect(expected).toBeLessThan(10_000);

    const first = await list(token, { appDid: 'zAppMix', pageSize: 100 }).expect(200);
    expect(first.body).toMatchObject({ count: expected, totalIsEstimate: true });
    expect(first.body.list).toHaveLength(100);
    // Page 3 of 100 is the last one (rows 201-300): its count is exact.
    const last = await list(token, { appDid: 'zAppMix', pageSize: 100, page: 3 }).expect(200);
    expect(last.body).toMatchObject({ count: 300, totalIsEstimate: false, nextCursor: null });
    expect(last.body.list).toHaveLength(100);
    // A page past the end knows nothing more: the estimate again.
    const past = await list(token, { appDid: 'zAppMix', pageSize: 100, page: 4 }).expect(200);
    expect(past.body).toMatchObject({ count: expected, totalIsEstimate: true, list: [], nextCursor: null });
    // A cursor page never knows the rows before it: the estimate, also on the last page.
    const afterFirst = await list(token, { appDid: 'zAppMix', pageSize: 100, cursor: first.body.nextCursor }).expect(200);
    expect(afterFirst.body).toMatchObject({ count: expected, totalIsEstimate: true });
    // A first page holding every match is the last page too: exact.
    const few = await list(token, { appDid: 'zAppMix', search: 'mix-2', pageSize: 10 }).expect(200);
    const [{ n }] = await q<{ n: string }>(
      `SELECT count(*) n FROM model_calls WHERE user_id = $1 AND app_did = 'zAppMix' AND (request_id = 'mix-2' OR model ILIKE '%mix-2%' OR app_did ILIKE '%mix-2%')`,
      [c.id],
    );
    expect(Number(n)).toBe(1);
    expect(few.body).toMatchObject({ count: 1, totalIsEstimate: false });
  });
});
