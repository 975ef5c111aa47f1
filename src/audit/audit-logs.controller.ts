import { Controller, Get, Header, Param, Query, StreamableFile } from '@nestjs/common';
import { Auth } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { decodeCursor, encodeCursor } from './audit-cursor';
import { AUDIT_EXPORT_MAX_ROWS, AuditExportService } from './audit-export.service';
import { AuditLogsRepository, AuditLogView } from './audit-logs.repository';
import { AuditLogFiltersDto, AuditLogListQueryDto } from './dto/audit-log-query.dto';

/**
 * Reading the audit log (docs/audit-log.md "Reading the log"). Admin reads: super_admin, admin and
 * admin_viewer; API keys need the `audit:read` (or `admin`) scope. 401 without a login; 403
 * `forbidden` for other roles, `insufficient_scope` for a key without the scope.
 */
@Controller('admin/audit-logs')
@Auth({ admin: true, scope: 'audit:read' })
export class AuditLogsController {
  constructor(
    private readonly repo: AuditLogsRepository,
    private readonly exporter: AuditExportService,
  ) {}

  /**
   * GET /admin/audit-logs?actorUserId&actorKeyId&actor&action&targetType&targetId&result&status&requestId&from&to&limit&cursor
   * → `{list: AuditLogView[], nextCursor: string | null}`, newest first (created_at, then id).
   * `action` exact or `prefix*`; `actor` a case-insensitive email substring; from/to ISO-8601 or
   * Unix seconds, [from, to); `limit` 1–200 (default 50); `cursor` the previous page's nextCursor
   * (null when no more rows). Errors: 400 validation_failed (field), 400 invalid_cursor.
   */
  @Get()
  async list(@Query() q: AuditLogListQueryDto): Promise<{ list: AuditLogView[]; nextCursor: string | null }> {
    const { limit = 50, cursor, ...filters } = q;
    const { rows, last } = await this.repo.page(filters, limit, cursor ? decodeCursor(cursor) : null);
    return { list: rows, nextCursor: rows.length === limit && last ? encodeCursor(last) : null };
  }

  /**
   * GET /admin/audit-logs/export?<the list's filters> → text/csv (attachment audit-log.csv), newest
   * first, header row AUDIT_EXPORT_HEADERS, at most 100,000 rows (header `x-export-max-rows`);
   * cells a spreadsheet would evaluate (= + - @ tab CR) start with '. Errors as the list.
   */
  @Get('export')
  @Header('x-export-max-rows', String(AUDIT_EXPORT_MAX_ROWS))
  export(@Query() q: AuditLogFiltersDto): StreamableFile {
    const stream = this.exporter.export(q);
    return new StreamableFile(stream, { type: 'text/csv; charset=utf-8', disposition: 'attachment; filename="audit-log.csv"' });
  }

  /** GET /admin/audit-logs/:id → one AuditLogView. 404 audit_log_not_found. */
  @Get(':id')
  async get(@Param('id') id: string): Promise<AuditLogView> {
    const row = await this.repo.byId(id);
    if (!row) throw DomainError.notFound('audit_log_not_found', 'No audit entry has this id');
    return row;
  }
}
