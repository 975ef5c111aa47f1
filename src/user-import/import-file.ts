import { parse } from 'fast-csv';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DomainError } from '../common/domain-error';
import { CsvRecord, ImportMode, REQUIRED_COLUMNS } from './import-row';

/** An uploaded file kept on local disk for the import's two passes; `remove` deletes it. */
export interface SpooledFile {
  path: string;
  bytes: number;
  remove(): Promise<void>;
}

/** A data row of the file with its line number (the header is line 1). */
export interface FileRow {
  line: number;
  record: CsvRecord;
  /** more non-empty cells than header columns */
  extraCells: boolean;
}

function payloadTooLarge(maxBytes: number): DomainError {
  return new DomainError(413, 'payload_too_large', `The file is larger than ${maxBytes} bytes (USER_IMPORT_MAX_BYTES)`);
}

/**
 * Streams an upload to a private temporary file, counting bytes; never holds the file in memory.
 * @throws DomainError 413 `payload_too_large` past `maxBytes` (the partial file is removed)
 */
export async function spoolUpload(source: Readable, maxBytes: number): Promise<SpooledFile> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-user-import-'));
  const path = join(dir, 'upload.csv');
  const remove = () => rm(dir, { recursive: true, force: true });
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(bytes > maxBytes ? payloadTooLarge(maxBytes) : null, chunk);
    },
  });
  try {
    await pipeline(source, counter, createWriteStream(path, { mode: 0o600 }));
    if ((source as Readable & { truncated?: boolean }).truncated) throw payloadTooLarge(maxBytes);
  } catch (err) {
    await remove();
    if (err instanceof DomainError) throw err;
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw payloadTooLarge(maxBytes);
    throw DomainError.badRequest('upload_failed', `The upload could not be read: ${(err as Error).message}`);
  }
  return { path, bytes, remove };
}

/** Header cell → column name: trimmed, lower case, byte order mark and spaces-as-underscores normalised. */
function columnName(cell: string, first: boolean): string {
  const c = first ? cell.replace(/^\uFEFF/, '') : cell;
  return c.trim().toLowerCase().replace(/\s+/g, '_');
}

/**
 * Reads the CSV file row by row (fast-csv, streamed; back-pressured by the consumer). Blank lines
 * are skipped but still counted in line numbers. Extra columns not used by the mode are ignored.
 * @throws DomainError 400 `empty_file` (no header row), `missing_column` (a column the mode needs;
 *   `details.missing` lists them), `invalid_csv` (unreadable CSV, e.g. an unclosed quote)
 */
export async function* readRows(file: SpooledFile, mode: ImportMode): AsyncGenerator<FileRow> {
  const parser = createReadStream(file.path).pipe(parse<string[], string[]>({ headers: false, ignoreEmpty: false }));
  let columns: string[] | null = null;
  let line = 0;
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      line++;
      if (columns === null) {
        columns = cells.map((c, i) => columnName(c, i === 0));
        const missing = REQUIRED_COLUMNS[mode].filter((c) => !columns!.includes(c));
        if (missing.length) {
          throw DomainError.badRequest('missing_column', `The header row lacks the column(s): ${missing.join(', ')}`, { missing });
        }
        continue;
      }
      if (cells.every((c) => c.trim() === '')) continue;
      const record: CsvRecord = {};
      columns.forEach((name, i) => {
        if (name && record[name] === undefined) record[name] = cells[i];
      });
      const extraCells = cells.slice(columns.length).some((c) => c.trim() !== '');
      yield { line, record, extraCells };
    }
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw DomainError.badRequest('invalid_csv', `The file is not valid CSV (near line ${line + 1}): ${(err as Error).message}`);
  } finally {
    parser.destroy();
  }
  if (columns === null) throw DomainError.badRequest('empty_file', 'The file has no header row');
}

/**
 * First pass: checks the header and counts data rows, stopping as soon as there are too many.
 * Nothing is written before this pass succeeds.
 * @returns the number of data rows
 * @throws DomainError 400 `too_many_rows` past `maxRows`, and the errors of `readRows`
 */
export async function countRows(file: SpooledFile, mode: ImportMode, maxRows: number): Promise<number> {
  let rows = 0;
  for await (const _row of readRows(file, mode)) {
    if (++rows > maxRows) {
      throw DomainError.badRequest('too_many_rows', `The file has more than ${maxRows} data rows (USER_IMPORT_MAX_ROWS)`, { maxRows });
    }
  }
  return rows;
}
