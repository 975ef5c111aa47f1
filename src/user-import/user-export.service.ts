import { Injectable } from '@nestjs/common';
import { format } from 'fast-csv';
import { pipeline, Readable } from 'node:stream';
import { parseRole } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { csvSafe } from '../model-calls/call-export.service';
import { ExportUsersQueryDto } from './dto/user-import.dto';
import { UserImportRepository } from './user-import.repository';

/** Header of the export; the key columns only with includeKeys (docs/api/user-import.md "Export"). */
export const EXPORT_COLUMNS = ['email', 'role', 'team_name', 'status', 'created_at'] as const;
export const EXPORT_KEY_COLUMNS = ['key_name', 'key_prefix', 'key_created_at', 'key_expires_at', 'key_revoked'] as const;

/** Users read per keyset query. */
const PAGE = 1000;

/**
 * GET /admin/users/export: every user (filtered by role and status) as CSV, by email. Pages of
 * PAGE users are read by keyset (email after the last one sent) and written through fast-csv
 * with back-pressure (a page is read only when the client has taken the previous one), so memory
 * stays flat however many users there are. Key secrets and hashes are never read.
 */
@Injectable()
export class UserExportService {
  constructor(private readonly repo: UserImportRepository) {}

  /**
   * The CSV stream. Checks the filters before anything is sent.
   * @throws DomainError 400 `UNKNOWN_ROLE` for a role name neither Tollgate's nor LiteLLM's
   */
  export(q: ExportUsersQueryDto): Readable {
    const role = q.role === undefined ? null : parseRole(q.role);
    if (q.role !== undefined && role === null) throw DomainError.badRequest('UNKNOWN_ROLE', `Unknown role "${q.role}"`);
    const headers = [...EXPORT_COLUMNS, ...(q.includeKeys ? EXPORT_KEY_COLUMNS : [])];
    const csv = format<string[], string[]>({ headers, alwaysWriteHeaders: true });
    pipeline(Readable.from(this.rows({ role, status: q.status ?? null }, q.includeKeys === true)), csv, () => undefined);
    return csv;
  }

  private async *rows(filters: { role: string | null; status: string | null }, includeKeys: boolean): AsyncGenerator<string[]> {
    let after: string | null = null;
    for (;;) {
      const users = await this.repo.exportUsers(filters, after, PAGE);
      if (users.length === 0) return;
      after = users[users.length - 1].email;
      const keys = includeKeys ? await this.repo.exportKeys(users.map((u) => u.id)) : [];
      const byUser = new Map<string, typeof keys>();
      for (const k of keys) byUser.set(k.user_id, [...(byUser.get(k.user_id) ?? []), k]);
      for (const u of users) {
        const base = [csvSafe(u.email), u.role, csvSafe(u.team_name), u.status, u.created_at];
        if (!includeKeys) {
          yield base;
          continue;
        }
        const own = byUser.get(u.id) ?? [];
        if (own.length === 0) yield [...base, '', '', '', '', ''];
        for (const k of own) yield [...base, csvSafe(k.name), csvSafe(k.prefix), k.created_at, k.expires_at ?? '', String(k.revoked)];
      }
      if (users.length < PAGE) return;
    }
  }
}
