import * as fs from 'node:fs';
import * as path from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { findMigrationsDir } from '../cli/db-migrate';
import { readLocalMigrations } from '../database/migrator';
import { PrismaService } from '../prisma/prisma.service';

/** Undefined-table SQLSTATE: `_prisma_migrations` does not exist yet (nothing applied). */
const UNDEFINED_TABLE = '42P01';

/**
 * The project's prisma/migrations folder at run time: found above this file (src/health in a
 * checkout, dist/src/health in a build or the image), else above the working directory (a build
 * compiled to another outDir and run from the repository). Null when neither has one.
 */
export function runtimeMigrationsDir(startDirs: string[] = [__dirname, process.cwd()]): string | null {
  for (const start of startDirs) {
    try {
      const dir = findMigrationsDir(start);
      if (fs.statSync(dir).isDirectory()) return path.resolve(dir);
    } catch {
      // not above this one; try the next
    }
  }
  return null;
}

/** What the migrations readiness check found. */
export type MigrationsState =
  { ok: true } | { ok: false; reason: 'missing'; missing: string[] } | { ok: false; reason: 'no_folder' | 'unreadable'; message: string };

/**
 * Readiness check that every migration folder of prisma/migrations is applied to the database
 * (docs/api/health.md): a `_prisma_migrations` row with `finished_at` set and `rolled_back_at`
 * NULL, the rule of src/database/migrator.ts. The folder names are read once, at boot.
 */
@Injectable()
export class MigrationsCheck {
  private readonly log = new Logger(MigrationsCheck.name);
  /** Folder names in order; null when the folder could not be found or read at boot. */
  private readonly expected: string[] | null;
  private readonly bootProblem: string | null = null;

  constructor(private readonly prisma: PrismaService) {
    const dir = runtimeMigrationsDir();
    if (!dir) {
      this.expected = null;
      this.bootProblem = 'prisma/migrations was not found above the api code or the working directory';
    } else {
      try {
        this.expected = readLocalMigrations(dir).map((m) => m.name);
      } catch (err) {
        this.expected = null;
        this.bootProblem = `prisma/migrations could not be read: ${(err as Error).message}`;
      }
    }
    if (this.bootProblem) this.log.warn(`readiness cannot verify migrations: ${this.bootProblem}`);
  }

  /** The migration folder names this process expects, in order (empty when unknown). */
  expectedMigrations(): readonly string[] {
    return this.expected ?? [];
  }

  /**
   * Compares the folders with the database's applied migrations (one query on a table of a few
   * rows).
   * @throws the pg error when the database does not answer (the caller reports it as down)
   */
  async state(): Promise<MigrationsState> {
    if (!this.expected) return { ok: false, reason: 'no_folder', message: this.bootProblem ?? 'unknown' };
    let applied: Set<string>;
    try {
      const { rows } = await this.prisma.pool.query<{ migration_name: string }>(
        `SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
      );
      applied = new Set(rows.map((r) => r.migration_name));
    } catch (err) {
      if ((err as { code?: string }).code !== UNDEFINED_TABLE) throw err;
      applied = new Set();
    }
    const missing = this.expected.filter((name) => !applied.has(name));
    return missing.length ? { ok: false, reason: 'missing', missing } : { ok: true };
  }
}
