#!/usr/bin/env node
/**
 * tollgate-users: bulk user management from CSV files over the HTTP API (docs/cli.md).
 *
 *   tollgate-users add|delete|sync --csv-file F [--dry-run] [--role R] [--out-dir D]
 *   tollgate-users list [--role R]
 *   common: [--base-url URL] [--api-key K] [--debug]
 *
 * The key comes from --api-key or TOLLGATE_API_KEY (a service key with users:write, or
 * users:read for list); the base URL from --base-url or TOLLGATE_BASE_URL
 * (http://localhost:3000). Exit codes: 0 ok, 1 some rows failed, 2 usage error or file refused,
 * 3 authentication or permission refused (401/403), 4 server or network error.
 */
import { SingleBar } from 'cli-progress';
import { parseString } from 'fast-csv';
import { createReadStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { request } from 'undici';

export const EXIT = { ok: 0, rowsFailed: 1, usage: 2, auth: 3, server: 4 } as const;

/** Files written per mode, in the output directory (result, error). */
export const OUTPUT_FILES: Record<'add' | 'delete' | 'sync', [string, string]> = {
  add: ['user_reg_result.csv', 'user_reg_error.csv'],
  delete: ['user_del_result.csv', 'user_del_error.csv'],
  sync: ['user_sync_result.csv', 'user_sync_error.csv'],
};

/** Uploads at least this large show a progress bar on a terminal (bytes). */
const PROGRESS_MIN_BYTES = 1024 * 1024;

const USAGE = `Usage: tollgate-users <add|delete|sync|list> [options]
  --csv-file F    CSV file to upload (add, delete, sync)
  --dry-run       report what would change, change nothing
  --role R        add/sync: role for rows without one; list: only users with this role
  --out-dir D     where result and error files go (default: current directory)
  --base-url URL  Tollgate address (default TOLLGATE_BASE_URL or http://localhost:3000)
  --api-key K     service key (default TOLLGATE_API_KEY)
  --debug         print each request (never the key)`;

class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

interface Options {
  command: 'add' | 'delete' | 'sync' | 'list';
  csvFile: string | null;
  dryRun: boolean;
  role: string | null;
  outDir: string;
  baseUrl: string;
  apiKey: string;
  debug: boolean;
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'csv-file': { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
        role: { type: 'string' },
        'out-dir': { type: 'string' },
        'base-url': { type: 'string' },
        'api-key': { type: 'string' },
        debug: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new CliError(EXIT.usage, `${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new CliError(EXIT.ok, USAGE);
  const command = positionals[0];
  if (positionals.length !== 1 || !['add', 'delete', 'sync', 'list'].includes(command)) {
    throw new CliError(EXIT.usage, `Give one command: add, delete, sync or list\n${USAGE}`);
  }
  const csvFile = values['csv-file'] ?? null;
  if (command !== 'list' && !csvFile) throw new CliError(EXIT.usage, `${command} needs --csv-file\n${USAGE}`);
  const apiKey = values['api-key'] ?? env.TOLLGATE_API_KEY ?? '';
  if (!apiKey) throw new CliError(EXIT.usage, 'No API key: set TOLLGATE_API_KEY or pass --api-key');
  const baseUrl = (values['base-url'] ?? env.TOLLGATE_BASE_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^\s]+$/.test(baseUrl)) throw new CliError(EXIT.usage, `Not an http(s) URL: ${baseUrl}`);
  return {
    command: command as Options['command'],
    csvFile,
    dryRun: values['dry-run'] ?? false,
    role: values.role ?? null,
    outDir: values['out-dir'] ?? process.cwd(),
    baseUrl,
    apiKey,
    debug: values.debug ?? false,
  };
}

/** Exit code for an HTTP error answer. */
function exitFor(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status >= 500) return EXIT.server;
  return EXIT.usage;
}

async function call(
  o: Options,
  method: 'GET' | 'POST',
  path: string,
  extra: { headers?: Record<string, string>; body?: Readable } = {},
): Promise<{ status: number; text: string }> {
  if (o.debug) process.stderr.write(`> ${method} ${o.baseUrl}${path}${extra.headers ? ` ${JSON.stringify(extra.headers)}` : ''}\n`);
  try {
    const res = await request(`${o.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${o.apiKey}`, ...extra.headers },
      body: extra.body,
    });
    const text = await res.body.text();
    if (o.debug) process.stderr.write(`< ${res.statusCode} (${text.length} characters)\n`);
    if (res.statusCode >= 400) {
      let detail = text.slice(0, 500);
      try {
        const b = JSON.parse(text) as { code?: string; message?: string };
        detail = `${b.code ?? ''}: ${b.message ?? ''}`;
      } catch {
        // not JSON: keep the text
      }
      throw new CliError(exitFor(res.statusCode), `HTTP ${res.statusCode} ${detail}`);
    }
    return { status: res.statusCode, text };
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(EXIT.server, `Cannot reach ${o.baseUrl}: ${(err as Error).message}`);
  }
}

/** The multipart body, streamed from the file (field `file`), with its exact length. */
async function multipartBody(file: string, onBytes: (n: number) => void): Promise<{ body: Readable; length: number; boundary: string }> {
  const size = (await fs.stat(file)).size;
  const boundary = `----tollgate-users-${Math.random().toString(16).slice(2)}${Date.now()}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="users.csv"\r\nContent-Type: text/csv\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const out = new PassThrough();
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
  out.write(head);
  createReadStream(file)
    .on('error', (err) => out.destroy(err))
    .pipe(counter)
    .on('end', () => out.end(tail))
    .pipe(out, { end: false });
  return { body: out, length: head.length + size + tail.length, boundary };
}

interface ImportAnswer {
  importId: string;
  summary: { rows: number; created: number; updated: number; deleted: number; unchanged: number; errors: number; keysCreated: number };
  resultCsvUrl: string;
  errorCsvUrl: string;
}

async function runImport(o: Options & { command: 'add' | 'delete' | 'sync' }): Promise<number> {
  const file = o.csvFile!;
  try {
    await fs.access(file);
  } catch {
    throw new CliError(EXIT.usage, `Cannot read ${file}`);
  }
  const size = (await fs.stat(file)).size;
  const bar =
    size >= PROGRESS_MIN_BYTES && process.stderr.isTTY
      ? new SingleBar({ format: 'upload [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr })
      : null;
  bar?.start(size, 0);
  let sent = 0;
  const { body, length, boundary } = await multipartBody(file, (n) => {
    sent += n;
    bar?.update(sent);
  });
  const query = new URLSearchParams({ mode: o.command, dryRun: String(o.dryRun) });
  if (o.role) query.set('defaultRole', o.role);
  let answer: ImportAnswer;
  try {
    const res = await call(o, 'POST', `/admin/users/import?${query.toString()}`, {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(length) },
      body,
    });
    answer = JSON.parse(res.text) as ImportAnswer;
  } finally {
    bar?.stop();
  }
  const [resultName, errorName] = OUTPUT_FILES[o.command];
  await fs.mkdir(o.outDir, { recursive: true });
  await fs.writeFile(join(o.outDir, resultName), (await call(o, 'GET', answer.resultCsvUrl)).text, { mode: 0o600 });
  await fs.writeFile(join(o.outDir, errorName), (await call(o, 'GET', answer.errorCsvUrl)).text);
  const s = answer.summary;
  process.stdout.write(
    `${o.command}${o.dryRun ? ' (dry run: nothing changed)' : ''}: ${s.rows} rows, ${s.created} created, ${s.updated} updated, ` +
      `${s.deleted} deleted, ${s.unchanged} unchanged, ${s.errors} errors, ${s.keysCreated} keys created\n` +
      `results: ${join(o.outDir, resultName)}\nerrors: ${join(o.outDir, errorName)}\n`,
  );
  return s.errors > 0 ? EXIT.rowsFailed : EXIT.ok;
}

async function runList(o: Options): Promise<number> {
  const query = new URLSearchParams();
  if (o.role) query.set('role', o.role);
  const qs = query.toString();
  const res = await call(o, 'GET', `/admin/users/export${qs ? `?${qs}` : ''}`);
  const rows = await new Promise<Record<string, string>[]>((resolve, reject) => {
    const out: Record<string, string>[] = [];
    parseString(res.text, { headers: true })
      .on('data', (r: Record<string, string>) => out.push(r))
      .on('error', reject)
      .on('end', () => resolve(out));
  });
  const columns = ['email', 'role', 'team_name', 'status', 'created_at'];
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const lineOf = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${lineOf(columns)}\n${lineOf(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${lineOf(columns.map((c) => r[c] ?? ''))}\n`);
  process.stdout.write(`${rows.length} users\n`);
  return EXIT.ok;
}

/** Runs the command line; resolves with the exit code (never exits by itself). */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const o = parseOptions(argv, env);
    return o.command === 'list' ? await runList(o) : await runImport(o as Options & { command: 'add' | 'delete' | 'sync' });
  } catch (err) {
    if (err instanceof CliError) {
      (err.exitCode === EXIT.ok ? process.stdout : process.stderr).write(`${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`${(err as Error).message}\n`);
    return EXIT.server;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
