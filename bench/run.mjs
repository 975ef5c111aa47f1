#!/usr/bin/env node
// Tollgate gateway benchmark: starts the bundled dev upstream and Tollgate (fresh
// database, demo seed), then measures in the same run, with the shared side-by-side runner
// (bench/peer-bench.mjs, wrk): direct-to-upstream vs through Tollgate, non-streaming and
// streaming, at each connection count. Prints RPS, p50/p90/p99, Tollgate's added latency, and
// the api process's CPU% and peak RSS; then checks the books (one model call and one debit per
// request, ledger exact). Optionally adds the Portkey gateway as a third target.
//
//   npm run bench -- [--connections 1,50] [--duration 10] [--reps 3] [--warmup 2]
//                    [--modes nonstream,stream] [--portkey /tmp/bench-peer] [--limited]
//                    [--users 50] [--api-workers 1,2] [--profile] [--soak 600] [--compare DIR]
//                    [--variant NAME:KEY=VALUE[,KEY=VALUE…]]… [--floor]
//
// --compare DIR adds the target `tollgate-before`: the api of another build (DIR is its dist
// folder, e.g. of an earlier commit checked out with `git worktree add`) on the same database,
// so a change is measured before/after in one run (its schema must accept this build's migrations).
//
// --users N adds the target `tollgate-Nusers`: the calls spread over N users, one key each (the
// demo user's and N−1 more), taken in turn by the wrk script, against `tollgate`'s one busy user.
// --api-workers 1,2 starts one api per count (API_WORKERS; ports 18091, 18094, …) and measures
// each as a target (`tollgate`, `tollgate-2p`); CPU and RSS count the whole process tree.
// --profile runs the first api under `node --cpu-prof` and prints where its CPU went, by stage of
// a call (bench/lib/cpu-profile.mjs), with the CPU per call of each stage over the whole run.
// --soak SECONDS replaces the measurements: steady load on the first api at the first connection
// count (default 50) for that long, RSS and p99 every 10 s as a table (bench/lib/soak.mjs), then
// the books as always.
//
// --floor adds the target `bare-proxy` (bench/lib/bare-proxy.mjs): a Node HTTP server relaying
// each request to the upstream with undici and nothing else, the floor any Node gateway starts from.
//
// --limited adds the target `tollgate-limited`: the same user through a second key with rpm/tpm
// limits far above what the run sends, so it measures what the rate limiter adds to a call (one
// Redis round trip at admission, one token addition after the record) against `tollgate`,
// whose key has no limit and never asks Redis (docs/rate-limits.md "Overhead").
//
// Needs: a build (npm run bench builds), PostgreSQL and Redis (BENCH_DATABASE_URL, REDIS_URL),
// wrk (apt-get install wrk). --portkey DIR: a folder with @portkey-ai/gateway installed in its
// node_modules and a loopback-preload.cjs (see bench/README.md). Everything listens on 127.0.0.1.
// Start-up (database, migration, processes, health waits) is bench/lib/processes.mjs.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import {
  assertPortFree,
  buildCommit,
  DIST_DIR,
  dropDatabase,
  migrate,
  option as opt,
  OUT,
  run,
  seedGatewayBench,
  start,
  startApi,
  startUpstream,
  stopAll,
  tollgateEnv,
  waitFor,
} from './lib/processes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONNECTIONS = opt('connections', '1,50').split(',').map(Number);
const DURATION = opt('duration', '10');
const REPS = opt('reps', '3');
const WARMUP = opt('warmup', '2');
const MODES = opt('modes', 'nonstream,stream').split(',').filter(Boolean);
const PORTKEY_DIR = opt('portkey', null);
const USERS = Number(opt('users', '1'));
const API_WORKERS = opt('api-workers', '1').split(',').map(Number);
const PROFILE = process.argv.includes('--profile');
const SOAK_SECONDS = Number(opt('soak', '0'));
const COMPARE_DIR = opt('compare', null);
const PROFILE_DIR = path.join(OUT, 'profile');
const LIMITED = process.argv.includes('--limited');
/** --floor: adds the target `bare-proxy` (bench/lib/bare-proxy.mjs), what a Node gateway doing nothing but relay costs. */
const FLOOR = process.argv.includes('--floor');
const FLOOR_PORT = 18121;
/**
 * --variant NAME:K=V[,K=V…] (repeatable): one more api with these settings over the bench's, as the
 * target `tollgate-NAME` (e.g. --variant async-record:CALL_RECORD_SYNCHRONOUS_COMMIT=false).
 */
const VARIANTS = process.argv
  .flatMap((a, i, all) => (a === '--variant' && i + 1 < all.length ? [all[i + 1]] : []))
  .map((spec) => {
    const [name, ...rest] = spec.split(':');
    const env = Object.fromEntries(
      rest
        .join(':')
        .split(',')
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    if (!/^[a-z0-9-]+$/.test(name) || Object.keys(env).some((k) => !/^[A-Z0-9_]+$/.test(k))) {
      console.error(`--variant ${spec}: expected NAME:KEY=VALUE[,KEY=VALUE…]`);
      process.exit(2);
    }
    return { name: `tollgate-${name}`, env };
  });
/** rpm and tpm of the limited key: never reached in a run (an int column: at most 2^31 - 1). */
const NEVER_REACHED_LIMIT = 2_000_000_000;

const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate_bench';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const UPSTREAM_PORT = 18090;
const API_PORT = 18091;
const PORTKEY_PORT = 18092;
const UPSTREAM_KEY = 'sk-bench-upstream';

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' });
} catch (e) {
  if (e.code === 'ENOENT') {
    console.error('wrk is needed: apt-get install -y wrk');
    process.exit(2);
  }
}

// Fresh database for every run, so the books check below covers exactly this run.
await dropDatabase(DB_URL);
const appEnv = tollgateEnv({
  DATABASE_URL: DB_URL,
  REDIS_URL,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  PORT: String(API_PORT),
  DATABASE_POOL_SIZE: '20',
});
migrate(appEnv);
await startUpstream(
  'upstream',
  { DEV_UPSTREAM_PORT: String(UPSTREAM_PORT), DEV_UPSTREAM_API_KEY: UPSTREAM_KEY, DEV_UPSTREAM_MODELS: 'gpt-4o-mini' },
  { pidFile: true },
);
// The peer runner sends model gpt-4o-mini: the seed gives the bench provider a rate for it.
const seed = await seedGatewayBench(appEnv, { dbUrl: DB_URL, upstreamPort: UPSTREAM_PORT, upstreamKey: UPSTREAM_KEY });
/** A second key of the demo user with limits never reached (for --limited); its secret. */
async function limitedKey() {
  const { createHash, randomBytes, randomUUID } = await import('node:crypto');
  const secret = `tg-${randomBytes(32).toString('base64url')}`;
  const hash = (s) => createHash('sha256').update(s).digest('hex');
  const c = new pg.Client({ connectionString: DB_URL });
  await c.connect();
  await c.query(
    `INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, rpm_limit, tpm_limit)
     SELECT $1, user_id, 'bench limited', $2, $3, $4, $4 FROM api_keys WHERE secret_hash = $5`,
    [randomUUID(), secret.slice(0, 10), hash(secret), NEVER_REACHED_LIMIT, hash(seed.apiKey)],
  );
  await c.end();
  return secret;
}
/**
 * N−1 more users like the demo user (credits, one key each); writes the N keys (the demo's first)
 * one per line to OUT/keys-N.txt for the wrk script, and returns that file's name.
 */
async function spreadUsers(n) {
  const { createHash, randomBytes, randomUUID } = await import('node:crypto');
  const hash = (s) => createHash('sha256').update(s).digest('hex');
  const c = new pg.Client({ connectionString: DB_URL });
  await c.connect();
  const keys = [seed.apiKey];
  for (let i = 1; i < n; i++) {
    const userId = randomUUID();
    const secret = `tg-${randomBytes(32).toString('base64url')}`;
    await c.query(`INSERT INTO users (id, did, email) VALUES ($1, $2, $3)`, [userId, `did:bench:${i}`, `bench-${i}@tollgate.local`]);
    await c.query(`INSERT INTO credit_accounts (user_id, balance) VALUES ($1, 1000000000)`, [userId]);
    await c.query(
      `INSERT INTO credit_transactions (id, user_id, type, amount, balance_after, description)
       VALUES (gen_random_uuid(), $1, 'adjustment', 1000000000, 1000000000, 'bench top-up')`,
      [userId],
    );
    await c.query(`INSERT INTO api_keys (id, user_id, name, prefix, secret_hash) VALUES ($1, $2, 'bench', $3, $4)`, [
      randomUUID(),
      userId,
      secret.slice(0, 10),
      hash(secret),
    ]);
    keys.push(secret);
  }
  await c.end();
  const file = `keys-${n}.txt`;
  fs.writeFileSync(path.join(OUT, file), `${keys.join('\n')}\n`);
  return file;
}
const limitedSecret = LIMITED ? await limitedKey() : null;
const usersKeysFile = USERS > 1 ? await spreadUsers(USERS) : null;

const targets = [
  { name: 'direct', url: `http://127.0.0.1:${UPSTREAM_PORT}/v1/chat/completions`, headers: { authorization: `Bearer ${UPSTREAM_KEY}` } },
];
const processes = { upstream: 'upstream.pid' };
let profiledApi = null;
if (PROFILE) fs.rmSync(PROFILE_DIR, { recursive: true, force: true });
for (const [i, workers] of API_WORKERS.entries()) {
  const name = workers === 1 ? 'tollgate' : `tollgate-${workers}p`;
  const port = i === 0 ? API_PORT : API_PORT + 2 + i;
  const nodeArgs = PROFILE && i === 0 ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = await startApi(name, { ...appEnv, PORT: String(port), API_WORKERS: String(workers) }, { pidFile: true, nodeArgs });
  if (nodeArgs.length) profiledApi = { child, name };
  processes[name] = `${name}.pid`;
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  targets.push({ name, url, headers: { authorization: `Bearer ${seed.apiKey}` }, process: name });
  if (usersKeysFile) targets.push({ name: `${name}-${USERS}users`, url, keysFile: usersKeysFile, process: name });
}
if (COMPARE_DIR) {
  const port = API_PORT + 10;
  const script = path.resolve(COMPARE_DIR, 'src/main.js');
  await startApi('tollgate-before', { ...appEnv, PORT: String(port) }, { pidFile: true, script });
  processes['tollgate-before'] = 'tollgate-before.pid';
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  targets.push({ name: 'tollgate-before', url, headers: { authorization: `Bearer ${seed.apiKey}` }, process: 'tollgate-before' });
  if (usersKeysFile) targets.push({ name: `tollgate-before-${USERS}users`, url, keysFile: usersKeysFile, process: 'tollgate-before' });
}
for (const [i, variant] of VARIANTS.entries()) {
  const port = API_PORT + 20 + i;
  await startApi(variant.name, { ...appEnv, ...variant.env, PORT: String(port) }, { pidFile: true });
  processes[variant.name] = `${variant.name}.pid`;
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  targets.push({ name: variant.name, url, headers: { authorization: `Bearer ${seed.apiKey}` }, process: variant.name });
  if (usersKeysFile) targets.push({ name: `${variant.name}-${USERS}users`, url, keysFile: usersKeysFile, process: variant.name });
}
if (limitedSecret)
  targets.push({
    name: 'tollgate-limited',
    url: `http://127.0.0.1:${API_PORT}/v1/chat/completions`,
    headers: { authorization: `Bearer ${limitedSecret}` },
    process: targets[1].process,
  });
if (PORTKEY_DIR) {
  start(
    'portkey',
    'node',
    [
      '--require',
      path.join(PORTKEY_DIR, 'loopback-preload.cjs'),
      path.join(PORTKEY_DIR, 'node_modules/@portkey-ai/gateway/build/start-server.js'),
      `--port=${PORTKEY_PORT}`,
      '--headless',
    ],
    {},
    { pidFile: true },
  );
  await waitFor(`http://127.0.0.1:${PORTKEY_PORT}/`);
  targets.push({
    process: 'portkey',
    name: 'portkey',
    url: `http://127.0.0.1:${PORTKEY_PORT}/v1/chat/completions`,
    headers: {
      authorization: `Bearer ${UPSTREAM_KEY}`,
      'x-portkey-provider': 'openai',
      'x-portkey-custom-host': `http://127.0.0.1:${UPSTREAM_PORT}/v1`,
    },
  });
  processes.portkey = 'portkey.pid';
}
if (FLOOR) {
  await assertPortFree(FLOOR_PORT);
  start(
    'bare-proxy',
    'node',
    [path.join(HERE, 'lib/bare-proxy.mjs'), String(FLOOR_PORT), `http://127.0.0.1:${UPSTREAM_PORT}`, UPSTREAM_KEY],
    {},
    { pidFile: true },
  );
  await waitFor(`http://127.0.0.1:${FLOOR_PORT}/v1/models`);
  targets.push({ process: 'bare-proxy', name: 'bare-proxy', url: `http://127.0.0.1:${FLOOR_PORT}/v1/chat/completions`, headers: {} });
  processes['bare-proxy'] = 'bare-proxy.pid';
}
fs.writeFileSync(path.join(OUT, 'targets.json'), JSON.stringify({ baseline: 'direct', targets, processes }, null, 2));

const builds = [`tollgate: ${buildCommit(DIST_DIR)}`];
if (COMPARE_DIR) builds.push(`tollgate-before: ${buildCommit(COMPARE_DIR)}`);
const buildsLine = `builds (commit of each target's code): ${builds.join(', ')}`;
console.log(buildsLine);
const report = [buildsLine];
if (SOAK_SECONDS > 0) {
  const { soak } = await import('./lib/soak.mjs');
  const t = targets[1];
  const pid = Number(fs.readFileSync(path.join(OUT, processes[t.process]), 'utf8'));
  const connections = opt('connections', null) ? CONNECTIONS[0] : 50;
  const r = await soak({ url: t.url, key: seed.apiKey, pid, seconds: SOAK_SECONDS, connections });
  console.log(`\n${r.text}`);
  report.push(r.text);
}
for (const c of SOAK_SECONDS > 0 ? [] : CONNECTIONS) {
  const out = run(
    'node',
    [
      path.join(HERE, 'peer-bench.mjs'),
      '--config',
      path.join(OUT, 'targets.json'),
      '--tool',
      'wrk',
      '--connections',
      String(c),
      '--duration',
      DURATION,
      '--reps',
      REPS,
      '--warmup',
      WARMUP,
      '--modes',
      MODES.join(','),
      '--out',
      path.join(OUT, `results-c${c}.json`),
    ],
    {},
  );
  process.stdout.write(`\n## ${c} connection(s)\n${out}`);
  report.push(`## ${c} connection(s)\n${out}`);
}

// Time to first streamed chunk, one request at a time (does the gateway delay the first token?).
async function firstChunkMs(target, n) {
  const { default: http } = await import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL(target.url);
  const body = JSON.stringify({
    model: 'gpt-4o-mini',
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: 16,
    messages: [{ role: 'user', content: 'Say hello' }],
  });
  const firsts = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', ...target.headers },
        },
        (res) => {
          let first = null;
          res.on('data', (d) => {
            if (first === null && d.includes('data:')) first = Number(process.hrtime.bigint() - t0) / 1e6;
          });
          res.on('end', () => {
            firsts.push(first);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  agent.destroy();
  firsts.sort((a, b) => a - b);
  return { p50: firsts[Math.floor(n / 2)], p99: firsts[Math.floor(n * 0.99)] };
}
if (MODES.includes('stream') && SOAK_SECONDS === 0) {
  const n = Number(opt('ttfb-requests', '1000'));
  const rows = [];
  for (const t of targets.filter((x) => !x.keysFile)) rows.push([t.name, await firstChunkMs(t, n)]);
  const base = rows[0][1];
  const lines = [
    `## time to first streamed chunk (${n} sequential requests each)`,
    '',
    '| target | p50 ms | p99 ms | added p50 | added p99 |',
    '|---|---|---|---|---|',
  ];
  for (const [name, r] of rows)
    lines.push(
      `| ${name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | +${(r.p50 - base.p50).toFixed(2)} | +${(r.p99 - base.p99).toFixed(2)} |`,
    );
  console.log(`\n${lines.join('\n')}`);
  report.push(lines.join('\n'));
}

// The books: every request through Tollgate is one model call and one debit, and the ledger adds up.
// Debits are written just after each call's durable record; give the last ones a moment.
const c = new pg.Client({ connectionString: DB_URL });
await c.connect();
const settleStart = Date.now();
for (;;) {
  const p = await c.query(
    'SELECT (SELECT count(*) FROM pending_debits)::int AS pending, (SELECT count(*) FROM credit_holds)::int AS holds',
  );
  if ((p.rows[0].pending === 0 && p.rows[0].holds === 0) || Date.now() - settleStart > 15_000) break;
  await new Promise((r) => setTimeout(r, 50));
}
const settleMs = Date.now() - settleStart;
const { rows } = await c.query(`
  SELECT (SELECT count(*) FROM model_calls)::int AS calls,
         (SELECT count(*) FROM model_calls WHERE status = 'success')::int AS succeeded,
         (SELECT count(*) FROM model_calls WHERE status = 'aborted')::int AS aborted,
         (SELECT count(*) FROM credit_transactions WHERE type = 'debit')::int AS debits,
         (SELECT count(DISTINCT model_call_id) FROM credit_transactions WHERE type = 'debit')::int AS distinct_debits,
         (SELECT coalesce(sum(amount), 0) FROM credit_transactions)::text AS ledger_sum,
         (SELECT sum(balance) FROM credit_accounts)::text AS balances,
         (SELECT count(*) FROM credit_holds)::int AS holds_left,
         (SELECT sum(held) FROM credit_accounts)::text AS held,
         (SELECT coalesce(sum(amount), 0) FROM credit_reserves)::text AS reserved,
         (SELECT sum(held) FROM credit_accounts) = (SELECT coalesce(sum(amount), 0) FROM credit_reserves) AS held_exact`);
await c.end();
const b = rows[0];
const billed = b.succeeded + b.aborted;
const books =
  `books: ${b.calls} model calls (${b.succeeded} success, ${b.aborted} aborted by wrk at the end of a run), ${b.debits} debits (${b.distinct_debits} distinct calls), ` +
  `Σ transactions ${b.ledger_sum} = Σ balances ${b.balances}: ${b.ledger_sum === b.balances ? 'exact' : 'MISMATCH'}; holds left ${b.holds_left}; ` +
  `held ${b.held} = Σ credit reserves ${b.reserved}: ${b.held_exact ? 'exact' : 'MISMATCH'}; ` +
  `last debits written ${settleMs} ms after the load stopped`;
console.log(`\n${books}`);
report.push(books);
if (profiledApi) {
  // The profile is written when the process exits.
  const exited = new Promise((resolve) => profiledApi.child.once('exit', resolve));
  profiledApi.child.kill('SIGTERM');
  await exited;
  const { profileReport } = await import('./lib/cpu-profile.mjs');
  const [file] = fs.readdirSync(PROFILE_DIR).filter((f) => f.endsWith('.cpuprofile'));
  const db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  const calls = (await db.query('SELECT count(*)::int AS n FROM model_calls')).rows[0].n;
  await db.end();
  const text = profileReport(path.join(PROFILE_DIR, file), API_WORKERS.length === 1 && !PORTKEY_DIR ? calls : undefined);
  console.log(`\n${text}`);
  report.push(text);
}
fs.writeFileSync(path.join(OUT, 'report.md'), `${report.join('\n\n')}\n`);
stopAll();
process.exit(b.ledger_sum === b.balances && b.debits === billed && b.distinct_debits === b.debits ? 0 : 1);
