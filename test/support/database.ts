/**
 * Throwaway PostgreSQL databases for tests: each suite creates its own, migrated with the real
 * prisma/migrations through the project's migrator, and drops it in afterAll.
 *
 * Server: TEST_DATABASE_ADMIN_URL (a URL to a database the user may connect to, with CREATEDB),
 * default postgresql://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { Client } from 'pg';
import { applyMigrations, quoteIdent, withDatabase } from '../../src/database/migrator';

export const DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/postgres';

/** The admin URL tests create and drop databases through. */
export function adminUrl(): string {
  return process.env.TEST_DATABASE_ADMIN_URL || DEFAULT_ADMIN_URL;
}

/** Absolute path of the project's prisma/migrations. */
export function migrationsDir(): string {
  return path.resolve(__dirname, '..', '..', 'prisma', 'migrations');
}

export interface TestDatabase {
  /** Connection URL of the new database (same server and credentials as the admin URL). */
  url: string;
  /** Its name: tollgate_test_<label>_<random hex>. */
  name: string;
  /** DROP DATABASE … WITH (FORCE): ends open connections. Safe to call twice. */
  drop: () => Promise<void>;
}

/** Runs `fn` with a client connected to the admin database. */
async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: adminUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Creates database `tollgate_test_<label>_<8 hex>` (label lower-cased, reduced to [a-z0-9_]) and,
 * unless `opts.migrate` is false, applies prisma/migrations to it. If migrating fails the database
 * is dropped and the error rethrown.
 */
export async function createTestDatabase(label: string, opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const safe =
    label
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 30) || 'db';
  const name = `tollgate_test_${safe}_${randomBytes(4).toString('hex')}`;
  await withAdmin((c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = withDatabase(adminUrl(), name);
  let dropped = false;
  const drop = async (): Promise<void> => {
    if (dropped) return;
    await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    dropped = true;
  };
  if (opts.migrate !== false) {
    try {
      await applyMigrations({ connectionString: url, migrationsDir: migrationsDir() });
    } catch (err) {
      await drop().catch(() => undefined);
      throw err;
    }
  }
  return { url, name, drop };
}
