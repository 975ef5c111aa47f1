/**
 * Proves the database that prisma/migrations builds matches prisma/schema.prisma, so the hand-written
 * SQL and the schema cannot drift apart unnoticed (see docs/migrations.md: without the
 * schema engine, `prisma migrate diff` is not available to do this).
 *
 * The schema is parsed by Prisma's own parser: `get_dmmf` of @prisma/prisma-schema-wasm, whose .wasm
 * is byte-identical to the one inside the installed `prisma` CLI (checked below). The same facts are
 * read from pg_catalog of a freshly migrated database and compared both ways, per category:
 * enums (values in order), tables, columns (type, nullability, default), primary keys, indexes
 * (unique or not, columns, order, method, name) and foreign keys (columns, target, ON DELETE/UPDATE).
 * Index and key names follow Prisma's defaults ({table}_pkey, {table}_{cols}_key / _idx) unless the
 * schema maps them; foreign-key names are not compared (the DMMF does not carry `map:` of @relation).
 * Functions, triggers and CHECK constraints are outside Prisma's model and are not compared.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { get_dmmf } from '@prisma/prisma-schema-wasm';
import { createTestDatabase, type TestDatabase } from './support/database';

const ROOT = path.resolve(__dirname, '..');
const SCHEMA_PATH = path.join(ROOT, 'prisma', 'schema.prisma');
const PG_MAX_IDENT = 63;

// ---------------------------------------------------------------------------------------------
// The DMMF (the subset used here; shapes as get_dmmf returns them).

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  isList: boolean;
  isRequired: boolean;
  hasDefaultValue: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName: string | null }[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  algorithm?: string;
  fields: { name: string; sortOrder?: 'asc' | 'desc' }[];
}
interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: DmmfEnum[]; indexes: DmmfIndex[] };
}

/** Parses a schema with Prisma's parser. Errors come back as JSON with ANSI colours: made readable. */
function parseSchema(schema: string, fileName = 'schema.prisma'): Dmmf {
  try {
    return JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [[fileName, schema]] }))) as Dmmf;
  } catch (err) {
    let message = String((err as Error)?.message ?? err);
    try {
      message = (JSON.parse(message) as { message: string }).message;
    } catch {
      /* not JSON */
    }
    // eslint-disable-next-line no-control-regex -- strips ANSI colour codes (ESC [ … m)
    throw new Error(`Prisma could not parse ${fileName}:\n${message.replace(/\u001b\[[0-9;]*m/g, '')}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// Facts: one readable line per thing that must exist, per category.

const CATEGORIES = ['enums', 'tables', 'columns', 'primary keys', 'indexes', 'foreign keys'] as const;
type Category = (typeof CATEGORIES)[number];
type Facts = Record<Category, string[]>;

const emptyFacts = (): Facts => ({ enums: [], tables: [], columns: [], 'primary keys': [], indexes: [], 'foreign keys': [] });

/**
 * Canonical form of a column default, so that equivalent SQL spellings compare equal: casts dropped
 * (`'x'::text` → `'x'`, `ARRAY[]::text[]` → `ARRAY[]`), quoted numbers unquoted (`'-1'::integer` → `-1`).
 * The column's type is compared separately.
 */
function canonicalDefault(expr: string | null): string | null {
  if (expr === null) return null;
  const cast = /::(?:"(?:[^"]|"")+"|[a-z_][a-z0-9_]*(?: [a-z_][a-z0-9_]*)*)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*/g;
  let out = expr;
  for (let prev = ''; prev !== out;) {
    prev = out;
    out = out.replace(cast, '');
  }
  return out.replace(/'(-?\d+(?:\.\d+)?)'/g, '$1');
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Prisma's default constraint/index name: {table}_{columns}{suffix}, cut to fit 63 bytes. */
function prismaDefaultName(table: string, columns: string[], suffix: '_pkey' | '_key' | '_idx'): string {
  const base = suffix === '_pkey' ? table : [table, ...columns].join('_');
  return base.slice(0, PG_MAX_IDENT - suffix.length) + suffix;
}

/** The PostgreSQL type (as the catalog reader below prints it) that Prisma creates for a field. */
function expectedType(field: DmmfField, enums: Map<string, DmmfEnum>): string {
  const [native, args] = field.nativeType ?? [null, []];
  const n = (i: number) => args[i];
  const withP = (name: string, tz: string) => `${name}(${args.length ? n(0) : 6}) ${tz}`;
  let t: string | undefined;
  if (field.kind === 'enum') {
    const e = enums.get(field.type);
    t = `enum ${e?.dbName ?? field.type}`;
  } else if (field.kind === 'scalar') {
    const byNative: Record<string, Record<string, () => string>> = {
      String: {
        Text: () => 'text',
        VarChar: () => (args.length ? `character varying(${n(0)})` : 'character varying'),
        Char: () => `character(${args.length ? n(0) : 1})`,
        Uuid: () => 'uuid',
        Xml: () => 'xml',
        Inet: () => 'inet',
        Citext: () => 'citext',
        Bit: () => `bit(${args.length ? n(0) : 1})`,
        VarBit: () => (args.length ? `bit varying(${n(0)})` : 'bit varying'),
      },
      Int: { Integer: () => 'integer', SmallInt: () => 'smallint', Oid: () => 'oid' },
      BigInt: { BigInt: () => 'bigint' },
      Float: { DoublePrecision: () => 'double precision', Real: () => 'real' },
      Decimal: { Decimal: () => (args.length ? `numeric(${n(0)},${n(1)})` : 'numeric'), Money: () => 'money' },
      Boolean: { Boolean: () => 'boolean' },
      DateTime: {
        Timestamptz: () => withP('timestamp', 'with time zone'),
        Timestamp: () => withP('timestamp', 'without time zone'),
        Date: () => 'date',
        Time: () => withP('time', 'without time zone'),
        Timetz: () => withP('time', 'with time zone'),
      },
      Json: { Json: () => 'json', JsonB: () => 'jsonb' },
      Bytes: { ByteA: () => 'bytea' },
    };
    const plain: Record<string, string> = {
      String: 'text',
      Int: 'integer',
      BigInt: 'bigint',
      Float: 'double precision',
      Decimal: 'numeric(65,30)',
      Boolean: 'boolean',
      DateTime: 'timestamp(3) without time zone',
      Json: 'jsonb',
      Bytes: 'bytea',
    };
    t = native === null ? plain[field.type] : byNative[field.type]?.[native]?.();
  }
  if (!t) {
    throw new Error(
      `schema-drift: no PostgreSQL type known for ${field.type}${field.nativeType ? ` @db.${native}` : ''} (field ${field.name}); extend expectedType()`,
    );
  }
  return field.isList ? `${t}[]` : t;
}

/** The column default Prisma's migrations create for a field, in canonicalDefault() form (null = none). */
function expectedDefault(field: DmmfField, table: string, column: string, enums: Map<string, DmmfEnum>): string | null {
  if (!field.hasDefaultValue || field.default === undefined) return null;
  const literal = (v: unknown): string => {
    if (field.kind === 'enum') {
      const e = enums.get(field.type);
      const value = e?.values.find((x) => x.name === v);
      return sqlString(value?.dbName ?? String(v));
    }
    if (typeof v === 'boolean') return String(v);
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') {
      if (['Int', 'BigInt', 'Float', 'Decimal'].includes(field.type)) return v; // BigInt defaults come as strings
      if (field.type === 'String' || field.type === 'Json' || field.type === 'DateTime') return sqlString(v);
    }
    throw new Error(`schema-drift: default ${JSON.stringify(v)} of ${table}.${column} not supported; extend expectedDefault()`);
  };
  const d = field.default;
  if (Array.isArray(d)) return `ARRAY[${d.map(literal).join(', ')}]`;
  if (d !== null && typeof d === 'object' && 'name' in d) {
    const fn = d as { name: string; args: unknown[] };
    switch (fn.name) {
      case 'now':
        return 'CURRENT_TIMESTAMP';
      case 'uuid':
      case 'cuid':
      case 'nanoid':
      case 'ulid':
        return null; // generated by the Prisma client, no database default
      case 'autoincrement':
        return `nextval('${table}_${column}_seq')`; // SERIAL's sequence
      case 'dbgenerated':
        return canonicalDefault(String(fn.args[0] ?? ''));
      default:
        throw new Error(`schema-drift: @default(${fn.name}()) on ${table}.${column} not supported; extend expectedDefault()`);
    }
  }
  return literal(d);
}

const ON_ACTION: Record<string, string> = {
  Cascade: 'CASCADE',
  Restrict: 'RESTRICT',
  NoAction: 'NO ACTION',
  SetNull: 'SET NULL',
  SetDefault: 'SET DEFAULT',
};

/** What schema.prisma says the database must contain. */
function factsFromDmmf(dmmf: Dmmf): Facts {
  const facts = emptyFacts();
  const { models, enums, indexes } = dmmf.datamodel;
  const enumByName = new Map(enums.map((e) => [e.name, e]));
  const modelByName = new Map(models.map((m) => [m.name, m]));
  const tableOf = (m: DmmfModel) => m.dbName ?? m.name;
  const columnOf = (m: DmmfModel, fieldName: string) => {
    const f = m.fields.find((x) => x.name === fieldName);
    if (!f) throw new Error(`schema-drift: model ${m.name} has no field ${fieldName}`);
    return f.dbName ?? f.name;
  };

  for (const e of enums) facts.enums.push(`enum ${e.dbName ?? e.name} (${e.values.map((v) => v.dbName ?? v.name).join(', ')})`);

  for (const m of models) {
    const table = tableOf(m);
    facts.tables.push(table);
    for (const f of m.fields) {
      if (f.kind === 'object') continue;
      const column = f.dbName ?? f.name;
      // Prisma creates scalar lists without NOT NULL; other required fields are NOT NULL.
      const nullable = !f.isRequired || f.isList;
      const def = expectedDefault(f, table, column, enumByName);
      facts.columns.push(
        `${table}.${column}: ${expectedType(f, enumByName)} ${nullable ? 'NULL' : 'NOT NULL'}${def === null ? '' : ` DEFAULT ${def}`}`,
      );
    }
    for (const rel of m.fields) {
      if (rel.kind !== 'object' || !rel.relationFromFields?.length) continue;
      const target = modelByName.get(rel.type)!;
      const from = rel.relationFromFields.map((x) => columnOf(m, x));
      const to = (rel.relationToFields ?? []).map((x) => columnOf(target, x));
      // Prisma's defaults: onDelete Restrict for a required relation, SetNull for an optional one; onUpdate Cascade.
      const onDelete = ON_ACTION[rel.relationOnDelete ?? (rel.isRequired ? 'Restrict' : 'SetNull')];
      const onUpdate = ON_ACTION[rel.relationOnUpdate ?? 'Cascade'];
      facts['foreign keys'].push(
        `${table} (${from.join(', ')}) -> ${tableOf(target)} (${to.join(', ')}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`,
      );
    }
  }

  for (const ix of indexes) {
    const m = modelByName.get(ix.model)!;
    const table = tableOf(m);
    const cols = ix.fields.map((f) => columnOf(m, f.name));
    const colsWithOrder = ix.fields.map((f, i) => `${cols[i]}${f.sortOrder === 'desc' ? ' DESC' : ''}`);
    if (ix.type === 'id') {
      facts['primary keys'].push(`${table}: ${ix.dbName ?? prismaDefaultName(table, cols, '_pkey')} (${cols.join(', ')})`);
    } else if (ix.type === 'unique' || ix.type === 'normal') {
      const unique = ix.type === 'unique';
      const name = ix.dbName ?? prismaDefaultName(table, cols, unique ? '_key' : '_idx');
      const method = (ix.algorithm ?? 'BTree').toLowerCase();
      facts.indexes.push(
        `${table}: ${unique ? 'UNIQUE ' : ''}${name} (${colsWithOrder.join(', ')})${method === 'btree' ? '' : ` USING ${method}`}`,
      );
    } else {
      throw new Error(`schema-drift: index type ${ix.type} on ${ix.model} not supported on PostgreSQL`);
    }
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// The same facts, read from the database's catalog.

const MIGRATIONS_TABLE = '_prisma_migrations';
const FK_ACTION: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

async function factsFromDatabase(url: string): Promise<Facts> {
  const facts = emptyFacts();
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const enums = await c.query<{ name: string; values: string[] }>(`
      SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
        FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE n.nspname = current_schema() GROUP BY t.typname`);
    for (const e of enums.rows) facts.enums.push(`enum ${e.name} (${e.values.join(', ')})`);

    const tables = await c.query<{ name: string; kind: string }>(
      `
      SELECT c.relname AS name, c.relkind AS kind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname <> $1`,
      [MIGRATIONS_TABLE],
    );
    for (const t of tables.rows) facts.tables.push(t.kind === 'r' || t.kind === 'p' ? t.name : `${t.name} (relkind ${t.kind})`);

    const columns = await c.query<{
      table: string;
      column: string;
      type: string;
      nullable: boolean;
      default: string | null;
      enum_name: string | null;
      is_array: boolean;
      generated: string;
    }>(
      `
      SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
             NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS default,
             CASE WHEN t.typtype = 'e' THEN t.typname WHEN et.typtype = 'e' THEN et.typname END AS enum_name,
             t.typcategory = 'A' AS is_array, a.attgenerated AS generated
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_type t ON t.oid = a.atttypid
        LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname <> $1
         AND a.attnum > 0 AND NOT a.attisdropped`,
      [MIGRATIONS_TABLE],
    );
    for (const col of columns.rows) {
      let type = col.enum_name ? `enum ${col.enum_name}${col.is_array ? '[]' : ''}` : col.type;
      // No precision written means PostgreSQL's default, 6 (what Prisma's @db.Timestamptz without arguments means).
      type = type.replace(/^(timestamp|time) (with|without) time zone/, '$1(6) $2 time zone');
      const def = col.generated ? `GENERATED ${col.default}` : canonicalDefault(col.default);
      facts.columns.push(
        `${col.table}.${col.column}: ${type} ${col.nullable ? 'NULL' : 'NOT NULL'}${def === null ? '' : ` DEFAULT ${def}`}`,
      );
    }

    const indexes = await c.query<{
      table: string;
      name: string;
      primary: boolean;
      unique: boolean;
      method: string;
      columns: string[];
      included: string[];
      predicate: string | null;
    }>(
      `
      SELECT tc.relname AS table, ic.relname AS name, x.indisprimary AS primary, x.indisunique AS unique, am.amname AS method,
             array(SELECT pg_get_indexdef(x.indexrelid, k, true)
                          || CASE WHEN pg_index_column_has_property(x.indexrelid, k, 'desc') THEN ' DESC' ELSE '' END
                          || CASE WHEN pg_index_column_has_property(x.indexrelid, k, 'desc')
                                        AND pg_index_column_has_property(x.indexrelid, k, 'nulls_last') THEN ' NULLS LAST'
                                  WHEN pg_index_column_has_property(x.indexrelid, k, 'asc')
                                        AND pg_index_column_has_property(x.indexrelid, k, 'nulls_first') THEN ' NULLS FIRST'
                                  ELSE '' END
                     FROM generate_series(1, x.indnkeyatts) k ORDER BY k) AS columns,
             array(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(x.indnkeyatts + 1, x.indnatts) k ORDER BY k) AS included,
             pg_get_expr(x.indpred, x.indrelid) AS predicate
        FROM pg_index x
        JOIN pg_class ic ON ic.oid = x.indexrelid
        JOIN pg_class tc ON tc.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = tc.relnamespace
        JOIN pg_am am ON am.oid = ic.relam
       WHERE n.nspname = current_schema() AND tc.relname <> $1`,
      [MIGRATIONS_TABLE],
    );
    for (const ix of indexes.rows) {
      const cols = ix.columns.map((s) => s.replace(/^"(.*)"( |$)/, '$1$2'));
      if (ix.primary) {
        facts['primary keys'].push(`${ix.table}: ${ix.name} (${cols.join(', ')})`);
        continue;
      }
      facts.indexes.push(
        `${ix.table}: ${ix.unique ? 'UNIQUE ' : ''}${ix.name} (${cols.join(', ')})${ix.method === 'btree' ? '' : ` USING ${ix.method}`}` +
          `${ix.included.length ? ` INCLUDE (${ix.included.join(', ')})` : ''}${ix.predicate ? ` WHERE ${ix.predicate}` : ''}`,
      );
    }

    const fks = await c.query<{
      table: string;
      columns: string[];
      target: string;
      target_columns: string[];
      on_delete: string;
      on_update: string;
    }>(`
      SELECT src.relname AS table,
             array(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, i)
                     JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum ORDER BY u.i) AS columns,
             dst.relname AS target,
             array(SELECT a.attname::text FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, i)
                     JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum ORDER BY u.i) AS target_columns,
             k.confdeltype AS on_delete, k.confupdtype AS on_update
        FROM pg_constraint k
        JOIN pg_class src ON src.oid = k.conrelid
        JOIN pg_class dst ON dst.oid = k.confrelid
        JOIN pg_namespace n ON n.oid = k.connamespace
       WHERE k.contype = 'f' AND n.nspname = current_schema()`);
    for (const fk of fks.rows) {
      facts['foreign keys'].push(
        `${fk.table} (${fk.columns.join(', ')}) -> ${fk.target} (${fk.target_columns.join(', ')}) ON DELETE ${FK_ACTION[fk.on_delete]} ON UPDATE ${FK_ACTION[fk.on_update]}`,
      );
    }
  } finally {
    await c.end();
  }
  return facts;
}

// ---------------------------------------------------------------------------------------------
// Comparison.

interface Drift {
  onlyInSchema: string[];
  onlyInDatabase: string[];
}

function drift(expected: string[], actual: string[]): Drift {
  const e = new Set(expected);
  const a = new Set(actual);
  return {
    onlyInSchema: [...e].filter((x) => !a.has(x)).sort(),
    onlyInDatabase: [...a].filter((x) => !e.has(x)).sort(),
  };
}

function describeDrift(category: string, d: Drift): string {
  const lines = [`Schema drift in ${category}: prisma/schema.prisma and the database built by prisma/migrations differ.`];
  if (d.onlyInSchema.length)
    lines.push('  in schema.prisma, missing from the migrated database:', ...d.onlyInSchema.map((x) => `    - ${x}`));
  if (d.onlyInDatabase.length)
    lines.push('  in the migrated database, not in schema.prisma:', ...d.onlyInDatabase.map((x) => `    + ${x}`));
  lines.push(
    'Fix: add a new migration folder under prisma/migrations whose SQL makes the database match schema.prisma ' +
      '(the SQL Prisma would write), or correct schema.prisma. Never edit a migration that was already applied somewhere.',
  );
  return lines.join('\n');
}

function expectNoDrift(category: string, expected: string[], actual: string[]): void {
  const d = drift(expected, actual);
  if (d.onlyInSchema.length || d.onlyInDatabase.length) throw new Error(describeDrift(category, d));
}

// ---------------------------------------------------------------------------------------------

describe('schema drift: database migrated by prisma/migrations vs prisma/schema.prisma', () => {
  let db: TestDatabase;
  let expected: Facts;
  let actual: Facts;

  beforeAll(async () => {
    expected = factsFromDmmf(parseSchema(fs.readFileSync(SCHEMA_PATH, 'utf8')));
    db = await createTestDatabase('schema_drift');
    actual = await factsFromDatabase(db.url);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('parses schema.prisma with the same engine build as the installed prisma CLI', () => {
    const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const ours = path.join(path.dirname(require.resolve('@prisma/prisma-schema-wasm')), 'prisma_schema_build_bg.wasm');
    const cli = path.join(path.dirname(require.resolve('prisma/package.json')), 'build', 'prisma_schema_build_bg.wasm');
    const cliVersion = (JSON.parse(fs.readFileSync(require.resolve('prisma/package.json'), 'utf8')) as { version: string }).version;
    // If this fails after upgrading prisma: install the @prisma/prisma-schema-wasm whose wasm matches the new CLI's.
    expect({ wasm: sha(ours), prismaCli: cliVersion }).toEqual({ wasm: sha(cli), prismaCli: cliVersion });
  });

  it('reads a non-trivial schema', () => {
    expect(expected.tables.length).toBeGreaterThan(5);
    expect(expected.tables).toContain('users');
    expect(expected.columns).toContain('users.id: uuid NOT NULL');
    expect(expected.columns).toContain('api_keys.allowed_models: text[] NULL DEFAULT ARRAY[]');
    expect(expected.indexes).toContain('model_calls: model_calls_user_id_created_at_idx (user_id, created_at DESC)');
  });

  it.each(CATEGORIES)('%s match', (category) => {
    expectNoDrift(category, expected[category], actual[category]);
  });

  it('notices drift (self-check on an altered copy of the schema)', () => {
    const altered = fs
      .readFileSync(SCHEMA_PATH, 'utf8')
      .replace('avatar       String?', 'avatar       String')
      .replace('  @@index([model])\n', '')
      .replace('weight         Int       @default(100)', 'weight         BigInt    @default(100)')
      .replace(
        'apiKey     ApiKey?       @relation(fields: [apiKeyId], references: [id], onDelete: SetNull)',
        'apiKey     ApiKey?       @relation(fields: [apiKeyId], references: [id], onDelete: Cascade)',
      );
    const facts = factsFromDmmf(parseSchema(altered));
    expect(drift(facts.columns, actual.columns)).toEqual({
      onlyInSchema: ['ai_credentials.weight: bigint NOT NULL DEFAULT 100', 'users.avatar: text NOT NULL'],
      onlyInDatabase: ['ai_credentials.weight: integer NOT NULL DEFAULT 100', 'users.avatar: text NULL'],
    });
    expect(drift(facts.indexes, actual.indexes)).toEqual({
      onlyInSchema: [],
      onlyInDatabase: ['model_rates: model_rates_model_idx (model)'],
    });
    expect(drift(facts['foreign keys'], actual['foreign keys'])).toEqual({
      onlyInSchema: ['model_calls (api_key_id) -> api_keys (id) ON DELETE CASCADE ON UPDATE CASCADE'],
      onlyInDatabase: ['model_calls (api_key_id) -> api_keys (id) ON DELETE SET NULL ON UPDATE CASCADE'],
    });
    expect(() => expectNoDrift('columns', facts.columns, actual.columns)).toThrow(
      /- users\.avatar: text NOT NULL\n[\s\S]*\+ users\.avatar: text NULL/,
    );
  });
});
