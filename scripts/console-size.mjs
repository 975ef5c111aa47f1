// Prints the size of the console build (dist/console, or the folder given as the first argument):
// every file raw and gzipped, the total, and what a first visit downloads before a screen's own
// chunk (index.html plus the scripts and styles it references). Run by `npm run build:console`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = path.resolve(process.argv[2] ?? 'dist/console');
if (!fs.existsSync(path.join(dir, 'index.html'))) {
  console.error(`console-size: no build in ${dir}`);
  process.exit(1);
}

const files = [];
const walk = (rel) => {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(child);
    else {
      const body = fs.readFileSync(path.join(dir, child));
      files.push({ name: child, raw: body.length, gzip: gzipSync(body, { level: 9 }).length });
    }
  }
};
walk('');
files.sort((a, b) => b.gzip - a.gzip);

const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
const index = fs.readFileSync(path.join(dir, 'index.html'), 'utf8');
const initial = new Set(['index.html', ...[...index.matchAll(/\/console\/([^"']+)/g)].map((m) => m[1])]);
const sum = (list, k) => list.reduce((s, f) => s + f[k], 0);

console.log(`console build ${dir}`);
for (const f of files)
  console.log(
    `  ${f.name.padEnd(48)} ${kb(f.raw).padStart(10)}  gzip ${kb(f.gzip).padStart(9)}${initial.has(f.name) ? '  (first load)' : ''}`,
  );
const first = files.filter((f) => initial.has(f.name));
console.log(`  total: ${files.length} files, ${kb(sum(files, 'raw'))}, gzip ${kb(sum(files, 'gzip'))}`);
console.log(`  first load (index.html + entry script + styles): ${kb(sum(first, 'raw'))}, gzip ${kb(sum(first, 'gzip'))}`);
