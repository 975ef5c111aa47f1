#!/usr/bin/env node
// User import benchmark (docs/api/user-import.md "Performance"): a fresh database, the api as a
// child process, a generated add file of --rows rows (default 100,000; one in ten with a
// key_name), imported with the tollgate-users CLI, then imported again (a no-op). Prints, for
// each run, the elapsed time, the summary and the api process's resident memory: before, the
// peak sampled every 100 ms from /proc/<pid>/status (VmRSS), and VmHWM.
//
//   npm run bench:user-import -- [--rows 100000]
//   TOLLGATE_DIST_DIR=/tmp/x node bench/user-import.mjs   (a build made elsewhere)
//
// Needs a build, PostgreSQL and Redis (BENCH_DATABASE_URL, REDIS_URL). Listens on 127.0.0.1 only.
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { dropDatabase, OUT, option, ROOT, start, stopAll, tollgateEnv, waitFor } from './lib/processes.mjs';

const ROWS = Number(option('rows', '100000'));
const DIST_DIR = process.env.TOLLGATE_DIST_DIR ? path.resolve(process.env.TOLLGATE_DIST_DIR) : path.join(ROOT, 'dist');
const DB_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate_bench_user_import';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const PORT = 18095;
const env = {
  ...tollgateEnv({
    DATABASE_URL: DB_URL,
    REDIS_URL,
    PORT: String(PORT),
    LOG_LEVEL: 'warn',
    QUEUE_PREFIX: `tollgate-bench-import-${randomBytes(3).toString('hex')}`,
    USER_IMPORT_MAX_ROWS: String(Math.max(ROWS, 200_000)),
  }),
  NODE_PATH: path.join(ROOT, 'node_modules'),
};
const entry = (rel) => path.join(DIST_DIR, rel);

function kib(pid, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function cli(args) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [entry('src/cli/tollgate-users.js'), ...args],
      { env: { ...process.env, ...env }, cwd: OUT, maxBuffer: 1 << 24 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }),
    );
  });
}

async function main() {
  await dropDatabase(DB_URL).catch(() => undefined);
  const admin = new pg.Client({ connectionString: Object.assign(new URL(DB_URL), { pathname: '/postgres' }).toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${new URL(DB_URL).pathname.slice(1)}"`);
  await admin.end();
  // the migrator of the build, with the repository's migrations (the build may live outside the repository)
  const migrateScript = `require(${JSON.stringify(entry('src/database/migrator.js'))}).applyMigrations({ connectionString: process.env.DATABASE_URL, migrationsDir: ${JSON.stringify(path.join(ROOT, 'prisma', 'migrations'))} }).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); })`;
  await new Promise((resolve, reject) =>
    execFile(process.execPath, ['-e', migrateScript], { env: { ...process.env, ...env } }, (err, _o, stderr) =>
      err ? reject(new Error(stderr)) : resolve(),
    ),
  );
  const api = start('user-import-api', 'node', [entry('src/main.js')], env);
  await waitFor(`http://127.0.0.1:${PORT}/readyz`, { error: `api did not start: see ${OUT}/user-import-api.log` });

  // a super admin with a users:write service key, straight into the database
  const db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  const adminId = randomUUID();
  const key = `tg-${randomBytes(32).toString('base64url')}`;
  await db.query(`INSERT INTO users (id, did, email, role, updated_at) VALUES ($1, $2, 'bench-admin@example.com', 'super_admin', now())`, [
    adminId,
    `zbench${randomBytes(8).toString('hex')}`,
  ]);
  await db.query(
    `INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes, updated_at) VALUES ($1, $2, 'bench', $3, $4, '{users:write,users:read}', now())`,
    [randomUUID(), adminId, key.slice(0, 10), createHash('sha256').update(key).digest('hex')],
  );
  env.TOLLGATE_API_KEY = key;
  env.TOLLGATE_BASE_URL = `http://127.0.0.1:${PORT}`;

  const file = path.join(OUT, `user-import-${ROWS}.csv`);
  const out = fs.createWriteStream(file);
  out.write('email,role,team_name,key_name\n');
  for (let i = 0; i < ROWS; i++) out.write(`bench-user-${i}@example.com,internal_user,team-${i % 50},${i % 10 === 0 ? 'bench' : ''}\n`);
  await new Promise((r) => out.end(r));
  console.log(`file: ${file} (${ROWS} rows, ${(fs.statSync(file).size / 1e6).toFixed(1)} MB)`);

  for (const label of ['first import', 're-run (no-op)']) {
    const before = kib(api.pid, 'VmRSS');
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, kib(api.pid, 'VmRSS'))), 100);
    const t0 = process.hrtime.bigint();
    const r = await cli(['add', '--csv-file', file, '--out-dir', OUT]);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    clearInterval(sampler);
    peak = Math.max(peak, kib(api.pid, 'VmRSS'));
    if (r.code !== 0) {
      console.error(`${label}: CLI exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      process.exitCode = 1;
      break;
    }
    console.log(`${label}: ${(ms / 1000).toFixed(1)} s; ${r.stdout.split('\n')[0]}`);
    console.log(
      `  api RSS: before ${(before / 1024).toFixed(0)} MiB, peak ${(peak / 1024).toFixed(0)} MiB, VmHWM ${(kib(api.pid, 'VmHWM') / 1024).toFixed(0)} MiB`,
    );
  }
  const n = await db.query(`SELECT count(*)::int AS users, (SELECT count(*)::int FROM api_keys) AS keys FROM users`);
  console.log(`database: ${n.rows[0].users} users, ${n.rows[0].keys} keys`);
  await db.end();
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(stopAll);
