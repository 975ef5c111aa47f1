import type { FastifyRequest } from 'fastify';
import { DomainError } from '../common/domain-error';
import { checkCookieOrigin, readCookie, SESSION_COOKIE, sessionCookieToken } from './session-cookie';

function req(method: string, headers: Record<string, string>, protocol = 'http', host = 'api.example:3000'): FastifyRequest {
  return { method, headers, protocol, host } as unknown as FastifyRequest;
}

describe('session cookie helpers', () => {
  it('readCookie finds the named cookie among others, decodes it, and answers null otherwise', () => {
    expect(readCookie(`a=1; ${SESSION_COOKIE}=abc.def.ghi; b=2`, SESSION_COOKIE)).toBe('abc.def.ghi');
    expect(readCookie(`${SESSION_COOKIE}="quoted%20value"`, SESSION_COOKIE)).toBe('quoted value');
    expect(readCookie(`x${SESSION_COOKIE}=no; ${SESSION_COOKIE}x=no`, SESSION_COOKIE)).toBeNull();
    expect(readCookie(`${SESSION_COOKIE}=%E0%A4%A`, SESSION_COOKIE)).toBeNull();
    expect(readCookie(undefined, SESSION_COOKIE)).toBeNull();
  });

  it('sessionCookieToken is used only without Authorization and X-API-Key', () => {
    const cookie = `${SESSION_COOKIE}=t0k3n`;
    expect(sessionCookieToken({ headers: { cookie } })).toBe('t0k3n');
    expect(sessionCookieToken({ headers: { cookie, authorization: 'Bearer other' } })).toBeNull();
    expect(sessionCookieToken({ headers: { cookie, 'x-api-key': 'tg-x' } })).toBeNull();
    expect(sessionCookieToken({ headers: { cookie: `${SESSION_COOKIE}=` } })).toBeNull();
  });

  it('checkCookieOrigin lets reads, writes without Origin, the own origin and trusted origins through', () => {
    expect(() => checkCookieOrigin(req('GET', { origin: 'https://evil.example' }), [])).not.toThrow();
    expect(() => checkCookieOrigin(req('POST', {}), [])).not.toThrow();
    expect(() => checkCookieOrigin(req('POST', { origin: 'http://api.example:3000' }), [])).not.toThrow();
    expect(() => checkCookieOrigin(req('DELETE', { origin: 'https://app.example' }), ['https://app.example'])).not.toThrow();
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['another port', 'http://api.example:3001'],
    ['another scheme', 'https://api.example:3000'],
    ['an opaque origin', 'null'],
  ])('checkCookieOrigin refuses a write from %s with 403 csrf_origin_mismatch', (_label, origin) => {
    let caught: unknown;
    try {
      checkCookieOrigin(req('PATCH', { origin }), []);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect(caught).toMatchObject({ status: 403, code: 'csrf_origin_mismatch' });
  });
});
