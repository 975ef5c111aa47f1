/**
 * A real Tollgate stack for the console's browser tests: a fresh PostgreSQL database migrated by
 * the project's own migrator (`<dist>/src/database/migrator.js`, as test/support/database.ts does), the bundled dev upstream, the built
 * api (which serves the built console at /console) and the worker, each a child process on free
 * ports with the test secrets of test/support/gateway-harness.ts; then the demo seed
 * (`dist/src/cli/seed-demo.js`: provider "devup" → the dev upstream with rates for `mock-model`
 * and `mock-embed`, a demo user with credits and a key, a service key) and an "ops" super admin
 * created through the admin API.
 *
 * Self-contained on purpose (no import of src/ or test/support/): Playwright loads it with its
 * own TypeScript transform, and the compiled project is what runs.
 *
 * Where the build comes from: TOLLGATE_DIST_DIR (default <repo>/dist) for the api, worker and
 * CLIs; the console build from CONSOLE_DIST_DIR, default <dist>/console.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Client } from 'pg';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The same test secrets as test/support/gateway-harness.ts (never valid outside tests). */
export const TEST_ENCRYPTION_KEYS = 'test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=';
export const TEST_JWT_SECRET = 'test-jwt-secret-0123456789abcdef-0123456789';
export const TEST_BOOTSTRAP_ADMIN_PASSWORD = 'test-bootstrap-admin-password-4d9e';
const UPSTREAM_KEY = 'sk-console-test-upstream';

/** What the specs get (written as JSON to STACK_FILE by the global setup). */
export interface StackInfo {
  /** the api's base URL, e.g. http://127.0.0.1:41234 (the console is at `${apiUrl}/console/`) */
  apiUrl: string;
  consoleUrl: string;
  /** PostgreSQL URL of the stack's database (for seeding rows by SQL) */
  databaseUrl: string;
  /** the super admin the api created at first boot: must change the password at first login */
  bootstrapAdmin: { email: string; password: string };
  /** a second super admin with a known password and no forced change, for tests that need admin powers */
  opsAdmin: { email: string; password: string };
  /** the demo member of the seed: credits, a key, no forced password change */
  demoUser: { email: string; password: string; did: string; apiKey: string };
  /** a service key of the bootstrap admin with users:read, users:write, llm-config:read */
  serviceKey: string;
  /** a chat model the gateway serves (priced) */
  chatModel: string;
}

/**
 * The JSON file the global setup writes and the specs read: one per run (the runner's pid), so two
 * runs at once on one checkout do not read each other's stack; the setup passes its path to the
 * workers in TOLLGATE_CONSOLE_STACK.
 */
export const STACK_FILE = path.join(REPO_ROOT, 'test', 'console', `.stack-${process.pid}.json`);

/** Reads the running stack's description (specs call this). */
export function readStack(): StackInfo {
  const file = process.env.TOLLGATE_CONSOLE_STACK;
  if (!file) throw new Error('TOLLGATE_CONSOLE_STACK is not set: run the specs with the global setup (npm run test:console)');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as StackInfo;
}

export function distDir(): string {
  const dir = process.env.TOLLGATE_DIST_DIR?.trim();
  return dir ? path.resolve(dir) : path.join(REPO_ROOT, 'dist');
}

function consoleDir(dist: string): string {
  const dir = process.env.CONSOLE_DIST_DIR?.trim();
  return dir ? path.resolve(dir) : path.join(dist, 'console');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A child process with its output kept (last 500 lines) for error messages. */
interface Child {
  label: string;
  proc: ChildProcess;
  lines: string[];
  exited: Promise<void>;
}

/** NODE_PATH with the repository's node_modules, so a build outside the repository finds its dependencies. */
function nodePath(): string {
  return [path.join(REPO_ROOT, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
}

function startNode(label: string, entry: string, env: Record<string, string>): Child {
  const file = path.join(distDir(), entry);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run "npm run build" (or set TOLLGATE_DIST_DIR)`);
  const proc = spawn(process.execPath, [file], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_PATH: nodePath(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 500) lines.splice(0, lines.length - 500);
    if (process.env.CONSOLE_STACK_ECHO) process.stderr.write(`[${label}] ${chunk.toString('utf8')}`);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { label, proc, lines, exited };
}

function tail(child: Child): string {
  return child.lines.slice(-30).join('\n');
}

async function waitFor(child: Child, what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null)
      throw new Error(`${child.label} exited before ${what}:\n${tail(child)}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${child.label}: no ${what} within ${timeoutMs} ms:\n${tail(child)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

async function stop(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), 5000);
  await child.exited;
  clearTimeout(timer);
}

/** The admin URL databases are created and dropped through (as test/support/database.ts). */
function adminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL || 'postgresql://postgres@127.0.0.1:5432/postgres';
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const c = new Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const createDatabase = (name: string) => adminQuery(`CREATE DATABASE "${name}"`);
const dropDatabase = (name: string) => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);

async function api<T>(base: string, method: string, p: string, init: { token?: string; apiKey?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.apiKey) headers['x-api-key'] = init.apiKey;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${p}`, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p} answered ${res.status}: ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface RunningStack {
  info: StackInfo;
  /** stops every process and drops the database */
  close(): Promise<void>;
}

/**
 * Starts the stack (about 10 s on a quiet machine).
 * @throws Error when the build is missing or a process does not come up (with its last output)
 */
export async function startStack(): Promise<RunningStack> {
  const dist = distDir();
  const consoleBuild = consoleDir(dist);
  if (!fs.existsSync(path.join(consoleBuild, 'index.html'))) {
    throw new Error(`no console build in ${consoleBuild}: run "npm run build" (or "npm run build:console"; CONSOLE_DIST_DIR)`);
  }
  const dbName = `tollgate_test_console_${randomBytes(4).toString('hex')}`;
  const databaseUrl = withDatabase(adminUrl(), dbName);
  const queuePrefix = `tollgate-test-console-${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    JWT_SECRET: TEST_JWT_SECRET,
    BOOTSTRAP_ADMIN_PASSWORD: TEST_BOOTSTRAP_ADMIN_PASSWORD,
    QUEUE_PREFIX: queuePrefix,
    LOG_LEVEL: process.env.CONSOLE_STACK_LOG_LEVEL ?? 'warn',
    CONSOLE_DIST_DIR: consoleBuild,
  };
  const children: Child[] = [];
  const close = async () => {
    for (const c of [...children].reverse()) await stop(c);
    await dropDatabase(dbName).catch(() => undefined);
  };
  try {
    // the migrator of the build (src/database/migrator.ts), as test/support/database.ts applies it
    await createDatabase(dbName);
    const migrate = spawnSync(
      process.execPath,
      [
        '-e',
        `require(process.argv[1]).applyMigrations({ connectionString: process.argv[2], migrationsDir: process.argv[3] })` +
          `.then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })`,
        path.join(dist, 'src/database/migrator.js'),
        databaseUrl,
        path.join(REPO_ROOT, 'prisma', 'migrations'),
      ],
      { cwd: REPO_ROOT, env: { ...process.env, NODE_PATH: nodePath() }, encoding: 'utf8' },
    );
    if (migrate.status !== 0) throw new Error(`migrating failed (${migrate.status}): ${migrate.stderr}${migrate.stdout}`);

    const upstream = startNode('dev-upstream', 'src/dev-upstream/main.js', {
      DEV_UPSTREAM_HOST: '127.0.0.1',
      DEV_UPSTREAM_PORT: '0',
      DEV_UPSTREAM_API_KEY: UPSTREAM_KEY,
    });
    children.push(upstream);
    let upstreamUrl = '';
    await waitFor(upstream, 'listening line', async () => {
      const line = upstream.lines.find((l) => /listening on \S+/.test(l));
      if (line) upstreamUrl = /listening on (\S+)/.exec(line)![1];
      return !!line;
    });

    const port = await freePort();
    const apiUrl = `http://127.0.0.1:${port}`;
    const apiProc = startNode('api', 'src/main.js', { ...env, HOST: '127.0.0.1', PORT: String(port) });
    children.push(apiProc);
    await waitFor(apiProc, 'GET /readyz 200', async () => (await fetch(`${apiUrl}/readyz`)).ok, 60_000);

    const worker = startNode('worker', 'src/worker.js', env);
    children.push(worker);
    await waitFor(worker, '"tollgate worker started"', async () => worker.lines.some((l) => l.includes('tollgate worker started')));

    const seed = spawnSync(process.execPath, [path.join(dist, 'src/cli/seed-demo.js')], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODE_PATH: nodePath(), ...env, DEMO_UPSTREAM_URL: upstreamUrl, DEMO_UPSTREAM_KEY: UPSTREAM_KEY },
      encoding: 'utf8',
    });
    if (seed.status !== 0) throw new Error(`seed-demo failed (${seed.status}): ${seed.stderr}`);
    const seeded = JSON.parse(seed.stdout.trim().split('\n').pop()!) as {
      adminEmail: string;
      userEmail: string;
      userPassword: string;
      userDid: string;
      apiKey: string;
      serviceKey: string;
    };

    const opsAdmin = { email: 'ops-admin@console.test', password: 'ops admin password 2026' };
    await api(apiUrl, 'POST', '/admin/users', {
      apiKey: seeded.serviceKey,
      body: { email: opsAdmin.email, fullName: 'Ops Admin', role: 'super_admin', password: opsAdmin.password },
    });

    const info: StackInfo = {
      apiUrl,
      consoleUrl: `${apiUrl}/console/`,
      databaseUrl,
      bootstrapAdmin: { email: seeded.adminEmail, password: TEST_BOOTSTRAP_ADMIN_PASSWORD },
      opsAdmin,
      demoUser: { email: seeded.userEmail, password: seeded.userPassword, did: seeded.userDid, apiKey: seeded.apiKey },
      serviceKey: seeded.serviceKey,
      chatModel: 'mock-model',
    };
    return { info, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Logs in through the API and answers the JWT (for test set-up steps that need no browser). */
export async function loginToken(apiUrl: string, login: string, password: string): Promise<string> {
  const res = await api<{ accessToken: string }>(apiUrl, 'POST', '/auth/login', { body: { login, password } });
  return res.accessToken;
}

/** A JSON call to the api with a JWT or an API key; throws with the answer on non-2xx. */
export const callApi = api;
