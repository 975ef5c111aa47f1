#!/usr/bin/env node
// Call log and usage dashboards benchmark: figures, not pass/fail.
//   1. fresh database, ~1000 users (skewed: the heaviest user makes ~3% of the calls), 12 models of
//      4 providers (chat, embedding, image), 90 days, 1,000,000 model calls by default; generated
//      in SQL (generate_series, 1M rows per statement, secondary indexes dropped while loading and
//      rebuilt after, as a restore would; then the table is put in created_at order, as a log
//      appended in time order is), not through the gateway
//   2. the hourly aggregation (the worker process, first run)
//   3. the api: every stats and list endpoint, user and admin variants, with common filters
//      (p50/p99 of sequential requests, after 20 warm-up requests each), and a CSV export of
//      every user's calls (--export-rows, default all of them up to 1,000,000: rows/s, peak RSS of
//      the api from /proc/<pid>/status).
// Targets: every stats and list request p99 ≤ 50 ms; export ≥ 100,000 rows/s with RSS growth < 100 MB.
//
//   npm run bench:model-calls -- [--calls 1000000] [--users 1000] [--days 90] [--requests 200] [--export-rows N] [--reuse]
//
// --calls 10000000 takes a few minutes to generate (run it in the background). --reuse keeps the
// database when it already holds exactly --calls generated calls (only migrations, the
// aggregation and the measurements run again). Needs a build (the npm script builds; or
// TOLLGATE_DIST_DIR=<outDir of scripts/build.mjs>, which must hold links to package.json, prisma/
// and node_modules/ of the repository, as for bench/run.mjs), PostgreSQL and Redis (BENCH_CALLS_DATABASE_URL, REDIS_URL).
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import pg from 'pg';
import { buildCommit, dropDatabase, option as opt, OUT, ROOT, run, sleep, start, tollgateEnv, waitFor } from './lib/processes.mjs';

const CALLS = Number(opt('calls', '1000000'));
const USERS = Number(opt('users', '1000'));
const DAYS = Number(opt('days', '90'));
const REQUESTS = Number(opt('requests', '200'));
const REUSE = process.argv.includes('--reuse');
const CHUNK = 1_000_000;
const EXPORT_ROWS = Number(opt('export-rows', String(Math.min(CALLS, 1_000_000))));
const DB_URL = process.env.BENCH_CALLS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate_bench_calls';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DIST_DIR = path.resolve(process.env.TOLLGATE_DIST_DIR?.trim() || path.join(ROOT, 'dist'));
const API_PORT = Number(process.env.BENCH_CALLS_PORT ?? 18093);
const BASE = `http://127.0.0.1:${API_PORT}`;

const t = () => performance.now();
const entry = (rel) => path.join(DIST_DIR, rel);

/** The model catalog: [model, type, provider, popularity weight, credits per 1k weighted tokens]. */
const MODELS = [
  ['gpt-4o-mini', 'chatCompletion', 'openai', 30, 0.15],
  ['gpt-4o', 'chatCompletion', 'openai', 12, 2.5],
  ['o3-mini', 'chatCompletion', 'openai', 5, 1.1],
  ['text-embedding-3-small', 'embedding', 'openai', 8, 0.02],
  ['dall-e-3', 'imageGeneration', 'openai', 1, 40],
  ['claude-3-5-haiku', 'chatCompletion', 'anthropic', 10, 0.8],
  ['claude-sonnet-4', 'chatCompletion', 'anthropic', 9, 3],
  ['gemini-2.0-flash', 'chatCompletion', 'google', 11, 0.1],
  ['gemini-1.5-pro', 'chatCompletion', 'google', 3, 1.25],
  ['text-embedding-004', 'embedding', 'google', 4, 0.01],
  ['mistral-small', 'chatCompletion', 'mistral', 5, 0.2],
  ['mistral-large', 'chatCompletion', 'mistral', 2, 2],
];
const PROVIDERS = [
  ['openai', 'OpenAI'],
  ['anthropic', 'Anthropic'],
  ['google', 'Google'],
  ['mistral', 'Mistral'],
];

const env = tollgateEnv({
  DATABASE_URL: DB_URL,
  REDIS_URL,
  LOG_LEVEL: 'warn',
  PORT: String(API_PORT),
  QUEUE_PREFIX: `tollgate-bench-calls-${randomBytes(3).toString('hex')}`,
  MODEL_CALLS_EXPORT_MAX_ROWS: String(EXPORT_ROWS),
  MODEL_CALL_STATS_SETTLE_MS: '0',
  NODE_PATH: path.join(ROOT, 'node_modules'),
});

let db = await connectIfSeeded();
if (!db) {
  await dropDatabase(DB_URL);
  run('node', [entry('src/cli/db-migrate.js')], env, { stdio: 'ignore' });
  db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  await seed(db);
} else {
  console.log(`reusing the ${CALLS.toLocaleString()} calls of ${DB_URL}`);
  run('node', [entry('src/cli/db-migrate.js')], env, { stdio: 'inherit' });
}
const info = (await db.query(`SELECT value FROM bench_info WHERE key = 'seed'`)).rows[0].value;

// The worker's aggregation run (scheduled at boot): wait until it has stored its watermark.
let t0 = t();
const before = (await db.query('SELECT now() AS n')).rows[0].n;
start('calls-worker', 'node', [entry('src/worker.js')], env);
for (;;) {
  const r = await db.query('SELECT updated_at FROM model_call_stats_state WHERE id = 1 AND updated_at >= $1', [before]);
  if (r.rows.length) break;
  if (t() - t0 > 1_200_000) throw new Error('aggregation did not finish in 20 minutes');
  await sleep(200);
}
const aggS = (t() - t0) / 1000;
// As autovacuum would have by then (and removing what aborted runs of a previous bench left).
for (const table of ['model_call_hourly_stats', 'model_call_hourly_totals', 'model_call_daily_stats', 'model_call_daily_totals']) {
  await db.query(`VACUUM ANALYZE ${table}`);
}
const tables = (
  await db.query(`SELECT relname AS name, n_live_tup::bigint AS rows, pg_total_relation_size(relid) AS bytes
    FROM pg_stat_user_tables WHERE relname LIKE 'model_call%' ORDER BY relname`)
).rows;
console.log(`aggregation (worker boot + run): ${aggS.toFixed(1)} s`);
for (const r of tables) console.log(`  ${r.name}: ~${Number(r.rows).toLocaleString()} rows, ${(Number(r.bytes) / 1e6).toFixed(0)} MB`);

const api = start('calls-api', 'node', [entry('src/main.js')], env);
await waitFor(`${BASE}/readyz`, { error: 'api did not start' });

// Callers: the admin (also the heaviest user) and a median user, each with an API key.
const keyFor = async (did, scopes) => {
  const secret = `tg-${randomBytes(32).toString('base64url')}`;
  await db.query(
    `INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes)
     SELECT gen_random_uuid(), id, 'bench', $1, $2, $3 FROM users WHERE did = $4`,
    [secret.slice(0, 10), createHash('sha256').update(secret).digest('hex'), scopes, did],
  );
  return { authorization: `Bearer ${secret}` };
};
const admin = await keyFor('zBench1', ['usage:read', 'admin']);
const medianDid = `zBench${Math.round(USERS / 2)}`;
const median = await keyFor(medianDid, ['usage:read']);
const perUser = (
  await db.query(
    `SELECT u.did, count(*)::int n FROM model_calls mc JOIN users u ON u.id = mc.user_id WHERE u.did = ANY($1) GROUP BY u.did`,
    [['zBench1', medianDid]],
  )
).rows;
const callsOf = (did) => perUser.find((r) => r.did === did)?.n ?? 0;
const anthropic = (await db.query(`SELECT id FROM ai_providers WHERE name = 'anthropic'`)).rows[0].id;

const now = Math.floor(Date.now() / 1000);
const days = (n) => ({ startTime: now - n * 86400, endTime: now + 60 });
const qs = (o) => new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();
/** A cursor `n` rows down the all-users list (the API's nextCursor format: base64url of [created_at, id]). */
async function cursorAt(n, userDid) {
  n = Math.max(0, Math.min(n, (userDid ? callsOf(userDid) : CALLS) - 1));
  const r = await db.query(
    `SELECT mc.created_at::text ts, mc.id FROM model_calls mc ${userDid ? 'JOIN users u ON u.id = mc.user_id AND u.did = $2' : ''}
     ORDER BY mc.created_at DESC, mc.id DESC OFFSET $1 LIMIT 1`,
    userDid ? [n, userDid] : [n],
  );
  return Buffer.from(JSON.stringify([r.rows[0].ts, r.rows[0].id]), 'utf8').toString('base64url');
}

async function latency(name, url, headers, describe, requests = REQUESTS) {
  const times = [];
  let note = '';
  for (let i = 0; i < requests + 20; i++) {
    const s = t();
    const r = await fetch(url, { headers });
    const body = await r.json();
    const ms = t() - s;
    if (r.status !== 200) throw new Error(`${name}: ${r.status} ${JSON.stringify(body)}`);
    if (i === 0) note = describe(body);
    if (i >= 20) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  const row = { name, n: times.length, p50: q(0.5), p99: q(0.99), note };
  console.log(`  ${name}: p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms (${note})`);
  return row;
}
const statsNote = (b) => `${b.summary.totalCalls.toLocaleString()} calls, ${b.dailyStats.length} days`;
const listNote = (b) =>
  `${b.list.length} rows, count ${b.count.toLocaleString()}${b.totalIsEstimate ? ' (estimate)' : b.totalIsEstimate === false ? ' (exact)' : ''}`;

const results = [];
const stats = async (name, route, headers, range) =>
  results.push(await latency(name, `${BASE}/user/${route}?${qs(range)}`, headers, statsNote));
const list = async (name, query, headers, requests) =>
  results.push(await latency(name, `${BASE}/user/model-calls?${qs(query)}`, headers, listNote, requests));

const medianN = callsOf(medianDid).toLocaleString();
const heavyN = callsOf('zBench1').toLocaleString();
await stats(`usage-stats 30 d, median user (${medianN} calls in all)`, 'usage-stats', median, days(30));
await stats(`usage-stats 90 d, median user`, 'usage-stats', median, days(90));
await stats(`usage-stats 30 d, heaviest user (${heavyN} calls in all)`, 'usage-stats', admin, days(30));
await stats(`usage-stats 90 d, heaviest user`, 'usage-stats', admin, days(90));
await stats('admin/user-stats 1 d (all users)', 'admin/user-stats', admin, days(1));
await stats('admin/user-stats 30 d (all users)', 'admin/user-stats', admin, days(30));
await stats('admin/user-stats 90 d (all users)', 'admin/user-stats', admin, days(90));
await list('model-calls own, median user, page 1', { pageSize: 50 }, median);
await list('model-calls own, median user, 30 d, status=success, model', { ...days(30), status: 'success', model: 'gpt-4o-mini' }, median);
await list('model-calls own, heaviest user, page 1', { pageSize: 50 }, admin);
await list('model-calls own, heaviest user, 30 d, status=failed', { ...days(30), status: 'failed' }, admin);
await list('model-calls own, heaviest user, appDid (capped count)', { appDid: 'zApp3' }, admin);
await list('model-calls own, heaviest user, page 100 (offset 4,950)', { page: 100 }, admin);
await list('model-calls own, heaviest user, cursor 50,000 rows down', { cursor: await cursorAt(50_000, 'zBench1') }, admin);
await list('model-calls allUsers, page 1', { allUsers: true }, admin);
await list('model-calls allUsers, 30 d, status=failed', { ...days(30), allUsers: true, status: 'failed' }, admin);
await list('model-calls allUsers, 7 d, model', { ...days(7), allUsers: true, model: 'claude-sonnet-4' }, admin);
await list('model-calls allUsers, providerId (capped count)', { allUsers: true, providerId: anthropic }, admin);
// Search over all users reads the log newest first until the page is full (no index serves a
// substring of models, app DIDs, emails or names): 1 day of a user with few calls, fewer requests.
await list(
  'model-calls allUsers, search user email, 1 d (30 requests)',
  { ...days(1), allUsers: true, search: `bench${USERS - 1}@` },
  admin,
  30,
);
await list('model-calls allUsers, page 100 (offset 4,950)', { allUsers: true, page: 100 }, admin);
await list(
  `model-calls allUsers, cursor ${Math.round(CALLS / 2).toLocaleString()} rows down`,
  { allUsers: true, cursor: await cursorAt(Math.round(CALLS / 2)) },
  admin,
);

// Export: EXPORT_ROWS rows of every user's calls; RSS of the api sampled every 10 ms.
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${api.pid}/status`, 'utf8'))[1]) / 1024;
const rssBefore = rss();
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 10);
t0 = t();
// node:http and newlines counted with indexOf: the client shares the cores with the api and
// PostgreSQL, so it should cost as little as curl would (fetch's web streams and a byte loop in JS
// cost more CPU than the api spends).
const res = await new Promise((resolve, reject) =>
  http.get(`${BASE}/user/model-calls/export?${qs({ allUsers: true })}`, { headers: admin }, resolve).on('error', reject),
);
let lines = 0;
let bytes = 0;
if (res.statusCode !== 200) throw new Error(`export: ${res.statusCode}`);
for await (const chunk of res) {
  bytes += chunk.length;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
}
if (!res.complete) throw new Error('export: the response was cut off');
const exportS = (t() - t0) / 1000;
clearInterval(sampler);
const rows = lines; // header + rows, no newline after the last row

const commit = buildCommit(DIST_DIR);
const report = [
  `# Model calls benchmark (${new Date().toISOString()}, commit ${commit}, ${CALLS.toLocaleString()} calls, ${info.users} users, ${info.days} days)`,
  `generation ${info.seconds} s; aggregation ${aggS.toFixed(1)} s; ` +
    tables.map((r) => `${r.name} ~${Number(r.rows).toLocaleString()} rows / ${(Number(r.bytes) / 1e6).toFixed(0)} MB`).join(', '),
  '',
  '| request | n | p50 ms | p99 ms | answer |',
  '|---|---|---|---|---|',
  ...results.map((r) => `| ${r.name} | ${r.n} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.note} |`),
  '',
  `export: ${rows.toLocaleString()} rows (${(bytes / 1e6).toFixed(1)} MB) in ${exportS.toFixed(2)} s = ${Math.round(rows / exportS).toLocaleString()} rows/s; ` +
    `api RSS ${rssBefore.toFixed(0)} MB before, peak ${rssPeak.toFixed(0)} MB (growth ${(rssPeak - rssBefore).toFixed(0)} MB)`,
  `targets: every stats and list request p99 ≤ 50 ms; export ≥ 100,000 rows/s with RSS growth < 100 MB`,
];
console.log(`\n${report.join('\n')}`);
fs.writeFileSync(path.join(OUT, `model-calls-bench-${CALLS}.md`), `${report.join('\n')}\n`);
await db.end();
process.exit(0);

/** A client on the bench database if --reuse and it holds this run's calls, else null. */
async function connectIfSeeded() {
  if (!REUSE) return null;
  const c = new pg.Client({ connectionString: DB_URL });
  try {
    await c.connect();
    const r = await c.query(`SELECT value FROM bench_info WHERE key = 'seed'`);
    if (r.rows[0]?.value?.calls === CALLS && r.rows[0].value.users === USERS && r.rows[0].value.days === DAYS) return c;
  } catch {
    /* no database or no bench_info: generate */
  }
  await c.end().catch(() => undefined);
  return null;
}

/** Users, providers, then CALLS calls in chunks of CHUNK, secondary indexes rebuilt at the end. */
async function seed(c) {
  const s0 = t();
  await c.query(
    `INSERT INTO users (id, did, email, full_name, role)
     SELECT gen_random_uuid(), 'zBench' || i, 'bench' || i || '@example.com', 'Bench User ' || i,
       CASE WHEN i = 1 THEN 'admin'::"UserRole" ELSE 'member' END
     FROM generate_series(1, $1) i`,
    [USERS],
  );
  for (const [name, display] of PROVIDERS) {
    await c.query(
      `INSERT INTO ai_providers (id, name, display_name, base_url) VALUES (gen_random_uuid(), $1, $2, 'http://127.0.0.1:1/v1')`,
      [name, display],
    );
  }
  // Load without the secondary indexes, rebuild them after (as a restore would).
  const indexes = (
    await c.query(`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'model_calls' AND indexname <> 'model_calls_pkey'`)
  ).rows;
  for (const ix of indexes) await c.query(`DROP INDEX "${ix.indexname}"`);
  // Cumulative popularity weights → a model index from one random number.
  const total = MODELS.reduce((s, m) => s + m[3], 0);
  let acc = 0;
  const cum = MODELS.map((m) => (acc += m[3]) / total);
  const sql = `
    WITH u AS (SELECT array_agg(id ORDER BY substring(did FROM 7)::int) ids FROM users WHERE did LIKE 'zBench%'),
    cat AS (
      SELECT array_agg(c.model ORDER BY c.ord) m, array_agg(c.type::"ModelType" ORDER BY c.ord) ty, array_agg(p.id ORDER BY c.ord) prov,
        array_agg(c.price ORDER BY c.ord) price, array_agg(c.cum ORDER BY c.ord) cum
      FROM unnest($3::text[], $4::text[], $5::text[], $6::numeric[], $7::float8[]) WITH ORDINALITY AS c(model, type, provider, price, cum, ord)
      JOIN ai_providers p ON p.name = c.provider
    ),
    g AS (
      SELECT i, random() r_user, random() r_model, random() r_status, random() r_tokens, random() r_time, random() r_app
      FROM generate_series($1::bigint, $2::bigint) i
    ),
    k AS (
      SELECT g.*, (SELECT min(j) FROM generate_subscripts(cat.cum, 1) j WHERE cat.cum[j] >= g.r_model) AS mi,
        CASE WHEN g.r_status < 0.90 THEN 'success' WHEN g.r_status < 0.96 THEN 'failed' WHEN g.r_status < 0.99 THEN 'aborted'
          ELSE 'interrupted' END::"ModelCallStatus" AS st
      FROM g, cat
    ),
    v AS (
      SELECT k.*, u.ids[1 + floor($8::int * k.r_user * k.r_user)::int] AS uid, cat.m[k.mi] AS model, cat.ty[k.mi] AS ty,
        cat.prov[k.mi] AS prov, cat.price[k.mi] AS price,
        (20 + floor(k.r_tokens * k.r_tokens * 4000))::int AS pt,
        CASE WHEN cat.ty[k.mi] = 'chatCompletion' AND k.st <> 'failed' THEN (floor(k.r_tokens * 900))::int ELSE 0 END AS ct
      FROM k, u, cat
    )
    INSERT INTO model_calls (id, user_id, provider_id, model, type, status, stream, prompt_tokens, completion_tokens, total_tokens,
      usage_source, credits, duration_ms, app_did, request_id, upstream_status, error_code, created_at)
    SELECT gen_random_uuid(), uid, prov, model, ty, st, r_app < 0.6, pt, ct, pt + ct, 'upstream',
      CASE WHEN st = 'failed' THEN 0 ELSE round((pt + 4 * ct) * price / 1000, 10) END,
      (50 + floor(r_tokens * 8000))::int, CASE WHEN r_app < 0.7 THEN 'zApp' || floor(r_app * 20)::int END, 'req-' || i,
      CASE WHEN st = 'failed' THEN 502 WHEN st = 'success' THEN 200 END, CASE WHEN st = 'failed' THEN 'upstream_error' END,
      now() - r_time * $9::float8 * interval '1 day'
    FROM v`;
  for (let from = 0; from < CALLS; from += CHUNK) {
    const c0 = t();
    const to = Math.min(CALLS, from + CHUNK) - 1;
    await c.query(sql, [
      from,
      to,
      MODELS.map((m) => m[0]),
      MODELS.map((m) => m[1]),
      MODELS.map((m) => m[2]),
      MODELS.map((m) => m[4]),
      cum,
      USERS,
      DAYS,
    ]);
    console.log(`  generated ${(to + 1).toLocaleString()} calls (${((t() - c0) / 1000).toFixed(1)} s)`);
  }
  const i0 = t();
  for (const ix of indexes) await c.query(ix.indexdef);
  console.log(`  rebuilt ${indexes.length} indexes (${((t() - i0) / 1000).toFixed(1)} s)`);
  // A real call log is appended in time order, so rows of the same hour share pages; the
  // generated rows are in random time order. Put them in created_at order like a real log.
  const k0 = t();
  await c.query(`SET maintenance_work_mem = '512MB'`);
  await c.query('CLUSTER model_calls USING model_calls_created_at_idx');
  console.log(`  ordered the table by created_at (${((t() - k0) / 1000).toFixed(1)} s)`);
  await c.query('VACUUM ANALYZE model_calls');
  const seconds = ((t() - s0) / 1000).toFixed(1);
  await c.query('CREATE TABLE bench_info (key text PRIMARY KEY, value jsonb NOT NULL)');
  await c.query(`INSERT INTO bench_info VALUES ('seed', $1)`, [JSON.stringify({ calls: CALLS, users: USERS, days: DAYS, seconds })]);
  console.log(`generated ${CALLS.toLocaleString()} model calls in ${seconds} s`);
}
