/**
 * The repository stands on its own: code, tests, scripts and the schema never cite documents a
 * reader of the repository cannot open (design notes, style guides, numbered source documents or
 * issues kept elsewhere), and comments are in English. What they refer to is in docs/ (the API
 * reference in docs/api/, the architecture in docs/architecture.md): cite those instead.
 *
 * Scans src/ (but not src/generated/), test/, scripts/, prisma/ and bench/ (its README.md and
 * *.mjs; not bench/results/) and lists every offending line:
 * - a citation anywhere on the line: the outside design, style or offline-Prisma notes by file
 *   name, a path into the shared folder beside the checkout (through `..`, or relative with that
 *   folder's name first), "seed" with a three-digit number,
 *   "issue" with a number (case-insensitive, whole words);
 * - CJK characters (Han, Hiragana, Katakana, Hangul, CJK punctuation) outside string literals. Test
 *   data in strings may be in any script; comments and code may not.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, sep } from 'node:path';

const ROOT = join(__dirname, '..');
const SCANNED_DIRS = ['src', 'test', 'scripts', 'prisma', 'bench'];
const EXCLUDED_DIRS = ['src/generated/', 'bench/results/'];
const TEXT_EXTENSIONS = new Set([
  '.ts',
  '.tsx',
  '.js',
  '.cjs',
  '.mjs',
  '.json',
  '.sql',
  '.prisma',
  '.sh',
  '.md',
  '.toml',
  '.yml',
  '.yaml',
  '.txt',
]);
/** Per scanned folder, the only extensions read there (all of TEXT_EXTENSIONS elsewhere). */
const EXTENSIONS_IN: Readonly<Record<string, ReadonlySet<string>>> = { bench: new Set(['.md', '.mjs']) };
/** Files lexed as JavaScript/TypeScript, so that CJK inside string literals is allowed. */
const SCRIPT_EXTENSIONS = new Set(['.ts', '.tsx', '.js', '.cjs', '.mjs', '.json']);

/**
 * Files (or folders, ending in "/") not held to the rule yet. Only files being rewritten by other
 * changes belong here, each until its rewrite lands.
 */
const ALLOWED: readonly string[] = [];

/**
 * Applied migrations: `npm run db:migrate` (and Prisma) compare each applied migration.sql with
 * the SHA-256 recorded in `_prisma_migrations` and refuse to go on if it changed, comments
 * included (docs/migrations.md). Their header comments therefore stay as written; new
 * migrations are held to the rule.
 */
const IMMUTABLE: readonly string[] = [
  'prisma/migrations/20261122010000_credits_api/migration.sql',
  'prisma/migrations/20261122020000_providers_api/migration.sql',
  'prisma/migrations/20261122030000_model_call_stats/migration.sql',
];

const CITATIONS: readonly { what: string; pattern: RegExp }[] = [
  { what: 'cites the outside design notes', pattern: /\bDESIGN\.md\b/ },
  { what: 'cites the outside style guide', pattern: /\bSTYLE\.md\b/ },
  { what: 'cites the outside notes on offline Prisma', pattern: /\bPRISMA-OFFLINE\.md\b/ },
  { what: 'cites a path outside the repository', pattern: /\.\.\/shared\b|\/work\/shared\b|(?<![\w./-])shared\// },
  { what: 'cites a numbered seed document', pattern: /\bseeds?\s+\d{3}\b/i },
  { what: 'cites an issue number', pattern: /\bissues?\s+#?\d+\b/i },
];

const CJK =
  /[\p{Script_Extensions=Han}\p{Script_Extensions=Hiragana}\p{Script_Extensions=Katakana}\p{Script_Extensions=Hangul}\u3000-\u303f\uff01-\uff60]/u;

const toPosix = (p: string) => p.split(sep).join('/');

function isAllowed(path: string): boolean {
  return [...ALLOWED, ...IMMUTABLE].some((a) => (a.endsWith('/') ? path.startsWith(a) : path === a));
}

function listFiles(dir: string, extensions: ReadonlySet<string> = EXTENSIONS_IN[dir] ?? TEXT_EXTENSIONS): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || EXCLUDED_DIRS.includes(`${path}/`)) continue;
      out.push(...listFiles(path, extensions));
    } else if (entry.isFile() && extensions.has(extname(entry.name))) {
      out.push(path);
    }
  }
  return out;
}

/**
 * The source with the contents of string, template and regular-expression literals replaced by
 * spaces (line breaks kept, so line numbers still match). Comments and code are kept. A small
 * lexer, good enough for this repository's JavaScript and TypeScript.
 */
export function maskLiterals(src: string): string {
  const out = src.split('');
  const n = src.length;
  let i = 0;
  const blank = (k: number) => {
    if (k < n && out[k] !== '\n' && out[k] !== '\r') out[k] = ' ';
  };
  const regexMayFollow = (prev: string) =>
    prev === '' ||
    /[(,=:[!&|?{};+\-*%<>~^]$/.test(prev) ||
    /^(return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/.test(prev);

  const quoted = (quote: string) => {
    i++;
    while (i < n && src[i] !== quote && src[i] !== '\n') {
      if (src[i] === '\\') blank(i++);
      blank(i++);
    }
    if (src[i] === quote) i++;
  };
  const regex = () => {
    i++;
    let inClass = false;
    while (i < n && src[i] !== '\n') {
      const c = src[i];
      if (c === '\\') {
        blank(i++);
        blank(i++);
        continue;
      }
      if (c === '[') inClass = true;
      else if (c === ']') inClass = false;
      else if (c === '/' && !inClass) {
        i++;
        while (i < n && /[a-z]/i.test(src[i])) i++;
        return;
      }
      blank(i++);
    }
  };
  const template = () => {
    i++;
    while (i < n) {
      const c = src[i];
      if (c === '\\') {
        blank(i++);
        blank(i++);
      } else if (c === '`') {
        i++;
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        i += 2;
        code(true);
      } else blank(i++);
    }
  };
  /** Code up to the end, or (inside a template's `${…}`) up to and including its closing brace. */
  const code = (untilBrace: boolean) => {
    let depth = 0;
    let prev = '';
    while (i < n) {
      const c = src[i];
      const d = src[i + 1];
      if (c === '/' && d === '/') {
        while (i < n && src[i] !== '\n') i++;
      } else if (c === '/' && d === '*') {
        const end = src.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c === "'" || c === '"') {
        quoted(c);
        prev = 'x';
      } else if (c === '`') {
        template();
        prev = 'x';
      } else if (c === '/' && regexMayFollow(prev)) {
        regex();
        prev = 'x';
      } else {
        if (c === '{') depth++;
        if (c === '}') {
          if (untilBrace && depth === 0) {
            i++;
            return;
          }
          depth--;
        }
        if (/[A-Za-z0-9_$]/.test(c)) prev = /[A-Za-z0-9_$]$/.test(prev) ? (prev + c).slice(-12) : c;
        else if (!/\s/.test(c)) prev = c;
        i++;
      }
    }
  };
  code(false);
  return out.join('');
}

/** Every offending line of one file, as "path:line: what: text". */
export function findOffences(path: string, text: string): string[] {
  const raw = text.split('\n');
  const masked = SCRIPT_EXTENSIONS.has(extname(path)) ? maskLiterals(text).split('\n') : raw;
  const found: string[] = [];
  raw.forEach((line, k) => {
    const what = CITATIONS.filter((c) => c.pattern.test(line)).map((c) => c.what);
    if (CJK.test(masked[k] ?? '')) what.push('has CJK characters outside string literals');
    if (what.length) found.push(`${path}:${k + 1}: ${what.join(', ')}: ${line.trim().slice(0, 160)}`);
  });
  return found;
}

describe('repository citations', () => {
  it('no file cites a document outside the repository or has CJK text outside string literals', () => {
    const files = SCANNED_DIRS.flatMap((d) => listFiles(d)).map(toPosix);
    expect(files.length).toBeGreaterThan(50);
    expect(files).toEqual(expect.arrayContaining(['bench/README.md', 'bench/run.mjs', 'bench/lib/processes.mjs']));
    const offences = files.filter((f) => !isAllowed(f)).flatMap((f) => findOffences(f, readFileSync(join(ROOT, f), 'utf8')));
    // Cite docs/ (docs/README.md indexes it) or drop the reference; write comments in English.
    expect(offences).toEqual([]);
  });

  it('finds what it must, and leaves string data alone', () => {
    // Samples are assembled from parts so that this file does not cite anything itself.
    const j = (...parts: string[]) => parts.join('');
    const bad = [
      j('// see DESIGN', '.md "auth"'),
      j('/** STYLE', '.md "Boundaries" */'),
      j("// from '..", "/shared/x.txt'"),
      j('a copy of `shared', '/bench-peer/bench.mjs`'),
      j('/** Seed ', '004 GET /user/info */'),
      j('// seeds ', '000, 001, 003'),
      j('// (Issue ', '3 "Metering")'),
      j('/* issue ', '#12 */'),
      '/** \u30e2\u30c7\u30eb\u30ec\u30fc\u30c8 */',
      'const x = 1; // \u4e2d',
    ];
    for (const line of bad) expect(findOffences('a.ts', line)).toHaveLength(1);
    const fine = [
      "const s = '\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8';",
      'const t = `a ${"\u4e2d"} \u6587`;',
      'const r = /[\u4e00-\u9fff]/u;',
      '// the demo seed; tissue 3; seed 42; seed 1234',
      '// docs/api/credits.md',
      "import { x } from './common/shared/util';",
    ];
    for (const line of fine) expect(findOffences('a.ts', line)).toEqual([]);
    expect(findOffences('a.sql', '-- \u30e2\u30c7\u30eb')).toHaveLength(1);
  });
});
