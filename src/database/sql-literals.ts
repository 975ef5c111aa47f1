import { escapeLiteral } from 'pg';

/*
 * Values written into SQL text, for the statements that cannot take bind parameters: several
 * statements in one simple-protocol message, and COPY (docs/data-access.md, the exception to
 * rule 2). Builders still write `$n` placeholders with their values apart; inlineParams turns
 * them into literals in one pass, just before the text is sent.
 */

/**
 * A value as an SQL literal for inlineParams: a finite number as is, a string or a Date (UTC)
 * quoted by pg's escapeLiteral (quotes doubled, backslashes in an E'' literal), an array of
 * strings as an array literal (`'{"a","b"}'`, elements quoted and escaped), null as NULL.
 * @throws Error for anything else, or a string holding U+0000 (a programming error: the values
 *   are validated query fields, ids and times; text holding U+0000 is refused at the edge with 400
 *   invalid_text, docs/api-conventions.md)
 */
export function sqlLiteral(v: unknown): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (v instanceof Date && Number.isFinite(v.getTime())) return escapeLiteral(timestampText(v));
  if (typeof v === 'string' && !v.includes('\u0000')) return escapeLiteral(v);
  if (Array.isArray(v) && v.every((e) => typeof e === 'string' && !e.includes('\u0000'))) {
    return escapeLiteral(`{${(v as string[]).map((e) => `"${e.replace(/["\\]/g, '\\$&')}"`).join(',')}}`);
  }
  throw new Error(`no SQL literal for ${typeof v}`);
}

/**
 * A Date as timestamptz input, UTC: `2026-12-01 20:00:00.000+00`. Not toISOString, which writes
 * years past 9999 as `+010000` (the list's open end is in year 10000: MAX_UNIX_SECONDS + 1).
 */
function timestampText(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}.${String(d.getUTCMilliseconds()).padStart(3, '0')}`;
  return `${String(d.getUTCFullYear()).padStart(4, '0')}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${time}+00`;
}

/**
 * Replaces the `$n` placeholders of `sql` by the literals of `params` (sqlLiteral), in one pass
 * (a literal's own text is never scanned again).
 * @throws Error when a placeholder has no parameter
 */
export function inlineParams(sql: string, params: unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= params.length) throw new Error(`no parameter for $${n}`);
    return sqlLiteral(params[i]);
  });
}
