import { Injectable } from '@nestjs/common';
import { format } from 'fast-csv';
import { pipeline, Readable } from 'node:stream';
import { csvSafe } from '../model-calls/call-export.service';
import { AuditCursor, AuditLogsRepository, buildWhere } from './audit-logs.repository';
import { AuditLogFiltersDto } from './dto/audit-log-query.dto';

/** Most rows one export holds (docs/audit-log.md "Export"); narrow the filters (from/to) for more. */
export const AUDIT_EXPORT_MAX_ROWS = 100_000;

/** The export's header row, exactly. */
export const AUDIT_EXPORT_HEADERS = [
  'Timestamp',
  'ID',
  'Actor Type',
  'Actor User ID',
  'Actor Key ID',
  'Actor',
  'Actor Role',
  'Action',
  'Target Type',
  'Target ID',
  'Result',
  'Status',
  'Request ID',
  'IP',
  'User Agent',
  'Method',
  'Path',
  'Changes',
] as const;

/** Rows read per keyset query. */
const BATCH = 1000;

/**
 * GET /admin/audit-logs/export: the filtered log as CSV, newest first, at most
 * AUDIT_EXPORT_MAX_ROWS rows, read in keyset batches and written with backpressure (memory stays
 * flat). Text cells that a spreadsheet would evaluate get a leading apostrophe (csvSafe).
 */
@Injectable()
export class AuditExportService {
  constructor(private readonly repo: AuditLogsRepository) {}

  /**
   * Filters are validated before the first byte (a bad bound throws 400 here, not mid-stream).
   * The stream errors, cutting the response, if a later query fails.
   */
  export(filters: AuditLogFiltersDto): Readable {
    buildWhere(filters); // throws 400 validation_failed now, before the response starts
    const csv = format<string[], string[]>({ headers: [...AUDIT_EXPORT_HEADERS], alwaysWriteHeaders: true });
    pipeline(Readable.from(this.rows(filters)), csv, () => undefined);
    return csv;
  }

  private async *rows(filters: AuditLogFiltersDto): AsyncGenerator<string[]> {
    let sent = 0;
    let cursor: AuditCursor | null = null;
    while (sent < AUDIT_EXPORT_MAX_ROWS) {
      const take = Math.min(BATCH, AUDIT_EXPORT_MAX_ROWS - sent);
      const { rows, last } = await this.repo.page(filters, take, cursor);
      for (const r of rows) {
        yield [
          r.createdAt,
          r.id,
          r.actorType,
          r.actorUserId ?? '',
          r.actorKeyId ?? '',
          csvSafe(r.actorLabel),
          csvSafe(r.actorRole),
          csvSafe(r.action),
          csvSafe(r.targetType),
          csvSafe(r.targetId),
          r.result,
          String(r.status),
          csvSafe(r.requestId),
          csvSafe(r.ip),
          csvSafe(r.userAgent),
          csvSafe(r.method),
          csvSafe(r.path),
          r.changes === null ? '' : csvSafe(JSON.stringify(r.changes)),
        ];
      }
      sent += rows.length;
      if (rows.length < take || !last) break;
      cursor = last;
    }
  }
}
