/**
 * Applies prisma/migrations/ without Prisma's schema engine, the way `prisma migrate deploy` does,
 * and records them in the same `_prisma_migrations` table so either tool can take a database over.
 * Why the project does this itself: docs/migrations.md (the engine binary cannot be downloaded
 * on our machines). Uses a plain `pg` Client: no Prisma client, no Nest.
 */
import { createHash, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';

/** The same key `prisma migrate` locks with, so our runner and Prisma's exclude each other too. */
export const MIGRATION_ADVISORY_LOCK_KEY = 72707369;

/** DDL of Prisma's bookkeeping table, exactly as Prisma Migrate creates it. */
export const PRISMA_MIGRATIONS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id"                  VARCHAR(36)  PRIMARY KEY,
  "checksum"            VARCHAR(64)  NOT NULL,
  "finished_at"         TIMESTAMPTZ,
  "migration_name"      VARCHAR(255) NOT NULL,
  "logs"                TEXT,
  "rolled_back_at"      TIMESTAMPTZ,
  "started_at"          TIMESTAMPTZ  NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER      NOT NULL DEFAULT 0
)`;

export type MigrationErrorCode = 'CHECKSUM_MISMATCH' | 'FAILED_MIGRATION' | 'MIGRATION_SQL_ERROR' | 'MISSING_SQL';

/**
 * Why {@link applyMigrations} stopped. `migrationName` is the migration folder concerned; the
 * message says what happened and what to do about it.
 * - CHECKSUM_MISMATCH: an applied migration's migration.sql was edited afterwards. Nothing was applied.
 * - FAILED_MIGRATION: the database records a migration that started and never finished (and was not
 *   marked rolled back). Nothing was applied.
 * - MIGRATION_SQL_ERROR: this migration's SQL failed; its transaction was rolled back and the failure
 *   was recorded (finished_at NULL, logs = the error), so the next run stops with FAILED_MIGRATION.
 *   Migrations before it in the same run stay applied.
 * - MISSING_SQL: a folder under the migrations dir has no migration.sql. Nothing was applied.
 */
export class MigrationError extends Error {
  readonly code: MigrationErrorCode;
  readonly migrationName: string;

  constructor(code: MigrationErrorCode, migrationName: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
    this.code = code;
    this.migrationName = migrationName;
  }
}

export interface ApplyMigrationsOptions {
  /** postgres:// or postgresql:// URL of the database to migrate (it must exist: see {@link ensureDatabase}). */
  connectionString: string;
  /** Folder holding one subfolder per migration (e.g. prisma/migrations). */
  migrationsDir: string;
  /** Receives one human-readable line per event (applied migration, warning). */
  log?: (line: string) => void;
}

export interface ApplyMigrationsResult {
  /** Folders applied by this call, in order. */
  applied: string[];
  /** Folders found already applied (checksum verified), in order. */
  alreadyApplied: string[];
}

interface LocalMigration {
  name: string;
  sqlPath: string;
  sql: string;
  checksum: string;
}

interface MigrationRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
}

/** sha256 hex of a file's bytes: the checksum Prisma stores in `_prisma_migrations.checksum`. */
export function migrationChecksum(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Lists the migrations in `migrationsDir`: every subfolder, in name order (byte order, as Prisma
 * sorts them), with its migration.sql and checksum. Plain files (migration_lock.toml) are skipped.
 * @throws MigrationError MISSING_SQL when a subfolder has no migration.sql.
 */
export function readLocalMigrations(migrationsDir: string): LocalMigration[] {
  const entries = fs.readdirSync(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names.map((name) => {
    const sqlPath = path.join(migrationsDir, name, 'migration.sql');
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(sqlPath);
    } catch (err) {
      throw new MigrationError(
        'MISSING_SQL',
        name,
        `Migration folder "${name}" in ${migrationsDir} has no migration.sql. Every folder there is a migration: ` +
          `add its migration.sql, or remove the folder if it is not one. Nothing was applied.`,
        { cause: err },
      );
    }
    return { name, sqlPath, sql: bytes.toString('utf8'), checksum: migrationChecksum(bytes) };
  });
}

/**
 * Applies the pending migrations of `migrationsDir` to the database, the way `prisma migrate deploy`
 * does (docs/migrations.md):
 * 1. creates `_prisma_migrations` if missing (Prisma's exact layout) and holds the session advisory
 *    lock `pg_advisory_lock(72707369)` (Prisma's key) for the whole run, so concurrent runners
 *    (two app instances, or this and `prisma migrate deploy`) apply each migration once;
 * 2. reads the subfolders in name order; each must hold migration.sql; checksum = sha256 hex of its bytes;
 * 3. refuses to go on if the database records a failed migration (finished_at and rolled_back_at
 *    both NULL) or if an applied migration's file no longer matches its recorded checksum;
 * 4. applies each pending folder in its own transaction: the whole file as one multi-statement query
 *    (never split: it may hold `$$`-quoted plpgsql), then a `_prisma_migrations` row
 *    (finished_at set, applied_steps_count 1). A row with rolled_back_at set does not count as applied.
 *
 * Statements that PostgreSQL refuses inside a transaction block (CREATE INDEX CONCURRENTLY,
 * VACUUM, ...) cannot be used in a migration applied this way.
 *
 * @returns `{ applied, alreadyApplied }`: folder names, in order.
 * @throws MigrationError with code MISSING_SQL, FAILED_MIGRATION, CHECKSUM_MISMATCH (nothing applied
 *   in these three cases) or MIGRATION_SQL_ERROR (that migration rolled back and recorded as failed;
 *   earlier ones from this run stay applied). Connection errors from `pg` are thrown as they are.
 */
export async function applyMigrations(opts: ApplyMigrationsOptions): Promise<ApplyMigrationsResult> {
  const log = opts.log ?? (() => undefined);
  const local = readLocalMigrations(opts.migrationsDir);

  const client = new Client({ connectionString: opts.connectionString });
  await client.connect();
  // An error event on an idle client would otherwise crash the process; queries still reject.
  client.on('error', () => undefined);
  let locked = false;
  try {
    const { rows: tried } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [MIGRATION_ADVISORY_LOCK_KEY]);
    if (!tried[0].ok) {
      log(`Waiting for another migration run to finish (advisory lock ${MIGRATION_ADVISORY_LOCK_KEY})…`);
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_ADVISORY_LOCK_KEY]);
    }
    locked = true;
    await client.query(PRISMA_MIGRATIONS_TABLE_DDL);

    const { rows } = await client.query<MigrationRow>(
      `SELECT "id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at"
         FROM "_prisma_migrations" ORDER BY "started_at", "migration_name"`,
    );

    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError('FAILED_MIGRATION', failed.migration_name, failedMigrationMessage(failed));
    }

    const applied = new Map<string, MigrationRow>();
    for (const r of rows) if (r.finished_at !== null && r.rolled_back_at === null) applied.set(r.migration_name, r);

    const localNames = new Set(local.map((m) => m.name));
    for (const name of applied.keys()) {
      if (!localNames.has(name)) {
        log(`warning: migration ${name} is recorded as applied in the database but has no folder in ${opts.migrationsDir}`);
      }
    }

    for (const m of local) {
      const row = applied.get(m.name);
      if (row && row.checksum !== m.checksum) {
        throw new MigrationError(
          'CHECKSUM_MISMATCH',
          m.name,
          `Migration "${m.name}" was modified after it was applied to this database: ` +
            `${m.sqlPath} has sha256 ${m.checksum}, the database recorded ${row.checksum} on ` +
            `${row.finished_at?.toISOString()}. An applied migration must never be edited: restore the file ` +
            `to the version that was applied (e.g. \`git checkout -- ${path.relative(process.cwd(), m.sqlPath) || m.sqlPath}\`) ` +
            `and put the change in a new migration folder. (On a throwaway dev database you may instead drop ` +
            `and recreate the database.) Nothing was applied.`,
        );
      }
    }

    const alreadyApplied = local.filter((m) => applied.has(m.name)).map((m) => m.name);
    const pending = local.filter((m) => !applied.has(m.name));
    const done: string[] = [];
    for (const m of pending) {
      const ms = await applyOne(client, m);
      done.push(m.name);
      log(`Applied migration ${m.name} (${ms} ms)`);
    }
    return { applied: done, alreadyApplied };
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_ADVISORY_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** Runs one migration in a transaction and records it; on failure rolls back, records the failure, throws. */
async function applyOne(client: Client, m: LocalMigration): Promise<number> {
  const t0 = Date.now();
  const { rows } = await client.query<{ t: Date }>('SELECT clock_timestamp() AS t');
  const startedAt = rows[0].t;
  await client.query('BEGIN');
  try {
    await client.query(m.sql);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const detail = describePgError(err, m.sql);
    let recorded = true;
    await client
      .query(
        `INSERT INTO "_prisma_migrations"
           ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count")
         VALUES ($1, $2, NULL, $3, $4, NULL, $5, 0)`,
        [randomUUID(), m.checksum, m.name, detail, startedAt],
      )
      .catch(() => {
        recorded = false;
      });
    throw new MigrationError(
      'MIGRATION_SQL_ERROR',
      m.name,
      `Migration "${m.name}" failed and was rolled back: ${detail}. ` +
        (recorded
          ? `The failure is recorded in "_prisma_migrations", so later runs stop until it is resolved: fix ` +
            `${m.sqlPath} (it was never applied, so editing it is fine), mark the failed attempt rolled back ` +
            `(\`prisma migrate resolve --rolled-back ${m.name}\`, or UPDATE "_prisma_migrations" SET "rolled_back_at" = now() ` +
            `WHERE "migration_name" = '${m.name}' AND "finished_at" IS NULL) and run again.`
          : `The failure could not be recorded in "_prisma_migrations" (connection lost?); fix ${m.sqlPath} and run again.`),
      { cause: err },
    );
  }
  try {
    await client.query(
      `INSERT INTO "_prisma_migrations"
         ("id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count")
       VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, $4, 1)`,
      [randomUUID(), m.checksum, m.name, startedAt],
    );
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return Date.now() - t0;
}

function failedMigrationMessage(row: MigrationRow): string {
  const logs = (row.logs ?? '').trim();
  return (
    `Migration "${row.migration_name}" started at ${row.started_at.toISOString()} and failed` +
    (logs ? ` (${logs.length > 500 ? `${logs.slice(0, 500)}…` : logs})` : '') +
    `. New migrations will not be applied until this is resolved: make the database consistent by hand ` +
    `(undo whatever part of the migration took effect, if any), fix its migration.sql, then mark the attempt rolled back ` +
    `like \`prisma migrate resolve --rolled-back ${row.migration_name}\` does: ` +
    `UPDATE "_prisma_migrations" SET "rolled_back_at" = now() WHERE "id" = '${row.id}'; and run again. ` +
    `(If you instead completed it by hand, \`prisma migrate resolve --applied\` marks it applied.)`
  );
}

/** One-line description of a pg error: message, SQLSTATE, line in the migration, detail and hint. */
function describePgError(err: unknown, sql: string): string {
  if (!(err instanceof Error)) return String(err);
  const e = err as Error & { code?: string; position?: string; detail?: string; hint?: string; where?: string };
  const parts = [e.message];
  if (e.code) parts.push(`(SQLSTATE ${e.code})`);
  const pos = e.position ? Number(e.position) : NaN;
  if (Number.isInteger(pos) && pos > 0) {
    const line = sql.slice(0, pos - 1).split('\n').length;
    parts.push(`at line ${line} of migration.sql`);
  }
  if (e.where) parts.push(`where: ${e.where.replace(/\s+/g, ' ')}`);
  if (e.detail) parts.push(`detail: ${e.detail}`);
  if (e.hint) parts.push(`hint: ${e.hint}`);
  return parts.join(' ');
}

/** Quotes a PostgreSQL identifier (double quotes, inner quotes doubled). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The database name in a postgres URL, decoded the way `pg` decodes it (decodeURI of the path), so
 * the name we create is the one `pg` connects to.
 * @throws Error when the URL is not postgres:// / postgresql:// or names no valid database
 *   (empty, longer than PostgreSQL's 63 bytes, or containing NUL).
 */
export function databaseNameFromUrl(connectionString: string): string {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new Error('not a valid URL (expected postgresql://user@host:5432/dbname)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`expected a postgres:// or postgresql:// URL, got ${url.protocol}//…`);
  }
  let name: string;
  try {
    name = decodeURI(url.pathname.replace(/^\//, ''));
  } catch {
    throw new Error('the database name in the URL is not valid percent-encoding');
  }
  if (!name) throw new Error('the URL names no database (expected postgresql://user@host:5432/dbname)');
  if (name.includes('\0')) throw new Error(`invalid database name ${JSON.stringify(name)}`);
  if (Buffer.byteLength(name, 'utf8') > 63) throw new Error(`database name ${JSON.stringify(name)} is longer than 63 bytes`);
  return name;
}

/**
 * The same URL pointing at another database on the same server (credentials and options kept).
 * @throws Error for a name that cannot be written in a URL so that `pg` reads it back unchanged
 *   (e.g. one containing `?`, `#` or `/`).
 */
export function withDatabase(connectionString: string, database: string): string {
  const url = new URL(connectionString);
  url.pathname = `/${encodeURI(database)}`;
  const out = url.toString();
  if (databaseNameFromUrl(out) !== database) {
    throw new Error(`database name ${JSON.stringify(database)} cannot be expressed in a connection URL`);
  }
  return out;
}

/**
 * Makes sure the database named in `connectionString` exists: if connecting to it fails with
 * "database does not exist" (3D000), connects to the `postgres` maintenance database on the same
 * server with the same credentials and runs CREATE DATABASE (name validated and quoted).
 * A concurrent creator winning the race is not an error.
 * @returns true if this call created the database, false if it already existed.
 * @throws Error for a URL that is not postgres or names no valid database; pg errors otherwise
 *   (e.g. no CREATEDB privilege).
 */
export async function ensureDatabase(connectionString: string): Promise<boolean> {
  const name = databaseNameFromUrl(connectionString);
  const probe = new Client({ connectionString });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await probe.end().catch(() => undefined);
  }

  const admin = new Client({ connectionString: withDatabase(connectionString, 'postgres') });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === '42P04') return false; // created concurrently
      throw err;
    }
  } finally {
    await admin.end().catch(() => undefined);
  }
}
