import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error';

/**
 * The console's session cookie (docs/api/auth.md "Session cookie"): `POST /auth/login` and
 * `POST /auth/password` set it to the login JWT they answer; `/auth/logout` and
 * `/auth/logout-all` clear it. It is httpOnly (scripts never read it), `SameSite=Strict` (a
 * browser never sends it with a request started by another site, the CSRF defence),
 * `Path=/`, `Secure` when the request came over https (the protocol as Fastify sees it, i.e.
 * X-Forwarded-Proto from a proxy TRUST_PROXY trusts), and lives as long as the token (Max-Age).
 * Written and read here rather than with @fastify/cookie, whose `cookie` dependency is an ES
 * module that jest (Node 20) cannot load, and the e2e suites boot this app under jest.
 */
export const SESSION_COOKIE = 'tollgate_session';

/** The Set-Cookie value: the token, or an empty, already expired cookie to clear it. */
function serialize(req: FastifyRequest, token: string | null, maxAgeSeconds: number): string {
  const parts = [
    `${SESSION_COOKIE}=${token === null ? '' : encodeURIComponent(token)}`,
    `Max-Age=${token === null ? 0 : Math.max(0, Math.floor(maxAgeSeconds))}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
  ];
  if (token === null) parts.splice(2, 0, 'Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (req.protocol === 'https') parts.push('Secure');
  return parts.join('; ');
}

/** Sets the session cookie to `token` for `maxAgeSeconds` (the token's lifetime). */
export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string, maxAgeSeconds: number): void {
  void reply.header('set-cookie', serialize(req, token, maxAgeSeconds));
}

/** Clears the session cookie (an empty cookie with the same attributes, Max-Age=0). */
export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
  void reply.header('set-cookie', serialize(req, null, 0));
}

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | string[] | undefined, name: string): string | null {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (!text) return null;
  for (const pair of text.split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    const raw = pair.slice(eq + 1).trim();
    try {
      return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
    } catch {
      return null;
    }
  }
  return null;
}

type CookieRequest = { headers: Record<string, string | string[] | undefined> };

/**
 * The JWT of the session cookie, only when the request carries no other credentials (no
 * `Authorization`, no `X-API-Key`): an explicit header always wins over the cookie.
 */
export function sessionCookieToken(req: CookieRequest): string | null {
  if (req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined) return null;
  return readCookie(req.headers.cookie, SESSION_COOKIE) || null;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * CSRF check for a request authenticated by the session cookie alone: a write (not GET, HEAD or
 * OPTIONS) whose `Origin` header is present must come from the api's own origin (scheme and host
 * of the request as Fastify sees them, TRUST_PROXY applied) or from one of CORS_ORIGINS.
 * SameSite=Strict is the main defence; this one also stops sibling origins of the same site.
 * @throws DomainError 403 `csrf_origin_mismatch`
 */
export function checkCookieOrigin(req: FastifyRequest, trustedOrigins: readonly string[]): void {
  if (SAFE_METHODS.has(req.method)) return;
  const origin = req.headers.origin;
  if (origin === undefined) return;
  const own = `${req.protocol}://${req.host}`;
  if (origin === own || trustedOrigins.includes(origin)) return;
  throw DomainError.forbidden(
    'csrf_origin_mismatch',
    'A request authenticated by the session cookie must come from the console of this api',
  );
}
