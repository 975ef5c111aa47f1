/**
 * src/database/migrator.ts and src/cli/db-migrate.ts against real PostgreSQL: applying, idempotence,
 * the advisory lock, and each refusal (checksum mismatch, failed migration, SQL error, missing SQL).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { runDbMigrate } from '../src/cli/db-migrate';
import { applyMigrations, ensureDatabase, MigrationError, quoteIdent, withDatabase } from '../src/database/migrator';
import { adminUrl, createTestDatabase, migrationsDir, type TestDatabase } from './support/database';

const realNames = fs
  .readdirSync(migrationsDir(), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();
const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const databases: TestDatabase[] = [];
const tmpDirs: string[] = [];
const extraDbNames: string[] = [];

async function freshDb(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label, { migrate: false });
  databases.push(db);
  return db;
}

async function query<T extends object = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** A copy of prisma/migrations in a tmp folder, to tamper with. */
function copyOfMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollgate-migrations-'));
  tmpDirs.push(dir);
  fs.cpSync(migrationsDir(), dir, { recursive: true });
  return dir;
}

function addMigration(dir: string, name: string, sql: string): void {
  fs.mkdirSync(path.join(dir, name));
  fs.writeFileSync(path.join(dir, name, 'migration.sql'), sql);
}

/** Everything a migration run could change: the bookkeeping rows and the list of tables. */
async function snapshot(url: string) {
  const rows = await query(
    url,
    `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count
       FROM _prisma_migrations ORDER BY started_at, migration_name`,
  );
  const tables = await query(url, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
  return { rows, tables: tables.map((t) => t.tablename) };
}

async function tableExists(url: string, table: string): Promise<boolean> {
  const r = await query<{ ok: boolean }>(url, `SELECT to_regclass($1) IS NOT NULL AS ok`, [`public.${quoteIdent(table)}`]);
  return r[0].ok;
}

async function expectMigrationError(p: Promise<unknown>, code: MigrationError['code'], migrationName: string): Promise<MigrationError> {
  const err = await p.then(
    () => {
      throw new Error(`expected MigrationError ${code}, but the run succeeded`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MigrationError);
  const me = err as MigrationError;
  expect({ code: me.code, migrationName: me.migrationName }).toEqual({ code, migrationName });
  expect(me.message).toContain(migrationName);
  return me;
}

afterAll(async () => {
  for (const db of databases) await db.drop().catch(() => undefined);
  for (const name of extraDbNames) {
    const c = new Client({ connectionString: adminUrl() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`).catch(() => undefined);
    await c.end();
  }
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('applyMigrations', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await freshDb('migrator');
  });

  it('finds the real migrations', () => {
    expect(realNames.length).toBeGreaterThan(0);
    expect(realNames).toContain('20261122000000_init');
  });

  it('applies every migration to a fresh database and records it like Prisma', async () => {
    const lines: string[] = [];
    const result = await applyMigrations({ connectionString: db.url, migrationsDir: migrationsDir(), log: (l) => lines.push(l) });
    expect(result).toEqual({ applied: realNames, alreadyApplied: [] });
    expect(lines.filter((l) => l.startsWith('Applied migration'))).toHaveLength(realNames.length);

    const rows = await query<{
      id: string;
      checksum: string;
      migration_name: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
      started_at: Date;
      logs: string | null;
      applied_steps_count: number;
    }>(db.url, `SELECT * FROM _prisma_migrations ORDER BY migration_name`);
    expect(rows.map((r) => r.migration_name)).toEqual(realNames);
    for (const r of rows) {
      expect(r.checksum).toBe(sha256(path.join(migrationsDir(), r.migration_name, 'migration.sql')));
      expect(r.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(r.finished_at).toBeInstanceOf(Date);
      expect(r.finished_at!.getTime()).toBeGreaterThanOrEqual(r.started_at.getTime());
      expect(r.rolled_back_at).toBeNull();
      expect(r.logs).toBeNull();
      expect(r.applied_steps_count).toBe(1);
    }
    // The init migration's tables and its $$-quoted plpgsql function arrived whole.
    expect(await tableExists(db.url, 'users')).toBe(true);
    const fn = await query(db.url, `SELECT 1 FROM pg_proc WHERE proname = 'tollgate_credit_hold'`);
    expect(fn).toHaveLength(1);
  });

  it("creates _prisma_migrations with Prisma Migrate's exact layout", async () => {
    const cols = await query(
      db.url,
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '_prisma_migrations'
        ORDER BY ordinal_position`,
    );
    expect(cols).toEqual([
      { column_name: 'id', data_type: 'character varying', len: 36, is_nullable: 'NO', column_default: null },
      { column_name: 'checksum', data_type: 'character varying', len: 64, is_nullable: 'NO', column_default: null },
      { column_name: 'finished_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'migration_name', data_type: 'character varying', len: 255, is_nullable: 'NO', column_default: null },
      { column_name: 'logs', data_type: 'text', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'rolled_back_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'YES', column_default: null },
      { column_name: 'started_at', data_type: 'timestamp with time zone', len: null, is_nullable: 'NO', column_default: 'now()' },
      { column_name: 'applied_steps_count', data_type: 'integer', len: null, is_nullable: 'NO', column_default: '0' },
    ]);
  });

  it('applies nothing the second time', async () => {
    const before = await snapshot(db.url);
    const result = await applyMigrations({ connectionString: db.url, migrationsDir: migrationsDir() });
    expect(result).toEqual({ applied: [], alreadyApplied: realNames });
    expect(await snapshot(db.url)).toEqual(before);
  });

  it('refuses with CHECKSUM_MISMATCH when an applied migration was edited, and changes nothing', async () => {
    const dir = copyOfMigrations();
    const target = realNames[0];
    const file = path.join(dir, target, 'migration.sql');
    const bytes = fs.readFileSync(file);
    // One byte, inside the leading comment: still valid SQL, different checksum.
    const i = bytes.indexOf('Tollgate');
    expect(i).toBeGreaterThanOrEqual(0);
    bytes[i] = 't'.charCodeAt(0);
    fs.writeFileSync(file, bytes);
    // A pending migration too: it must not be applied either.
    addMigration(dir, '29991231000000_after_edit', 'CREATE TABLE "after_edit" ("id" INTEGER);\n');

    const before = await snapshot(db.url);
    const err = await expectMigrationError(applyMigrations({ connectionString: db.url, migrationsDir: dir }), 'CHECKSUM_MISMATCH', target);
    expect(err.message).toMatch(/modified after it was applied/);
    expect(err.message).toMatch(/new migration/);
    expect(err.message).toContain(sha256(file));
    expect(await snapshot(db.url)).toEqual(before);
    expect(await tableExists(db.url, 'after_edit')).toBe(false);
  });

  it('refuses with MISSING_SQL for a folder without migration.sql, before applying anything', async () => {
    const dir = copyOfMigrations();
    addMigration(dir, '29991231000000_fine', 'CREATE TABLE "fine" ("id" INTEGER);\n');
    fs.mkdirSync(path.join(dir, '29991231000001_empty'));
    const before = await snapshot(db.url);
    const err = await expectMigrationError(
      applyMigrations({ connectionString: db.url, migrationsDir: dir }),
      'MISSING_SQL',
      '29991231000001_empty',
    );
    expect(err.message).toMatch(/no migration\.sql/);
    expect(await snapshot(db.url)).toEqual(before);
    expect(await tableExists(db.url, 'fine')).toBe(false);
  });

  it('rolls back a migration whose SQL fails, records it, and then stops with FAILED_MIGRATION until resolved', async () => {
    const dir = copyOfMigrations();
    const broken = '29991231000000_broken';
    addMigration(
      dir,
      broken,
      'CREATE TABLE "broken_a" ("id" INTEGER);\nCREATE TABLE "broken_b" ("id" INTEGER);\nSELECT * FROM "no_such_table";\n',
    );
    addMigration(dir, '29991231000001_later', 'CREATE TABLE "later" ("id" INTEGER);\n');

    const err = await expectMigrationError(
      applyMigrations({ connectionString: db.url, migrationsDir: dir }),
      'MIGRATION_SQL_ERROR',
      broken,
    );
    expect(err.message).toContain('no_such_table');
    expect(err.message).toContain('line 3');
    // The transaction was rolled back: neither table of the broken migration exists; the later one never ran.
    for (const t of ['broken_a', 'broken_b', 'later']) expect(await tableExists(db.url, t)).toBe(false);

    const failedRows = await query<{
      finished_at: Date | null;
      rolled_back_at: Date | null;
      logs: string;
      checksum: string;
      applied_steps_count: number;
    }>(
      db.url,
      `SELECT finished_at, rolled_back_at, logs, checksum, applied_steps_count FROM _prisma_migrations WHERE migration_name = $1`,
      [broken],
    );
    expect(failedRows).toHaveLength(1);
    expect(failedRows[0]).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(failedRows[0].logs).toContain('"no_such_table" does not exist');
    expect(failedRows[0].checksum).toBe(sha256(path.join(dir, broken, 'migration.sql')));

    // Next run, even with the real (all applied) folder: refused until the failure is resolved.
    const before = await snapshot(db.url);
    const failed = await expectMigrationError(
      applyMigrations({ connectionString: db.url, migrationsDir: dir }),
      'FAILED_MIGRATION',
      broken,
    );
    expect(failed.message).toMatch(/rolled[_ ]back/);
    expect(failed.message).toContain('prisma migrate resolve');
    await expectMigrationError(applyMigrations({ connectionString: db.url, migrationsDir: migrationsDir() }), 'FAILED_MIGRATION', broken);
    expect(await snapshot(db.url)).toEqual(before);

    // Resolve as `prisma migrate resolve --rolled-back` would, fix the SQL: it applies, then the later one.
    await query(db.url, `UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1 AND finished_at IS NULL`, [broken]);
    fs.writeFileSync(path.join(dir, broken, 'migration.sql'), 'CREATE TABLE "broken_a" ("id" INTEGER);\n');
    const result = await applyMigrations({ connectionString: db.url, migrationsDir: dir });
    expect(result).toEqual({ applied: [broken, '29991231000001_later'], alreadyApplied: realNames });
    expect(await tableExists(db.url, 'broken_a')).toBe(true);
    expect(await tableExists(db.url, 'later')).toBe(true);
  });

  it('lets only one of two concurrent runners apply each migration (advisory lock)', async () => {
    const other = await freshDb('migrator_race');
    const run = () => applyMigrations({ connectionString: other.url, migrationsDir: migrationsDir() });
    const [a, b] = await Promise.all([run(), run()]);
    expect([...a.applied, ...b.applied].sort()).toEqual(realNames);
    expect([a.applied.length, b.applied.length].sort()).toEqual([0, realNames.length]);
    const rows = await query(other.url, `SELECT migration_name FROM _prisma_migrations`);
    expect(rows).toHaveLength(realNames.length);
  });
});

describe('ensureDatabase', () => {
  it('creates a missing database once, quoting its name safely', async () => {
    const name = `tollgate_test_ens "q"; x_${randomBytes(3).toString('hex')}`;
    extraDbNames.push(name);
    const url = withDatabase(adminUrl(), name);
    expect(await ensureDatabase(url)).toBe(true);
    expect(await ensureDatabase(url)).toBe(false);
    const rows = await query<{ current_database: string }>(url, 'SELECT current_database()');
    expect(rows[0].current_database).toBe(name);
  });

  it('rejects a URL that names no database', async () => {
    await expect(ensureDatabase('postgresql://postgres@127.0.0.1:5432/')).rejects.toThrow(/names no database/);
  });
});

describe('db-migrate CLI', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  };

  it('exits 2 naming DATABASE_URL when it is missing or not a postgres URL', async () => {
    for (const env of [{}, { DATABASE_URL: '' }, { DATABASE_URL: 'mysql://u:hunter2@h/db' }, { DATABASE_URL: 'not a url' }]) {
      const c = capture();
      expect(await runDbMigrate(env, c.io, migrationsDir())).toBe(2);
      expect(c.err.join('\n')).toContain('DATABASE_URL');
      expect([...c.out, ...c.err].join('\n')).not.toContain('hunter2');
    }
  });

  it('creates the database, applies the migrations, then reports it up to date; never prints the password', async () => {
    const name = `tollgate_test_cli_${randomBytes(4).toString('hex')}`;
    extraDbNames.push(name);
    // Trust auth ignores the password, so it can be any secret-looking string.
    const u = new URL(withDatabase(adminUrl(), name));
    u.password = 'S3cr3t-pw';
    const env = { DATABASE_URL: u.toString() };

    const first = capture();
    expect(await runDbMigrate(env, first.io, migrationsDir())).toBe(0);
    const text1 = [...first.out, ...first.err].join('\n');
    expect(text1).toContain(`Created database "${name}"`);
    for (const m of realNames) expect(text1).toContain(`Applied migration ${m}`);
    expect(text1).toContain(`Applied ${realNames.length} migration(s)`);
    expect(text1).toContain('***');
    expect(text1).not.toContain('S3cr3t-pw');

    const second = capture();
    expect(await runDbMigrate(env, second.io)).toBe(0); // migrations dir found by walking up from src/cli
    expect(second.out.join('\n')).toContain('is up to date');
    expect(second.out.join('\n')).not.toContain('S3cr3t-pw');
  });

  it('exits 1 with the MigrationError message', async () => {
    const db = await freshDb('cli_fail');
    const dir = copyOfMigrations();
    addMigration(dir, '29991231000000_bad', 'SELEC 1;\n');
    const c = capture();
    expect(await runDbMigrate({ DATABASE_URL: db.url }, c.io, dir)).toBe(1);
    expect(c.err.join('\n')).toMatch(/MIGRATION_SQL_ERROR in 29991231000000_bad: .*syntax error/);
  });
});
