/**
 * Usage stats (docs/api/model-calls.md): GET /user/usage-stats, GET /user/admin/user-stats and
 * POST /user/recalculate-stats, served from the worker's hourly aggregates plus the tail of the
 * call log. After a seeded workload, every answer must equal a direct aggregation of model_calls:
 * with nothing aggregated (tail only), after the aggregation job, with late rows, and after a
 * recalculation repaired deliberately corrupted aggregates.
 */
import { randomUUID } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue, QueueEvents } from 'bullmq';
import request from 'supertest';
import { JOB, STATS_QUEUE } from '../src/jobs/queues';
import { Harness, startHarness } from './support/gateway-harness';
import { startTestWorker, TestWorker } from './support/worker-harness';

const PASSWORD = 'stats password 0123456789';
const DAY = 86_400;
const CALLS = 6000;

describe('usage stats', () => {
  const prefix = `tollgate-test-stats-${randomUUID().slice(0, 8)}`;
  let h: Harness;
  let worker: INestApplicationContext;
  let testWorker: TestWorker;
  let queue: Queue;
  let events: QueueEvents;
  const users: { id: string; did: string; token: string }[] = [];
  let adminToken: string;
  const now = Math.floor(Date.now() / 1000);
  const start = now - 30 * DAY - 1234; // not hour-aligned: the edges come from the log
  const end = now + 60;

  const login = async (email: string) =>
    (await request(h.baseUrl).post('/auth/login').send({ login: email, password: PASSWORD }).expect(200)).body.accessToken as string;

  /** The usage-stats shape computed straight from model_calls (independent SQL). */
  async function direct(userId: string | null, s: number, e: number) {
    const q = async <T>(sql: string, params: unknown[]) => (await h.prisma.pool.query(sql, params)).rows as T[];
    const w = `created_at >= to_timestamp($2) AND created_at < to_timestamp($3) AND ($1::uuid IS NULL OR user_id = $1::uuid)`;
    const [tot] = await q<{ calls: string; credits: string | null; tokens: string | null; models: string }>(
      `SELECT count(*) calls, sum(credits)::text credits, sum(total_tokens) tokens, count(DISTINCT model) models FROM model_calls WHERE ${w}`,
      [userId, s, e],
    );
    const [prev] = await q<{ calls: string; credits: string | null }>(
      `SELECT count(*) calls, sum(credits)::text credits FROM model_calls WHERE ${w}`,
      [userId, s - (e - s), s],
    );
    const byType = await q<{ type: string; n: string }>(`SELECT type::text, count(*) n FROM model_calls WHERE ${w} GROUP BY type`, [
      userId,
      s,
      e,
    ]);
    const daily = await q<{ date: string; credits: string; calls: string }>(
      `SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') date, sum(credits)::text credits, count(*) calls FROM model_calls WHERE ${w} GROUP BY 1 ORDER BY 1`,
      [userId, s, e],
    );
    const models = await q<{ model: string; calls: string; credits: string }>(
      `SELECT model, count(*) calls, sum(credits)::text credits FROM model_calls WHERE ${w} GROUP BY model ORDER BY sum(credits) DESC, count(*) DESC, model`,
      [userId, s, e],
    );
    const [chg] = await q<{ c: string | null; n: string | null }>(
      `SELECT CASE WHEN $2::numeric = 0 THEN (CASE WHEN $1::numeric = 0 THEN '0.00' ELSE '100.00' END) ELSE round(($1::numeric - $2::numeric) / $2::numeric * 100, 2)::text END c,
              CASE WHEN $4::numeric = 0 THEN (CASE WHEN $3::numeric = 0 THEN '0.00' ELSE '100.00' END) ELSE round(($3::numeric - $4::numeric) / $4::numeric * 100, 2)::text END n`,
      [tot.credits ?? '0', prev.credits ?? '0', tot.calls, prev.calls],
    );
    const labels: Record<string, string> = { chatCompletion: 'chat', embedding: 'embedding', imageGeneration: 'image' };
    return {
      summary: {
        byType: Object.fromEntries(byType.map((t) => [labels[t.type], Number(t.n)])),
        totalCalls: Number(tot.calls),
        totalCredits: Number(tot.credits ?? 0),
        modelCount: Number(tot.models),
        totalUsage: Number(tot.tokens ?? 0),
      },
      dailyStats: daily.map((d) => ({ date: d.date, credits: Number(d.credits), calls: Number(d.calls) })),
      modelStats: models.map((m) => ({ model: m.model, totalCalls: Number(m.calls), totalCredits: Number(m.credits) })),
      trendComparison: {
        totalCredits: { current: Number(tot.credits ?? 0), previous: Number(prev.credits ?? 0), change: chg.c },
        totalCalls: { current: Number(tot.calls), previous: Number(prev.calls), change: chg.n },
      },
    };
  }

  async function runJob(name: string, data: object = {}) {
    const job = await queue.add(name, data);
    return job.waitUntilFinished(events, 60_000);
  }

  const userStats = (token: string, s = start, e = end) =>
    request(h.baseUrl).get('/user/usage-stats').query({ startTime: s, endTime: e }).set('authorization', `Bearer ${token}`);

  async function expectExact() {
    for (const u of users) {
      expect((await userStats(u.token).expect(200)).body).toEqual(await direct(u.id, start, end));
    }
    const all = await request(h.baseUrl)
      .get('/user/admin/user-stats')
      .query({ startTime: start, endTime: end })
      .set('authorization', `Bearer ${adminToken}`)
      .expect(200);
    expect(all.body).toEqual(await direct(null, start, end));
  }

  beforeAll(async () => {
    h = await startHarness('usage_stats', { QUEUE_PREFIX: prefix });
    testWorker = await startTestWorker(h.db.url, prefix, { MODEL_CALL_STATS_SETTLE_MS: '0' });
    worker = testWorker.app;
    queue = worker.get<Queue>(getQueueToken(STATS_QUEUE));
    events = new QueueEvents(STATS_QUEUE, { connection: { url: 'redis://127.0.0.1:6379' }, prefix });
    await events.waitUntilReady();
    for (const name of ['a', 'b', 'c']) {
      const u = await h.users.create({ email: `${name}@example.com`, password: PASSWORD });
      users.push({ id: u.id, did: u.did, token: await login(`${name}@example.com`) });
    }
    await h.users.create({ email: 'root@example.com', role: 'admin', password: PASSWORD });
    adminToken = await login('root@example.com');
    // The workload: CALLS calls over the last 40 days (so the previous period has data too).
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, request_id, created_at)
       SELECT gen_random_uuid(), ($1::uuid[])[1 + i % 3], (ARRAY['m-a','m-b','m-c','m-d'])[1 + (i * 7) % 4],
         (ARRAY['chatCompletion','embedding','imageGeneration']::"ModelType"[])[1 + (i / 3) % 3],
         (ARRAY['success','success','success','failed','aborted']::"ModelCallStatus"[])[1 + (i * 13) % 5],
         (i * 17) % 500, (i * 19) % 300, (i * 17) % 500 + (i * 19) % 300, round(((i * 23) % 1000)::numeric / 7, 10), (i * 29) % 2000,
         'req-' || i, to_timestamp($2 - i * (40 * 86400.0 / $3))
       FROM generate_series(0, $3 - 1) i`,
      [users.map((u) => u.id), now, CALLS],
    );
  }, 60_000);

  afterAll(async () => {
    await events?.close();
    await testWorker?.close();
    await h?.close();
  });

  it('answers exactly from the call log alone (nothing aggregated yet)', async () => {
    await h.prisma.pool.query('DELETE FROM model_call_stats_state');
    await h.prisma.pool.query('DELETE FROM model_call_hourly_stats');
    await expectExact();
  });

  it('aggregates closed hours in the worker and still answers exactly (aggregates + tail)', async () => {
    const r = (await runJob(JOB.AGGREGATE_HOURLY_STATS)) as { hours: number; rows: number };
    expect(r.rows).toBeGreaterThan(0);
    const agg = await h.prisma.pool.query<{ n: string }>('SELECT sum(calls)::text n FROM model_call_hourly_stats');
    const closed = await h.prisma.pool.query<{ n: string }>(
      `SELECT count(*)::text n FROM model_calls WHERE created_at < date_trunc('hour', now())`,
    );
    expect(agg.rows[0].n).toBe(closed.rows[0].n);
    await expectExact();
    // Idempotent: a second run changes nothing.
    await runJob(JOB.AGGREGATE_HOURLY_STATS);
    expect((await h.prisma.pool.query<{ n: string }>('SELECT sum(calls)::text n FROM model_call_hourly_stats')).rows[0].n).toBe(
      agg.rows[0].n,
    );
  });

  it('counts calls recorded after their hour was aggregated, and folds them in on the next run', async () => {
    const late = now - 3 * DAY;
    await h.prisma.pool.query(
      `INSERT INTO model_calls (id, user_id, model, type, status, prompt_tokens, completion_tokens, total_tokens, credits, duration_ms, request_id, created_at)
       VALUES (gen_random_uuid(), $1, 'm-late', 'chatCompletion', 'aborted', 5, 7, 12, 3.3333333333, 10, 'late-1', to_timestamp($2)),
              (gen_random_uuid(), $1, 'm-a', 'chatCompletion', 'success', 1, 1, 2, 0.5, 10, 'now-1', now())`,
      [users[0].id, late],
    );
    await expectExact();
    await runJob(JOB.AGGREGATE_HOURLY_STATS);
    const folded = await h.prisma.pool.query(`SELECT calls FROM model_call_hourly_stats WHERE model = 'm-late'`);
    expect(folded.rows).toEqual([{ calls: 1 }]);
    await expectExact();
  });

  it('a user sees only their own stats; trend against the previous period', async () => {
    const [a, b] = await Promise.all([userStats(users[0].token).expect(200), userStats(users[1].token).expect(200)]);
    expect(a.body).toEqual(await direct(users[0].id, start, end));
    expect(b.body).toEqual(await direct(users[1].id, start, end));
    expect(a.body.summary.totalCredits).not.toBe(b.body.summary.totalCredits);
    expect(a.body.trendComparison.totalCalls.previous).toBeGreaterThan(0);
    expect(Object.keys(a.body.summary.byType).sort()).toEqual(['chat', 'embedding', 'image']);
    const empty = await userStats(users[0].token, now + 10 * DAY, now + 11 * DAY).expect(200);
    expect(empty.body).toEqual({
      summary: { byType: {}, totalCalls: 0, totalCredits: 0, modelCount: 0, totalUsage: 0 },
      dailyStats: [],
      modelStats: [],
      trendComparison: {
        totalCredits: { current: 0, previous: 0, change: '0.00' },
        totalCalls: { current: 0, previous: 0, change: '0.00' },
      },
    });
  });

  it('auth: 401 anonymous, admin stats 403 for users, API keys need usage:read', async () => {
    expect((await request(h.baseUrl).get('/user/usage-stats').query({ startTime: start, endTime: end }).expect(401)).body.code).toBe(
      'unauthorized',
    );
    expect(
      (
        await request(h.baseUrl)
          .get('/user/admin/user-stats')
          .query({ startTime: start, endTime: end })
          .set('authorization', `Bearer ${users[0].token}`)
          .expect(403)
      ).body.code,
    ).toBe('forbidden');
    expect(
      (
        await request(h.baseUrl)
          .post('/user/recalculate-stats')
          .send({ userDid: users[0].did, startTime: start, endTime: end })
          .set('authorization', `Bearer ${users[0].token}`)
          .expect(403)
      ).body.code,
    ).toBe('forbidden');
    const plain = await h.keys.create(users[0].id, { name: 'gw' });
    expect(
      (
        await request(h.baseUrl)
          .get('/user/usage-stats')
          .query({ startTime: start, endTime: end })
          .set('authorization', `Bearer ${plain.secret}`)
          .expect(403)
      ).body.code,
    ).toBe('insufficient_scope');
    const scoped = await h.keys.create(users[0].id, { name: 'dash', scopes: ['usage:read'] });
    const ok = await request(h.baseUrl)
      .get('/user/usage-stats')
      .query({ startTime: start, endTime: end })
      .set('authorization', `Bearer ${scoped.secret}`)
      .expect(200);
    expect(ok.body).toEqual(await direct(users[0].id, start, end));
  });

  it.each([
    [{ endTime: 100 }, 'startTime'],
    [{ startTime: 100 }, 'endTime'],
    [{ startTime: 'abc', endTime: 100 }, 'startTime'],
    [{ startTime: 200, endTime: 100 }, 'endTime'],
  ])('400 validation_failed for %j (field %s)', async (query, field) => {
    const res = await request(h.baseUrl).get('/user/usage-stats').query(query).set('authorization', `Bearer ${users[0].token}`).expect(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('recalculate-stats: 400/404 on bad input; dry run changes nothing; a rebuild repairs corrupted aggregates of that user only', async () => {
    const post = (body: object) =>
      request(h.baseUrl).post('/user/recalculate-stats').send(body).set('authorization', `Bearer ${adminToken}`);
    const bad = await post({ startTime: start, endTime: end }).expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toContain('userDid');
    expect((await post({ userDid: 'zNobody', startTime: start, endTime: end }).expect(404)).body.code).toBe('user_not_found');

    const [victim, other] = users;
    const checksum = async (userId: string) =>
      (
        await h.prisma.pool.query<{ s: string }>(
          `SELECT md5(string_agg(s::text, ',' ORDER BY hour, model, type, status)) s FROM model_call_hourly_stats s WHERE user_id = $1`,
          [userId],
        )
      ).rows[0].s;
    const otherBefore = await checksum(other.id);
    const good = await direct(victim.id, start, end);
    await h.prisma.pool.query(
      `UPDATE model_call_hourly_stats SET calls = calls + 3, credits = credits * 2 WHERE user_id = $1 AND hour >= to_timestamp($2) AND hour < now() - interval '10 days'`,
      [victim.id, start],
    );
    // Whole days are read from the daily level: corrupt it too, or near midnight UTC (when the
    // range's first day has no whole hour left) nothing corrupted above would be read.
    await h.prisma.pool.query(
      `UPDATE model_call_daily_stats SET calls = calls + 3, credits = credits * 2 WHERE user_id = $1 AND day >= to_timestamp($2) AND day < now() - interval '10 days'`,
      [victim.id, start],
    );
    await h.prisma.pool.query(
      `DELETE FROM model_call_hourly_stats WHERE ctid IN (SELECT ctid FROM model_call_hourly_stats WHERE user_id = $1 AND hour > now() - interval '5 days' LIMIT 5)`,
      [victim.id],
    );
    await h.prisma.pool.query(
      `INSERT INTO model_call_hourly_stats VALUES (date_trunc('hour', now()) - interval '20 days 30 minutes', $1, 'ghost', 'chatCompletion', 'success', 99, 0, 0, 0, 999, 0)`,
      [victim.id],
    );
    expect((await userStats(victim.token).expect(200)).body).not.toEqual(good);

    const hoursWithStats = Number(
      (await h.prisma.pool.query(`SELECT count(DISTINCT hour) n FROM model_call_hourly_stats WHERE user_id = $1`, [victim.id])).rows[0].n,
    );
    const hoursWithCalls = Number(
      (
        await h.prisma.pool.query(
          `SELECT count(DISTINCT date_trunc('hour', created_at)) n FROM model_calls WHERE user_id = $1 AND created_at >= date_trunc('hour', to_timestamp($2)) AND created_at < date_trunc('hour', now())`,
          [victim.id, start],
        )
      ).rows[0].n,
    );
    const corrupted = await checksum(victim.id);
    const dry = await post({ userDid: victim.did, startTime: String(start), endTime: String(end), dryRun: true }).expect(200);
    expect(dry.body).toEqual({ message: 'Dry run: nothing changed', deleted: expect.any(Number), success: hoursWithCalls, failed: 0 });
    expect(await checksum(victim.id)).toBe(corrupted);

    const res = await post({ userDid: victim.did, startTime: String(start), endTime: String(end) }).expect(200);
    expect(res.body).toEqual({ message: 'Rebuild completed', deleted: dry.body.deleted, success: hoursWithCalls, failed: 0 });
    expect(res.body.deleted).toBeLessThanOrEqual(hoursWithStats);
    expect((await userStats(victim.token).expect(200)).body).toEqual(good);
    expect(await checksum(other.id)).toBe(otherBefore);
    await expectExact();
  });
});
