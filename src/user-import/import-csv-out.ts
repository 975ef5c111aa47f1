import { writeToString } from 'fast-csv';
import { csvSafe } from '../model-calls/call-export.service';

/** Columns of the result file (docs/api/user-import.md): `key` holds a new key's secret, only there. */
export const RESULT_COLUMNS = ['line', 'email', 'role', 'team_name', 'key_name', 'status', 'user_id', 'key'] as const;
/** Columns of the error file. */
export const ERROR_COLUMNS = ['line', 'email', 'code', 'error'] as const;

/**
 * CSV text of rows (no header), every cell passed through `csvSafe`: a cell starting with
 * = + - @ tab or CR gets a leading apostrophe so a spreadsheet shows it as text.
 */
export async function csvLines(rows: (string | number | null)[][]): Promise<string> {
  if (rows.length === 0) return '';
  return writeToString(
    rows.map((r) => r.map((v) => (typeof v === 'number' ? String(v) : csvSafe(v)))),
    { includeEndRowDelimiter: true },
  );
}

/** The header line of a file. */
export function csvHeader(columns: readonly string[]): string {
  return `${columns.join(',')}\n`;
}
