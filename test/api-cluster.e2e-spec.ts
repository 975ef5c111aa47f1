/**
 * The api as a cluster on one machine (API_WORKERS=2; src/cluster/api-cluster.ts,
 * docs/operations.md "Several api processes on one machine"): the compiled src/main.js run as a
 * child process, as `npm start` runs it. Its database starts empty (no super admin), so the first
 * boot's generated password is printed; an in-process harness on the same database and queue
 * prefix creates the provider and tenants (its own bootstrap finds the super admin and does
 * nothing).
 *
 * Which worker answered is read from GET /metrics' `tollgate_cluster_worker_http_requests_total{pid}`
 * (no response header names a process). Every request opens its own connection, so the cluster's
 * round robin spreads them over the workers.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { ApiProcess, baseEnv, freePort, spawnNode, startApiProcess } from './support/api-process';
import { createTestDatabase, TestDatabase } from './support/database';
import { createDevProvider, createTenant, Harness, startHarness, Tenant } from './support/gateway-harness';

jest.setTimeout(180_000);

const BOOTSTRAP_EMAIL = 'root@cluster.example.com';
const BOUND_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  body: string;
}

/** One request on a connection of its own (`agent: false`: no keep-alive, a new connection each time). */
function request(
  baseUrl: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; json?: unknown } = {},
): Promise<Answer> {
  const body = opts.json === undefined ? undefined : JSON.stringify(opts.json);
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = http.request(`${baseUrl}${path}`, { method, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One sample of the Prometheus text: metric name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include `labels`. */
function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Requests each worker answered, by pid (tollgate_cluster_worker_http_requests_total). */
function perWorker(samples: Sample[]): Map<string, number> {
  return new Map(samples.filter((s) => s.name === 'tollgate_cluster_worker_http_requests_total').map((s) => [s.labels.pid, s.value]));
}

describe('api cluster (API_WORKERS=2)', () => {
  let db: TestDatabase;
  let api: ApiProcess;
  let h: Harness;
  let workerPids: string[];
  let adminToken: string;
  let admin: { id: string };

  /** Workers the primary saw listening, in order (its own log lines, written before it announces the cluster). */
  const listeningPids = () =>
    api.lines.map((l) => /"msg":"api worker (\d+) listening \(\d+ of 2\)"/.exec(l)?.[1]).filter((p): p is string => p !== undefined);

  async function scrape(): Promise<Sample[]> {
    const res = await request(api.baseUrl, 'GET', '/metrics');
    expect(res.status).toBe(200);
    return parseMetrics(res.body);
  }

  async function chat(key: string): Promise<number> {
    const res = await request(api.baseUrl, 'POST', '/v1/chat/completions', {
      headers: { authorization: `Bearer ${key}` },
      json: { model: 'mock-model', max_tokens: 4, messages: [{ role: 'user', content: 'ping' }] },
    });
    return res.status;
  }

  /** Runs `n` requests one after the other, each on a new connection, between two scrapes: the statuses and each worker's share. */
  async function spread(
    n: number,
    call: () => Promise<number>,
  ): Promise<{ statuses: number[]; byPid: Map<string, number>; before: Sample[]; after: Sample[] }> {
    const before = await scrape();
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push(await call());
    const after = await scrape();
    const was = perWorker(before);
    const byPid = new Map([...perWorker(after)].map(([pid, v]) => [pid, v - (was.get(pid) ?? 0)]));
    return { statuses, byPid, before, after };
  }

  beforeAll(async () => {
    const prefix = `tollgate-test-cluster-${Math.random().toString(36).slice(2, 8)}`;
    db = await createTestDatabase('apicluster');
    api = await startApiProcess({
      databaseUrl: db.url,
      queuePrefix: prefix,
      label: 'api-cluster',
      readyTimeoutMs: 90_000,
      env: { API_WORKERS: '2', BOOTSTRAP_ADMIN_PASSWORD: undefined, BOOTSTRAP_ADMIN_EMAIL: BOOTSTRAP_EMAIL },
    });
    await api.waitForLine(/^tollgate api cluster: 2 workers listening on \S+ \(primary pid \d+\)$/, 90_000);
    workerPids = listeningPids();
    // The harness shares the database and the prefix (so its changes reach the workers' caches).
    h = await startHarness('apicluster_h', { QUEUE_PREFIX: prefix }, { databaseUrlFor: () => db.url });
    await createDevProvider(h);
  });

  afterAll(async () => {
    if (api && !api.exitInfo) await api.stop(35_000);
    await h?.close();
    await db?.drop();
  });

  it('forks two workers, each its own process, the primary being neither', () => {
    expect(workerPids).toHaveLength(2);
    expect(new Set(workerPids).size).toBe(2);
    expect(workerPids).not.toContain(String(api.pid));
  });

  it('prints the generated bootstrap password exactly once, and it logs in', async () => {
    const passwordLines = api.lines.filter((l) => /^\s*password: \S+$/.test(l));
    expect(passwordLines).toHaveLength(1);
    expect(api.lines.filter((l) => l.includes('Tollgate first boot: a super admin was created.'))).toHaveLength(1);
    expect(await h.prisma.user.count({ where: { role: 'super_admin' } })).toBe(1);
    expect(await h.prisma.auditLog.count({ where: { action: 'auth.bootstrap' } })).toBe(1);

    const password = passwordLines[0].trim().slice('password: '.length);
    const login = await request(api.baseUrl, 'POST', '/auth/login', { json: { login: BOOTSTRAP_EMAIL, password } });
    expect(login.status).toBe(200);
    expect(JSON.parse(login.body)).toMatchObject({ mustChangePassword: true });
    const changed = await request(api.baseUrl, 'POST', '/auth/password', {
      headers: { authorization: `Bearer ${JSON.parse(login.body).accessToken}` },
      json: { currentPassword: password, newPassword: 'a-new-cluster-admin-password-77' },
    });
    expect(changed.status).toBe(200);
    adminToken = JSON.parse(changed.body).accessToken;
    admin = await h.prisma.user.findUniqueOrThrow({ where: { email: BOOTSTRAP_EMAIL }, select: { id: true } });
    expect(admin.id).toBeTruthy();
  });

  it("both workers answer, and /metrics counts the cluster's requests and calls, not one worker's", async () => {
    const health = await spread(10, async () => (await request(api.baseUrl, 'GET', '/healthz')).status);
    expect(health.statuses).toEqual(Array(10).fill(200));
    expect([...health.byPid.keys()].sort()).toEqual([...workerPids].sort());
    for (const pid of workerPids) expect(health.byPid.get(pid)).toBeGreaterThan(0);
    expect([...health.byPid.values()].reduce((a, b) => a + b, 0)).toBe(10);
    const healthz = { route: '/healthz', status: '200' };
    expect(
      total(health.after, 'tollgate_http_requests_total', healthz) - total(health.before, 'tollgate_http_requests_total', healthz),
    ).toBe(10);
    expect(total(health.after, 'tollgate_cluster_workers', { state: 'reporting' })).toBe(2);
    expect(total(health.after, 'tollgate_cluster_workers', { state: 'missing' })).toBe(0);

    const t = await createTenant(h, { credits: '100' });
    const calls = await spread(6, () => chat(t.key));
    expect(calls.statuses).toEqual(Array(6).fill(200));
    for (const pid of workerPids) expect(calls.byPid.get(pid)).toBeGreaterThan(0);
    const success = { status: 'success' };
    expect(total(calls.after, 'tollgate_gateway_calls_total', success) - total(calls.before, 'tollgate_gateway_calls_total', success)).toBe(
      6,
    );
    // the scrape-time gauges come from the answering worker alone: one series per queue and state, never doubled
    const waiting = calls.after.filter((s) => s.name === 'tollgate_queue_jobs' && s.labels.state === 'waiting');
    expect(waiting.length).toBeGreaterThan(0);
    expect(new Set(waiting.map((s) => s.labels.queue)).size).toBe(waiting.length);
  });

  it('a key revoked through one worker is refused by the other within 1 s', async () => {
    const t: Tenant = await createTenant(h, { credits: '100' });
    // both workers resolve the key (and keep it in their key cache)
    const warm = await spread(4, () => chat(t.key));
    expect(warm.statuses).toEqual(Array(4).fill(200));
    for (const pid of workerPids) expect(warm.byPid.get(pid)).toBeGreaterThan(0);

    const revoked = await request(api.baseUrl, 'POST', `/admin/users/${t.userId}/keys/${t.keyId}/revoke`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(revoked.status).toBe(200);
    const started = Date.now();
    let refusedEverywhere = false;
    while (!refusedEverywhere && Date.now() - started < BOUND_MS) {
      const batch: number[] = [];
      for (let i = 0; i < 4; i++) batch.push(await chat(t.key));
      refusedEverywhere = batch.every((s) => s === 401);
      if (!refusedEverywhere) await sleep(25);
    }
    expect(refusedEverywhere).toBe(true);

    // and every worker refuses it: both answered these
    const after = await spread(4, () => chat(t.key));
    expect(after.statuses).toEqual(Array(4).fill(401));
    for (const pid of workerPids) expect(after.byPid.get(pid)).toBeGreaterThan(0);
  });

  it('a worker killed with SIGKILL is replaced, and the service answers all the while', async () => {
    const [victim, survivor] = workerPids;
    process.kill(Number(victim), 'SIGKILL');
    await api.waitForLine(
      new RegExp(`api worker ${victim} exited unexpectedly \\(signal SIGKILL\\) \\d+ ms after its start; starting a new one in \\d+ ms`),
      10_000,
    );
    // the primary sees a worker listening whose pid is neither of the first two
    const replaced = api.waitForLine(new RegExp(`"msg":"api worker (?!(?:${workerPids.join('|')}) )\\d+ listening \\(2 of 2\\)"`), 90_000);
    let up = false;
    void replaced.then(() => (up = true)).catch(() => undefined);
    const statuses: number[] = [];
    while (!up) {
      statuses.push((await request(api.baseUrl, 'GET', '/healthz')).status);
      await sleep(50);
    }
    await replaced;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200)).toBe(true);

    const pids = listeningPids();
    const fresh = pids.filter((p) => !workerPids.includes(p));
    expect(fresh).toHaveLength(1);
    workerPids = [survivor, fresh[0]];
    const health = await spread(6, async () => (await request(api.baseUrl, 'GET', '/healthz')).status);
    expect(health.statuses).toEqual(Array(6).fill(200));
    expect([...health.byPid.keys()].sort()).toEqual([...workerPids].sort()); // the dead worker's series is gone
    expect(health.byPid.get(fresh[0])).toBeGreaterThan(0);
    expect(total(health.after, 'tollgate_cluster_workers', { state: 'reporting' })).toBe(2);
  });

  it('SIGTERM to the primary shuts every worker down gracefully: exit code 0', async () => {
    expect(api.kill('SIGTERM')).toBe(true);
    const info = await api.exited;
    expect(info).toEqual({ code: 0, signal: null });
    expect(api.lines.some((l) => l.includes('api cluster stopped (exit code 0)'))).toBe(true);
    expect(api.lines.some((l) => l.includes('killing them (SIGKILL)'))).toBe(false);
    for (const pid of workerPids) {
      expect(api.lines.some((l) => l.includes(`api worker ${pid} exited (signal SIGTERM)`))).toBe(true);
      expect(() => process.kill(Number(pid), 0)).toThrow(/ESRCH/);
    }
  });
});

describe('api cluster whose workers cannot boot', () => {
  let db: TestDatabase;
  let blocker: net.Server;

  afterAll(async () => {
    await new Promise((r) => blocker?.close(r));
    await db?.drop();
  });

  it('restarts them with a growing delay, then gives up and exits 1 instead of looping', async () => {
    db = await createTestDatabase('apicluster_giveup');
    // PORT is taken: every worker fails to listen, right after booting
    const port = await freePort();
    blocker = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    const proc = spawnNode({
      entry: 'src/main.js',
      label: 'api-cluster-giveup',
      env: { ...baseEnv({ databaseUrl: db.url }), HOST: '127.0.0.1', PORT: String(port), API_WORKERS: '2' },
    });
    const info = await proc.exited;
    expect(info).toEqual({ code: 1, signal: null });
    const restarts = proc.lines
      .map((l) => /exited unexpectedly \(code 1\) \d+ ms after its start; starting a new one in (\d+) ms/.exec(l)?.[1])
      .filter(Boolean);
    expect(restarts).toEqual(['1000', '2000', '4000', '8000']);
    expect(proc.lines.filter((l) => l.includes('5 workers in a row died before serving 10000 ms; giving up'))).toHaveLength(1);
    expect(proc.lines.some((l) => l.includes('api cluster stopped (exit code 1)'))).toBe(true);
    expect(proc.lines.some((l) => /EADDRINUSE/.test(l))).toBe(true);
  });
});
