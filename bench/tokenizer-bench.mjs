#!/usr/bin/env node
// Token counting benchmark: figures, not pass/fail (docs/metering.md quotes them).
//   For each input kind × size: ms of gpt-tokenizer's plain countTokens ("exact"; skipped when the
//   smaller size's time, scaled linearly — quadratically if the text has a pre-tokenizer piece
//   over 1,000 characters — predicts more than --exact-budget ms), ms of the bounded count on this thread, ms through TokenCounterService (worker
//   thread) with the longest event-loop stall seen meanwhile, and the token counts.
//   Then the small-input costs behind the inline threshold, and the tokenizer's load time.
//
//   npm run bench:tokenizer -- [--sizes 8192,40960,204800,1048576] [--exact-budget 5000] [--dist dist]
//
// Reads the compiled code (the npm script builds first). Needs no database or Redis.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const DIST = path.resolve(ROOT, opt('dist', 'dist'));
const SIZES = opt('sizes', '8192,40960,204800,1048576').split(',').filter(Boolean).map(Number); // --sizes '': small inputs only
const EXACT_BUDGET_MS = Number(opt('exact-budget', '5000'));

const metering = path.join(DIST, 'src/metering');
if (!fs.existsSync(path.join(metering, 'token-count.worker.js'))) {
  console.error(`no build in ${DIST} (run npm run build, or pass --dist)`);
  process.exit(1);
}
const require = createRequire(path.join(metering, 'token-counter.js'));
const counter = require('./token-counter.js');
const { TokenCounterService } = require('./token-counter.service.js');

const t0 = performance.now();
const tokenizer = require('gpt-tokenizer');
tokenizer.countTokens('warm up');
const loadMs = performance.now() - t0;
const PLAIN_TEXT = { disallowedSpecial: new Set() };
const { O200K_TOKEN_SPLIT_REGEX } = require('gpt-tokenizer/cjs/encodingParams/constants');
const longestPiece = (text) => {
  let max = 0;
  for (const m of text.matchAll(O200K_TOKEN_SPLIT_REGEX)) max = Math.max(max, m[0].length);
  return max;
};

// Deterministic pseudo-random text (mulberry32).
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function randomText(n, alphabet, seed) {
  const chars = [...alphabet];
  const next = rng(seed);
  let s = '';
  while (s.length < n) s += chars[Math.floor(next() * chars.length)];
  return s.slice(0, n);
}
function repeatTo(n, text) {
  let s = text;
  while (s.length < n) s += '\n' + text;
  return s.slice(0, n);
}
function readTree(dir, ext) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'generated') out.push(...readTree(p, ext));
    else if (e.isFile() && e.name.endsWith(ext)) out.push(fs.readFileSync(p, 'utf8'));
  }
  return out;
}

const english = [path.join(ROOT, 'README.md'), ...fs.readdirSync(path.join(ROOT, 'docs')).map((f) => path.join(ROOT, 'docs', f))]
  .filter((f) => f.endsWith('.md'))
  .map((f) => fs.readFileSync(f, 'utf8'))
  .join('\n\n');
const code = readTree(path.join(ROOT, 'src'), '.ts').join('\n');
const zhFile = path.join(ROOT, 'node_modules/typescript/lib/zh-cn/diagnosticMessages.generated.json');
const chinese = fs.existsSync(zhFile) ? Object.values(JSON.parse(fs.readFileSync(zhFile, 'utf8'))).join('') : null;
const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');

const KINDS = [
  ['one char ("a")', (n) => 'a'.repeat(n)],
  ['English (docs)', (n) => repeatTo(n, english)],
  ['code (src/**/*.ts)', (n) => repeatTo(n, code)],
  ...(chinese ? [['Chinese (tsc messages)', (n) => repeatTo(n, chinese)]] : []),
  // A new seed per text, so that no count finds another's pieces in the encoder's merge cache.
  ['random printable ASCII', (n, seed) => randomText(n, printable, seed)],
  ['random a-z (no spaces)', (n, seed) => randomText(n, 'abcdefghijklmnopqrstuvwxyz', seed)],
  [
    'random CJK (no punctuation)',
    (n, seed) => randomText(n, '的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生', seed),
  ],
];

function time(fn) {
  tokenizer.clearMergeCache();
  const start = performance.now();
  const value = fn();
  return { ms: performance.now() - start, value };
}

/** Runs the async count while a 1 ms interval measures the longest gap between its ticks. */
async function timeOffThread(fn) {
  tokenizer.clearMergeCache();
  let last = performance.now();
  let maxGap = 0;
  const iv = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 1);
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  clearInterval(iv);
  maxGap = Math.max(maxGap, performance.now() - last);
  return { ms, value, maxGap };
}

const fmt = (ms) => (ms === null ? '—' : ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
const service = new TokenCounterService({ inlineBytes: 0 });
await service.countText('start the worker'); // worker start-up (loads the tokenizer) is not in the rows

console.log(
  `gpt-tokenizer ${require('gpt-tokenizer/package.json').version}, node ${process.version}; load + first count on this thread: ${fmt(loadMs)} ms`,
);
console.log(`chunk limits ${JSON.stringify(service.options.chunkLimits)}; estimate past ${service.options.maxBytes} bytes\n`);
const header = ['input', 'chars', 'ms exact', 'ms bounded', 'ms worker', 'max loop stall ms', 'tokens exact', 'tokens bounded', 'diff'];
const rows = [];
for (const [kind, make] of KINDS) {
  let previous = null; // { n, ms } of the last exact count of this kind
  for (const n of SIZES) {
    const text = make(n, n);
    let exact = null;
    const scale = previous ? (n / previous.n) ** (longestPiece(text) > 1000 ? 2 : 1) : 0;
    if (!previous || previous.ms * scale <= EXACT_BUDGET_MS) {
      exact = time(() => tokenizer.countTokens(text, PLAIN_TEXT));
      previous = { n, ms: exact.ms };
    } else previous = { n, ms: Infinity };
    const bounded = time(() => counter.countTextTokens(text));
    const worker = await timeOffThread(() => service.countText(text));
    if (worker.value !== bounded.value) throw new Error(`${kind} ${n}: worker ${worker.value} ≠ bounded ${bounded.value}`);
    rows.push([
      kind,
      n,
      fmt(exact?.ms ?? null),
      fmt(bounded.ms),
      fmt(worker.ms),
      fmt(worker.maxGap),
      exact?.value ?? '—',
      bounded.value,
      exact ? bounded.value - exact.value : '—',
    ]);
    console.log(rows.at(-1).join('\t'));
  }
}

if (rows.length > 0) console.log('\n' + table(header, rows));

// Small inputs: the cost of counting on this thread vs through the worker (round trip included),
// median and 90th percentile over distinct texts. English as it comes (its common words are in
// the merge cache on both sides, as in steady use); random texts each new, so never a cache hit.
const small = [];
let seed = 1000;
const quantile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
counter.countTextTokens('the tokenizer is loaded on this thread');
for (const [kind, make] of KINDS.filter(([k]) => /English|random a-z|random CJK/.test(k))) {
  for (const n of [128, 512, 2048]) {
    const chars = /CJK/.test(kind) ? Math.round(n / 3) : n; // n UTF-8 bytes
    const reps = 100;
    const inline = [];
    const viaWorker = [];
    for (let i = 0; i < reps; i++) {
      const a = make(chars * (i + 2), seed++).slice(-chars);
      const b = make(chars * (i + 2), seed++).slice(-chars);
      let start = performance.now();
      counter.countTextTokens(a);
      inline.push(performance.now() - start);
      start = performance.now();
      await service.countText(b);
      viaWorker.push(performance.now() - start);
    }
    small.push([
      kind,
      n,
      fmt(quantile(inline, 0.5)),
      fmt(quantile(inline, 0.9)),
      fmt(quantile(viaWorker, 0.5)),
      fmt(quantile(viaWorker, 0.9)),
    ]);
  }
}
console.log('\n' + table(['small input', 'bytes', 'this thread p50 ms', 'p90', 'via worker p50 ms', 'p90'], small));
console.log(
  `\nestimated (past maxBytes): ${await service.countText('x'.repeat(service.options.maxBytes + 1))} tokens for ${service.options.maxBytes + 1} bytes`,
);
console.log(JSON.stringify(service.stats));
await service.onModuleDestroy();

function table(head, body) {
  const all = [head, ...body].map((r) => r.map(String));
  const width = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '| ' + r.map((c, i) => (i < 1 ? c.padEnd(width[i]) : c.padStart(width[i]))).join(' | ') + ' |';
  return [
    line(all[0]),
    '|' + width.map((w, i) => (i < 1 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|',
    ...all.slice(1).map(line),
  ].join('\n');
}
