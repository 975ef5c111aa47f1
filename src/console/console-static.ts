import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where the console is served (docs/console.md). */
export const CONSOLE_PREFIX = '/console';

/** Cache-Control of the hashed files under /console/assets/ (their names change with their content). */
export const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * The console's security headers: scripts and styles from this origin only (no inline script;
 * inline styles are allowed because Mantine sets its CSS variables and component styles inline),
 * API calls to this origin only, no framing, no MIME sniffing.
 */
export const CONSOLE_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

/**
 * The built console's folder: CONSOLE_DIST_DIR when set, else `dist/console` next to the compiled
 * api (dist/src/console/ → dist/console), or `<repo>/dist/console` when running from sources (ts-jest).
 */
export function consoleDistDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.CONSOLE_DIST_DIR?.trim();
  if (configured) return path.resolve(configured);
  const fromSources = __filename.endsWith('.ts');
  return fromSources ? path.resolve(__dirname, '..', '..', 'dist', 'console') : path.resolve(__dirname, '..', '..', 'console');
}

const gzipAsync = promisify(gzip);

/** Content types of the files a Vite build writes. */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

/** Files worth compressing (text); images and fonts are compressed already. */
const COMPRESSIBLE = /\.(html|m?js|css|json|map|svg|txt)$/;

/** One file of the build, held in memory once served (a console build is about 2 MB). */
interface ConsoleFile {
  body: Buffer;
  /** gzip of `body` when that is smaller, else null */
  gzip: Buffer | null;
  contentType: string;
  /** strong ETag: a hash of the content */
  etag: string;
  cacheControl: string;
}

/** The files under `dir` (paths relative to it, `/` separators); names only, nothing is read. */
function listFiles(dir: string): Set<string> {
  const names = new Set<string>();
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) names.add(child);
    }
  };
  walk('');
  return names;
}

/** Reads one file of the build and prepares its answer: gzip (level 9) when that is smaller, ETag, cache policy. */
async function loadFile(dir: string, rel: string): Promise<ConsoleFile> {
  const body = await fs.promises.readFile(path.join(dir, rel));
  const gz = COMPRESSIBLE.test(rel) && body.length > 512 ? await gzipAsync(body, { level: 9 }) : null;
  return {
    body,
    gzip: gz && gz.length < body.length ? gz : null,
    contentType: CONTENT_TYPES[path.extname(rel).toLowerCase()] ?? 'application/octet-stream',
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    cacheControl: rel.startsWith('assets/') ? ASSET_CACHE_CONTROL : 'no-cache',
  };
}

/** The path after /console/ without query string, or null when it is not a clean relative path. */
function relativePath(url: string): string | null {
  const pathname = url.split('?')[0];
  let rest = pathname === CONSOLE_PREFIX ? '' : pathname.slice(CONSOLE_PREFIX.length + 1);
  try {
    rest = decodeURIComponent(rest);
  } catch {
    return null;
  }
  if (rest.includes('\\') || rest.includes('\0') || rest.split('/').some((part) => part === '..' || part === '.')) return null;
  return rest;
}

/** Sends one file: 304 when If-None-Match matches, gzip when the client accepts it. */
function sendFile(req: FastifyRequest, reply: FastifyReply, file: ConsoleFile): FastifyReply {
  void reply.header('cache-control', file.cacheControl).header('etag', file.etag).header('vary', 'accept-encoding');
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((t) => t.trim() === file.etag)) return reply.code(304).send();
  void reply.type(file.contentType);
  const acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  if (file.gzip && acceptsGzip) return reply.header('content-encoding', 'gzip').send(file.gzip);
  return reply.send(file.body);
}

/**
 * Serves the built console (docs/console.md) on the Fastify instance, outside Nest (static files
 * need no guard: every piece of data the console shows comes from the guarded REST API). The
 * build's file names are listed at boot; each file is read on its first request and then kept in
 * memory with its gzip and a content hash as ETag (an api that never serves the console holds
 * none of it: src/main.ts, docs/operations.md "Memory"):
 * - `GET /console/<file>`: that file; under `assets/` (content-hashed names) cached for a year
 *   (`immutable`), the others (`index.html`, icons) revalidated every time (`no-cache`);
 *   `If-None-Match` answers 304; gzip when the client accepts it;
 * - a missing file under `assets/` answers 404 (a stale chunk must fail, not receive HTML);
 * - any other `/console` path answers `index.html` (the single-page app routes it);
 * - every answer carries CONSOLE_SECURITY_HEADERS;
 * - without a build (no `index.html` in the folder), `/console` answers 503
 *   `{statusCode, code:'console_not_built', message, requestId}`.
 * Only files present at boot are served (a new build needs a restart, as before).
 * Not @fastify/static: its dependencies are ES modules that jest (Node 20) cannot require, and
 * the e2e suites boot this app under jest.
 * @param dir the build's folder (default consoleDistDir())
 */
export function installConsole(fastify: FastifyInstance, dir: string = consoleDistDir()): void {
  const names = fs.existsSync(path.join(dir, 'index.html')) ? listFiles(dir) : null;
  const loaded = new Map<string, Promise<ConsoleFile>>();
  const file = (rel: string): Promise<ConsoleFile> => {
    let f = loaded.get(rel);
    if (!f) {
      f = loadFile(dir, rel);
      loaded.set(rel, f);
      // a failed read (file removed since boot) is retried on the next request, not kept
      f.catch(() => loaded.delete(rel));
    }
    return f;
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    void reply.headers(CONSOLE_SECURITY_HEADERS);
    if (!names) {
      return reply.code(503).send({
        statusCode: 503,
        code: 'console_not_built',
        message: 'The console is not built on this server (npm run build writes dist/console)',
        requestId: req.id,
      });
    }
    const rel = relativePath(req.url);
    if (rel && names.has(rel)) return sendFile(req, reply, await file(rel));
    if (rel === null || rel.startsWith('assets/')) {
      return reply.code(404).send({ statusCode: 404, code: 'not_found', message: 'No such console file', requestId: req.id });
    }
    return sendFile(req, reply, await file('index.html'));
  };
  fastify.get(CONSOLE_PREFIX, handler);
  fastify.get(`${CONSOLE_PREFIX}/*`, handler);
}
