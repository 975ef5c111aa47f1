#!/usr/bin/env node
// Runs `prisma generate`. Prisma's CLI checks for its schema-engine binary before any command and
// tries to download it when missing, even though `generate` never uses it. Where that download is
// impossible (offline CI), point PRISMA_SCHEMA_ENGINE_BINARY at a stub so the check passes.
// A real engine, if the user has one, is left alone.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) {
  const stub = path.join(os.tmpdir(), 'tollgate-prisma-engine-stub.sh');
  fs.writeFileSync(stub, '#!/bin/sh\necho "schema engine not available (stub for prisma generate)" >&2\nexit 1\n', { mode: 0o755 });
  env.PRISMA_SCHEMA_ENGINE_BINARY = stub;
}
env.PRISMA_HIDE_UPDATE_MESSAGE = '1';
const bin = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node_modules', '.bin', 'prisma');
const r = spawnSync(bin, ['generate'], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
