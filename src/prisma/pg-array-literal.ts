import type { Decimal } from '../common/decimal';

/*
 * PostgreSQL array literals (text such as `{a,"b c",NULL}`) for the array parameters of the
 * batched hot-path statements (tollgate_record_calls, tollgate_credit_hold_batch). node-postgres
 * sends a string parameter as it is, so `$1::text[]` given one of these strings reads as the same
 * array as given the JS array, which node-postgres turns into such a literal itself (arrayString
 * in node_modules/pg/lib/utils.js), element by element through its generic prepareValue (any JS
 * value, Dates in local time, objects as JSON), every element quoted. Here each function knows
 * its element kind and builds the column straight from the records (no intermediate array of
 * values): text comes out byte for byte as node-postgres writes it, skipping the escaping regexes
 * when an element has nothing to escape; the other kinds go unquoted, the same values.
 *
 * The rules applied are those of the PostgreSQL manual, "Arrays", section "Array Value Input":
 * - elements are separated by commas (the delimiter of every type used here) inside braces;
 * - an unquoted element has its surrounding whitespace ignored, and an unquoted NULL (in any case)
 *   is a null element; an empty element, or one containing braces, commas, double quotes,
 *   backslashes or whitespace must be double-quoted;
 * - inside double quotes a double quote or a backslash is written after a backslash; every other
 *   character (newline, tab, braces, commas, any unicode) stands for itself.
 * Text is therefore always quoted (the string "NULL" stays a string, spaces at both ends stay),
 * and only elements whose characters can never form array syntax go unquoted (numbers, t/f,
 * ISO-8601 timestamps, hex uuids).
 *
 * Shape: every function takes the items and a `pick` giving each item's element (null or
 * undefined: a NULL element), one element per item in order, so a column of a batch is
 * `textArray(records, (r) => r.model)`; no items give `{}` (an empty array).
 */

/**
 * PostgreSQL's own refusal of a NUL character in text (SQLSTATE 22021, with PostgreSQL's message),
 * thrown before the statement is sent. PostgreSQL refuses a text parameter containing U+0000 with
 * this same error whatever its encoding, so a caller sees what it saw from the driver's encoding:
 * a data error (isDataError in src/prisma/pool-query.ts) that splits a batch down to the bad row
 * (src/model-calls/call-record-writer.ts). NULs are refused, never stripped: a record's text is
 * cleaned before it is written (sanitizeRecord in src/model-calls/call-record.ts), and silently
 * changing text here would hide a caller that forgot to.
 */
export class NulInTextError extends Error {
  readonly code = '22021';
  constructor() {
    super('invalid byte sequence for encoding "UTF8": 0x00');
    this.name = 'NulInTextError';
  }
}

/** Characters of a uuid written out in hex: never array syntax, never whitespace, never NULL. */
const PLAIN_UUID = /^[0-9A-Fa-f-]+$/;
const QUOTE_OR_BACKSLASH = /["\\]/g;

/**
 * A text element, double-quoted: `"` and `\` get a backslash before them, nothing else changes.
 * @throws NulInTextError when it contains U+0000
 */
function quoted(s: string): string {
  if (s.indexOf('\u0000') !== -1) throw new NulInTextError();
  if (s.indexOf('"') !== -1 || s.indexOf('\\') !== -1) s = s.replace(QUOTE_OR_BACKSLASH, '\\$&');
  return '"' + s + '"';
}

/**
 * The literal of one column: `{e1,e2,…}`, `element(v)` for each item's value, NULL where `pick`
 * gives null or undefined, `{}` for no items. `element` must return text that is not array syntax
 * (quoted, or made only of characters that never are).
 */
function arrayLiteral<T, V>(items: readonly T[], pick: (item: T) => V | null | undefined, element: (v: V) => string): string {
  let out = '{';
  for (let i = 0; i < items.length; i++) {
    const v = pick(items[i]);
    if (i > 0) out += ',';
    out += v == null ? 'NULL' : element(v);
  }
  return out + '}';
}

/**
 * `text[]`, and any enum array (`$1::"ModelType"[]`: an enum's input is its label as text): every
 * element double-quoted, `\` and `"` escaped, null elements unquoted NULL.
 * @throws NulInTextError when an element contains U+0000
 */
export function textArray<T>(items: readonly T[], pick: (item: T) => string | null | undefined): string {
  return arrayLiteral(items, pick, quoted);
}

/**
 * `uuid[]`: an element made of hex digits and hyphens only (any uuid as JavaScript writes it)
 * goes unquoted, as no such text is array syntax; anything else is quoted like text, so it reaches
 * PostgreSQL's uuid input unchanged and is refused there as before (never split into elements).
 * @throws NulInTextError when an element contains U+0000
 */
export function uuidArray<T>(items: readonly T[], pick: (item: T) => string | null | undefined): string {
  return arrayLiteral(items, pick, (v) => (PLAIN_UUID.test(v) ? v : quoted(v)));
}

/**
 * `integer[]` (or any integer type): each number as String(n), unquoted: the text node-postgres
 * sends for it. A JavaScript number is written with digits, `.`, `e`, `+`, `-` or as NaN /
 * Infinity, none of which is array syntax; a fraction or NaN is refused by PostgreSQL's integer
 * input exactly as before. Anything else that reaches it at run time despite the types (a record
 * read back from JSON) is quoted as text.
 */
export function intArray<T>(items: readonly T[], pick: (item: T) => number | null | undefined): string {
  return arrayLiteral(items, pick, (v) => (typeof v === 'number' ? String(v) : quoted(String(v))));
}

/**
 * `boolean[]`: t and f, unquoted (PostgreSQL's own output; its input takes them like true and
 * false). Anything but a boolean that reaches it at run time despite the types is quoted as text,
 * as node-postgres would send it (so the string "false" stays false, and "yes" is refused).
 */
export function boolArray<T>(items: readonly T[], pick: (item: T) => boolean | null | undefined): string {
  return arrayLiteral(items, pick, (v) => (v === true ? 't' : v === false ? 'f' : quoted(String(v))));
}

/**
 * `numeric[]`: each Decimal as its toFixed() (every digit, no exponent: the exact value), unquoted.
 * Decimal.js writes it with digits, `.` and `-`, or as NaN / Infinity / -Infinity, which numeric's
 * input takes; none is array syntax.
 */
export function numericArray<T>(items: readonly T[], pick: (item: T) => Decimal | null | undefined): string {
  return arrayLiteral(items, pick, (v) => v.toFixed());
}

/**
 * `timestamptz[]`: each time (a Date, or epoch milliseconds) as Date.prototype.toISOString writes
 * it (`2030-01-01T10:00:00.123Z`: UTC, milliseconds), unquoted: digits, `-`, `+`, `:`, `.`, `T`
 * and `Z` are not array syntax. Exact to the millisecond, whatever the process's or the session's
 * time zone (node-postgres writes a Date in the process's local time). Years outside 0000-9999
 * come out as toISOString writes them (`+010000-…`), which PostgreSQL refuses, as it did when the
 * statements passed toISOString strings.
 * @throws RangeError for an invalid Date or a time no Date holds (as Date.prototype.toISOString)
 */
export function timestampArray<T>(items: readonly T[], pick: (item: T) => Date | number | null | undefined): string {
  // Math.trunc: what new Date(ms) keeps of a fractional ms (TimeClip).
  return arrayLiteral(items, pick, (v) => isoTimestamp(typeof v === 'number' ? Math.trunc(v) : v.getTime()));
}

/** '000' to '999', the milliseconds of isoTimestamp. */
const MILLIS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** The second isoTimestamp formatted last (epoch seconds) and its text up to the milliseconds. */
let cachedSecond = NaN;
let cachedPrefix = '';

/**
 * new Date(ms).toISOString() for an integer `ms`, the same text. V8's toISOString costs ~0.5 µs
 * and the times of a batch mostly fall within one second, so the text of the last second formatted
 * up to its milliseconds (`2030-01-01T10:00:00.`) is kept and only the milliseconds are appended.
 * Any other second is formatted by toISOString itself (and not kept when its text is not the usual
 * 24 characters, i.e. outside years 0000-9999).
 */
function isoTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const text = new Date(ms).toISOString();
    if (text.length !== 24) return text;
    cachedSecond = second;
    cachedPrefix = text.slice(0, 20);
  }
  return cachedPrefix + (MILLIS[ms - second * 1000] + 'Z');
}
