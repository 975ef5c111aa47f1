#!/usr/bin/env node
// A copy of the side-by-side runner the Portkey comparison was measured with, unchanged apart from
// this note, so Tollgate is measured exactly as the peer was. bench/run.mjs drives it.
// Side-by-side latency/throughput runner: baseline (direct to mock upstream) vs one or
// more gateways, same load, interleaved, N repetitions, median + range reported.
//
//   node bench.mjs --config targets.json [--tool wrk|autocannon] [--connections 50]
//        [--duration 15] [--reps 3] [--modes nonstream,stream] [--warmup 3] [--out results.json]
//        [--rate RPS]   (hey only: paced open-ish load of RPS total, split evenly over the
//                        connections, instead of closed-loop max load)
//
// targets.json (paths in "processes" are pid files, relative to the config file):
//   { "baseline": "direct",
//     "targets": [ { "name": "direct",  "url": "http://127.0.0.1:18080/v1/chat/completions", "headers": {} },
//                  { "name": "gateway", "url": "http://127.0.0.1:3000/v1/chat/completions",
//                    "headers": { "authorization": "Bearer sk-virtual-key" } } ],
//     "processes": { "mock": "mock.pid", "gateway": "gateway.pid" } }
//
// For every run it samples, from /proc: CPU% of each listed process (utime+stime delta over
// the run), its peak RSS (VmRSS sampled every 250 ms), and whole-machine busy CPU%.
// Linux only (reads /proc). Load generators: wrk (Debian package `wrk`, µs resolution),
// autocannon (npm, integer-ms latency resolution) or hey (Debian package `hey`, 0.1 ms
// resolution, used for --rate), found in ./node_modules/.bin or PATH.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

// ---------- arguments ----------
const argv = process.argv.slice(2);
function opt(name, dflt) {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
}
const configPath = opt('config');
if (!configPath) {
  console.error(
    'usage: node bench.mjs --config targets.json [--tool wrk|autocannon] [--connections 50] [--duration 15] [--reps 3] [--modes nonstream,stream] [--warmup 3] [--out file]',
  );
  process.exit(2);
}
const TOOL = opt('tool', 'wrk');
const CONNS = Number(opt('connections', 50));
const DURATION = Number(opt('duration', 15));
const REPS = Number(opt('reps', 3));
const WARMUP = Number(opt('warmup', 3));
const MODES = opt('modes', 'nonstream,stream').split(',').filter(Boolean);
const RATE = opt('rate') ? Number(opt('rate')) : null;
// autocannon's -R sends each connection's per-second quota back-to-back at the start of every
// second (bursts), and wrk has no rate mode, so paced runs use hey (per-worker ticker).
if (RATE && TOOL !== 'hey') {
  console.error('--rate needs --tool hey');
  process.exit(2);
}
const OUT = opt(
  'out',
  `results-${TOOL}-c${CONNS}${opt('rate') ? `-r${opt('rate')}` : ''}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);

const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const configDir = path.dirname(path.resolve(configPath));
const BASELINE = config.baseline || config.targets[0].name;

const BODIES = config.bodies || {
  nonstream: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 16 },
  stream: {
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'Say hello' }],
    max_tokens: 16,
    stream: true,
    stream_options: { include_usage: true },
  },
};

// ---------- /proc sampling ----------
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
function readPid(file) {
  try {
    return Number(fs.readFileSync(path.resolve(configDir, file), 'utf8').trim());
  } catch {
    return null;
  }
}
/** The pid and its descendants' (a process started with workers, e.g. API_WORKERS=2, counts whole). */
function processTree(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      const kids = fs.readFileSync(`/proc/${all[i]}/task/${all[i]}/children`, 'utf8').trim();
      if (kids) all.push(...kids.split(/\s+/).map(Number));
    } catch {
      /* gone */
    }
  }
  return all;
}
function procTicks(pid) {
  if (pid == null) return null;
  let sum = null;
  for (const p of processTree(pid)) {
    try {
      const s = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields after "(comm)"; utime=f[11], stime=f[12]
      sum = (sum ?? 0) + Number(f[11]) + Number(f[12]);
    } catch {
      /* gone */
    }
  }
  return sum;
}
function procRssKb(pid) {
  if (pid == null) return null;
  let sum = null;
  for (const p of processTree(pid)) {
    try {
      const m = fs.readFileSync(`/proc/${p}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
      if (m) sum = (sum ?? 0) + Number(m[1]);
    } catch {
      /* gone */
    }
  }
  return sum;
}
function machineTicks() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), idle: f[3] + (f[4] || 0) };
}

// ---------- load generators ----------
function findBin(name) {
  for (const dir of [path.join(process.cwd(), 'node_modules/.bin'), path.join(HERE, 'node_modules/.bin')]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return name; // rely on PATH
}

function runChild(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '',
      err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} exited ${code}: ${err || out}`))));
  });
}

async function loadRun(target, mode, seconds, connections) {
  if (target.keysFile && TOOL !== 'wrk') throw new Error(`target ${target.name}: keysFile needs --tool wrk`);
  const body = JSON.stringify(BODIES[mode]);
  const headers = { ...(target.headers || {}) };
  if (TOOL === 'wrk') {
    const bodyFile = path.join(os.tmpdir(), `bench-body-${process.pid}-${mode}.json`);
    fs.writeFileSync(bodyFile, body);
    const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(HERE, 'wrk-post.lua')];
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    args.push(target.url);
    const keysFile = target.keysFile ? path.resolve(configDir, target.keysFile) : '';
    const out = await runChild(findBin('wrk'), args, { WRK_BODY_FILE: bodyFile, WRK_KEYS_FILE: keysFile });
    const line = out.split('\n').find((l) => l.startsWith('JSON:'));
    if (!line) throw new Error(`wrk printed no summary:\n${out}`);
    const j = JSON.parse(line.slice(5));
    const errs = Object.values(j.errors).reduce((a, b) => a + b, 0);
    return {
      requests: j.requests,
      errors: errs,
      non2xx: j.errors.status,
      rps: j.requests / (j.duration_us / 1e6),
      p50: j.latency_us.p50 / 1000,
      p90: j.latency_us.p90 / 1000,
      p99: j.latency_us.p99 / 1000,
      mean: j.latency_us.mean / 1000,
      max: j.latency_us.max / 1000,
    };
  }
  if (TOOL === 'autocannon') {
    const args = ['-c', String(connections), '-d', String(seconds), '-m', 'POST', '-j', '-H', 'content-type=application/json'];
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
    args.push('-b', body, target.url);
    const j = JSON.parse((await runChild(findBin('autocannon'), args, {})).trim().split('\n').pop());
    return {
      requests: j.requests.total,
      errors: j.errors + j.timeouts,
      non2xx: j.non2xx,
      rps: j.requests.total / j.duration,
      p50: j.latency.p50,
      p90: j.latency.p90,
      p99: j.latency.p99,
      mean: j.latency.average,
      max: j.latency.max,
    };
  }
  if (TOOL === 'hey') {
    const args = ['-z', `${seconds}s`, '-c', String(connections), '-m', 'POST', '-T', 'application/json', '-t', '10'];
    if (RATE) args.push('-q', String(RATE / connections));
    for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
    args.push('-d', body, target.url);
    const out = await runChild(findBin('hey'), args, {});
    const num = (re) => {
      const m = out.match(re);
      return m ? Number(m[1]) : NaN;
    };
    const pct = (p) => num(new RegExp(`\\s${p}% in ([\\d.]+) secs`)) * 1000;
    const ok = [...out.matchAll(/\[(\d{3})\]\s+(\d+) responses/g)];
    const total = ok.reduce((a, m) => a + Number(m[2]), 0);
    const non2xx = ok.filter((m) => !m[1].startsWith('2')).reduce((a, m) => a + Number(m[2]), 0);
    const errSection = out.split('Error distribution:')[1] || '';
    const errors = [...errSection.matchAll(/\[(\d+)\]/g)].reduce((a, m) => a + Number(m[1]), 0);
    return {
      requests: total,
      errors: errors + non2xx,
      non2xx,
      rps: num(/Requests\/sec:\s+([\d.]+)/),
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      mean: num(/Average:\s+([\d.]+) secs/) * 1000,
      max: num(/Slowest:\s+([\d.]+) secs/) * 1000,
    };
  }
  throw new Error(`unknown --tool ${TOOL}`);
}

async function measured(target, mode) {
  const pids = Object.fromEntries(Object.entries(config.processes || {}).map(([n, f]) => [n, readPid(f)]));
  const t0 = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, procTicks(p)]));
  const peak = Object.fromEntries(Object.keys(pids).map((n) => [n, 0]));
  const sampler = setInterval(() => {
    for (const [n, p] of Object.entries(pids)) peak[n] = Math.max(peak[n], procRssKb(p) || 0);
  }, 250);
  const m0 = machineTicks();
  const w0 = process.hrtime.bigint();
  const r = await loadRun(target, mode, DURATION, CONNS);
  const wall = Number(process.hrtime.bigint() - w0) / 1e9;
  const m1 = machineTicks();
  clearInterval(sampler);
  r.cpuPct = {};
  r.cpuMs = {};
  r.peakRssMb = {};
  for (const [n, p] of Object.entries(pids)) {
    const t1 = procTicks(p);
    r.cpuPct[n] = t0[n] == null || t1 == null ? null : ((t1 - t0[n]) / CLK_TCK / wall) * 100;
    r.cpuMs[n] = t0[n] == null || t1 == null ? null : ((t1 - t0[n]) / CLK_TCK) * 1000;
    r.peakRssMb[n] = peak[n] / 1024;
  }
  r.machineBusyPct = (1 - (m1.idle - m0.idle) / (m1.total - m0.total)) * 100;
  return r;
}

// ---------- stats / report ----------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const fmt = (x, d = 2) => (x == null || Number.isNaN(x) ? 'n/a' : x.toFixed(d));
const medRange = (xs, d = 2) => `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}]`;

function report(results) {
  const lines = [];
  lines.push(
    `tool=${TOOL} connections=${CONNS} rate=${RATE || 'max (closed loop)'} duration=${DURATION}s reps=${REPS} warmup=${WARMUP}s cpus=${os.cpus().length} node=${process.version}`,
  );
  for (const mode of MODES) {
    lines.push(
      '',
      `### ${mode}  (median of ${REPS} [min–max])`,
      '',
      '| target | RPS | p50 ms | p90 ms | p99 ms | errors | ' +
        Object.keys(config.processes || {})
          .map((n) => `${n} CPU% | ${n} peak RSS MB`)
          .join(' | ') +
        ' | machine busy % | gateway CPU ms/call |',
      '|---|---|---|---|---|---|' +
        Object.keys(config.processes || {})
          .map(() => '---|---|')
          .join('') +
        '---|---|',
    );
    const byTarget = {};
    for (const t of config.targets) {
      const rs = results.filter((r) => r.mode === mode && r.target === t.name);
      if (!rs.length) continue;
      byTarget[t.name] = rs;
      const procCols = Object.keys(config.processes || {})
        .map(
          (n) =>
            `${medRange(
              rs.map((r) => r.cpuPct[n] ?? NaN),
              0,
            )} | ${fmt(Math.max(...rs.map((r) => r.peakRssMb[n] || 0)), 0)}`,
        )
        .join(' | ');
      lines.push(
        `| ${t.name} | ${medRange(
          rs.map((r) => r.rps),
          0,
        )} | ${medRange(rs.map((r) => r.p50))} | ${medRange(rs.map((r) => r.p90))} | ${medRange(rs.map((r) => r.p99))} | ${rs.reduce((a, r) => a + r.errors, 0)} | ${procCols} | ${medRange(
          rs.map((r) => r.machineBusyPct),
          0,
        )} | ${
          t.process
            ? medRange(
                rs.map((r) => (r.cpuMs[t.process] ?? NaN) / r.requests),
                3,
              )
            : ''
        } |`,
      );
    }
    const base = byTarget[BASELINE];
    if (!base) continue;
    for (const [name, rs] of Object.entries(byTarget)) {
      if (name === BASELINE) continue;
      const d = (k) => median(rs.map((r) => r[k])) - median(base.map((r) => r[k]));
      lines.push(
        `| overhead ${name} − ${BASELINE} | ${fmt((median(rs.map((r) => r.rps)) / median(base.map((r) => r.rps))) * 100, 0)}% of baseline RPS | +${fmt(d('p50'))} | +${fmt(d('p90'))} | +${fmt(d('p99'))} | | |`,
      );
    }
  }
  return lines.join('\n');
}

// ---------- main ----------
const results = [];
for (const mode of MODES) {
  if (WARMUP > 0) {
    for (const t of config.targets) {
      process.stderr.write(`warmup ${mode} ${t.name} ${WARMUP}s\n`);
      await loadRun(t, mode, WARMUP, CONNS);
    }
  }
  for (let rep = 1; rep <= REPS; rep++) {
    const order = rep % 2 ? config.targets : [...config.targets].reverse(); // alternate order per rep
    for (const t of order) {
      const r = await measured(t, mode);
      results.push({ mode, rep, target: t.name, ...r });
      process.stderr.write(
        `${mode} rep${rep} ${t.name}: rps=${fmt(r.rps, 0)} p50=${fmt(r.p50)} p90=${fmt(r.p90)} p99=${fmt(r.p99)} ms errors=${r.errors} cpu=${JSON.stringify(Object.fromEntries(Object.entries(r.cpuPct).map(([k, v]) => [k, Math.round(v)])))} busy=${fmt(r.machineBusyPct, 0)}%\n`,
      );
    }
  }
}
const text = report(results);
fs.writeFileSync(
  OUT,
  JSON.stringify(
    {
      tool: TOOL,
      connections: CONNS,
      duration: DURATION,
      reps: REPS,
      warmup: WARMUP,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      node: process.version,
      config,
      results,
    },
    null,
    2,
  ),
);
console.log(text);
console.log(`\nraw results: ${OUT}`);
