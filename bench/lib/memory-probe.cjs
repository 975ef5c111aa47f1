// Memory probe, preloaded into a process with `node --require ./bench/lib/memory-probe.cjs`
// (or NODE_OPTIONS="--require /abs/path/bench/lib/memory-probe.cjs"). Every MEMORY_PROBE_MS
// (default 250) ms it samples process.memoryUsage() (rss, heapTotal, heapUsed, external,
// arrayBuffers, MB) and v8.getHeapSpaceStatistics() (each space's size and used MB), keeps the
// sample with the highest RSS and the last one, and writes both as JSON to MEMORY_PROBE_FILE
// (default /tmp/memory-probe-<pid>.json) every second and at exit. Also counts the modules in
// require.cache, where the peak RSS is (by kind of mapping), every change of the young generation's size, and the garbage collections (by kind, with their total pause ms) through a
// PerformanceObserver. Costs one sample's work per interval (a few µs): negligible for a bench.
'use strict';
const fs = require('node:fs');
const process = require('node:process');
const { setInterval } = require('node:timers');
const v8 = require('node:v8');
const { PerformanceObserver, constants } = require('node:perf_hooks');

const INTERVAL_MS = Number(process.env.MEMORY_PROBE_MS || 250);
const FILE = process.env.MEMORY_PROBE_FILE || `/tmp/memory-probe-${process.pid}.json`;
const MB = 1024 * 1024;
const round = (n) => Math.round((n / MB) * 10) / 10;

const gc = { minor: { count: 0, ms: 0 }, major: { count: 0, ms: 0 }, incremental: { count: 0, ms: 0 }, weak: { count: 0, ms: 0 } };
const KIND = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const k = KIND[e.detail?.kind ?? e.kind];
    if (k) {
      gc[k].count++;
      gc[k].ms += e.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

function sample() {
  const m = process.memoryUsage();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = { size: round(s.space_size), used: round(s.space_used_size) };
  return {
    t: Date.now(),
    rss: round(m.rss),
    heapTotal: round(m.heapTotal),
    heapUsed: round(m.heapUsed),
    external: round(m.external),
    arrayBuffers: round(m.arrayBuffers),
    spaces,
    modules: Object.keys(require.cache).length,
  };
}

/**
 * Resident memory by kind of mapping (MB) from /proc/self/smaps: `files` (node binary, shared
 * libraries), `brk` (the main thread's malloc heap), `arenas` (anonymous mappings aligned on
 * 64 MB: glibc's per-thread malloc arenas), `v8` (the other anonymous mappings: V8's heap and code,
 * large malloc blocks).
 * Read only when a sample sets a new peak (a millisecond or two each).
 */
/** glibc's per-thread malloc arenas are 64 MB-aligned mappings (HEAP_MAX_SIZE on 64-bit). */
const ARENA_ALIGN = 0x4000000n;
function mappings() {
  const out = { files: 0, brk: 0, arenas: 0, v8: 0 };
  try {
    let kind = 'v8';
    for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
      const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        const name = head[2].trim();
        kind = name === '[heap]' ? 'brk' : name ? 'files' : BigInt(`0x${head[1]}`) % ARENA_ALIGN === 0n ? 'arenas' : 'v8';
      } else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) / 1024;
    }
  } catch {
    /* not Linux */
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v)]));
}

let peak = null;
let last = null;
/** Every change of the young generation's size (MB) with the seconds since start: [[s, MB], …]. */
const youngSizes = [];
const started = Date.now();
function tick() {
  last = sample();
  const young = last.spaces.new_space?.size;
  if (young !== undefined && young !== youngSizes.at(-1)?.[1]) youngSizes.push([(Date.now() - started) / 1000, young]);
  if (!peak || last.rss > peak.rss) {
    peak = last;
    peak.mappings = mappings();
  }
}
function write() {
  try {
    const g = Object.fromEntries(Object.entries(gc).map(([k, v]) => [k, { count: v.count, ms: Math.round(v.ms) }]));
    fs.writeFileSync(
      FILE,
      JSON.stringify({ pid: process.pid, seconds: (Date.now() - started) / 1000, peak, last, gc: g, youngSizes }, null, 1),
    );
  } catch {
    /* best effort */
  }
}
setInterval(tick, INTERVAL_MS).unref();
setInterval(write, 1000).unref();
process.on('exit', () => {
  tick();
  write();
});
