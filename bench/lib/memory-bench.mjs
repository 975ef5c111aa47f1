#!/usr/bin/env node
// Memory of the api under the gateway bench's load, variant against variant, in one run:
//
//   node bench/lib/memory-bench.mjs [--connections 50] [--duration 10] [--reps 2] [--idle 8]
//        --variant 'base' --variant 'semi8=--max-semi-space-size=8' --variant 'new=@/tmp/new-dist'
//        --variant 'arena2=MALLOC_ARENA_MAX=2'
//
// A variant is `name=` followed by space-separated items: `--flag` (an option for node itself),
// `NAME=value` (an environment variable of the api) or `@DIR` (another build's dist folder; the
// default is TOLLGATE_DIST_DIR or ./dist). Sets up its own database (BENCH_MEMORY_DATABASE_URL,
// default tollgate_bench_memory: dropped, migrated, demo seeded) and a dev upstream on :18790
// (`--port N`: N, the api on N + 1), then for each repetition starts each variant's api in turn
// with bench/lib/memory-probe.cjs preloaded, waits `--idle` seconds, takes the idle sample, warms
// up (3 s of load, then 2 s for the calls it left in flight), drives non-streaming chat calls with
// wrk (bench/wrk-post.lua) for `--duration` seconds at `--connections`, and stops it. Prints per
// variant and repetition: idle RSS / heap used / heap total / external (MB), peak RSS and the heap
// at that moment (old and young generation sizes), RPS, p99, the api's CPU ms per call (its /proc
// CPU time over the load ÷ requests answered), resident memory by kind of mapping (files, brk,
// malloc arenas, V8; at rest and the maximum of samples every 500 ms under load) and the
// collections during the load (count, pause ms, pause ms per call); then a table of medians.
// Figures, not a test: the machine's load shows in RPS, so compare variants within a run.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropDatabase, option, OUT, run, seedGatewayBench, sleep, start, tollgateEnv, waitFor } from './processes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONNECTIONS = Number(option('connections', '50'));
const DURATION = Number(option('duration', '10'));
const REPS = Number(option('reps', '2'));
const IDLE_S = Number(option('idle', '8'));
const DB_URL = process.env.BENCH_MEMORY_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate_bench_memory';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Ports of the dev upstream and the api (`--port N`: the upstream's; the api takes N + 1). */
const UPSTREAM_PORT = Number(option('port', '18790'));
const API_PORT = UPSTREAM_PORT + 1;
const UPSTREAM_KEY = 'sk-bench-upstream';
const DEFAULT_DIST = process.env.TOLLGATE_DIST_DIR ?? 'dist';
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const variants = [];
process.argv.forEach((a, i) => {
  if (a !== '--variant') return;
  const spec = process.argv[i + 1];
  const eq = spec.indexOf('=');
  const name = eq < 0 ? spec : spec.slice(0, eq);
  const v = { name, dist: DEFAULT_DIST, nodeArgs: [], env: {} };
  for (const item of (eq < 0 ? '' : spec.slice(eq + 1)).split(/\s+/).filter(Boolean)) {
    if (item.startsWith('@')) v.dist = item.slice(1);
    else if (item.startsWith('-')) v.nodeArgs.push(item);
    else {
      const j = item.indexOf('=');
      v.env[item.slice(0, j)] = item.slice(j + 1);
    }
  }
  variants.push(v);
});
if (variants.length === 0) variants.push({ name: 'base', dist: DEFAULT_DIST, nodeArgs: [], env: {} });

const cpuTicks = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(rest[11]) + Number(rest[12]);
};

await dropDatabase(DB_URL);
const appEnv = tollgateEnv({ DATABASE_URL: DB_URL, REDIS_URL, LOG_LEVEL: 'info', PORT: String(API_PORT), DATABASE_POOL_SIZE: '20' });
run('node', [`${DEFAULT_DIST}/src/cli/db-migrate.js`], appEnv, { stdio: 'ignore' });
start('memory-upstream', 'node', [`${DEFAULT_DIST}/src/dev-upstream/main.js`], {
  DEV_UPSTREAM_PORT: String(UPSTREAM_PORT),
  DEV_UPSTREAM_API_KEY: UPSTREAM_KEY,
  DEV_UPSTREAM_MODELS: 'gpt-4o-mini',
});
await waitFor(`http://127.0.0.1:${UPSTREAM_PORT}/v1/models`);
const seed = await seedGatewayBench(appEnv, {
  dbUrl: DB_URL,
  upstreamPort: UPSTREAM_PORT,
  upstreamKey: UPSTREAM_KEY,
  seedScript: `${DEFAULT_DIST}/src/cli/seed-demo.js`,
});
const bodyFile = path.join(os.tmpdir(), `memory-bench-body-${process.pid}.json`);
fs.writeFileSync(bodyFile, JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 16 }));

function wrk(seconds) {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(HERE, '..', 'wrk-post.lua')];
  args.push('-H', `authorization: Bearer ${seed.apiKey}`, `http://127.0.0.1:${API_PORT}/v1/chat/completions`);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { ...process.env, WRK_BODY_FILE: bodyFile, WRK_KEYS_FILE: '' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => {
      const line = out.split('\n').find((l) => l.startsWith('JSON:'));
      if (line) resolve(JSON.parse(line.slice(5)));
      else reject(new Error(`wrk printed no summary:\n${out}`));
    });
  });
}

/**
 * The process's resident memory by kind of mapping (MB, from /proc/PID/smaps): `files` (the node
 * binary, shared libraries), `brk` (the main thread's malloc heap), `arenas` (anonymous mappings aligned on
 * 64 MB: glibc's per-thread malloc arenas), `v8` (the other anonymous mappings: V8's heap pages,
 * code space, wasm code, large malloc blocks).
 */
/** glibc's per-thread malloc arenas are 64 MB-aligned mappings (HEAP_MAX_SIZE on 64-bit). */
const ARENA_ALIGN = 0x4000000n;
function smaps(pid) {
  const out = { files: 0, brk: 0, arenas: 0, v8: 0 };
  let kind = 'v8';
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const name = head[2].trim();
      kind = name === '[heap]' ? 'brk' : name ? 'files' : BigInt(`0x${head[1]}`) % ARENA_ALIGN === 0n ? 'arenas' : 'v8';
    } else if (line.startsWith('Rss:')) out[kind] += Number(line.split(/\s+/)[1]) / 1024;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v)]));
}
const maxOf = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, Math.max(a[k], b[k])]));

/** The probe's JSON; read again when caught half-written (it rewrites the file every second). */
async function readProbe(file) {
  for (let i = 0; ; i++) {
    try {
      return JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      if (i === 10) throw e;
      await sleep(50);
    }
  }
}

const probeFile = (name, rep) => path.join(OUT, `memory-probe-${name}-${rep}.json`);
const results = Object.fromEntries(variants.map((v) => [v.name, []]));
for (let rep = 1; rep <= REPS; rep++) {
  for (const v of variants) {
    const file = probeFile(v.name, rep);
    fs.rmSync(file, { force: true });
    const child = start(
      `memory-api-${v.name}`,
      'node',
      ['--require', path.join(HERE, 'memory-probe.cjs'), ...v.nodeArgs, `${v.dist}/src/main.js`],
      {
        ...appEnv,
        ...v.env,
        MEMORY_PROBE_FILE: file,
      },
    );
    // a loaded machine boots slowly: up to 4 × waitFor's 30 s
    for (let i = 0; ; i++) {
      try {
        await waitFor(`http://127.0.0.1:${API_PORT}/readyz`);
        break;
      } catch (e) {
        if (i === 3 || child.exitCode !== null) throw e;
      }
    }
    if (child.exitCode !== null)
      throw new Error(`the api of ${v.name} exited (port ${API_PORT} taken?): bench/results/memory-api-${v.name}.log`);
    await sleep(IDLE_S * 1000);
    const idle = (await readProbe(file)).last;
    const idleMaps = smaps(child.pid);
    await wrk(3); // warm-up
    // calls the warm-up left in flight (wrk closes its connections mid-call) end before the load
    await sleep(2000);
    const t0 = cpuTicks(child.pid);
    const gc0 = (await readProbe(file)).gc;
    let loadMaps = idleMaps;
    const sampler = setInterval(() => (loadMaps = maxOf(loadMaps, smaps(child.pid))), 500);
    const w = await wrk(DURATION);
    clearInterval(sampler);
    const cpuMs = ((cpuTicks(child.pid) - t0) / CLK_TCK) * 1000;
    await sleep(1200);
    const probe = await readProbe(file);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    const rps = w.requests / (w.duration_us / 1e6);
    // collections during the load (the probe's counters run from boot; written every second)
    const gc = Object.fromEntries(
      Object.entries(probe.gc).map(([k, g]) => [k, { count: g.count - (gc0[k]?.count ?? 0), ms: g.ms - (gc0[k]?.ms ?? 0) }]),
    );
    const r = {
      idleRss: idle.rss,
      idleHeapTotal: idle.heapTotal,
      idleHeapUsed: idle.heapUsed,
      idleExternal: idle.external,
      peakRss: probe.peak.rss,
      peakHeapTotal: probe.peak.heapTotal,
      peakHeapUsed: probe.peak.heapUsed,
      peakOld: probe.peak.spaces.old_space?.size,
      peakNew: probe.peak.spaces.new_space?.size,
      peakExternal: probe.peak.external,
      rps,
      p99: w.latency_us.p99 / 1000,
      cpuMsPerCall: cpuMs / w.requests,
      errors: Object.values(w.errors).reduce((a, b) => a + b, 0),
      gc,
      idleMaps,
      loadMaps,
      gcMsPerCall: (gc.minor.ms + gc.major.ms + gc.incremental.ms) / w.requests,
    };
    results[v.name].push(r);
    process.stdout.write(
      `rep ${rep} ${v.name}: idle rss ${r.idleRss} heap ${r.idleHeapUsed}/${r.idleHeapTotal} ext ${r.idleExternal} | peak rss ${r.peakRss} ` +
        `heap ${r.peakHeapUsed}/${r.peakHeapTotal} (old ${r.peakOld}, new ${r.peakNew}) ext ${r.peakExternal} | ${rps.toFixed(0)} rps, ` +
        `p99 ${r.p99.toFixed(1)} ms, ${r.cpuMsPerCall.toFixed(3)} cpu ms/call, errors ${r.errors} | smaps idle ${JSON.stringify(idleMaps)} load max ${JSON.stringify(loadMaps)} | GC during load: minor ${gc.minor.count}/${gc.minor.ms} ms, major ${gc.major.count}/${gc.major.ms} ms, ${r.gcMsPerCall.toFixed(3)} ms/call\n`,
    );
  }
}
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
console.log(
  `\nload: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; c=${CONNECTIONS}, ${DURATION} s, ${REPS} reps (medians)\n`,
);
console.log(
  '| variant | idle RSS | idle heap used/total | peak RSS | heap at peak used/total | RPS | p99 ms | CPU ms/call | GC pause ms/call |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const v of variants) {
  const rs = results[v.name];
  const m = (k) => med(rs.map((r) => r[k]));
  console.log(
    `| ${v.name} | ${m('idleRss')} | ${m('idleHeapUsed')}/${m('idleHeapTotal')} | ${m('peakRss')} | ${m('peakHeapUsed')}/${m('peakHeapTotal')} | ${m('rps').toFixed(0)} | ${m('p99').toFixed(1)} | ${m('cpuMsPerCall').toFixed(3)} | ${m('gcMsPerCall').toFixed(3)} |`,
  );
}
fs.writeFileSync(path.join(OUT, 'memory-bench.json'), JSON.stringify({ variants, results }, null, 1));
process.exit(0);
