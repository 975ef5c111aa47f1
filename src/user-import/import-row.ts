import { isAdminRole, parseRole } from '../auth/roles';
import { DomainError } from '../common/domain-error';
import { UserRole } from '../generated/prisma/enums';
import { normalizeEmail } from '../users/email-policy';

/** What an import does with the file (docs/api/user-import.md "Modes"). */
export type ImportMode = 'add' | 'delete' | 'sync';
export const IMPORT_MODES: readonly ImportMode[] = ['add', 'delete', 'sync'];

/** Columns each mode needs in the header row; a missing one refuses the whole file (400 `missing_column`). */
export const REQUIRED_COLUMNS: Readonly<Record<ImportMode, readonly string[]>> = {
  add: ['email'],
  delete: ['email'],
  sync: ['email', 'role', 'team_name'],
};

/** Longest team name and key name accepted in a file (characters). */
export const NAME_MAX_LENGTH = 128;

/** A data row as read from the file: lower-cased header name → cell text. */
export type CsvRecord = Record<string, string | undefined>;

/** A row that passed the per-row checks. `teamName` null = no team; `keyName` null = no key wanted. */
export interface ValidRow {
  line: number;
  email: string;
  role: UserRole;
  /** the role cell was empty (add: an existing user's role is then left alone) */
  roleGiven: boolean;
  teamName: string | null;
  keyName: string | null;
}

/** A row refused by a per-row check: reported with its line, never aborting the other rows. */
export interface RowError {
  line: number;
  email: string;
  code: string;
  reason: string;
}

/** Who imports: decides whether admin-level rows are allowed and which account is the caller's own. */
export interface ImportCaller {
  userId: string;
  email: string;
  role: UserRole;
}

/** Per-file settings for reading rows. */
export interface RowContext {
  mode: ImportMode;
  caller: ImportCaller;
  /** role for rows whose role cell is empty (add, sync); member unless the request says otherwise */
  defaultRole: UserRole;
  allowedEmailDomains: readonly string[];
}

const CONTROL = /\p{Cc}/u;

function cell(record: CsvRecord, column: string): string {
  return (record[column] ?? '').trim();
}

function optionalName(raw: string, what: string, code: string): string | null {
  if (raw === '') return null;
  if (raw.length > NAME_MAX_LENGTH) throw DomainError.badRequest(code, `${what} longer than ${NAME_MAX_LENGTH} characters`);
  if (CONTROL.test(raw)) throw DomainError.badRequest(code, `${what} contains control characters`);
  return raw;
}

/**
 * Checks one data row (pure; docs/api/user-import.md "Row errors"). Cells are text: a cell that
 * looks like a spreadsheet formula is kept as typed and never evaluated.
 * @param line the row's line number in the file (the header is line 1)
 * @returns the row's desired values, or the reason it is refused: `INVALID_EMAIL`, `UNKNOWN_ROLE`,
 *   `ADMIN_ROLE_FORBIDDEN` (an admin-level role and the caller is not super_admin),
 *   `CANNOT_CHANGE_SELF` (the caller's own account), `INVALID_TEAM_NAME`, `INVALID_KEY_NAME`
 */
export function checkRow(record: CsvRecord, line: number, ctx: RowContext): ValidRow | RowError {
  const rawEmail = cell(record, 'email');
  let email: string;
  try {
    email = normalizeEmail(rawEmail, ctx.allowedEmailDomains);
  } catch (err) {
    return { line, email: rawEmail.slice(0, 320), code: 'INVALID_EMAIL', reason: (err as Error).message };
  }
  const fail = (code: string, reason: string): RowError => ({ line, email, code, reason });
  if (email === ctx.caller.email.toLowerCase()) return fail('CANNOT_CHANGE_SELF', 'An import never changes the account of the caller');
  if (ctx.mode === 'delete') return { line, email, role: 'member', roleGiven: false, teamName: null, keyName: null };

  const rawRole = cell(record, 'role');
  const role = rawRole === '' ? ctx.defaultRole : parseRole(rawRole);
  if (role === null) return fail('UNKNOWN_ROLE', `Unknown role "${rawRole.slice(0, 64)}"`);
  if (isAdminRole(role) && ctx.caller.role !== 'super_admin') {
    return fail('ADMIN_ROLE_FORBIDDEN', `Only a super_admin may import users with the role ${role}`);
  }
  try {
    const teamName = optionalName(cell(record, 'team_name'), 'team_name', 'INVALID_TEAM_NAME');
    const keyName = ctx.mode === 'add' ? optionalName(cell(record, 'key_name'), 'key_name', 'INVALID_KEY_NAME') : null;
    return { line, email, role, roleGiven: rawRole !== '', teamName, keyName };
  } catch (err) {
    const e = err as DomainError;
    return fail(e.code, e.message);
  }
}

/** True for a refused row. */
export function isRowError(r: ValidRow | RowError): r is RowError {
  return 'code' in r;
}
