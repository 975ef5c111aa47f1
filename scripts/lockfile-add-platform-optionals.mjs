#!/usr/bin/env node
// Records the other platforms' optional native packages in package-lock.json, so `npm ci` accepts
// the lockfile. npm leaves them out when the registry it installs from lacks those platform builds
// at the wanted version (npm/cli#8320; seen with a partial registry mirror), and `npm ci` then
// refuses with "Missing: <pkg> from lock file". The entries only need name, version, os/cpu/libc:
// npm skips them on any other platform and never downloads them. os/cpu/libc are taken from the
// newest published version of the package. Run after `npm install` if `npm ci` reports Missing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = path.resolve(process.argv[2] ?? '.');
const lockPath = path.join(dir, 'package-lock.json');
const npm = (args) => execFileSync('npm', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let report = '';
try {
  npm(['ci', '--dry-run', '--no-audit', '--no-fund']);
} catch (e) {
  report = `${e.stderr ?? ''}${e.stdout ?? ''}`;
}
const missing = [...new Set([...report.matchAll(/Missing: (@?[^@\s]+)@\S* from lock file/g)].map((m) => m[1]))];
if (missing.length === 0) {
  console.log('package-lock.json: nothing missing');
  process.exit(0);
}
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const wanted = {};
for (const meta of Object.values(lock.packages)) {
  for (const [name, range] of Object.entries(meta.optionalDependencies ?? {})) if (missing.includes(name)) wanted[name] = range;
}
for (const name of missing) {
  const version = wanted[name];
  if (!version || !/^\d+\.\d+\.\d+/.test(version)) throw new Error(`${name}: no exact version wanted by the lockfile (${version})`);
  const meta = JSON.parse(npm(['view', name, '--json', 'os', 'cpu', 'libc']) || '{}');
  const entry = { version, optional: true };
  for (const k of ['cpu', 'os', 'libc']) if (meta[k]) entry[k] = meta[k];
  if (!entry.os && !entry.cpu) throw new Error(`${name}: the registry gives no os/cpu, refusing to guess`);
  lock.packages[`node_modules/${name}`] = entry;
  console.log(`added ${name}@${version} (${[entry.os, entry.cpu, entry.libc].filter(Boolean).join(' / ')})`);
}
const root = lock.packages[''];
const rest = Object.entries(lock.packages)
  .filter(([k]) => k !== '')
  .sort(([a], [b]) => a.localeCompare(b));
lock.packages = Object.fromEntries([['', root], ...rest]);
fs.writeFileSync(lockPath, `${JSON.stringify(lock, null, 2)}\n`);
