import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { runCountJob, TokenCountJob } from './token-counter';

/**
 * Worker-thread entry of TokenCounterService's pool (piscina calls the default export with each
 * posted job). The worker loads gpt-tokenizer when it starts (piscina starts it for a job) and
 * keeps it until the pool's idle timeout ends the thread. Two things (below) keep the thread's
 * memory down. Resident memory the worker adds to the api process, before -> after (MB; one worker in a
 * node process run with the api's `--max-semi-space-size=8 --heap-growing-percent=20`, 4 runs
 * each, after each step in turn): one short count 76-80 -> 53-63; then 200 prompts of 2-6 KB
 * 76-77 -> 56-59; a 1 MB text 81-82 -> 62-63; 20 MB of varied text in 64 KB counts 116-119 ->
 * 71-74; a 4 MiB text 130-138 -> 69-76. Once the thread has exited, the process keeps 34-42 -> 13-21
 * of it (freed memory glibc keeps in the thread's arena).
 *
 * - o200k's rank table is read from gpt-tokenizer's `data/o200k_base.tiktoken` (seedO200kRanks)
 *   instead of its `cjs/bpeRanks/o200k_base.js`, a 2.4 MB array literal of 200,000 strings whose
 *   parse leaves 20-29 MB of freed malloc memory resident in the thread's arena, kept even after
 *   the thread exits. Same table, entry for entry (a spec compares them), so the same counts.
 * - gpt-tokenizer's merge cache (results of the byte-pair merge per piece, a pure memo) holds
 *   WORKER_MERGE_CACHE_SIZE entries instead of the library's 100,000.
 */
export default function countTokensInWorker(job: TokenCountJob): number {
  return runCountJob(job);
}

/**
 * Entries of gpt-tokenizer's LRU merge cache on the worker thread (the library's default is
 * 100,000). Measured live heap: 3 MB for 10,000 entries, 12 MB for the ~50,000 that 20 MB of
 * package READMEs and type declarations fill (a full 100,000 would be ~25 MB); with the
 * collector's slack, 25-40 MB resident in the measurements above. Speed, on one thread: 8 MB of varied text
 * took 1.7-2.0 s with 10,000 entries, 1.4-1.8 s with 100,000, 2.7-2.9 s with none; with the worker,
 * the 20 MB above took 5.3-5.6 s instead of 7.2-8.8 s (less for the collector to do), but the
 * 4 MiB text, which repeats the same 1.3 MB, 0.87-1.07 s instead of 0.66-0.77 s (the large cache
 * held all of it). Counts do not depend on the cache.
 */
export const WORKER_MERGE_CACHE_SIZE = 10_000;

/** One entry of gpt-tokenizer's rank table: the token's text, or its bytes when they are not UTF-8. */
export type RankEntry = string | number[];

/**
 * Parses a `.tiktoken` rank file (a line per token: its bytes in base64, a space, its rank) into
 * the table gpt-tokenizer's `cjs/bpeRanks/*.js` hold: at each rank the token's text when its bytes
 * are UTF-8 that decodes back to the same bytes (not when a byte-order mark would be dropped),
 * else the bytes as an array of numbers.
 */
export function readTiktokenRanks(file: string): RankEntry[] {
  const text = readFileSync(file, 'latin1');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const ranks: RankEntry[] = [];
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const space = text.indexOf(' ', start);
    if (space > start && space < end) {
      const bytes = Buffer.from(text.slice(start, space), 'base64');
      let entry: RankEntry;
      try {
        entry = utf8.decode(bytes);
        if (Buffer.byteLength(entry, 'utf8') !== bytes.length) entry = Array.from(bytes);
      } catch {
        entry = Array.from(bytes);
      }
      ranks[Number(text.slice(space + 1, end))] = entry;
    }
    start = end + 1;
  }
  return ranks;
}

/**
 * Puts o200k's rank table, read from gpt-tokenizer's `data/o200k_base.tiktoken`, in `cache`
 * (require's module cache) as the module `gpt-tokenizer/cjs/bpeRanks/o200k_base`, so gpt-tokenizer
 * takes it from there instead of parsing that file (see the file's docstring). Call before
 * gpt-tokenizer is loaded. If the files cannot be found or read, nothing is seeded and
 * gpt-tokenizer loads its own table as usual (same counts, more memory).
 * @returns the module file seeded, or null
 */
export function seedO200kRanks(cache: NodeJS.Dict<NodeJS.Module> = require.cache): string | null {
  try {
    const moduleFile = require.resolve('gpt-tokenizer/cjs/bpeRanks/o200k_base');
    if (cache[moduleFile]) return null;
    const table = readTiktokenRanks(require.resolve('gpt-tokenizer/data/o200k_base.tiktoken'));
    const seeded = new Module(moduleFile);
    seeded.filename = moduleFile;
    seeded.exports = { default: table };
    seeded.loaded = true;
    cache[moduleFile] = seeded;
    return moduleFile;
  } catch (err) {
    process.emitWarning(`token-count worker: loading gpt-tokenizer's own o200k table (${(err as Error)?.message ?? err})`);
    return null;
  }
}

if (!isMainThread) {
  seedO200kRanks();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- after seedO200kRanks, which must run before gpt-tokenizer loads
  (require('gpt-tokenizer') as typeof import('gpt-tokenizer')).setMergeCacheSize(WORKER_MERGE_CACHE_SIZE);
}
