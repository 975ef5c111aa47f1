import { Inject, Injectable } from '@nestjs/common';
import { format } from 'fast-csv';
import { pipeline, Readable } from 'node:stream';
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
const BATCH = 2000;

const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * Neutralises spreadsheet formula injection: a text cell starting with = + - @ tab or CR gets a
 * leading apostrophe, so Excel/LibreOffice/Sheets show it as text instead of evaluating it.
 */
export function csvSafe(v: string | null): string {
  if (v === null) return '';
  return FORMULA_START.test(v) ? `'${v}` : v;
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
 * `MODEL_CALLS_EXPORT_MAX_ROWS` rows. Rows are read in keyset batches ((created_at, id) below the
 * last row sent) and written through fast-csv with backpressure, so memory stays flat however
 * many rows are exported.
 */
@Injectable()
export class CallExportService {
  constructor(
    private readonly prisma: PrismaService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** `userId` null = every user. The stream errors (and the response is cut) if a query fails. */
  export(userId: string | null, filters: ModelCallFiltersDto): Readable {
    const csv = format<string[], string[]>({ headers: [...EXPORT_HEADERS], alwaysWriteHeaders: true });
    const source = Readable.from(this.rows(userId, filters));
    pipeline(source, csv, () => undefined);
    return csv;
  }

  private async *rows(userId: string | null, filters: ModelCallFiltersDto): AsyncGenerator<string[]> {
    const where = buildCallWhere(filters, userId);
    const n = where.params.length;
    const limit = this.config.modelCalls.exportMaxRows;
    let sent = 0;
    let cursor: { ts: string; id: string } | null = null;
    while (sent < limit) {
      const take = Math.min(BATCH, limit - sent);
      const after: string = cursor ? `AND (mc.created_at, mc.id) < ($${n + 2}::timestamptz, $${n + 3}::uuid)` : '';
      const params: unknown[] = [...where.params, take];
      if (cursor) params.push(cursor.ts, cursor.id);
      const { rows }: { rows: Row[] } = await this.prisma.pool.query<Row>(
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
      );
      for (const r of rows) {
        yield [
          r.ts,
          csvSafe(r.request_id),
          csvSafe(r.did),
          csvSafe(r.full_name),
          csvSafe(r.email),
          csvSafe(r.model),
          csvSafe(r.provider),
          TYPE_LABELS[r.type] ?? r.type,
          r.status,
          String(r.prompt_tokens),
          String(r.completion_tokens),
          String(r.total_tokens),
          r.credits,
          String(r.duration_ms),
          csvSafe(r.app_did),
        ];
      }
      sent += rows.length;
      if (rows.length < take) break;
      const last: Row = rows[rows.length - 1];
      cursor = { ts: last.cursor_ts, id: last.id };
    }
  }
}
