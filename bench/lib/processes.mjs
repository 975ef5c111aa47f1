// Process start-up shared by the benchmarks (bench/run.mjs, bench/model-calls-bench.mjs): a fresh
// database, migrations, Tollgate's environment, the api, worker and dev upstream from the build in
// ./dist (run from the repository root), waiting for them to answer, and stopping them on exit.
// Every child's output goes to bench/results/<name>.log.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The repository root: the children's working directory. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** bench/results (git-ignored): logs, pid files, raw results. */
export const OUT = path.join(ROOT, 'bench', 'results');
fs.mkdirSync(OUT, { recursive: true });

/**
 * Compiled entry points, relative to ROOT (`npm run build` writes them), or under TOLLGATE_DIST_DIR:
 * another build (say of an earlier commit, in a git worktree) measured by this bench, for a
 * before/after in one run of the same scripts.
 */
export const DIST_DIR = process.env.TOLLGATE_DIST_DIR ?? 'dist';
export const DIST = {
  api: `${DIST_DIR}/src/main.js`,
  worker: `${DIST_DIR}/src/worker.js`,
  upstream: `${DIST_DIR}/src/dev-upstream/main.js`,
  migrate: `${DIST_DIR}/src/cli/db-migrate.js`,
  seedDemo: `${DIST_DIR}/src/cli/seed-demo.js`,
};

/** The value after `--name` on the command line, else `dflt`. */
export function option(name, dflt, argv = process.argv.slice(2)) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];

/**
 * Spawns `cmd args` in ROOT with `env` over this process's environment, output to
 * OUT/<name>.log; with `pidFile`, writes its pid to OUT/<name>.pid (bench/peer-bench.mjs samples
 * CPU and RSS through it). Every child is sent SIGTERM when this process exits.
 */
export function start(name, cmd, args, env, { pidFile = false } = {}) {
  const log = fs.openSync(path.join(OUT, `${name}.log`), 'w');
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  children.push(child);
  if (pidFile) fs.writeFileSync(path.join(OUT, `${name}.pid`), String(child.pid));
  return child;
}

/** Sends SIGTERM to every child started. */
export function stopAll() {
  for (const c of children) c.kill('SIGTERM');
}
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

/** execFileSync in ROOT with `env` over this process's environment; returns stdout (utf8). */
export function run(cmd, args, env, options = {}) {
  return execFileSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', ...options });
}

/**
 * Waits until `url` answers with a status below 500 (polls every 200 ms, 150 times).
 * @throws Error `error` (default: "timed out waiting for <url>")
 */
export async function waitFor(url, { headers = {}, error } = {}) {
  for (let i = 0; i < 150; i++) {
    try {
      const r = await fetch(url, { headers });
      if (r.status < 500) return;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error(error ?? `timed out waiting for ${url}`);
}

/** Drops the database of `url` (connections forced out), so a run starts from nothing. */
export async function dropDatabase(url) {
  const dbName = new URL(url).pathname.slice(1);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  await c.end();
}

/**
 * Tollgate's environment for a bench run: production mode, fresh random secrets, listening on
 * 127.0.0.1; `vars` (DATABASE_URL, REDIS_URL, PORT, LOG_LEVEL…) added over it.
 */
export function tollgateEnv(vars) {
  return {
    NODE_ENV: 'production',
    ENCRYPTION_KEYS: `bench:${randomBytes(32).toString('base64')}`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    ...vars,
  };
}

/** Applies the migrations (creates the database if missing); `quiet`: discard its output. */
export function migrate(env, { quiet = false } = {}) {
  run('node', [DIST.migrate], env, quiet ? { stdio: 'ignore' } : {});
}

/**
 * Fails when something already listens on 127.0.0.1:`port` (say a process left over from an
 * earlier run): waiting for "our" process to answer would otherwise measure that one.
 */
export async function assertPortFree(port) {
  const busy = await new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  if (busy) throw new Error(`port ${port} is already in use (a process left from an earlier run?)`);
}

/** Starts the dev upstream on env.DEV_UPSTREAM_PORT and waits until it answers. */
export async function startUpstream(name, env, opts) {
  await assertPortFree(env.DEV_UPSTREAM_PORT);
  const child = start(name, 'node', [DIST.upstream], env, opts);
  await waitFor(`http://127.0.0.1:${env.DEV_UPSTREAM_PORT}/v1/models`);
  return child;
}

/** Node's own options for the api, as `npm start` gives them (package.json; docs/operations.md "Memory"). */
export const API_NODE_ARGS = ['--max-semi-space-size=8', '--v8-pool-size=1'];

/** The api's process environment as `npm start` gives it (package.json; docs/operations.md "Memory"). */
export const API_PROCESS_ENV = { MALLOC_ARENA_MAX: '2' };

/**
 * Starts the api on env.PORT and waits until /readyz answers (`error`: message if it never does;
 * `nodeArgs`: options for node itself, e.g. --cpu-prof; `script`: another build's main.js).
 */
export async function startApi(name, env, { error, nodeArgs = [], script = DIST.api, ...opts } = {}) {
  await assertPortFree(env.PORT);
  const child = start(name, 'node', [...API_NODE_ARGS, ...nodeArgs, script], { ...API_PROCESS_ENV, ...env }, opts);
  await waitFor(`http://127.0.0.1:${env.PORT}/readyz`, { error });
  return child;
}

/** Starts the worker (no port to wait for: the caller waits for what it needs the worker to do). */
export function startWorker(name, env, opts) {
  return start(name, 'node', [DIST.worker], env, opts);
}

/**
 * Seeds a fresh bench database for gateway load: the demo seed (its provider `devup` pointing at
 * the dev upstream, the demo user and key), a rate for `gpt-4o-mini` (the model the load sends),
 * and 1,000,000,000 credits more for the demo user with their ledger row, so Σ transactions =
 * Σ balances holds for the books check. `seedScript`: another build's seed-demo.js.
 * @returns the demo seed's JSON (`apiKey`, …)
 */
export async function seedGatewayBench(env, { dbUrl, upstreamPort, upstreamKey, seedScript = DIST.seedDemo }) {
  const seed = JSON.parse(
    run('node', [seedScript], { ...env, DEMO_UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}/v1`, DEMO_UPSTREAM_KEY: upstreamKey })
      .trim()
      .split('\n')
      .pop(),
  );
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    await c.query(`INSERT INTO model_rates (id, provider_id, model, type, input_rate, output_rate)
      SELECT gen_random_uuid(), id, 'gpt-4o-mini', 'chatCompletion', 0.15, 0.6 FROM ai_providers WHERE name = 'devup'`);
    await c.query(
      `UPDATE credit_accounts SET balance = balance + 1000000000 WHERE user_id = (SELECT id FROM users WHERE email = 'demo@tollgate.local')`,
    );
    await c.query(`INSERT INTO credit_transactions (id, user_id, type, amount, balance_after, description)
      SELECT gen_random_uuid(), user_id, 'adjustment', 1000000000, balance, 'bench top-up' FROM credit_accounts
      WHERE user_id = (SELECT id FROM users WHERE email = 'demo@tollgate.local')`);
  } finally {
    await c.end();
  }
  return seed;
}

/**
 * The commit a build was made from, as scripts/build.mjs wrote it into `<dir>/build-info.json`
 * ("+changes" when tracked files had uncommitted changes then); "unknown" when it is missing.
 */
export function buildCommit(dir) {
  try {
    const info = JSON.parse(fs.readFileSync(path.resolve(ROOT, dir, 'build-info.json'), 'utf8'));
    return info.commit ? `${info.commit}${info.changes ? '+changes' : ''}` : 'unknown';
  } catch {
    return 'unknown';
  }
}
