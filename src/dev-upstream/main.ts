/**
 * CLI entry of the bundled dev upstream: `node dist/src/dev-upstream/main.js` (after `tsc`), or
 * `npm run start:upstream`.
 *
 * Environment (all optional):
 * - DEV_UPSTREAM_HOST: interface to listen on (default 127.0.0.1)
 * - DEV_UPSTREAM_PORT: TCP port 0..65535 (default 18080; 0 = random)
 * - DEV_UPSTREAM_LATENCY_MS: delay before answering, ms (default 0)
 * - DEV_UPSTREAM_ERROR_RATE: fraction 0..1 of requests answered 500 (default 0)
 * - DEV_UPSTREAM_CHUNK_DELAY_MS: delay between stream chunks, ms (default 0)
 * - DEV_UPSTREAM_API_KEY: if set, required as `Authorization: Bearer <key>`
 * - DEV_UPSTREAM_MODELS: comma-separated model ids for GET /v1/models (default mock-model)
 *
 * An invalid value exits with code 2 and a message naming the variable.
 */
import { startDevUpstream, type DevUpstreamOptions } from './dev-upstream';

class ConfigError extends Error {}

function readEnv(name: string): string | undefined {
  const raw = process.env[name];
  if (raw === undefined) return undefined;
  const v = raw.trim();
  return v.length === 0 ? undefined : v;
}

function numberEnv(name: string, min: number, max: number, integer: boolean): number | undefined {
  const v = readEnv(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^[+]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i.test(v) || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new ConfigError(
      `${name} must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}, got ${JSON.stringify(process.env[name])}`,
    );
  }
  return n;
}

/** Builds the options from the environment; throws ConfigError naming the bad variable. */
function optionsFromEnv(): DevUpstreamOptions {
  const maxDelay = 10 * 60 * 1000;
  const opts: DevUpstreamOptions = {
    host: readEnv('DEV_UPSTREAM_HOST') ?? '127.0.0.1',
    port: numberEnv('DEV_UPSTREAM_PORT', 0, 65535, true) ?? 18080,
    latencyMs: numberEnv('DEV_UPSTREAM_LATENCY_MS', 0, maxDelay, false) ?? 0,
    errorRate: numberEnv('DEV_UPSTREAM_ERROR_RATE', 0, 1, false) ?? 0,
    chunkDelayMs: numberEnv('DEV_UPSTREAM_CHUNK_DELAY_MS', 0, maxDelay, false) ?? 0,
    apiKey: readEnv('DEV_UPSTREAM_API_KEY'),
  };
  if (opts.host !== undefined && /\s/.test(opts.host)) {
    throw new ConfigError(`DEV_UPSTREAM_HOST must be a host name or IP address, got ${JSON.stringify(process.env.DEV_UPSTREAM_HOST)}`);
  }
  const models = readEnv('DEV_UPSTREAM_MODELS');
  if (models !== undefined) {
    const list = models.split(',').map((m) => m.trim());
    if (list.some((m) => m.length === 0)) {
      throw new ConfigError(
        `DEV_UPSTREAM_MODELS must be a comma-separated list of model ids, got ${JSON.stringify(process.env.DEV_UPSTREAM_MODELS)}`,
      );
    }
    opts.models = list;
  }
  return opts;
}

async function main(): Promise<void> {
  let opts: DevUpstreamOptions;
  try {
    opts = optionsFromEnv();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dev upstream: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  let upstream;
  try {
    upstream = await startDevUpstream(opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A host that does not resolve or is not local is a bad DEV_UPSTREAM_HOST; a privileged port a
    // bad DEV_UPSTREAM_PORT (exit 2); anything else (e.g. port in use) is a runtime failure (exit 1).
    const badVar =
      code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL'
        ? 'DEV_UPSTREAM_HOST'
        : code === 'EACCES'
          ? 'DEV_UPSTREAM_PORT'
          : undefined;
    process.stderr.write(
      `dev upstream: cannot listen on ${opts.host}:${opts.port}${badVar ? ` (check ${badVar})` : ''}: ${(err as Error).message}\n`,
    );
    process.exit(badVar ? 2 : 1);
  }
  process.stdout.write(`dev upstream listening on ${upstream.url} (pid ${process.pid})\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.exit(1);
    }
    stopping = true;
    process.stdout.write(`dev upstream: ${signal}, closing\n`);
    upstream.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`dev upstream: close failed: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main().catch((err: unknown) => {
  process.stderr.write(`dev upstream: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
