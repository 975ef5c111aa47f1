/**
 * The array literals of src/prisma/pg-array-literal.ts, checked two ways: their exact text, and
 * what PostgreSQL makes of them next to the same values encoded by node-postgres (a JS array
 * parameter), on a real server (TEST_DATABASE_ADMIN_URL, default
 * postgresql://postgres@127.0.0.1:5432/postgres): it creates a throwaway database
 * (test/support/database.ts, not migrated) and drops it at the end.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, TestDatabase } from './support/database';
import { Decimal } from '../src/common/decimal';
import { ModelCallStatus, ModelType } from '../src/generated/prisma/enums';
import { isDataError } from '../src/prisma/pool-query';
import { boolArray, intArray, NulInTextError, numericArray, textArray, timestampArray, uuidArray } from '../src/prisma/pg-array-literal';

// node-postgres' own encoder of a parameter: what the statements sent before.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (v: unknown) => unknown };

const same = <T>(v: T): T => v;

/** Text that array syntax, quoting, trimming or NULL detection could change. */
const TRICKY_TEXT: (string | null)[] = [
  '',
  'NULL',
  'null',
  'Null',
  ' NULL ',
  'plain',
  '"',
  '""',
  'say "hi"',
  '\\',
  '\\\\',
  'C:\\path\\"x"\\',
  '\\"',
  'a,b',
  ',',
  '{',
  '}',
  '{a,b}',
  '{"a",NULL}',
  ' leading',
  'trailing ',
  '  both  ',
  ' ',
  '\t',
  'line\nbreak\r\n',
  'tab\there',
  'caf\u00e9 \u65e5\u672c \u{1f600}\u{1f469}\u200d\u{1f4bb} \u05e9\u05dc\u05d5\u05dd',
  "it's",
  '$1',
  'NaN',
  null,
];

const UUIDS = [randomUUID(), randomUUID(), randomUUID().toUpperCase(), '00000000-0000-0000-0000-000000000000'];

describe('array literals (text)', () => {
  it('quotes every text element, escapes only backslash and double quote, writes null as NULL', () => {
    expect(textArray(['a', null, 'NULL', '', ' x ', 'a"b\\c', '{,}'], same)).toBe('{"a",NULL,"NULL",""," x ","a\\"b\\\\c","{,}"}');
    expect(textArray([undefined], same)).toBe('{NULL}');
    expect(textArray([], same)).toBe('{}');
  });

  it('writes the very literal node-postgres writes for text', () => {
    const long = 'x"\\'.repeat(1000);
    for (const values of [TRICKY_TEXT, [null, null], [long], []]) expect(textArray(values, same)).toBe(prepareValue(values));
  });

  it('writes the other kinds unquoted', () => {
    expect(uuidArray(['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null], same)).toBe('{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}');
    expect(intArray([0, -1, 2147483647, null], same)).toBe('{0,-1,2147483647,NULL}');
    expect(boolArray([true, false, null], same)).toBe('{t,f,NULL}');
    expect(numericArray([new Decimal('-0.000000000000000001'), new Decimal('1e30'), null], same)).toBe(
      '{-0.000000000000000001,1000000000000000000000000000000,NULL}',
    );
    expect(timestampArray([new Date('2030-01-02T03:04:05.678Z'), null], same)).toBe('{2030-01-02T03:04:05.678Z,NULL}');
  });

  it('writes each time exactly as toISOString, from a Date or epoch milliseconds', () => {
    const times = [0, -1, 1, 999, 1000, -1000, -1001, 253402300799999, -62167219200000, Date.UTC(2030, 0, 1, 10, 0, 0, 123)];
    for (let i = 0; i < 20_000; i++) times.push(Math.floor((Math.random() * 2 - 0.5) * 4e12));
    // Runs of times within one second, in and out of order, as a batch has them.
    const now = Date.now();
    for (let i = 0; i < 2_000; i++) times.push(now + ((i * 7919) % 3000) - 1500);
    const expected = `{${times.map((t) => new Date(t).toISOString()).join(',')}}`;
    expect(timestampArray(times, (t) => new Date(t))).toBe(expected);
    expect(timestampArray(times, same)).toBe(expected);
    expect(timestampArray([1.9, -1.9, -0.5], same)).toBe(`{${[1, -1, 0].map((t) => new Date(t).toISOString()).join(',')}}`);
    // Outside years 0000-9999 as toISOString writes them (PostgreSQL refuses those, as before).
    expect(timestampArray([8.64e15, -8.64e15], same)).toBe(`{${new Date(8.64e15).toISOString()},${new Date(-8.64e15).toISOString()}}`);
    for (const bad of [new Date(NaN), NaN, Infinity, 8.64e15 + 1]) expect(() => timestampArray([bad], same)).toThrow(RangeError);
  });

  it('quotes what is not a plain uuid, a number or a boolean, so it can never become array syntax', () => {
    expect(uuidArray(['', 'a,b', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}', 'NULL', ' 0 '], same)).toBe(
      '{"","a,b","{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}","NULL"," 0 "}',
    );
    expect(intArray(['1,2' as unknown as number], same)).toBe('{"1,2"}');
    expect(boolArray(['false' as unknown as boolean], same)).toBe('{"false"}');
  });

  it('picks each element from its item, in order', () => {
    const rows = [
      { id: 'b', n: 2 },
      { id: 'a', n: 1 },
    ];
    expect(textArray(rows, (r) => r.id)).toBe('{"b","a"}');
    expect(intArray(rows, (r) => r.n)).toBe('{2,1}');
  });

  it('refuses a NUL character with the error PostgreSQL gives for it (SQLSTATE 22021), never strips it', () => {
    for (const encode of [() => textArray(['ok', 'a\u0000b'], same), () => uuidArray(['\u0000'], same)]) {
      expect(encode).toThrow(NulInTextError);
      expect(encode).toThrow('invalid byte sequence for encoding "UTF8": 0x00');
    }
    let caught: unknown;
    try {
      textArray(['\u0000'], same);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: '22021' });
    expect(isDataError(caught)).toBe(true);
  });
});

describe('array literals in PostgreSQL (against node-postgres encoding the same values)', () => {
  let db: TestDatabase;
  let c: Client;

  beforeAll(async () => {
    db = await createTestDatabase('pg_array_literal', { migrate: false });
    c = new Client({ connectionString: db.url });
    await c.connect();
    const label = (o: object) => Object.values(o).map((v: string) => `'${v}'`);
    await c.query(`CREATE TYPE "ModelType" AS ENUM (${label(ModelType).join(', ')})`);
    await c.query(`CREATE TYPE "ModelCallStatus" AS ENUM (${label(ModelCallStatus).join(', ')})`);
  });

  afterAll(async () => {
    await c?.end().catch(() => undefined);
    await db?.drop();
  });

  /**
   * The array PostgreSQL reads from our literal ($1) and from node-postgres' encoding of the JS
   * array ($2), both cast to `type`: whether they are the same array (IS NOT DISTINCT FROM:
   * elements, nulls, length), and each as PostgreSQL writes it back as text.
   */
  async function both(type: string, literal: string, values: unknown[]): Promise<{ same: boolean; ours: string; theirs: string }> {
    const res = await c.query<{ same: boolean; ours: string; theirs: string }>(
      `SELECT $1::${type} IS NOT DISTINCT FROM $2::${type} AS same, $1::${type}::text AS ours, $2::${type}::text AS theirs`,
      [literal, values],
    );
    return res.rows[0];
  }

  it.each([
    ['tricky text', TRICKY_TEXT],
    ['nulls first', [null, 'a', 'b']],
    ['nulls in the middle', ['a', null, null, 'b']],
    ['nulls last', ['a', 'b', null]],
    ['nulls only', [null, null, null]],
    ['an empty array', []],
    ['one empty string', ['']],
  ])('text[]: %s round-trip exactly', async (_, values) => {
    const literal = textArray(values, same);
    const { same: equal, ours, theirs } = await both('text[]', literal, values);
    expect(equal).toBe(true);
    expect(ours).toBe(theirs);
    const back = await c.query<{ v: (string | null)[] }>('SELECT $1::text[] AS v', [literal]);
    expect(back.rows[0].v).toEqual(values);
  });

  it('text[]: a 1 MB element with quotes, backslashes, braces and newlines round-trips exactly', async () => {
    const chunk = 'a"b\\c{d},e NULL\n\t\u{1f600}';
    const big = chunk.repeat(Math.ceil((1 << 20) / chunk.length));
    const values = [big, null, `"${big}"`];
    const res = await c.query<{ v: (string | null)[]; same: boolean }>('SELECT $1::text[] AS v, $1::text[] = $2::text[] AS same', [
      textArray(values, same),
      values,
    ]);
    expect(res.rows[0].same).toBe(true);
    expect(res.rows[0].v[0]).toBe(big);
    expect(res.rows[0].v).toEqual(values);
  });

  it('uuid[]: uuids, nulls in every position, upper case, an empty array', async () => {
    for (const values of [UUIDS, [null, ...UUIDS], [UUIDS[0], null, UUIDS[1]], [...UUIDS, null], [null], []]) {
      const literal = uuidArray(values, same);
      expect(await both('uuid[]', literal, values)).toMatchObject({ same: true });
      const back = await c.query<{ v: string[] }>('SELECT $1::uuid[] AS v', [literal]);
      expect(back.rows[0].v).toEqual(values.map((u) => u?.toLowerCase() ?? null));
    }
  });

  it('uuid[]: what is not a uuid is refused with the error node-postgres encoding gets', async () => {
    for (const bad of ['', 'not-a-uuid', 'a,b', `${UUIDS[0]},${UUIDS[1]}`, 'NULL', '{x}', 'a"b']) {
      const ours = await c.query('SELECT $1::uuid[]', [uuidArray([bad], same)]).catch((e: Error & { code?: string }) => e);
      const theirs = await c.query('SELECT $1::uuid[]', [[bad]]).catch((e: Error & { code?: string }) => e);
      expect(ours).toBeInstanceOf(Error);
      expect({ code: (ours as { code?: string }).code, message: (ours as Error).message }).toEqual({
        code: (theirs as { code?: string }).code,
        message: (theirs as Error).message,
      });
    }
  });

  it('uuid[]: the braced form PostgreSQL also accepts reads the same', async () => {
    const values = [`{${UUIDS[0]}}`];
    expect(await both('uuid[]', uuidArray(values, same), values)).toMatchObject({ same: true });
  });

  it('integer[] and bigint[]: negative, zero, the limits, nulls, an empty array', async () => {
    const ints = [0, -1, 1, -2147483648, 2147483647, 42, null];
    expect(await both('integer[]', intArray(ints, same), ints)).toEqual({
      same: true,
      ours: '{0,-1,1,-2147483648,2147483647,42,NULL}',
      theirs: '{0,-1,1,-2147483648,2147483647,42,NULL}',
    });
    const bigs = [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, null];
    expect(await both('bigint[]', intArray(bigs, same), bigs)).toMatchObject({
      same: true,
      ours: '{9007199254740991,-9007199254740991,NULL}',
    });
    expect(await both('integer[]', intArray([], same), [])).toMatchObject({ same: true, ours: '{}' });
  });

  it('integer[]: what is no integer is refused with the error node-postgres encoding gets', async () => {
    for (const bad of [1.5, 2147483648, NaN, Infinity, 1e21]) {
      const ours = await c.query('SELECT $1::integer[]', [intArray([bad], same)]).catch((e: Error) => e);
      const theirs = await c.query('SELECT $1::integer[]', [[bad]]).catch((e: Error) => e);
      expect(ours).toBeInstanceOf(Error);
      expect([(ours as { code?: string }).code, (ours as Error).message]).toEqual([
        (theirs as { code?: string }).code,
        (theirs as Error).message,
      ]);
    }
  });

  it('numeric[]: 18+ digits, many decimals, negative, zero, nulls: exact', async () => {
    const decimals = [
      new Decimal('123456789012345678901234567.123456789012345678'),
      new Decimal('-0.000000000000000001'),
      new Decimal('0'),
      new Decimal('0.0046'),
      null,
      new Decimal('-98765432109876543210.5'),
      new Decimal('1e-30'),
    ];
    const literal = numericArray(decimals, same);
    const res = await both(
      'numeric[]',
      literal,
      decimals.map((d) => d?.toFixed() ?? null),
    );
    expect(res.same).toBe(true);
    expect(res.ours).toBe(res.theirs);
    const back = await c.query<{ v: (string | null)[] }>('SELECT $1::numeric[]::text[] AS v', [literal]);
    expect(back.rows[0].v).toEqual(decimals.map((d) => d?.toFixed() ?? null));
  });

  it('boolean[]: true, false, nulls', async () => {
    const values = [true, false, null, true];
    expect(await both('boolean[]', boolArray(values, same), values)).toEqual({ same: true, ours: '{t,f,NULL,t}', theirs: '{t,f,NULL,t}' });
  });

  it('timestamptz[]: equal to the millisecond, whatever the session time zone', async () => {
    const dates = [
      new Date('2030-01-01T10:00:00.000Z'),
      new Date('2030-06-30T23:59:59.999Z'),
      new Date('1999-12-31T23:59:59.001Z'),
      null,
      new Date(Date.UTC(2026, 1, 28, 12, 34, 56, 789)),
    ];
    const literal = timestampArray(dates, same);
    for (const zone of ['UTC', 'America/St_Johns', 'Asia/Kathmandu']) {
      await c.query(`SET TIME ZONE '${zone}'`);
      expect(await both('timestamptz[]', literal, dates)).toMatchObject({ same: true });
      const back = await c.query<{ v: (Date | null)[] }>('SELECT $1::timestamptz[] AS v', [literal]);
      expect(back.rows[0].v.map((d) => d?.getTime() ?? null)).toEqual(dates.map((d) => d?.getTime() ?? null));
    }
    await c.query('RESET TIME ZONE');
  });

  it('enum arrays read as text: labels and nulls', async () => {
    const types = [ModelType.chatCompletion, null, ModelType.embedding, ModelType.imageGeneration];
    expect(await both('"ModelType"[]', textArray(types, same), types)).toEqual({
      same: true,
      ours: '{chatCompletion,NULL,embedding,imageGeneration}',
      theirs: '{chatCompletion,NULL,embedding,imageGeneration}',
    });
    const statuses = Object.values(ModelCallStatus);
    expect(await both('"ModelCallStatus"[]', textArray(statuses, same), statuses)).toMatchObject({ same: true });
  });

  it('a batch of parallel columns unnests into the same rows', async () => {
    const rows = TRICKY_TEXT.map((t, i) => ({
      id: i % 5 === 0 ? null : randomUUID(),
      text: t,
      n: i % 4 === 0 ? null : i - 10,
      ok: i % 3 === 0 ? null : i % 2 === 0,
      amount: i % 6 === 0 ? null : new Decimal(`${i}.${'9'.repeat(i)}`).neg(),
      at: i % 7 === 0 ? null : new Date(Date.UTC(2030, 0, 1, 0, 0, i, i)),
    }));
    const sql = (a: number) =>
      `SELECT * FROM unnest($${a}::uuid[], $${a + 1}::text[], $${a + 2}::integer[], $${a + 3}::boolean[], $${a + 4}::numeric[], $${a + 5}::timestamptz[]) WITH ORDINALITY`;
    const res = await c.query<{ ours: number; theirs: number; diff: number }>(
      `WITH o AS (${sql(1)}), t AS (${sql(7)})
       SELECT (SELECT count(*) FROM o)::int AS ours, (SELECT count(*) FROM t)::int AS theirs,
         (SELECT count(*) FROM ((TABLE o EXCEPT ALL TABLE t) UNION ALL (TABLE t EXCEPT ALL TABLE o)) d)::int AS diff`,
      [
        uuidArray(rows, (r) => r.id),
        textArray(rows, (r) => r.text),
        intArray(rows, (r) => r.n),
        boolArray(rows, (r) => r.ok),
        numericArray(rows, (r) => r.amount),
        timestampArray(rows, (r) => r.at),
        rows.map((r) => r.id),
        rows.map((r) => r.text),
        rows.map((r) => r.n),
        rows.map((r) => r.ok),
        rows.map((r) => r.amount?.toFixed() ?? null),
        rows.map((r) => r.at?.toISOString() ?? null),
      ],
    );
    expect(res.rows[0]).toEqual({ ours: rows.length, theirs: rows.length, diff: 0 });
  });
});
