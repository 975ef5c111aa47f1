// Summary of a V8 CPU profile (node --cpu-prof) of the api under load: where its CPU time went,
// by stage of a gateway call. Start-up (module loading) and idle time are left out. A sample is
// charged to the nearest frame that is not Node's own (so a socket write counts for the library
// that wrote: pg for the database, undici for the provider, the gateway for the client's answer),
// and that frame's file to a stage below (first match wins).
import fs from 'node:fs';

const STAGES = [
  ['key check', /\/src\/keys\/|virtual-key\.guard/],
  ['route + admission', /call-admission|\/src\/providers\/|\/src\/settings\/|concurrency-limiter|\/src\/rate-limit\//],
  ['hold + debit (ledger)', /\/src\/credits\//],
  ['record (call log)', /\/src\/model-calls\/|call-log\.service/],
  ['database driver (pg)', /node_modules\/pg(-protocol|-pool)?\/|\/src\/prisma\//],
  ['ORM (Prisma, decimal.js)', /node_modules\/@prisma\/|query_compiler/],
  ['upstream client (undici)', /node_modules\/undici\//],
  ['stream relay', /stream-relay|sse-splitter/],
  ['metering (tokenizer)', /\/src\/metering\/|gpt-tokenizer|piscina/],
  ['gateway (validate, forward, answer)', /\/src\/gateway\//],
  ['logging (pino)', /node_modules\/(pino|pino-http|nestjs-pino|@pinojs|sonic-boom|pino-std-serializers)\//],
  ['metrics (prom-client)', /node_modules\/prom-client\/|\/src\/metrics\//],
  ['HTTP server (fastify)', /node_modules\/(fastify|find-my-way|@fastify|avvio|light-my-request|secure-json-parse|fast-json-stringify)/],
  ['framework (Nest)', /node_modules\/(@nestjs|iterare|reflect-metadata|rxjs)\//],
  ['edge checks, audit, request ids', /\/src\/(common|audit|logging|auth)\/|app\.factory/],
  ['Redis (ioredis)', /node_modules\/ioredis\//],
];

/**
 * @param {string} file a .cpuprofile
 * @returns {{ busyMs: number, stages: [string, number][], top: [string, number][] }} stage → share of busy time (%)
 */
export function summarizeProfile(file) {
  const p = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const hits = new Map();
  for (let i = 0; i < p.samples.length; i++) hits.set(p.samples[i], (hits.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const stage = new Map();
  const top = new Map();
  let busy = 0;
  for (const [id, t] of hits) {
    const fn = byId.get(id).callFrame.functionName;
    if (fn === '(idle)' || fn === '(program)') continue;
    let startup = false;
    let owner = null;
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame;
      if (f.functionName === 'Module._load' || f.functionName === 'wrapSafe') startup = true;
      if (!owner && f.url && !f.url.startsWith('node:')) owner = f;
    }
    if (startup) continue;
    busy += t;
    let name = fn === '(garbage collector)' ? 'garbage collector' : 'Node.js runtime (timers, streams, promises)';
    if (owner) name = STAGES.find(([, re]) => re.test(owner.url))?.[0] ?? 'other';
    stage.set(name, (stage.get(name) ?? 0) + t);
    const self = byId.get(id).callFrame;
    const label = `${self.functionName || '(anonymous)'} ${self.url.replace(/.*node_modules\//, '').replace(/.*\/dist\//, '')}`.trim();
    top.set(label, (top.get(label) ?? 0) + t);
  }
  const pct = (m) => [...m].map(([k, v]) => [k, (v / busy) * 100]).sort((a, b) => b[1] - a[1]);
  return { busyMs: busy / 1000, stages: pct(stage), top: pct(top).slice(0, 15) };
}

/** The summary as markdown, with each stage's CPU per call when `calls` is given. */
export function profileReport(file, calls) {
  const s = summarizeProfile(file);
  const perCall = (share) => (calls ? ` | ${(((share / 100) * s.busyMs) / calls).toFixed(3)}` : '');
  const lines = [
    `## api CPU profile (${s.busyMs.toFixed(0)} ms busy${calls ? `, ${calls} calls` : ''})`,
    '',
    `| stage | share %${calls ? ' | ms/call' : ''} |`,
    `|---|---${calls ? '|---' : ''}|`,
    ...s.stages.map(([k, v]) => `| ${k} | ${v.toFixed(1)}${perCall(v)} |`),
    '',
    '| top functions (self time) | share % |',
    '|---|---|',
    ...s.top.map(([k, v]) => `| ${k.replace(/\|/g, '\\|')} | ${v.toFixed(1)} |`),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(profileReport(process.argv[2], process.argv[3] ? Number(process.argv[3]) : undefined));
}
