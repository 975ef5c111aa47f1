#!/usr/bin/env node
// Model calls and usage benchmark: figures, not pass/fail.
//   1. fresh database, 100 users, 1,000,000 model calls over 30 days (one INSERT … SELECT generate_series)
//   2. the hourly aggregation (the worker process, first run)
//   3. the api: GET /user/usage-stats (30 days), GET /user/model-calls page 1 with filters
//      (p50/p99 of sequential requests), and a CSV export of 100,000 rows (rows/s, peak RSS of
//      the api process from /proc/<pid>/status VmRSS).
// Targets: stats p99 < 50 ms, list p99 < 50 ms, export ≥ 50,000 rows/s with RSS growth < 100 MB.
//
//   npm run bench:model-calls -- [--calls 1000000] [--requests 200]
//
// Needs a build (the npm script builds), PostgreSQL and Redis (BENCH_CALLS_DATABASE_URL, REDIS_URL).
// Start-up (database, migration, processes, health waits) is bench/lib/processes.mjs.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { dropDatabase, migrate, option as opt, OUT, sleep, startApi, startWorker, tollgateEnv } from './lib/processes.mjs';

const CALLS = Number(opt('calls', '1000000'));
const REQUESTS = Number(opt('requests', '200'));
const EXPORT_ROWS = 100_000;
const DB_URL = process.env.BENCH_CALLS_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate_bench_calls';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const API_PORT = 18093;
const BASE = `http://127.0.0.1:${API_PORT}`;

const t = () => performance.now();

await dropDatabase(DB_URL);
const env = tollgateEnv({
  DATABASE_URL: DB_URL,
  REDIS_URL,
  LOG_LEVEL: 'warn',
  PORT: String(API_PORT),
  QUEUE_PREFIX: `tollgate-bench-calls-${randomBytes(3).toString('hex')}`,
  MODEL_CALLS_EXPORT_MAX_ROWS: String(EXPORT_ROWS),
  MODEL_CALL_STATS_SETTLE_MS: '0',
});
migrate(env, { quiet: true });

const db = new pg.Client({ connectionString: DB_URL });
await db.connect();
// 100 users (the first an admin), one provider, an API key for user 1.
const secret = `tg-${randomBytes(32).toString('base64url')}`;
await db.query(`INSERT INTO users (id, did, email, full_name, role)
  SELECT gen_random_uuid(), 'zBench' || i, 'bench' || i || '@example.com', 'Bench User ' || i, CASE WHEN i = 1 THEN 'admin'::"UserRole" ELSE 'user' END
  FROM generate_series(1, 100) i`);
await db.query(
  `INSERT INTO ai_providers (id, name, display_name, base_url) VALUES (gen_random_uuid(), 'bench', 'Bench', 'http://127.0.0.1:1/v1')`,
);
await db.query(
  `INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes)
  SELECT gen_random_uuid(), id, 'bench', $1, $2, ARRAY['usage:read', 'admin'] FROM users WHERE did = 'zBench1'`,
  [secret.slice(0, 10), createHash('sha256').update(secret).digest('hex')],
);
let t0 = t();
await db.query(
  `
  WITH u AS (SELECT array_agg(id ORDER BY did) ids FROM users), p AS (SELECT id FROM ai_providers LIMIT 1)
  INSERT INTO model_calls (id, user_id, provider_id, model, type, status, prompt_tokens, completion_tokens, total_tokens,
    credits, duration_ms, app_did, request_id, created_at)
  SELECT gen_random_uuid(), u.ids[1 + (i * 37) % 100], p.id, 'model-' || ((i / 3) % 5),
    (ARRAY['chatCompletion','chatCompletion','embedding','imageGeneration']::"ModelType"[])[1 + (i / 100) % 4],
    (ARRAY['success','success','success','success','success','success','success','success','failed','aborted']::"ModelCallStatus"[])[1 + (i / 7) % 10],
    (i * 13) % 2000, (i * 17) % 1000, (i * 13) % 2000 + (i * 17) % 1000, ((i * 19) % 10000) / 1000.0, (i * 23) % 5000,
    'zApp' || (i % 10), 'req-' || i, now() - (i * (30 * 86400.0 / $1)) * interval '1 second'
  FROM generate_series(0, $1 - 1) i, u, p`,
  [CALLS],
);
await db.query('ANALYZE model_calls');
const seedS = (t() - t0) / 1000;
console.log(`seeded ${CALLS.toLocaleString()} model calls in ${seedS.toFixed(1)} s`);

// The worker's first aggregation run (scheduled at boot).
t0 = t();
startWorker('calls-worker', env);
for (;;) {
  const r = await db.query('SELECT updated_at FROM model_call_stats_state WHERE id = 1');
  if (r.rows.length) break;
  if (t() - t0 > 600_000) throw new Error('aggregation did not finish in 10 minutes');
  await sleep(100);
}
const aggS = (t() - t0) / 1000;
const statRows = (await db.query('SELECT count(*)::int n FROM model_call_hourly_stats')).rows[0].n;
await db.query('ANALYZE model_call_hourly_stats');
console.log(`aggregation (worker boot + first run): ${aggS.toFixed(1)} s, ${statRows.toLocaleString()} hourly stat rows`);

const api = await startApi('calls-api', env, { error: 'api did not start' });
const headers = { authorization: `Bearer ${secret}` };
const now = Math.floor(Date.now() / 1000);
const range = { startTime: now - 30 * 86400, endTime: now + 60 };

async function latency(name, url, check) {
  const times = [];
  for (let i = 0; i < REQUESTS + 20; i++) {
    const s = t();
    const r = await fetch(url, { headers });
    const body = await r.json();
    const ms = t() - s;
    if (r.status !== 200) throw new Error(`${name}: ${r.status} ${JSON.stringify(body)}`);
    if (i === 0) check(body);
    if (i >= 20) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { name, n: times.length, p50: q(0.5), p99: q(0.99) };
}
const qs = (o) => new URLSearchParams(Object.entries(o).map(([k, v]) => [k, String(v)])).toString();
const results = [];
results.push(
  await latency('usage-stats 30 days (one user, ~10k calls)', `${BASE}/user/usage-stats?${qs(range)}`, (b) =>
    console.log(`  usage-stats: ${b.summary.totalCalls} calls, ${b.dailyStats.length} days`),
  ),
);
results.push(
  await latency('admin/user-stats 30 days (all users, 1M calls)', `${BASE}/user/admin/user-stats?${qs(range)}`, (b) =>
    console.log(`  admin stats: ${b.summary.totalCalls} calls`),
  ),
);
results.push(
  await latency(
    'model-calls page 1 (own, status=success, model, 30 days)',
    `${BASE}/user/model-calls?${qs({ ...range, status: 'success', model: 'model-3', pageSize: 50 })}`,
    (b) => console.log(`  list: count ${b.count}`),
  ),
);
results.push(
  await latency(
    'model-calls page 1 (allUsers, status=failed, 30 days)',
    `${BASE}/user/model-calls?${qs({ ...range, status: 'failed', allUsers: true, pageSize: 50 })}`,
    (b) => console.log(`  list all: count ${b.count}`),
  ),
);

// Export: 100,000 rows of every user's calls; RSS of the api sampled every 10 ms.
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${api.pid}/status`, 'utf8'))[1]) / 1024;
const rssBefore = rss();
let rssPeak = rssBefore;
const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rss())), 10);
t0 = t();
const res = await fetch(`${BASE}/user/model-calls/export?${qs({ allUsers: true })}`, { headers });
let lines = 0;
let bytes = 0;
for await (const chunk of res.body) {
  bytes += chunk.length;
  for (const b of chunk) if (b === 10) lines++;
}
const exportS = (t() - t0) / 1000;
clearInterval(sampler);
const rows = lines; // header + rows, no newline after the last row

const report = [
  `# Model calls benchmark (${new Date().toISOString()}, ${CALLS.toLocaleString()} calls, 100 users, 30 days)`,
  `seed ${seedS.toFixed(1)} s; aggregation ${aggS.toFixed(1)} s (${statRows.toLocaleString()} hourly rows)`,
  '',
  '| request | n | p50 ms | p99 ms |',
  '|---|---|---|---|',
  ...results.map((r) => `| ${r.name} | ${r.n} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} |`),
  '',
  `export: ${rows.toLocaleString()} rows (${(bytes / 1e6).toFixed(1)} MB) in ${exportS.toFixed(2)} s = ${Math.round(rows / exportS).toLocaleString()} rows/s; ` +
    `api RSS ${rssBefore.toFixed(0)} MB before, peak ${rssPeak.toFixed(0)} MB (growth ${(rssPeak - rssBefore).toFixed(0)} MB)`,
  `targets: stats p99 < 50 ms, list p99 < 50 ms, export ≥ 50,000 rows/s with RSS growth < 100 MB`,
];
console.log(`\n${report.join('\n')}`);
fs.writeFileSync(path.join(OUT, 'model-calls-bench.md'), `${report.join('\n')}\n`);
await db.end();
process.exit(0);
