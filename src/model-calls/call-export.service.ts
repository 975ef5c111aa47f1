import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';
import { buildCallWhere, TYPE_LABELS } from './call-filters';
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

/** Rows fetched per keyset query. */
const BATCH = 5000;

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises spreadsheet formula injection: a text cell starting with = + - @ tab or CR gets a
 * leading apostrophe, so Excel/LibreOffice/Sheets show it as text instead of evaluating it.
 */
export function csvSafe(v: string | null): string {
  if (v === null) return '';
  return FORMULA_START.test(v) ? `'${v}` : v;
}

const NEEDS_QUOTES = /[",\r\n|]/;

/**
 * One CSV cell (RFC 4180): NUL characters dropped; quoted when it holds a quote, comma, CR, LF
 * or `|`, with quotes doubled. The same bytes as the fast-csv formatter this export used before.
 */
export function csvCell(v: string): string {
  const s = v.includes('\0') ? v.replace(/\0/g, '') : v;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

interface Row {
  ts: string;
  cursor_ts: string;
  id: string;
  request_id: string;
  did: string;
  full_name: string;
  email: string;
  model: string;
  provider: string | null;
  type: string;
  status: string;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  credits: string;
  duration_ms: number;
  app_did: string | null;
}

/**
 * GET /user/model-calls/export: the filtered call log as CSV, newest first, at most
 * `MODEL_CALLS_EXPORT_MAX_ROWS` rows. Rows are read in keyset batches of BATCH ((created_at, id)
 * below the last row sent, served by the (user_id, created_at) and (created_at) indexes at any
 * depth), the next batch's query running while the current one is written; each batch becomes
 * one chunk of CSV text and the stream pulls the next only when the client has taken it
 * (backpressure), so memory stays flat (about two batches) however many rows are exported.
 */
@Injectable()
export class CallExportService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `userId` null = every user. The stream errors (and the response is cut) if a query fails. */
  export(userId: string | null, filters: ModelCallFiltersDto): Readable {
    return Readable.from(this.chunks(userId, filters), { objectMode: false });
  }

  /** The header line, then one chunk of CSV lines per batch (no newline after the last line). */
  private async *chunks(userId: string | null, filters: ModelCallFiltersDto): AsyncGenerator<Buffer> {
    const where = buildCallWhere(filters, userId);
    const n = where.params.length;
    const limit = this.config.modelCalls.exportMaxRows;
    const fetch = (take: number, cursor: { ts: string; id: string } | null): Promise<Row[]> => {
      const after: string = cursor ? `AND (mc.created_at, mc.id) < ($${n + 2}::timestamptz, $${n + 3}::uuid)` : '';
      const params: unknown[] = [...where.params, take];
      if (cursor) params.push(cursor.ts, cursor.id);
      return this.prisma.pool
        .query<Row>(
          `SELECT to_char(mc.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ts,
           mc.created_at::text AS cursor_ts, mc.id, mc.request_id, u.did, u.full_name, u.email, mc.model,
           p.display_name AS provider, mc.type, mc.status, mc.prompt_tokens, mc.completion_tokens,
           mc.total_tokens, trim_scale(mc.credits)::text AS credits, mc.duration_ms, mc.app_did
         FROM model_calls mc
         JOIN users u ON u.id = mc.user_id
         LEFT JOIN ai_providers p ON p.id = mc.provider_id
         WHERE ${where.sql} ${after}
         ORDER BY mc.created_at DESC, mc.id DESC
         LIMIT $${n + 1}`,
          params,
        )
        .then((r) => r.rows);
    };
    yield Buffer.from(EXPORT_HEADERS.map(csvCell).join(','), 'utf8');
    let sent = 0;
    let pending: Promise<Row[]> | null = fetch(Math.min(BATCH, limit), null);
    while (pending) {
      const rows: Row[] = await pending;
      const take = Math.min(BATCH, limit - sent);
      sent += rows.length;
      const last = rows[rows.length - 1];
      // The next batch is queried while this one is formatted and written.
      pending = rows.length === take && sent < limit ? fetch(Math.min(BATCH, limit - sent), { ts: last.cursor_ts, id: last.id }) : null;
      // Swallowed here, rethrown by the await above: an unawaited rejection must not crash the process.
      pending?.catch(() => undefined);
      if (rows.length) yield Buffer.from(rows.map(line).join(''), 'utf8');
    }
  }
}

/** One CSV line, preceded by its newline (the header has none after it otherwise). */
function line(r: Row): string {
  return (
    '\n' +
    [
      r.ts,
      csvCell(csvSafe(r.request_id)),
      csvCell(csvSafe(r.did)),
      csvCell(csvSafe(r.full_name)),
      csvCell(csvSafe(r.email)),
      csvCell(csvSafe(r.model)),
      csvCell(csvSafe(r.provider)),
      csvCell(TYPE_LABELS[r.type] ?? r.type),
      r.status,
      String(r.prompt_tokens),
      String(r.completion_tokens),
      String(r.total_tokens),
      r.credits,
      String(r.duration_ms),
      csvCell(csvSafe(r.app_did)),
    ].join(',')
  );
}
