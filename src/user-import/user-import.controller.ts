import { Controller, Get, HttpCode, Inject, Param, Post, Query, Req, StreamableFile } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { AuditContext } from '../audit/audit-entry';
import { Audit } from '../audit/audit-context.decorator';
import { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { parseRole } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ExportUsersQueryDto, ImportIdParamDto, ImportQueryDto } from './dto/user-import.dto';
import { csvHeader, ERROR_COLUMNS, RESULT_COLUMNS } from './import-csv-out';
import { ImportFileKind, ImportStatus, ImportStore } from './import-store';
import { UserExportService } from './user-export.service';
import { ImportReport, UserImportService } from './user-import.service';

/** Multipart overhead allowed above USER_IMPORT_MAX_BYTES before the request is refused unread (bytes). */
const MULTIPART_SLACK_BYTES = 64 * 1024;

type MultipartRequest = FastifyRequest & {
  isMultipart(): boolean;
  file(): Promise<{ fieldname: string; file: Readable } | undefined>;
};

/** Bulk user import and export as CSV (docs/api/user-import.md). */
@Controller('admin/users')
export class UserImportController {
  constructor(
    private readonly importer: UserImportService,
    private readonly exporter: UserExportService,
    private readonly store: ImportStore,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * POST /admin/users/import?mode=add|delete|sync&dryRun=true|false&defaultRole=R, multipart
   * field `file` (CSV) → 200 `{importId, mode, dryRun, summary:{rows, created, updated, deleted,
   * unchanged, errors, keysCreated}, resultCsvUrl, errorCsvUrl, errors:[first 100 {line, email,
   * code, reason}]}`. Rows are applied in batches of 1000, one transaction and one `users.import`
   * audit entry each. Errors: 400 `validation_failed` (query), `file_required`, `missing_column`,
   * `too_many_rows`, `empty_file`, `invalid_csv`, `UNKNOWN_ROLE` (defaultRole); 413
   * `payload_too_large`; 401; 403 `forbidden` / `insufficient_scope` (users:write) /
   * `read_only_role`. A refused file writes nothing.
   */
  @Post('import')
  @HttpCode(200)
  @Auth({ admin: true, scope: 'users:write' })
  async import(
    @Req() req: MultipartRequest,
    @Query() q: ImportQueryDto,
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
  ): Promise<ImportReport> {
    const defaultRole = q.defaultRole === undefined ? 'member' : parseRole(q.defaultRole);
    if (defaultRole === null) throw DomainError.badRequest('UNKNOWN_ROLE', `Unknown role "${q.defaultRole}"`);
    const length = Number(req.headers['content-length'] ?? 0);
    if (length > this.config.userImport.maxBytes + MULTIPART_SLACK_BYTES) {
      throw new DomainError(
        413,
        'payload_too_large',
        `The file is larger than ${this.config.userImport.maxBytes} bytes (USER_IMPORT_MAX_BYTES)`,
      );
    }
    if (typeof req.isMultipart !== 'function' || !req.isMultipart()) {
      throw DomainError.badRequest('file_required', 'Send the CSV as multipart/form-data in the field "file"');
    }
    const part = await req.file();
    if (!part || part.fieldname !== 'file') throw DomainError.badRequest('file_required', 'Send the CSV in the multipart field "file"');
    return this.importer.run(
      { mode: q.mode, dryRun: q.dryRun === true, defaultRole, caller: { userId: user.id, email: user.email, role: user.role }, audit },
      part.file,
    );
  }

  /**
   * GET /admin/users/import/:importId → the import's status `{importId, mode, dryRun, state
   * (running|done|failed), rowsProcessed, rowsTotal, startedAt, finishedAt}` (ISO times), kept 1 h.
   * Only the user who ran it may read it. Errors: 404 `import_not_found` (unknown, expired or
   * someone else's); 400 `validation_failed` (not a uuid).
   */
  @Get('import/:importId')
  @Auth({ admin: true, scope: 'users:write' })
  async status(@Param() p: ImportIdParamDto, @CurrentUser() user: AuthUser): Promise<Omit<ImportStatus, 'ownerId'>> {
    const { ownerId: _owner, ...status } = await this.ownStatus(p.importId, user);
    return status;
  }

  /**
   * GET /admin/users/import/:importId/result.csv → text/csv, columns line, email, role, team_name,
   * key_name, status (created|updated|unchanged|deleted|not_found), user_id, key (the secret of a
   * key created by this import: shown only here). Same access rule and errors as the status.
   */
  @Get('import/:importId/result.csv')
  @Auth({ admin: true, scope: 'users:write' })
  async result(@Param() p: ImportIdParamDto, @CurrentUser() user: AuthUser): Promise<StreamableFile> {
    return this.file(p.importId, user, 'result');
  }

  /**
   * GET /admin/users/import/:importId/error.csv → text/csv, columns line, email, code, error.
   * Same access rule and errors as the status.
   */
  @Get('import/:importId/error.csv')
  @Auth({ admin: true, scope: 'users:write' })
  async errors(@Param() p: ImportIdParamDto, @CurrentUser() user: AuthUser): Promise<StreamableFile> {
    return this.file(p.importId, user, 'error');
  }

  /**
   * GET /admin/users/export?includeKeys=true|false&role=R&status=active|disabled → text/csv
   * (attachment users.csv): email, role, team_name, status, created_at (ISO, UTC) and, with
   * includeKeys, one row per key: key_name, key_prefix, key_created_at, key_expires_at,
   * key_revoked (never a secret). Users by email. Errors: 400 `UNKNOWN_ROLE`,
   * `validation_failed`; 401; 403 `forbidden` / `insufficient_scope` (users:read).
   */
  @Get('export')
  @Auth({ admin: true, scope: 'users:read' })
  export(@Query() q: ExportUsersQueryDto): StreamableFile {
    return new StreamableFile(this.exporter.export(q), {
      type: 'text/csv; charset=utf-8',
      disposition: 'attachment; filename="users.csv"',
    });
  }

  private async ownStatus(importId: string, user: AuthUser): Promise<ImportStatus> {
    const status = await this.store.status(importId);
    if (!status || status.ownerId !== user.id)
      throw DomainError.notFound('import_not_found', 'No such import (they are kept for one hour)');
    return status;
  }

  private async file(importId: string, user: AuthUser, kind: ImportFileKind): Promise<StreamableFile> {
    await this.ownStatus(importId, user);
    const store = this.store;
    const header = csvHeader(kind === 'result' ? RESULT_COLUMNS : ERROR_COLUMNS);
    async function* body(): AsyncGenerator<string> {
      yield header;
      yield* store.chunks(importId, kind);
    }
    return new StreamableFile(Readable.from(body()), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="user-import-${kind}.csv"`,
    });
  }
}
