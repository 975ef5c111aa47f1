#!/usr/bin/env node
/**
 * Soak test: real processes on loopback, mixed load, faults, then the books.
 *
 *   npm run soak                                   # build, then SOAK_SECONDS=300
 *   SOAK_SECONDS=60 TOLLGATE_DIST_DIR=/tmp/tg-dist node scripts/soak.mjs
 *
 * What runs: a fresh database (created through the admin URL, migrated with db-migrate), the
 * bundled dev upstream, a fault proxy (test/support/fault-proxy.ts, transpiled on the fly) in
 * front of PostgreSQL for the api and the worker, one api, one worker. A seed (the services
 * seed-demo uses) creates the provider, rates, users with credits and one key per user.
 *
 * Load: SOAK_CLIENTS clients, each calling in a loop until time is up: chat, streams read to the
 * end, streams aborted midway, streams left unread for a while, calls the upstream fails
 * (#mock: directives), a model name holding a NUL, embeddings, and a one-character prompt of
 * SOAK_BIG_PROMPT_BYTES with an early disconnect. Every call carries its own x-request-id, which
 * the gateway stores as model_calls.request_id. Meanwhile: PostgreSQL is cut for SOAK_CUT_SECONDS
 * and restored; later the api is killed with SIGKILL and a new one started on the same port. A
 * process that exits on its own is a failure of the run; the api and the worker are then
 * restarted (at most 5 times), as an orchestrator would.
 *
 * At the end: the api is stopped (SIGTERM) and the worker is given time for its sweeps (pending
 * debits, holds of calls the killed api never finished) until nothing is pending or held, at most
 * SOAK_SETTLE_SECONDS (the worker's recovery job turns expired holds into interrupted calls every
 * 10 s, docs/call-recording.md). Then the books: every call a client got a complete answer for (and
 * every error answer the gateway records) must be a row of model_calls; per user Σ debits =
 * Σ call credits = the balance change and the ledger adds up; nothing stays held or pending.
 * Also printed: RSS and /healthz latency every 10 s, outcomes and error counts by phase, the
 * processes' error log lines, the worker's BullMQ job counts.
 *
 * Exit code: 0 books right, 1 books wrong, 2 the harness failed, 130 interrupted.
 *
 * Settings (environment): SOAK_SECONDS (300), SOAK_CLIENTS (20), SOAK_USERS (4; the last one is
 * poor), SOAK_POOR_CREDITS (500), SOAK_CUT_SECONDS (30), SOAK_CUT_MODE (blackhole|refuse),
 * SOAK_CUT_AT / SOAK_KILL_AT (seconds after the load starts; default 20% / 75% of the run),
 * SOAK_BIG_PROMPT_BYTES (1048576; 0 = none), SOAK_BIG_PROMPT_MAX (5 per run),
 * SOAK_REQUEST_TIMEOUT_MS (60000), SOAK_HOLD_TTL_SECONDS (60, the api's CREDIT_HOLD_TTL_SECONDS),
 * SOAK_SETTLE_SECONDS (120, longest wait for the worker's sweeps), SOAK_SETTLE_MIN_SECONDS (25,
 * shortest), SOAK_SEED (random; the kinds of calls each client makes follow from it),
 * SOAK_LOG_DIR (a new temp dir; process logs are kept there), SOAK_KEEP_DB (1 = do not drop),
 * TOLLGATE_DIST_DIR or --dist <dir> (compiled tree, default <repo>/dist),
 * TEST_DATABASE_ADMIN_URL (postgresql://postgres@127.0.0.1:5432/postgres), REDIS_URL
 * (redis://127.0.0.1:6379). Other api settings (e.g. DATABASE_POOL_SIZE) pass through.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const requireRepo = createRequire(path.join(REPO, 'package.json'));
const pg = requireRepo('pg');
const Redis = requireRepo('ioredis');

// ---------------------------------------------------------------- settings

function intEnv(name, dflt, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`soak: ${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    process.exit(2);
  }
  return n;
}

function argValue(flag) {
  const i = process.argv.indexOf(flag);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const SECONDS = intEnv('SOAK_SECONDS', 300, 10, 86_400);
const CLIENTS = intEnv('SOAK_CLIENTS', 20, 1, 500);
const USERS = intEnv('SOAK_USERS', 4, 1, 100);
const POOR_CREDITS = intEnv('SOAK_POOR_CREDITS', 500, 1, 1_000_000_000);
const CUT_SECONDS = intEnv('SOAK_CUT_SECONDS', 30, 0, 3600);
const CUT_MODE = process.env.SOAK_CUT_MODE?.trim() || 'blackhole';
const BIG_PROMPT_BYTES = intEnv('SOAK_BIG_PROMPT_BYTES', 1024 * 1024, 0, 30 * 1024 * 1024);
const BIG_PROMPT_MAX = intEnv('SOAK_BIG_PROMPT_MAX', 5, 0, 10_000);
const REQUEST_TIMEOUT_MS = intEnv('SOAK_REQUEST_TIMEOUT_MS', 60_000, 1000, 3_600_000);
const HOLD_TTL_SECONDS = intEnv('SOAK_HOLD_TTL_SECONDS', 60, 10, 86_400);
const SETTLE_SECONDS = intEnv('SOAK_SETTLE_SECONDS', 120, 0, 3600);
const SETTLE_MIN_SECONDS = Math.min(SETTLE_SECONDS, intEnv('SOAK_SETTLE_MIN_SECONDS', 25, 0, 3600));
const SEED = intEnv('SOAK_SEED', Math.floor(Math.random() * 2 ** 31), 0, 2 ** 31);
const KEEP_DB = process.env.SOAK_KEEP_DB === '1';
const CUT_AT = intEnv('SOAK_CUT_AT', Math.round(SECONDS * 0.2), 0, 86_400);
const CUT_LEN = Math.min(CUT_SECONDS, Math.max(0, SECONDS - CUT_AT - 2));
const KILL_AT = intEnv(
  'SOAK_KILL_AT',
  Math.min(SECONDS - 3, Math.max(CUT_AT + CUT_LEN + Math.round(SECONDS * 0.1), Math.round(SECONDS * 0.75))),
  0,
  86_400,
);
const DIST = path.resolve(argValue('--dist') ?? (process.env.TOLLGATE_DIST_DIR?.trim() || path.join(REPO, 'dist')));
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL || process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379';
// The test suite's sample secrets (test/support/gateway-harness.ts); NODE_ENV=test accepts them.
const ENCRYPTION_KEYS = 'test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';
const JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';
const UPSTREAM_KEY = 'sk-soak-upstream-secret';
const RUN = randomBytes(4).toString('hex');
// Not under the test suites' tollgate-test*/tollgate_test_* names: their global teardown removes
// Redis keys with that prefix, which would delete this run's queues if jest runs meanwhile.
const DB_NAME = `tollgate_soak_${RUN}`;
const QUEUE_PREFIX = `tollgate-soak-${RUN}`;
const LOG_DIR = process.env.SOAK_LOG_DIR?.trim() || fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-soak-'));
fs.mkdirSync(LOG_DIR, { recursive: true });

if (!['blackhole', 'refuse'].includes(CUT_MODE)) {
  console.error(`soak: SOAK_CUT_MODE must be blackhole or refuse (got "${CUT_MODE}")`);
  process.exit(2);
}
for (const entry of ['src/main.js', 'src/worker.js', 'src/dev-upstream/main.js', 'src/cli/db-migrate.js', 'src/app.module.js']) {
  if (!fs.existsSync(path.join(DIST, entry))) {
    console.error(
      `soak: compiled ${entry} not found in ${DIST}: run "npm run build" (npm run soak does), or compile elsewhere ` +
        `("node scripts/build.mjs --outDir /tmp/tg-dist") and set TOLLGATE_DIST_DIR=/tmp/tg-dist`,
    );
    process.exit(2);
  }
}

// ---------------------------------------------------------------- small helpers

const T0 = Date.now();
const since = () => (Date.now() - T0) / 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stdout.write(`[soak ${since().toFixed(1).padStart(6)}s] ${msg}\n`);

/** Deterministic PRNG (mulberry32), one per client, from SOAK_SEED. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), pick: (list) => list[Math.floor(next() * list.length)] };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

function table(headers, rows) {
  const cells = [headers, ...rows].map((r) => r.map((c) => (c === null || c === undefined ? '' : String(c))));
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function rssMb(pid) {
  if (!pid) return null;
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** The fault proxy, transpiled from its TypeScript source (one implementation for tests and this script). */
function loadFaultProxy() {
  const ts = requireRepo('typescript');
  const src = fs.readFileSync(path.join(REPO, 'test', 'support', 'fault-proxy.ts'), 'utf8');
  const out = ts.transpileModule(src, {
    fileName: 'fault-proxy.ts',
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  const file = path.join(LOG_DIR, 'fault-proxy.cjs');
  fs.writeFileSync(file, out);
  return createRequire(file)(file);
}

// ---------------------------------------------------------------- child processes

const children = new Set();
const errorLines = []; // {proc, text} of error/fatal log lines and stderr, for the report

/** Spawns `node <args>` with the repository as cwd; output goes to a log file in LOG_DIR. */
function spawnNode(label, args, env) {
  const file = path.join(LOG_DIR, `${label}.log`);
  const out = fs.createWriteStream(file, { flags: 'a' });
  const nodePath = [path.join(REPO, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, NODE_PATH: nodePath, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = { label, child, pid: child.pid, file, tail: [], watchers: new Set(), exitInfo: null, errors: 0, warns: 0 };
  proc.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      proc.exitInfo = { code, signal };
      children.delete(proc);
      resolve(proc.exitInfo);
    });
    child.once('error', (err) => {
      if (child.pid === undefined) {
        proc.exitInfo = { code: null, signal: null, error: err.message };
        children.delete(proc);
        resolve(proc.exitInfo);
      }
    });
  });
  const onLine = (line, isErr) => {
    out.write(`${isErr ? '[stderr] ' : ''}${line}\n`);
    proc.tail.push(line);
    if (proc.tail.length > 200) proc.tail.shift();
    let level = isErr ? 50 : 0;
    if (line.startsWith('{')) {
      try {
        const j = JSON.parse(line);
        level = typeof j.level === 'number' ? j.level : level;
        if (level >= 40)
          line = `${j.context ? `${j.context}: ` : ''}${String(j.msg ?? '').split('\n')[0]}${j.err?.message ? ` ${String(j.err.message).split('\n')[0]}` : ''}`;
      } catch {
        /* not JSON */
      }
    }
    // stderr: count headlines (an error's first line), not stack frames and object dumps
    const stderrNoise = isErr && !/error|fatal|unhandled|warning|emitted/i.test(line);
    if (level >= 50 && !stderrNoise && !/^\s+at |^\s*throw er;/.test(line)) {
      proc.errors++;
      errorLines.push({ proc: label, text: line });
    } else if (level >= 40) proc.warns++;
    for (const w of proc.watchers) w(line);
  };
  for (const [stream, isErr] of [
    [child.stdout, false],
    [child.stderr, true],
  ]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop();
      for (const l of parts) onLine(l, isErr);
    });
    stream.on('end', () => rest && onLine(rest, isErr));
  }
  proc.kill = (signal = 'SIGTERM') => {
    if (proc.exitInfo) return false;
    try {
      return child.kill(signal);
    } catch {
      return false;
    }
  };
  proc.stop = async (graceMs) => {
    if (proc.exitInfo) return proc.exitInfo;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
    const info = await proc.exited;
    clearTimeout(timer);
    return info;
  };
  proc.waitForLine = (re, ms) =>
    new Promise((resolve, reject) => {
      const seen = proc.tail.find((l) => re.test(l));
      if (seen) return resolve(seen);
      const done = (fn) => {
        clearTimeout(timer);
        proc.watchers.delete(w);
        fn();
      };
      const w = (l) => re.test(l) && done(() => resolve(l));
      const timer = setTimeout(() => done(() => reject(new Error(`${label}: no line matching ${re} within ${ms} ms; see ${file}`))), ms);
      proc.watchers.add(w);
      proc.exited.then((i) =>
        done(() =>
          reject(new Error(`${label} exited (${i.signal ?? `code ${i.code}`}); last output:\n${proc.tail.slice(-15).join('\n')}`)),
        ),
      );
    });
  children.add(proc);
  return proc;
}

/** Runs a node command to completion; resolves with its output, rejects on a non-zero exit. */
async function runNode(label, args, env, timeoutMs) {
  const proc = spawnNode(label, args, env);
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const info = await proc.exited;
  clearTimeout(timer);
  if (info.code !== 0) throw new Error(`${label} failed (${info.signal ?? `code ${info.code}`}):\n${proc.tail.slice(-20).join('\n')}`);
  return proc.tail;
}

function tollgateEnv(databaseUrl) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    ENCRYPTION_KEYS,
    JWT_SECRET,
    QUEUE_PREFIX,
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
  };
}

function httpGet(url, timeoutMs) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - t0 }));
      res.on('error', () => resolve({ status: null, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: null, ms: Date.now() - t0 }));
  });
}

async function startApi(n, port, databaseUrl) {
  const proc = spawnNode(`api-${n}`, [path.join(DIST, 'src', 'main.js')], {
    ...tollgateEnv(databaseUrl),
    HOST: '127.0.0.1',
    PORT: String(port),
    CREDIT_HOLD_TTL_SECONDS: String(HOLD_TTL_SECONDS),
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitInfo)
      throw new Error(
        `api-${n} exited (${proc.exitInfo.signal ?? `code ${proc.exitInfo.code}`}) before it was ready:\n${proc.tail.slice(-15).join('\n')}`,
      );
    if ((await httpGet(`http://127.0.0.1:${port}/healthz`, 1000)).status === 200) return proc;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`api-${n} not ready on port ${port} within 60 s; see ${proc.file}`);
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------- seeding

const SEED_SCRIPT = String.raw`
require('reflect-metadata');
const path = require('node:path');
const dist = process.env.SOAK_DIST;
const load = (p) => require(path.join(dist, 'src', p));
(async () => {
  const { NestFactory } = require('@nestjs/core');
  const { AppModule } = load('app.module.js');
  const { Decimal } = load('common/decimal.js');
  const { CreditLedgerService } = load('credits/credit-ledger.service.js');
  const { KeysService } = load('keys/keys.service.js');
  const { ProvidersService } = load('providers/providers.service.js');
  const { UsersService } = load('users/users.service.js');
  const spec = JSON.parse(process.env.SOAK_SEED_SPEC);
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(), { logger: ['error', 'warn'] });
  try {
    const providers = app.get(ProvidersService);
    const provider = await providers.createProvider({ name: 'devup', displayName: 'Dev Upstream (soak)', baseUrl: spec.upstreamUrl });
    // Two credentials (same upstream key) so the one retry on another credential is exercised.
    await providers.addCredential(provider.id, { name: 'Key A', value: spec.upstreamKey });
    await providers.addCredential(provider.id, { name: 'Key B', value: spec.upstreamKey });
    await providers.addModelRate(provider.id, { model: 'mock-model', inputRate: '0.15', outputRate: '0.6', inputUnitCost: '0.00000015', outputUnitCost: '0.0000006' });
    await providers.addModelRate(provider.id, { model: 'mock-embed', type: 'embedding', inputRate: '0.02', outputRate: '0', inputUnitCost: '0.00000002', outputUnitCost: '0' });
    const users = [];
    for (const u of spec.users) {
      const user = await app.get(UsersService).create({ email: u.email, fullName: u.name });
      await app.get(CreditLedgerService).grant({ userId: user.id, amount: new Decimal(u.credits), reason: 'soak credits', source: 'soak', idempotencyKey: 'soak-' + user.id });
      const key = await app.get(KeysService).create(user.id, { name: 'soak key' });
      users.push({ email: u.email, userId: user.id, key: key.secret, credits: u.credits });
    }
    process.stdout.write('SOAK_SEED ' + JSON.stringify({ providerId: provider.id, users }) + '\n');
  } finally {
    await app.close();
  }
})().catch((err) => {
  process.stderr.write('soak seed failed: ' + ((err && err.stack) || err) + '\n');
  process.exit(1);
});
`;

// ---------------------------------------------------------------- the load

/** Error codes of answers the gateway records as a (failed) model call before answering. */
const RECORDED_ERROR_CODES = new Set([
  'model_not_found',
  'model_not_allowed',
  'insufficient_credits',
  'upstream_error',
  'upstream_unreachable',
  'upstream_auth_failed',
  'no_active_credential',
  'rate_limit_exceeded',
  'upstream_rejected',
  'mock_status',
]);

const KINDS = [
  ['chat', 28],
  ['stream', 24],
  ['stream_abort', 10],
  ['stream_stall', 4],
  ['upstream_fail', 14],
  ['embeddings', 10],
  ['nul_model', 3],
  ['big_prompt', 1],
];
const KIND_TOTAL = KINDS.reduce((s, [, w]) => s + w, 0);

const state = {
  baseUrl: '',
  /** where the fault timeline is */
  faultPhase: 'load',
  /** the api is not running (killed or crashed) until its replacement answers */
  apiDown: false,
  get phase() {
    return this.apiDown ? `${this.faultPhase}/api-down` : this.faultPhase;
  },
  set phase(v) {
    this.faultPhase = v;
  },
  crashes: [], // {t, proc, pid, info, why}
  apiRestart: null,
  stopping: false,
  interrupted: false,
  calls: [], // one record per call
  inflight: new Set(), // http.ClientRequest
  stalls: 0,
  bigInFlight: 0,
  bigSent: 0,
  events: [], // {t, what}
};

function event(what) {
  state.events.push({ t: since(), what });
  log(what);
}

function pickKind(r) {
  let x = r.next() * KIND_TOTAL;
  for (const [k, w] of KINDS) {
    if ((x -= w) < 0) return k;
  }
  return 'chat';
}

/** Builds the request of one call. */
function buildCall(kind, r, id) {
  const msg = (text) => [{ role: 'user', content: text }];
  const maxTokens = r.next() < 0.7 ? { max_tokens: r.int(16, 128) } : {};
  switch (kind) {
    case 'chat':
      return {
        kind,
        path: '/v1/chat/completions',
        stream: false,
        body: { model: 'mock-model', messages: msg(`soak ${id} #mock:words=${r.int(3, 40)}`), ...maxTokens },
      };
    case 'stream': {
      const usage = r.next() < 0.5 ? { stream_options: { include_usage: true } } : {};
      return {
        kind,
        path: '/v1/chat/completions',
        stream: true,
        body: { model: 'mock-model', stream: true, messages: msg(`soak ${id} #mock:words=${r.int(3, 60)}`), ...maxTokens, ...usage },
      };
    }
    case 'stream_abort':
      return {
        kind,
        path: '/v1/chat/completions',
        stream: true,
        abortAfterEvents: r.int(1, 25),
        body: { model: 'mock-model', stream: true, messages: msg(`soak ${id} #mock:words=400 #mock:chunk-delay=10`) },
      };
    case 'stream_stall':
      // A long stream the client stops reading for a while (TCP backpressure up to the gateway).
      return {
        kind,
        path: '/v1/chat/completions',
        stream: true,
        stallAfterEvents: r.int(2, 10),
        stallMs: r.int(3000, 12_000),
        timeoutMs: REQUEST_TIMEOUT_MS + 15_000,
        body: { model: 'mock-model', stream: true, messages: msg(`soak ${id} #mock:words=20000`) },
      };
    case 'upstream_fail': {
      const directive = r.pick([
        '#mock:status=503',
        '#mock:status=500',
        '#mock:status=429',
        '#mock:status=400',
        '#mock:status=401',
        '#mock:drop',
      ]);
      const stream = r.next() < 0.4;
      return {
        kind,
        path: '/v1/chat/completions',
        stream,
        directive,
        body: { model: 'mock-model', messages: msg(`soak ${id} ${directive}`), ...(stream ? { stream: true } : {}), ...maxTokens },
      };
    }
    case 'embeddings':
      return {
        kind,
        path: '/v1/embeddings',
        stream: false,
        body: { model: 'mock-embed', input: r.next() < 0.5 ? `soak ${id}` : [`soak ${id}`, 'second input'] },
      };
    case 'nul_model':
      return {
        kind,
        path: '/v1/chat/completions',
        stream: r.next() < 0.5,
        body: { model: 'mock-model\u0000soak', messages: msg(`soak ${id}`) },
      };
    case 'big_prompt': {
      const variant = r.next() < 0.5 ? 'mid_upload' : 'after_upload';
      return {
        kind,
        path: '/v1/chat/completions',
        stream: r.next() < 0.5,
        variant,
        disconnectAfterMs: r.int(50, 500),
        body: { model: 'mock-model', messages: msg('a'.repeat(BIG_PROMPT_BYTES)) },
      };
    }
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/** Performs one call; resolves with its record (never rejects). */
function doCall(client, spec, id) {
  return new Promise((resolve) => {
    const rec = {
      id,
      kind: spec.kind,
      user: client.user.index,
      client: client.index,
      t0: since(),
      t1: null,
      phase: state.phase,
      status: null,
      outcome: null,
      code: null,
      respId: null,
      completionId: null,
      events: 0,
      stream: spec.stream,
      detail: spec.directive ?? spec.variant ?? null,
    };
    const payload = Buffer.from(JSON.stringify(spec.body));
    let settled = false;
    let timer = null;
    const finish = (outcome, code = null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      state.inflight.delete(req);
      rec.outcome = outcome;
      if (code !== null) rec.code = code;
      rec.t1 = since();
      resolve(rec);
    };
    const req = http.request(`${state.baseUrl}${spec.path}`, {
      method: 'POST',
      agent: client.agent,
      headers: {
        authorization: `Bearer ${client.user.key}`,
        'content-type': 'application/json',
        'content-length': payload.length,
        'x-request-id': id,
      },
    });
    state.inflight.add(req);
    req.finishSoak = finish;
    timer = setTimeout(() => {
      finish('timeout', 'client_timeout');
      req.destroy();
    }, spec.timeoutMs ?? REQUEST_TIMEOUT_MS);
    req.on('error', (err) => finish(rec.status === null ? 'network_error' : 'incomplete', err.code || err.message));
    req.on('response', (res) => {
      rec.status = res.statusCode;
      rec.respId = res.headers['x-request-id'] ?? null;
      res.on('error', (err) => finish('incomplete', err.code || err.message));
      res.on('aborted', () => finish('incomplete', 'response_aborted'));
      res.on('close', () => finish('incomplete', 'closed_before_end'));
      if (res.statusCode !== 200 || !spec.stream) {
        const parts = [];
        let size = 0;
        res.on('data', (c) => {
          size += c.length;
          if (size <= 4 * 1024 * 1024) parts.push(c);
        });
        res.on('end', () => {
          let body = null;
          try {
            body = JSON.parse(Buffer.concat(parts).toString('utf8'));
          } catch {
            /* not JSON */
          }
          if (res.statusCode === 200) {
            const ok = body && (Array.isArray(body.choices) || Array.isArray(body.data));
            rec.completionId = body?.id ?? null;
            finish(ok ? 'complete' : 'bad_body', ok ? null : 'unparseable_200');
          } else {
            rec.errorType = body?.error?.type ?? null;
            finish('error_response', body?.error?.code ?? `http_${res.statusCode}`);
          }
        });
        return;
      }
      // 200 stream: read SSE events; abort or stall as the call asks.
      let buf = '';
      let sawDone = false;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const ev = buf.slice(0, i);
          buf = buf.slice(i + 2);
          rec.events++;
          if (ev.startsWith('data: [DONE]')) sawDone = true;
          else if (rec.completionId === null && ev.startsWith('data: {')) {
            try {
              rec.completionId = JSON.parse(ev.slice(6)).id ?? null;
            } catch {
              /* partial or odd event */
            }
          }
          if (spec.abortAfterEvents && rec.events >= spec.abortAfterEvents && !sawDone) {
            finish('client_abort', 'stream_abort');
            req.destroy();
            return;
          }
          if (spec.stallAfterEvents && rec.events === spec.stallAfterEvents) {
            res.pause();
            rec.stalledMs = spec.stallMs;
            setTimeout(() => res.resume(), spec.stallMs);
          }
        }
      });
      res.on('end', () => finish(sawDone ? 'complete' : 'incomplete_stream', sawDone ? null : 'no_done'));
    });
    if (spec.variant === 'mid_upload') {
      // Half of the body, then the client leaves.
      req.write(payload.subarray(0, payload.length >> 1));
      setTimeout(() => {
        finish('client_abort', 'mid_upload');
        req.destroy();
      }, spec.disconnectAfterMs);
    } else if (spec.variant === 'after_upload') {
      req.end(payload);
      setTimeout(() => {
        if (settled) return; // answered before the client meant to leave
        finish('client_abort', 'after_upload');
        req.destroy();
      }, spec.disconnectAfterMs);
    } else {
      req.end(payload);
    }
  });
}

async function clientLoop(client, endAt) {
  const r = client.rng;
  let n = 0;
  while (!state.stopping && Date.now() < endAt && n < 1_000_000) {
    n++;
    let kind = pickKind(r);
    if (kind === 'big_prompt' && (BIG_PROMPT_BYTES === 0 || state.bigInFlight > 0 || state.bigSent >= BIG_PROMPT_MAX)) kind = 'chat';
    if (kind === 'stream_stall' && state.stalls >= 2) kind = 'stream';
    const id = `soak-${RUN}-c${client.index}-${n}`;
    const spec = buildCall(kind, r, id);
    if (kind === 'big_prompt') {
      state.bigInFlight++;
      state.bigSent++;
    }
    if (kind === 'stream_stall') state.stalls++;
    const rec = await doCall(client, spec, id);
    if (kind === 'big_prompt') state.bigInFlight--;
    if (kind === 'stream_stall') state.stalls--;
    state.calls.push(rec);
    // Think time; back off when the api is unreachable or the user is out of credits.
    if (rec.outcome === 'network_error') await sleep(250);
    else if (rec.code === 'insufficient_credits') await sleep(1000);
    else await sleep(r.int(0, 40));
  }
}

// ---------------------------------------------------------------- monitoring

const samples = []; // RSS table rows
const win = { healthMax: 0, healthFails: 0, healthFailsUnexpected: 0 };

async function healthProbe(endAt) {
  while (!state.stopping && Date.now() < endAt) {
    const started = Date.now();
    if (state.baseUrl) {
      const r = await httpGet(`${state.baseUrl}/healthz`, 2000);
      if (r.status === 200) win.healthMax = Math.max(win.healthMax, r.ms);
      else {
        win.healthFails++;
        if (!state.apiDown) win.healthFailsUnexpected++;
        state.healthFailsByPhase[state.phase] = (state.healthFailsByPhase[state.phase] ?? 0) + 1;
      }
    }
    await sleep(Math.max(0, 1000 - (Date.now() - started)));
  }
}
state.healthFailsByPhase = {};

function sample(procs) {
  const t = since();
  const prev = samples.length ? samples[samples.length - 1].callsSoFar : 0;
  const done = state.calls.length;
  const recent = state.calls.slice(prev);
  samples.push({
    t: Math.round(t),
    phase: state.phase,
    apiPid: procs.api?.pid ?? '',
    apiRss: rssMb(procs.api?.exitInfo ? null : procs.api?.pid),
    workerRss: rssMb(procs.worker?.pid),
    upstreamRss: rssMb(procs.upstream?.pid),
    healthMax: win.healthMax,
    healthFails: win.healthFails,
    healthFailsUnexpected: win.healthFailsUnexpected,
    calls: done - prev,
    complete: recent.filter((c) => c.outcome === 'complete').length,
    errors: recent.filter((c) => !['complete', 'client_abort'].includes(c.outcome)).length,
    inflight: state.inflight.size,
    callsSoFar: done,
  });
  win.healthMax = 0;
  win.healthFails = 0;
  win.healthFailsUnexpected = 0;
}

// ---------------------------------------------------------------- the books

async function books(db, clientCalls, settle) {
  const q = async (sql, params = []) => {
    try {
      return (await db.query(sql, params)).rows;
    } catch (err) {
      return { error: err.message };
    }
  };
  const failures = [];
  const warnings = [];
  const out = [];
  const say = (s = '') => out.push(s);

  // Calls as clients saw them vs rows.
  const rows = await q('SELECT id::text, request_id, user_id::text, status::text, credits::text, error_code, stream FROM model_calls');
  if (rows.error) {
    failures.push(`cannot read model_calls: ${rows.error}`);
    return { failures, warnings, out };
  }
  const byRequest = new Map();
  for (const r of rows) {
    const list = byRequest.get(r.request_id);
    if (list) list.push(r);
    else byRequest.set(r.request_id, [r]);
  }
  const seen = new Set(clientCalls.map((c) => c.id));
  const mustHaveRow = (c) =>
    c.outcome === 'complete' || (c.outcome === 'error_response' && (RECORDED_ERROR_CODES.has(c.code) || c.errorType === 'upstream_error'));
  const missing = clientCalls.filter((c) => mustHaveRow(c) && !byRequest.has(c.id));
  const wrongStatus = clientCalls.filter((c) => c.outcome === 'complete' && byRequest.get(c.id)?.some((r) => r.status !== 'success'));
  const dupes = [...byRequest.entries()].filter(([, l]) => l.length > 1);
  const unseenRows = rows.filter((r) => !seen.has(r.request_id));
  const idMismatch = clientCalls.filter((c) => c.respId && c.respId !== c.id);
  const cutShortButSuccess = clientCalls.filter(
    (c) => ['incomplete', 'incomplete_stream'].includes(c.outcome) && byRequest.get(c.id)?.some((r) => r.status === 'success'),
  );

  say('## Calls seen by clients vs rows in model_calls');
  const groups = new Map();
  for (const c of clientCalls) {
    const key = `${c.kind}|${c.outcome}`;
    const g = groups.get(key) ?? { kind: c.kind, outcome: c.outcome, n: 0, rows: 0, required: 0, missing: 0, statuses: new Map() };
    g.n++;
    const rs = byRequest.get(c.id);
    if (rs) {
      g.rows++;
      for (const r of rs) g.statuses.set(r.status, (g.statuses.get(r.status) ?? 0) + 1);
    }
    if (mustHaveRow(c)) {
      g.required++;
      if (!rs) g.missing++;
    }
    groups.set(key, g);
  }
  say(
    table(
      ['kind', 'client outcome', 'calls', 'row required', 'rows found', 'MISSING', 'row statuses'],
      [...groups.values()]
        .sort((a, b) => a.kind.localeCompare(b.kind) || a.outcome.localeCompare(b.outcome))
        .map((g) => [g.kind, g.outcome, g.n, g.required, g.rows, g.missing || '', [...g.statuses].map(([s, n]) => `${s}:${n}`).join(' ')]),
    ),
  );
  say();
  say(`model_calls rows: ${rows.length}; rows of calls no client recorded (e.g. cut off by the end of the run): ${unseenRows.length}`);
  if (missing.length) {
    failures.push(`${missing.length} call(s) answered to a client have no model_calls row`);
    say(`\nMISSING rows (${missing.length}; first 25):`);
    say(
      table(
        ['request id', 'kind', 'detail', 'http', 'outcome', 'code', 'phase', 'sent at s', 'answered at s'],
        missing
          .slice(0, 25)
          .map((c) => [c.id, c.kind, c.detail ?? '', c.status, c.outcome, c.code ?? '', c.phase, c.t0.toFixed(1), c.t1?.toFixed(1)]),
      ),
    );
    const byPhase = {};
    for (const c of missing) byPhase[`${c.phase}/${c.kind}`] = (byPhase[`${c.phase}/${c.kind}`] ?? 0) + 1;
    say(
      `missing by phase/kind: ${Object.entries(byPhase)
        .map(([k, n]) => `${k}=${n}`)
        .join(', ')}`,
    );
  }
  if (wrongStatus.length) {
    failures.push(`${wrongStatus.length} call(s) a client read completely are recorded with a status other than success`);
    say(`\nComplete answers recorded as not successful (first 10):`);
    say(
      table(
        ['request id', 'kind', 'row status'],
        wrongStatus.slice(0, 10).map((c) => [
          c.id,
          c.kind,
          byRequest
            .get(c.id)
            .map((r) => r.status)
            .join(','),
        ]),
      ),
    );
  }
  if (dupes.length)
    failures.push(
      `${dupes.length} request id(s) recorded more than once (e.g. ${dupes
        .slice(0, 3)
        .map(([id]) => id)
        .join(', ')})`,
    );
  if (cutShortButSuccess.length)
    warnings.push(
      `${cutShortButSuccess.length} call(s) whose answer broke off at the client are recorded as success (e.g. ${cutShortButSuccess
        .slice(0, 3)
        .map((c) => `${c.id}: ${c.kind}, ${c.code}, ${c.phase}`)
        .join('; ')})`,
    );
  const statuses = new Map();
  for (const r of rows) statuses.set(`${r.status}|${r.error_code ?? ''}`, (statuses.get(`${r.status}|${r.error_code ?? ''}`) ?? 0) + 1);
  say('\nmodel_calls rows by status and error code:');
  say(
    table(
      ['status', 'error code', 'rows'],
      [...statuses.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => [...k.split('|'), n]),
    ),
  );
  if (idMismatch.length) warnings.push(`${idMismatch.length} response(s) carried another x-request-id than the one sent`);

  // The ledger, per user.
  say('\n## Credits per user (after the sweeps)');
  const users = await q(`
    SELECT u.email, a.balance::text AS balance, a.held::text AS held,
      COALESCE(t.grants, 0)::text AS grants, COALESCE(t.debits, 0)::text AS debits, COALESCE(t.other, 0)::text AS other,
      COALESCE(t.n_debits, 0) AS n_debits, lt.balance_after::text AS last_balance_after,
      COALESCE(mc.credits, 0)::text AS call_credits, COALESCE(mc.n, 0) AS calls, COALESCE(mc.billed, 0) AS billed,
      COALESCE(h.amount, 0)::text AS holds_amount, COALESCE(h.n, 0) AS holds,
      (a.balance - COALESCE(t.grants, 0))::text AS change,
      a.balance = COALESCE(t.total, 0) AS ledger_adds_up,
      lt.balance_after IS NOT DISTINCT FROM a.balance AS last_row_matches,
      -COALESCE(t.debits, 0) = COALESCE(mc.credits, 0) AS debits_match_calls,
      a.held = COALESCE(h.amount, 0) AS held_matches_holds
    FROM users u JOIN credit_accounts a ON a.user_id = u.id
    LEFT JOIN (SELECT user_id, sum(amount) FILTER (WHERE type = 'grant') AS grants, sum(amount) FILTER (WHERE type = 'debit') AS debits,
                 sum(amount) FILTER (WHERE type NOT IN ('grant', 'debit')) AS other, count(*) FILTER (WHERE type = 'debit') AS n_debits,
                 sum(amount) AS total FROM credit_transactions GROUP BY user_id) t ON t.user_id = u.id
    LEFT JOIN LATERAL (SELECT x.balance_after FROM credit_transactions x WHERE x.user_id = u.id ORDER BY x.seq DESC LIMIT 1) lt ON true
    LEFT JOIN (SELECT user_id, sum(credits) AS credits, count(*) AS n, count(*) FILTER (WHERE credits > 0) AS billed FROM model_calls GROUP BY user_id) mc ON mc.user_id = u.id
    LEFT JOIN (SELECT user_id, sum(amount) AS amount, count(*) AS n FROM credit_holds GROUP BY user_id) h ON h.user_id = u.id
    ORDER BY u.email`);
  if (users.error) failures.push(`cannot read the ledger: ${users.error}`);
  else {
    say(
      table(
        [
          'user',
          'granted',
          'Σ debits',
          'debit rows',
          'Σ call credits',
          'billed calls',
          'balance',
          'change',
          'held',
          'holds',
          'ledger sums',
          'last balance_after',
          'debits = calls',
          'held = holds',
        ],
        users.map((u) => [
          u.email,
          u.grants,
          u.debits,
          u.n_debits,
          u.call_credits,
          u.billed,
          u.balance,
          u.change,
          u.held,
          u.holds,
          u.ledger_adds_up ? 'ok' : 'WRONG',
          u.last_row_matches ? 'ok' : 'WRONG',
          u.debits_match_calls ? 'ok' : 'WRONG',
          u.held_matches_holds ? 'ok' : 'WRONG',
        ]),
      ),
    );
    for (const u of users) {
      if (!u.ledger_adds_up) failures.push(`${u.email}: balance ${u.balance} is not the sum of its transactions`);
      if (!u.last_row_matches)
        failures.push(`${u.email}: the last transaction's balance_after ${u.last_balance_after} is not the balance ${u.balance}`);
      if (!u.debits_match_calls) failures.push(`${u.email}: Σ debits ${u.debits} ≠ −Σ credits of its model calls (${u.call_credits})`);
      if (!u.held_matches_holds) failures.push(`${u.email}: held ${u.held} ≠ Σ credit_holds ${u.holds_amount}`);
      if (Number(u.held) !== 0 || Number(u.holds) !== 0)
        failures.push(`${u.email}: ${u.held} credits still held in ${u.holds} hold(s) after the sweeps`);
    }
  }
  const unbilled = await q(`SELECT m.request_id, m.status::text, m.credits::text FROM model_calls m WHERE m.credits > 0
    AND NOT EXISTS (SELECT 1 FROM credit_transactions t WHERE t.model_call_id = m.id) ORDER BY m.created_at LIMIT 1000`);
  if (!unbilled.error && unbilled.length)
    failures.push(
      `${unbilled.length} billed call(s) without a debit transaction (e.g. ${unbilled
        .slice(0, 3)
        .map((r) => r.request_id)
        .join(', ')})`,
    );
  const orphanDebits = await q(
    `SELECT count(*)::int AS n FROM credit_transactions t WHERE t.type = 'debit' AND NOT EXISTS (SELECT 1 FROM model_calls m WHERE m.id = t.model_call_id)`,
  );
  if (!orphanDebits.error && orphanDebits[0].n > 0) failures.push(`${orphanDebits[0].n} debit transaction(s) without a model call`);
  const pending = await q('SELECT count(*)::int AS n, COALESCE(sum(credits), 0)::text AS credits FROM pending_debits');
  if (!pending.error && pending[0].n > 0)
    failures.push(
      `${pending[0].n} pending debit(s) (${pending[0].credits} credits) left after waiting ${settle.pendingWaitS} s for the worker's sweeps`,
    );
  const holds = await q('SELECT count(*)::int AS n, COALESCE(sum(amount), 0)::text AS amount FROM credit_holds');
  const heldTotal = await q('SELECT COALESCE(sum(held), 0)::text AS held FROM credit_accounts');
  say('');
  say(
    `held total (credit_accounts.held): ${heldTotal.error ?? heldTotal[0].held}; credit_holds rows: ${holds.error ?? `${holds[0].n} (${holds[0].amount} credits)`}; pending_debits: ${pending.error ?? `${pending[0].n}`}`,
  );
  say(`sweeps: ${settle.note}`);
  if (!heldTotal.error && Number(heldTotal[0].held) !== 0 && !failures.some((f) => f.includes('still held')))
    failures.push(`held total ${heldTotal[0].held} ≠ 0 after the sweeps`);
  return { failures, warnings, out };
}

// ---------------------------------------------------------------- run

const procs = { upstream: null, worker: null, api: null };
let apiCount = 0;
let apiPort = 0;
let proxiedDbUrl = '';
const MAX_RESTARTS = 5;

/** Last stderr line that names an error, for a one-line reason. */
function crashReason(proc) {
  const lines = proc.tail.slice(-60);
  const first =
    lines.find((l) => /^\s*(\w*Error|Unhandled|FATAL|throw )/.test(l) && !/^\s*throw er;/.test(l))?.trim() ??
    lines.filter(Boolean).slice(-1)[0] ??
    'no output';
  const emitter = lines.map((l) => /Emitted 'error' event on (.+) at:/.exec(l)).find(Boolean);
  return emitter ? `${first} (unhandled 'error' event on ${emitter[1]})` : first;
}

/** Watches a process: an exit nobody asked for is recorded (FAIL) and, within limits, restarted. */
function supervise(proc, restart) {
  proc.exited.then((info) => {
    if (proc.expectedExit || state.stopping) return;
    if (proc === procs.api) state.apiDown = true;
    const why = crashReason(proc);
    state.crashes.push({ t: since(), proc: proc.label, pid: proc.pid, info, why });
    event(`${proc.label} (pid ${proc.pid}) EXITED unexpectedly (${info.signal ?? `code ${info.code}`}): ${why}`);
    if (!restart || state.crashes.length > MAX_RESTARTS) return;
    state.apiRestart = (async () => {
      await sleep(1000); // what an orchestrator would do, a little faster
      if (state.stopping) return;
      try {
        const p = await restart();
        event(`${p.label} started after the crash (pid ${p.pid})`);
      } catch (err) {
        event(`restart after the crash failed: ${err.message}`);
      }
    })();
  });
}

async function launchApi() {
  apiCount++;
  state.apiDown = true;
  const proc = await startApi(apiCount, apiPort, proxiedDbUrl);
  procs.api = proc;
  state.apiDown = false;
  supervise(proc, launchApi);
  return proc;
}

async function launchWorker() {
  const proc = spawnNode(
    `worker${procs.worker ? `-${state.crashes.length + 1}` : ''}`,
    [path.join(DIST, 'src', 'worker.js')],
    tollgateEnv(proxiedDbUrl),
  );
  await proc.waitForLine(/tollgate worker started/, 60_000);
  procs.worker = proc;
  supervise(proc, launchWorker);
  return proc;
}

let cleanupPromise = null;
let proxy = null;
let dbCreated = false;
const agents = [];

function cleanup() {
  cleanupPromise ??= (async () => {
    state.stopping = true;
    for (const req of state.inflight) {
      req.finishSoak?.('cancelled', 'run_end');
      req.destroy();
    }
    for (const a of agents) a.destroy();
    for (const p of [...children]) p.kill('SIGKILL');
    await withTimeout(Promise.all([...children].map((p) => p.exited)), 10_000, 'children exit').catch((e) => log(e.message));
    if (proxy) await withTimeout(proxy.close(), 5000, 'proxy close').catch((e) => log(e.message));
    if (dbCreated && !KEEP_DB) {
      const admin = new pg.Client({ connectionString: ADMIN_URL });
      await withTimeout(
        (async () => {
          await admin.connect();
          await admin.query(`DROP DATABASE IF EXISTS "${DB_NAME}" WITH (FORCE)`);
        })(),
        15_000,
        'drop database',
      ).then(
        () => log(`dropped database ${DB_NAME}`),
        (e) => log(`could not drop database ${DB_NAME}: ${e.message}`),
      );
      await admin.end().catch(() => undefined);
    } else if (dbCreated) log(`kept database ${DB_NAME} (SOAK_KEEP_DB=1)`);
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on('error', () => undefined);
    await withTimeout(
      (async () => {
        await redis.connect();
        let cursor = '0';
        let n = 0;
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length) n += await redis.del(...keys);
        } while (cursor !== '0');
        return n;
      })(),
      10_000,
      'redis cleanup',
    ).then(
      (n) => log(`removed ${n} Redis key(s) under ${QUEUE_PREFIX}`),
      (e) => log(`Redis cleanup failed: ${e.message}`),
    );
    redis.disconnect();
  })();
  return cleanupPromise;
}

function onSignal(sig) {
  if (state.interrupted) {
    for (const p of children) p.kill('SIGKILL');
    process.exit(130);
  }
  state.interrupted = true;
  log(`${sig}: stopping; killing processes and dropping the database (again to force)`);
  cleanup().finally(() => process.exit(130));
}
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));
process.on('exit', () => {
  for (const p of children) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
});

async function run() {
  log(`run ${RUN}: ${SECONDS} s, ${CLIENTS} clients, ${USERS} users, seed ${SEED}, dist ${DIST}, logs in ${LOG_DIR}`);
  log(
    `plan (seconds after the load starts): PostgreSQL cut (${CUT_MODE}) at ${CUT_AT} s for ${CUT_LEN} s; api kill -9 at ${KILL_AT} s; big prompt ${BIG_PROMPT_BYTES} bytes (max ${BIG_PROMPT_MAX})`,
  );
  const { startFaultProxy } = loadFaultProxy();

  // Database.
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${DB_NAME}"`);
  dbCreated = true;
  await admin.end();
  const adminParsed = new URL(ADMIN_URL);
  adminParsed.pathname = `/${DB_NAME}`;
  const dbUrl = adminParsed.toString();
  // db-migrate finds prisma/migrations above its own folder; a tree compiled outside the
  // repository (TOLLGATE_DIST_DIR) is given the folder explicitly through the same function.
  const migrationsAbove = (() => {
    for (let d = path.join(DIST, 'src', 'cli'); ; d = path.dirname(d)) {
      if (fs.existsSync(path.join(d, 'package.json')) && fs.existsSync(path.join(d, 'prisma', 'migrations'))) return true;
      if (path.dirname(d) === d) return false;
    }
  })();
  const migrateArgs = migrationsAbove
    ? [path.join(DIST, 'src', 'cli', 'db-migrate.js')]
    : [
        '-e',
        `require(${JSON.stringify(path.join(DIST, 'src', 'cli', 'db-migrate.js'))}).runDbMigrate(process.env, undefined, ${JSON.stringify(path.join(REPO, 'prisma', 'migrations'))}).then((c) => { process.exitCode = c; })`,
      ];
  const migrated = await runNode('db-migrate', migrateArgs, { DATABASE_URL: dbUrl }, 120_000);
  log(`database ${DB_NAME}: ${migrated.filter((l) => /Applied|up to date/.test(l)).join(' ') || 'migrated'}`);

  // Dev upstream.
  const upstream = spawnNode('dev-upstream', [path.join(DIST, 'src', 'dev-upstream', 'main.js')], {
    DEV_UPSTREAM_HOST: '127.0.0.1',
    DEV_UPSTREAM_PORT: '0',
    DEV_UPSTREAM_API_KEY: UPSTREAM_KEY,
    DEV_UPSTREAM_MODELS: 'mock-model,mock-embed',
  });
  const upstreamUrl = /listening on (\S+)/.exec(await upstream.waitForLine(/listening on \S+/, 20_000))[1];
  log(`dev upstream ${upstreamUrl} (pid ${upstream.pid})`);

  // Seed.
  const userSpecs = Array.from({ length: USERS }, (_, i) => {
    const poor = USERS > 1 && i === USERS - 1;
    return { email: `soak-${i}${poor ? '-poor' : ''}@soak.local`, name: `Soak ${i}`, credits: poor ? String(POOR_CREDITS) : '1000000' };
  });
  const seedOut = await runNode(
    'seed',
    ['-e', SEED_SCRIPT],
    {
      ...tollgateEnv(dbUrl),
      SOAK_DIST: DIST,
      SOAK_SEED_SPEC: JSON.stringify({ upstreamUrl, upstreamKey: UPSTREAM_KEY, users: userSpecs }),
    },
    120_000,
  );
  const seedLine = seedOut.find((l) => l.startsWith('SOAK_SEED '));
  if (!seedLine) throw new Error('seed printed no result');
  const seeded = JSON.parse(seedLine.slice('SOAK_SEED '.length));
  const users = seeded.users.map((u, index) => ({ ...u, index }));
  log(`seeded provider devup (2 credentials), ${users.length} users (${users.map((u) => `${u.email}: ${u.credits}`).join(', ')})`);

  // Fault proxy in front of PostgreSQL; the api and the worker connect through it.
  proxy = await startFaultProxy({ targetHost: adminParsed.hostname, targetPort: Number(adminParsed.port || 5432) });
  proxiedDbUrl = proxy.url(dbUrl);
  log(`PostgreSQL fault proxy on 127.0.0.1:${proxy.port}`);

  procs.upstream = upstream;
  supervise(upstream, null);
  await launchWorker();
  log(`worker started (pid ${procs.worker.pid})`);
  apiPort = await freePort();
  await launchApi();
  state.baseUrl = `http://127.0.0.1:${apiPort}`;
  log(`api ready at ${state.baseUrl} (pid ${procs.api.pid})`);

  // Load.
  const loadStart = Date.now();
  const endAt = loadStart + SECONDS * 1000;
  const clients = Array.from({ length: CLIENTS }, (_, index) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    agents.push(agent);
    return { index, user: users[index % users.length], agent, rng: rng(SEED + index * 7919) };
  });
  const loops = clients.map((c) => clientLoop(c, endAt));
  const prober = healthProbe(endAt);
  sample(procs);
  const sampler = setInterval(() => sample(procs), 10_000);
  event(`load started: ${CLIENTS} clients`);

  // Faults, on a timeline relative to the start of the load.
  const at = (s) => sleep(Math.max(0, loadStart + s * 1000 - Date.now()));
  const faults = (async () => {
    if (CUT_LEN > 0) {
      await at(CUT_AT);
      if (state.stopping) return;
      await proxy.cut({ mode: CUT_MODE });
      state.phase = 'pg-cut';
      event(`PostgreSQL cut (${CUT_MODE}) for ${CUT_LEN} s; proxy ${JSON.stringify(proxy.stats())}`);
      await at(CUT_AT + CUT_LEN);
      await proxy.restore();
      state.phase = 'pg-restored';
      event(`PostgreSQL restored; proxy ${JSON.stringify(proxy.stats())}`);
    }
    if (KILL_AT < SECONDS) {
      await at(KILL_AT);
      if (state.stopping) return;
      await state.apiRestart; // a restart after a crash, if one is under way
      if (state.stopping) return;
      const old = procs.api;
      state.phase = 'api-killed';
      old.expectedExit = true;
      const alive = old.kill('SIGKILL');
      state.apiDown = true;
      const info = await old.exited;
      event(
        alive
          ? `api pid ${old.pid} killed (${info.signal ?? `code ${info.code}`}); starting a new one on port ${apiPort}`
          : `api pid ${old.pid} was already gone (${info.signal ?? `code ${info.code}`}); starting a new one on port ${apiPort}`,
      );
      const t = Date.now();
      await launchApi();
      state.phase = 'api-restarted';
      event(`new api ready (pid ${procs.api.pid}) after ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  })();

  await Promise.all([faults, prober]);
  // Time is up: no new calls; let calls in flight finish for a while, then cut them off.
  await Promise.race([Promise.all(loops), sleep(Math.max(0, endAt - Date.now()) + 20_000)]);
  state.phase = 'drain';
  const leftover = state.inflight.size;
  for (const req of [...state.inflight]) {
    req.finishSoak?.('cancelled', 'run_end');
    req.destroy();
  }
  await withTimeout(Promise.all(loops), 10_000, 'client loops').catch((e) => log(e.message));
  state.stopping = true;
  clearInterval(sampler);
  sample(procs);
  event(`load stopped: ${state.calls.length} calls${leftover ? `, ${leftover} still in flight were cancelled` : ''}`);

  // Stop the api the normal way (it drains its recorder), then let the worker sweep.
  state.phase = 'settle';
  await state.apiRestart;
  procs.api.expectedExit = true;
  const apiExit = await procs.api.stop(15_000);
  event(
    `api stopped: ${apiExit.signal ?? `code ${apiExit.code}`}${apiExit.signal === 'SIGKILL' ? ' (did not exit within 15 s of SIGTERM)' : ''}`,
  );

  const direct = new pg.Client({ connectionString: dbUrl });
  await direct.connect();
  const settle = { note: '', pendingWaitS: 0 };
  try {
    const counts = async () => {
      const one = async (sql) => {
        try {
          return (await direct.query(sql)).rows[0].n;
        } catch {
          return null; // table not in this schema
        }
      };
      return {
        pending: await one('SELECT count(*)::int AS n FROM pending_debits'),
        holds: await one('SELECT count(*)::int AS n FROM credit_holds'),
      };
    };
    const t = Date.now();
    const before = await counts();
    let now = before;
    event(
      `settling: ${before.pending ?? 'n/a'} pending debit(s), ${before.holds ?? 'n/a'} hold(s); waiting for the worker (${SETTLE_MIN_SECONDS}–${SETTLE_SECONDS} s)`,
    );
    while (!state.interrupted) {
      const elapsed = (Date.now() - t) / 1000;
      if (elapsed >= SETTLE_SECONDS) break;
      if (elapsed >= SETTLE_MIN_SECONDS && !now.pending && !now.holds) break;
      await sleep(2000);
      now = await counts();
    }
    settle.pendingWaitS = Math.round((Date.now() - t) / 1000);
    settle.note = `pending debits ${before.pending ?? 'n/a'} → ${now.pending ?? 'n/a'}, holds ${before.holds ?? 'n/a'} → ${now.holds ?? 'n/a'} after ${settle.pendingWaitS} s`;
    event(`worker sweeps: ${settle.note}`);
    const jobs = await queueReport();
    procs.worker.expectedExit = true;
    upstream.expectedExit = true;
    await procs.worker.stop(10_000);
    await upstream.stop(5000);

    const result = await books(direct, state.calls, settle);
    for (const c of state.crashes)
      result.failures.unshift(
        `${c.proc} (pid ${c.pid}) exited unexpectedly at ${c.t.toFixed(0)} s (${c.info.signal ?? `code ${c.info.code}`}): ${c.why}`,
      );
    result.out.push('', '## Worker jobs (BullMQ, under the soak queue prefix)', jobs);
    report(result);
    return result.failures.length ? 1 : 0;
  } finally {
    await direct.end().catch(() => undefined);
  }
}

/** Completed/failed BullMQ jobs per queue with the last failure reason (jobs keep them in Redis). */
async function queueReport() {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await withTimeout(redis.connect(), 5000, 'redis connect');
    const queues = new Set();
    let cursor = '0';
    let rounds = 0;
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) queues.add(k.slice(QUEUE_PREFIX.length + 1).split(':')[0]);
    } while (cursor !== '0' && ++rounds < 1000);
    const rows = [];
    for (const q of [...queues].sort()) {
      const base = `${QUEUE_PREFIX}:${q}`;
      const completed = await redis.zcard(`${base}:completed`);
      const failed = await redis.zcard(`${base}:failed`);
      let last = '';
      if (failed > 0) {
        const [id] = await redis.zrevrange(`${base}:failed`, 0, 0);
        const [name, reason] = await redis.hmget(`${base}:${id}`, 'name', 'failedReason');
        last = `${name}: ${(reason ?? '').slice(0, 160)}`;
      }
      rows.push([q, completed, failed, last]);
    }
    return rows.length ? table(['queue', 'completed (kept ≤ 1000)', 'failed', 'last failure'], rows) : '(no queues found)';
  } catch (err) {
    return `(not read: ${err.message})`;
  } finally {
    redis.disconnect();
  }
}

function report(result) {
  const p = (s = '') => process.stdout.write(`${s}\n`);
  p('\n================================ SOAK REPORT ================================');
  p(`run ${RUN}, ${SECONDS} s, ${CLIENTS} clients, seed ${SEED}; logs: ${LOG_DIR}`);
  p('\n## Timeline');
  for (const e of state.events) p(`  ${e.t.toFixed(1).padStart(7)} s  ${e.what}`);
  p('\n## Processes (RSS MB, /healthz worst latency ms and failures per 10 s window)');
  p(
    table(
      [
        't s',
        'phase',
        'api pid',
        'api RSS',
        'worker RSS',
        'upstream RSS',
        'healthz max ms',
        'healthz fails',
        'calls',
        'complete',
        'errors',
        'in flight',
      ],
      samples.map((s) => [
        s.t,
        s.phase,
        s.apiPid,
        s.apiRss ?? '-',
        s.workerRss ?? '-',
        s.upstreamRss ?? '-',
        s.healthMax,
        s.healthFails,
        s.calls,
        s.complete,
        s.errors,
        s.inflight,
      ]),
    ),
  );
  p('\n## Outcomes by kind');
  const kinds = [...new Set(state.calls.map((c) => c.kind))].sort();
  const outcomes = [...new Set(state.calls.map((c) => c.outcome))].sort();
  p(
    table(
      ['kind', 'calls', ...outcomes],
      kinds.map((k) => {
        const mine = state.calls.filter((c) => c.kind === k);
        return [k, mine.length, ...outcomes.map((o) => mine.filter((c) => c.outcome === o).length || '')];
      }),
    ),
  );
  p('\n## Errors seen by clients (HTTP status / error code or socket error), by phase and kind');
  const errs = new Map();
  for (const c of state.calls) {
    if (c.outcome === 'complete' || (c.outcome === 'client_abort' && c.code !== null)) continue;
    const key = `${c.outcome}|${c.status ?? '-'}|${c.code ?? ''}|${c.phase}|${c.kind}`;
    errs.set(key, (errs.get(key) ?? 0) + 1);
  }
  p(
    table(
      ['outcome', 'http', 'code', 'phase', 'kind', 'count'],
      [...errs.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => [...k.split('|'), n]),
    ),
  );
  p(`\n/healthz failures by phase: ${JSON.stringify(state.healthFailsByPhase)}`);
  p('\n## Error lines logged by the processes (level ≥ error, and stderr), most frequent first');
  const procNames = [
    ...new Set(['dev-upstream', 'worker', ...Array.from({ length: apiCount }, (_, i) => `api-${i + 1}`), ...errorLines.map((e) => e.proc)]),
  ];
  p(procNames.map((n) => `${n}: ${errorLines.filter((e) => e.proc === n).length}`).join(', '));
  const grouped = new Map();
  for (const e of errorLines) {
    const norm = `${e.proc}: ${e.text
      .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<uuid>')
      .replace(/soak-[0-9a-f]+-c\d+-\d+/g, '<call>')
      .replace(/\d+/g, 'N')
      .slice(0, 220)}`;
    grouped.set(norm, (grouped.get(norm) ?? 0) + 1);
  }
  for (const [text, n] of [...grouped.entries()].sort((a, b) => b[1] - a[1]).slice(0, 20)) p(`  ${String(n).padStart(6)} × ${text}`);
  p('');
  for (const line of result.out) p(line);
  p('\n## Verdict');
  for (const w of result.warnings) p(`  WARN ${w}`);
  const blocked = samples.filter((s) => s.healthFailsUnexpected > 0);
  if (blocked.length)
    p(
      `  WARN /healthz did not answer within 2 s in ${blocked.length} window(s) outside the api restart (event loop blocked?) at t = ${blocked.map((s) => s.t).join(', ')} s`,
    );
  if (result.failures.length === 0) p('  BOOKS OK');
  for (const f of result.failures) p(`  FAIL ${f}`);
}

let exitCode;
try {
  exitCode = await run();
} catch (err) {
  log(`harness error: ${err?.stack ?? err}`);
  exitCode = 2;
} finally {
  if (!state.interrupted) await cleanup();
}
if (!state.interrupted) process.exit(exitCode);
