// The steady-load soak of `npm run bench -- --soak SECONDS`: `connections` clients call the
// target back to back (non-streaming chat, undici keep-alive) for `seconds`; every `windowS`
// seconds a row: calls, RPS, p50/p99 of that window, errors, and the api's RSS (its whole process
// tree, from /proc). Ends with the first and last windows' RSS compared.
import fs from 'node:fs';
import { Pool } from 'undici';

function rssMb(pid) {
  const all = [pid];
  for (let i = 0; i < all.length; i++) {
    try {
      const kids = fs.readFileSync(`/proc/${all[i]}/task/${all[i]}/children`, 'utf8').trim();
      if (kids) all.push(...kids.split(/\s+/).map(Number));
    } catch {
      /* gone */
    }
  }
  let kb = 0;
  for (const p of all) {
    try {
      kb += Number(fs.readFileSync(`/proc/${p}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN);

/**
 * @param {{ url: string, key: string, pid: number, seconds: number, connections: number, windowS?: number }} o
 * @returns {Promise<{ text: string, calls: number, errors: number }>}
 */
export async function soak({ url, key, pid, seconds, connections, windowS = 10 }) {
  const u = new URL(url);
  const pool = new Pool(u.origin, { connections, pipelining: 1 });
  const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 16 });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const end = Date.now() + seconds * 1000;
  let window = { lat: [], errors: 0, start: Date.now() };
  const rows = [];
  let calls = 0;
  let errors = 0;
  const closeWindow = () => {
    const w = window;
    window = { lat: [], errors: 0, start: Date.now() };
    const s = w.lat.sort((a, b) => a - b);
    const secs = (Date.now() - w.start) / 1000;
    rows.push({
      t: Math.round((Date.now() - (end - seconds * 1000)) / 1000),
      calls: s.length,
      rps: s.length / secs,
      p50: pct(s, 50),
      p99: pct(s, 99),
      errors: w.errors,
      rss: rssMb(pid),
    });
    const r = rows[rows.length - 1];
    process.stderr.write(
      `soak t=${r.t}s rps=${r.rps.toFixed(0)} p99=${r.p99.toFixed(1)} ms errors=${r.errors} rss=${r.rss.toFixed(0)} MB\n`,
    );
  };
  const timer = setInterval(closeWindow, windowS * 1000);
  const client = async () => {
    while (Date.now() < end) {
      const t0 = performance.now();
      try {
        const res = await pool.request({ method: 'POST', path: u.pathname, headers, body });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
        window.lat.push(performance.now() - t0);
        calls++;
      } catch {
        window.errors++;
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, client));
  clearInterval(timer);
  // a remainder of less than half a window is folded into the totals only
  if (window.lat.length + window.errors > 0 && (rows.length === 0 || Date.now() - window.start >= (windowS * 1000) / 2)) closeWindow();
  await pool.close();
  // RSS is a sawtooth (V8 collects in steps): compare the medians of the first and last minute
  const per = Math.max(1, Math.round(60 / windowS));
  const med = (rs) => [...rs].map((r) => r.rss).sort((a, b) => a - b)[Math.floor(rs.length / 2)];
  const first = rows.length ? { rss: med(rows.slice(0, per)) } : undefined;
  const last = rows.length ? { rss: med(rows.slice(-per)) } : undefined;
  const text = [
    `## soak: ${seconds} s at ${connections} connections (one row per ${windowS} s)`,
    '',
    '| t s | calls | RPS | p50 ms | p99 ms | errors | api RSS MB |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.t} | ${r.calls} | ${r.rps.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.errors} | ${r.rss.toFixed(0)} |`,
    ),
    '',
    first && last
      ? `${calls} calls, ${errors} errors; api RSS (median) ${first.rss.toFixed(0)} MB over the first minute, ${last.rss.toFixed(0)} MB over the last ` +
        `(${(last.rss - first.rss >= 0 ? '+' : '') + (last.rss - first.rss).toFixed(0)} MB); max ${Math.max(...rows.map((r) => r.rss)).toFixed(0)} MB`
      : `${calls} calls, ${errors} errors`,
  ].join('\n');
  return { text, calls, errors };
}
