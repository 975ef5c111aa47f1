/**
 * `node dist/src/cli/db-migrate.js`: creates the database named by DATABASE_URL if missing, then
 * applies prisma/migrations/ with the project's migrator (src/database/migrator.ts), recording them
 * in `_prisma_migrations` like `prisma migrate deploy` (see docs/migrations.md).
 *
 * Exit codes: 0 done (or nothing to do); 1 a migration problem (message says what to do) or a
 * database error; 2 DATABASE_URL missing or not a postgres URL. The password in the URL is never printed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { applyMigrations, databaseNameFromUrl, ensureDatabase, MigrationError } from '../database/migrator';

/**
 * The project's prisma/migrations folder, found by walking up from `startDir` to the first folder
 * holding package.json and prisma/migrations: works from src/cli (ts) and dist/src/cli (compiled).
 * @throws Error when no such folder is found.
 */
export function findMigrationsDir(startDir: string = __dirname): string {
  let dir = path.resolve(startDir);
  for (;;) {
    const candidate = path.join(dir, 'prisma', 'migrations');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no folder with package.json and prisma/migrations above ${startDir}`);
    dir = parent;
  }
}

/** The URL with its password replaced by `***`, for printing. */
export function redactUrl(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** Removes the URL's password (raw and percent-decoded) from a message, in case a library echoes it. */
function scrub(text: string, connectionString: string): string {
  let password: string;
  try {
    password = new URL(connectionString).password;
  } catch {
    return text;
  }
  if (!password) return text;
  let out = text.split(password).join('***');
  const decoded = safeDecode(password);
  if (decoded && decoded !== password) out = out.split(decoded).join('***');
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

/**
 * The command, without touching process state: reads DATABASE_URL from `env`, writes through `io`,
 * resolves to the exit code.
 */
export async function runDbMigrate(
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) },
  migrationsDir?: string,
): Promise<number> {
  const url = env.DATABASE_URL?.trim();
  if (!url) {
    io.err(
      'db-migrate: DATABASE_URL is not set. Set it to the PostgreSQL URL to migrate, e.g. DATABASE_URL=postgresql://user:password@127.0.0.1:5432/tollgate',
    );
    return 2;
  }
  let dbName: string;
  try {
    dbName = databaseNameFromUrl(url);
  } catch (err) {
    io.err(
      `db-migrate: DATABASE_URL is not a usable PostgreSQL URL: ${scrub((err as Error).message, url)}. Expected postgresql://user:password@host:5432/dbname`,
    );
    return 2;
  }

  io.out(`db-migrate: ${redactUrl(url)}`);
  try {
    const dir = migrationsDir ?? findMigrationsDir();
    io.out(`db-migrate: migrations from ${dir}`);
    if (await ensureDatabase(url)) io.out(`Created database "${dbName}"`);
    const { applied, alreadyApplied } = await applyMigrations({
      connectionString: url,
      migrationsDir: dir,
      log: (line) => io.out(scrub(line, url)),
    });
    if (applied.length === 0) {
      io.out(`Database "${dbName}" is up to date: ${alreadyApplied.length} migration(s) already applied, none pending.`);
    } else {
      io.out(`Applied ${applied.length} migration(s) to "${dbName}" (${alreadyApplied.length} were already applied).`);
    }
    return 0;
  } catch (err) {
    if (err instanceof MigrationError) {
      io.err(`db-migrate: ${err.code} in ${err.migrationName}: ${scrub(err.message, url)}`);
    } else {
      const e = err as { message?: string; code?: string };
      io.err(`db-migrate: failed: ${scrub(String(e?.message ?? err), url)}${e?.code ? ` (${e.code})` : ''}`);
    }
    return 1;
  }
}

if (require.main === module) {
  runDbMigrate().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(`db-migrate: ${(err as Error)?.message ?? String(err)}`);
      process.exitCode = 1;
    },
  );
}
