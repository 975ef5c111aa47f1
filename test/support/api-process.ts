/**
 * The real api, worker and dev upstream as child processes, run from compiled JavaScript, for
 * tests that must kill a process (SIGKILL included) or watch it from outside.
 *
 * The compiled tree defaults to `<repo>/dist` (`npm test` builds it before jest runs); set
 * TOLLGATE_DIST_DIR to use another tsc outDir, e.g.
 * `node scripts/build.mjs --outDir /tmp/tg-dist && TOLLGATE_DIST_DIR=/tmp/tg-dist npx jest …`.
 * Children get NODE_PATH=<repo>/node_modules so an outDir outside the repository still finds
 * its dependencies.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { TEST_BOOTSTRAP_ADMIN_PASSWORD, TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET } from './gateway-harness';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Where the compiled project is: TOLLGATE_DIST_DIR, else <repo>/dist. */
export function distDir(): string {
  const dir = process.env.TOLLGATE_DIST_DIR?.trim();
  return dir ? path.resolve(dir) : path.join(REPO_ROOT, 'dist');
}

/**
 * Absolute path of a compiled entry point (`src/main.js`, `src/worker.js`…).
 * @throws Error saying how to build it when it is missing
 */
export function compiledEntry(relative: string, dir: string = distDir()): string {
  const file = path.join(dir, relative);
  if (!fs.existsSync(file)) {
    throw new Error(
      `compiled ${relative} not found in ${dir}: run "npm run build" first (npm test does), ` +
        `or compile elsewhere and point TOLLGATE_DIST_DIR at it ("node scripts/build.mjs --outDir /tmp/tg-dist", TOLLGATE_DIST_DIR=/tmp/tg-dist)`,
    );
  }
  return file;
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
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

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running Node child process with its output captured line by line. */
export interface NodeProcess {
  readonly label: string;
  readonly pid: number;
  /** stdout and stderr lines, in arrival order (at most `maxLines`, oldest dropped) */
  readonly lines: string[];
  /** stderr lines only (same cap) */
  readonly stderr: string[];
  /** resolves when the process has exited; never rejects */
  readonly exited: Promise<ExitInfo>;
  /** set once exited */
  readonly exitInfo: ExitInfo | null;
  /** sends a signal (default SIGTERM); false if the process is already gone */
  kill(signal?: NodeJS.Signals): boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 5000); resolves on exit */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** resolves with the first line (past or future) matching `pattern`; rejects on exit or timeout */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export interface SpawnOptions {
  /** entry point relative to the compiled tree, e.g. 'src/main.js' */
  entry: string;
  label?: string;
  /** merged over process.env */
  env?: Record<string, string | undefined>;
  distDir?: string;
  maxLines?: number;
  /** also write every line to this process's stderr, prefixed by the label */
  echo?: boolean;
}

/** Spawns `node <dist>/<entry>` with cwd = the repository. */
export function spawnNode(opts: SpawnOptions): NodeProcess {
  const file = compiledEntry(opts.entry, opts.distDir ?? distDir());
  const label = opts.label ?? path.basename(opts.entry, '.js');
  const nodePath = [path.join(REPO_ROOT, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: nodePath };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child: ChildProcess = spawn(process.execPath, [file], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const maxLines = opts.maxLines ?? 100_000;
  const lines: string[] = [];
  const stderr: string[] = [];
  const watchers = new Set<(line: string) => void>();
  const push = (list: string[], line: string) => {
    list.push(line);
    if (list.length > maxLines) list.splice(0, list.length - maxLines);
  };
  const reader = (stream: NodeJS.ReadableStream | null, isErr: boolean) => {
    if (!stream) return;
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) emit(line, isErr);
    });
    stream.on('end', () => {
      if (rest) emit(rest, isErr);
      rest = '';
    });
  };
  const emit = (line: string, isErr: boolean) => {
    push(lines, line);
    if (isErr) push(stderr, line);
    if (opts.echo) process.stderr.write(`[${label}] ${line}\n`);
    for (const w of watchers) w(line);
  };
  reader(child.stdout, false);
  reader(child.stderr, true);

  let exitInfo: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('error', () => {
      // spawn failure: no 'exit' follows
      if (child.pid === undefined) {
        exitInfo = { code: null, signal: null };
        resolve(exitInfo);
      }
    });
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });

  const proc: NodeProcess = {
    label,
    pid: child.pid ?? -1,
    lines,
    stderr,
    exited,
    get exitInfo() {
      return exitInfo;
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitInfo || child.pid === undefined) return false;
      try {
        return child.kill(signal);
      } catch {
        return false;
      }
    },
    async stop(graceMs = 5000) {
      if (exitInfo) return exitInfo;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
    waitForLine(pattern: RegExp, timeoutMs = 30_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<string>((resolve, reject) => {
        const done = (fn: () => void) => {
          clearTimeout(timer);
          watchers.delete(watch);
          fn();
        };
        const watch = (line: string) => {
          if (pattern.test(line)) done(() => resolve(line));
        };
        const timer = setTimeout(
          () => done(() => reject(new Error(`${label}: no line matching ${pattern} within ${timeoutMs} ms${tail(lines)}`))),
          timeoutMs,
        );
        watchers.add(watch);
        void exited.then((info) =>
          done(() => reject(new Error(`${label} exited (${describeExit(info)}) before printing ${pattern}${tail(lines)}`))),
        );
      });
    },
  };
  return proc;
}

export interface ApiProcess extends NodeProcess {
  port: number;
  baseUrl: string;
}

export interface ApiProcessOptions {
  databaseUrl: string;
  /** default TEST_REDIS_URL or redis://127.0.0.1:6379 */
  redisUrl?: string;
  /** default tollgate-test-proc-<random> */
  queuePrefix?: string;
  /** default freePort() */
  port?: number;
  /** more configuration variables, applied last (undefined removes one) */
  env?: Record<string, string | undefined>;
  distDir?: string;
  /** how long to wait for GET /healthz to answer (default 30000 ms) */
  readyTimeoutMs?: number;
  label?: string;
  echo?: boolean;
}

/** The configuration every Tollgate process needs, with the test secrets of gateway-harness. */
export function baseEnv(opts: { databaseUrl: string; redisUrl?: string; queuePrefix?: string }): Record<string, string> {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: opts.databaseUrl,
    REDIS_URL: opts.redisUrl ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS,
    JWT_SECRET: TEST_JWT_SECRET,
    BOOTSTRAP_ADMIN_PASSWORD: TEST_BOOTSTRAP_ADMIN_PASSWORD,
    QUEUE_PREFIX: opts.queuePrefix ?? `tollgate-test-proc-${Math.random().toString(36).slice(2, 8)}`,
    LOG_LEVEL: 'info',
  };
}

/**
 * Starts `node <dist>/src/main.js` on 127.0.0.1:<port> and resolves once GET /healthz answers 200.
 * @throws Error when the build is missing, the process exits first, or it is not ready in time
 *   (then it is killed)
 */
export async function startApiProcess(opts: ApiProcessOptions): Promise<ApiProcess> {
  const port = opts.port ?? (await freePort());
  const proc = spawnNode({
    entry: 'src/main.js',
    label: opts.label ?? 'api',
    distDir: opts.distDir,
    echo: opts.echo,
    env: { ...baseEnv(opts), HOST: '127.0.0.1', PORT: String(port), ...opts.env },
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitInfo)
      throw new Error(`${proc.label} exited (${describeExit(proc.exitInfo)}) before answering ${baseUrl}/healthz${tail(proc.lines)}`);
    if ((await httpStatus(`${baseUrl}/healthz`, 1000)) === 200) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await proc.exited;
      throw new Error(`${proc.label} did not answer ${baseUrl}/healthz within ${timeoutMs} ms${tail(proc.lines)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return Object.assign(proc, { port, baseUrl });
}

/** Starts `node <dist>/src/worker.js` and resolves once it reports it started. */
export async function startWorkerProcess(opts: {
  databaseUrl: string;
  queuePrefix: string;
  redisUrl?: string;
  env?: Record<string, string | undefined>;
  distDir?: string;
  readyTimeoutMs?: number;
  echo?: boolean;
}): Promise<NodeProcess> {
  const proc = spawnNode({
    entry: 'src/worker.js',
    label: 'worker',
    distDir: opts.distDir,
    echo: opts.echo,
    env: { ...baseEnv(opts), ...opts.env },
  });
  try {
    await proc.waitForLine(/tollgate worker started/, opts.readyTimeoutMs ?? 30_000);
  } catch (err) {
    proc.kill('SIGKILL');
    await proc.exited;
    throw err;
  }
  return proc;
}

export interface DevUpstreamProcess extends NodeProcess {
  /** base URL including /v1 */
  url: string;
}

/** Starts `node <dist>/src/dev-upstream/main.js` on a random port (see its README for env). */
export async function startDevUpstreamProcess(
  opts: { apiKey?: string; env?: Record<string, string | undefined>; distDir?: string; echo?: boolean } = {},
): Promise<DevUpstreamProcess> {
  const proc = spawnNode({
    entry: 'src/dev-upstream/main.js',
    label: 'dev-upstream',
    distDir: opts.distDir,
    echo: opts.echo,
    env: { DEV_UPSTREAM_HOST: '127.0.0.1', DEV_UPSTREAM_PORT: '0', DEV_UPSTREAM_API_KEY: opts.apiKey, ...opts.env },
  });
  let line: string;
  try {
    line = await proc.waitForLine(/listening on \S+/, 15_000);
  } catch (err) {
    proc.kill('SIGKILL');
    await proc.exited;
    throw err;
  }
  const url = /listening on (\S+)/.exec(line)![1];
  return Object.assign(proc, { url });
}

/** Status of GET `url`, or null when there is no answer within `timeoutMs`. */
export function httpStatus(url: string, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? null));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

export function describeExit(info: ExitInfo): string {
  return info.signal ? `signal ${info.signal}` : `code ${info.code}`;
}

function tail(lines: string[], n = 20): string {
  return lines.length ? `; last output:\n${lines.slice(-n).join('\n')}` : '; no output';
}
