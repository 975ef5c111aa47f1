import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Readable } from 'node:stream';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { buildExportCopySql } from './call-export-sql';
import { CopyCsvStream } from './call-export-stream';
import { ModelCallFiltersDto } from './dto/model-call-filters.dto';

/** The header row of the export, exactly (docs/api/model-calls.md). */
export const EXPORT_HEADERS = [
  'Timestamp',
  'Request ID',
  'User DID',
  'User Name',
  'User Email',
  'Model',
  'Provider',
  'Type',
  'Status',
  'Input Tokens',
  'Output Tokens',
  'Total Usage',
  'Credits',
  'Duration(ms)',
  'App DID',
] as const;

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises spreadsheet formula injection: a text cell starting with = + - @ tab or CR gets a
 * leading apostrophe, so Excel/LibreOffice/Sheets show it as text instead of evaluating it. The
 * call-log export does the same in SQL (textCell in call-export-sql.ts); the user and audit
 * exports use this function.
 */
export function csvSafe(v: string | null): string {
  if (v === null) return '';
  return FORMULA_START.test(v) ? `'${v}` : v;
}

/** application_name of the export's connections (visible in pg_stat_activity). */
export const EXPORT_APPLICATION_NAME = 'tollgate-call-export';

/**
 * GET /user/model-calls/export: the filtered call log as CSV, newest first, at most
 * `MODEL_CALLS_EXPORT_MAX_ROWS` rows. PostgreSQL writes the CSV (`COPY (SELECT …) TO STDOUT WITH
 * (FORMAT csv)`, built by call-export-sql.ts, the formula neutralisation done in SQL) and the api
 * forwards its bytes (CopyCsvStream in call-export-stream.ts) with backpressure: memory per export
 * stays at a few hundred KiB however many rows it has.
 *
 * Each export has a PostgreSQL connection of its own, not one of the shared pool of src/prisma:
 * a client that reads slowly holds its own connection, never one the gateway's hot path needs.
 * One statement per export, so the export is one consistent snapshot; the pool's per-statement
 * deadline (DATABASE_QUERY_TIMEOUT_MS, meant for short statements) does not apply to it. Instead:
 * - the statement's statement_timeout (local to its transaction) and the stream's own limit are MODEL_CALLS_EXPORT_TIMEOUT_MS
 *   (a slow download does not hold its snapshot, which holds back vacuum, for ever);
 * - a client that reads nothing for MODEL_CALLS_EXPORT_STALL_TIMEOUT_MS is cut off;
 * - a database that sends nothing for DATABASE_QUERY_TIMEOUT_MS while the client waits (a
 *   partition) cuts the export off too;
 * - at most MODEL_CALLS_EXPORT_MAX_CONCURRENT exports run at once per api process, and at most
 *   MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER of them for one requester (so one user cannot take
 *   every slot, by opening several and reading slowly, and lock everyone else out).
 * Whenever an export is cut off or its client leaves, its COPY is cancelled and its connection
 * closed (see CopyCsvStream).
 */
@Injectable()
export class CallExportService implements OnApplicationShutdown {
  private readonly log = new Logger(CallExportService.name);
  private readonly running = new Set<CopyCsvStream>();
  /** Exports in progress in this process by requester (user id); an entry goes when it reaches 0. */
  private readonly runningByUser = new Map<string, number>();

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /** Exports in progress in this process (tests and diagnostics). */
  get inProgress(): number {
    return this.running.size;
  }

  /** Exports in progress in this process asked for by `requesterId` (tests and diagnostics). */
  inProgressFor(requesterId: string): number {
    return this.runningByUser.get(requesterId) ?? 0;
  }

  /**
   * The export's CSV stream. `userId` is whose calls it holds (null = every user, an admin's
   * export); `requesterId` is the user who asked for it (the caller's own id, an admin's too when
   * `userId` is null): the per-user cap counts by it. The stream errors before its first byte if
   * the database cannot be reached (the error filter answers 503 `service_unavailable`) and is
   * destroyed mid-way, the response then cut off, when the database fails or a limit above is
   * hit. Its slots (process-wide and the requester's) are freed when the stream closes, however
   * it ends.
   * @throws DomainError 429 `too_many_concurrent_exports` (Retry-After: 5) when the requester
   *   already has MODEL_CALLS_EXPORT_MAX_CONCURRENT_PER_USER exports running in this process
   *   (checked first: it wins over the process-wide refusal, the requester being the cause)
   * @throws DomainError 503 `too_many_concurrent_exports` (Retry-After: 5) when
   *   MODEL_CALLS_EXPORT_MAX_CONCURRENT exports already run in this process
   */
  export(userId: string | null, filters: ModelCallFiltersDto, requesterId: string): Readable {
    const mc = this.config.modelCalls;
    const mine = this.inProgressFor(requesterId);
    if (mine >= mc.exportMaxConcurrentPerUser) {
      throw new DomainError(
        429,
        'too_many_concurrent_exports',
        `You already have ${mine} ${mine === 1 ? 'export' : 'exports'} running (at most ${mc.exportMaxConcurrentPerUser} at once per user); try again when one ends`,
        { headers: { 'retry-after': '5' } },
      );
    }
    if (this.running.size >= mc.exportMaxConcurrent) {
      throw DomainError.unavailable(
        'too_many_concurrent_exports',
        `${mc.exportMaxConcurrent} exports are already running; try again shortly`,
        { retryAfter: 5 },
      );
    }
    const stream = new CopyCsvStream({
      connection: {
        connectionString: this.config.databaseUrl,
        connectionTimeoutMillis: this.config.databaseConnectTimeoutMs,
        keepAlive: true,
        application_name: EXPORT_APPLICATION_NAME,
      },
      sql: buildExportCopySql(filters, userId, mc.exportMaxRows),
      // JIT compiles a large plan for a statement that mostly moves bytes. No parallel workers:
      // an export takes at most one PostgreSQL core, whatever the gateway needs meanwhile. (The
      // transaction is read-only: a second fence around the filters written in as literals.)
      settings: { statement_timeout: String(mc.exportTimeoutMs), jit: 'off', max_parallel_workers_per_gather: '0' },
      header: EXPORT_HEADERS.join(','),
      stallTimeoutMs: mc.exportStallTimeoutMs,
      dbSilenceTimeoutMs: this.config.databaseQueryTimeoutMs,
      maxDurationMs: mc.exportTimeoutMs,
    });
    this.running.add(stream);
    this.runningByUser.set(requesterId, mine + 1);
    // 'close' comes once, whether the stream ended, failed (before its first byte too) or was
    // destroyed; nothing above can throw between taking the slots and this listener.
    stream.once('close', () => {
      this.running.delete(stream);
      const left = (this.runningByUser.get(requesterId) ?? 1) - 1;
      if (left > 0) this.runningByUser.set(requesterId, left);
      else this.runningByUser.delete(requesterId);
    });
    // After the first byte the HTTP layer only cuts the response off: say why here. (A listener
    // of our own does not change how the error reaches the HTTP layer.)
    stream.on('error', (err: Error & { code?: unknown }) => {
      this.log.warn(`call log export ended early: ${typeof err.code === 'string' ? `${err.code}: ` : ''}${err.message}`);
    });
    return stream;
  }

  /** Cuts off the exports still running (their COPY cancelled, their connections closed). */
  onApplicationShutdown(): void {
    for (const s of this.running) s.destroy(DomainError.unavailable('service_unavailable', 'the api is shutting down'));
  }
}
