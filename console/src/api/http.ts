/**
 * The console's one way to call Tollgate's REST API (the same endpoints any dashboard uses).
 *
 * - The login JWT is kept in memory only (`setAccessToken`); the api also sets an httpOnly,
 *   SameSite=Strict session cookie at login, so a reload keeps the session without the token
 *   ever touching localStorage. Requests go same-origin with `credentials: 'same-origin'`.
 * - Errors: any non-2xx answer becomes an `ApiError` carrying the body's machine-readable `code`
 *   (docs/api-conventions.md "Errors"), its `message`, the HTTP `status`, and the whole body.
 */

let accessToken: string | null = null;

/** Keep (or forget, with null) the login JWT in memory. */
export function setAccessToken(token: string | null): void {
  accessToken = token;
}

/**
 * Listeners told when an answer says the session is gone (401 `unauthorized`), so the shell can
 * show the login. A 401 `invalid_credentials` (a wrong password at login or password change) is
 * not a lost session and tells nobody.
 */
const unauthorizedListeners = new Set<() => void>();
export function onUnauthorized(listener: () => void): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/** A non-2xx answer from the api. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type QueryValue = string | number | boolean | undefined | null | Array<string | number>;

export interface ApiRequest extends Omit<RequestInit, 'body'> {
  /** query parameters; undefined, null and '' are left out; arrays repeat the parameter */
  query?: Record<string, QueryValue>;
  /** a JSON body (serialised here), or FormData / Blob sent as is */
  body?: unknown;
}

/** The URL for an api path with a query string (also used for downloads such as CSV exports). */
export function apiUrl(path: string, query?: Record<string, QueryValue>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(name, String(v)));
    else params.set(name, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** Raw fetch with the session attached; the caller reads the Response (streams, CSV, blobs). */
export async function apiRaw(path: string, init: ApiRequest = {}): Promise<Response> {
  const { query, body, headers, ...rest } = init;
  const h = new Headers(headers);
  if (accessToken) h.set('authorization', `Bearer ${accessToken}`);
  let payload: BodyInit | undefined;
  if (body instanceof FormData || body instanceof Blob || typeof body === 'string') payload = body;
  else if (body !== undefined) {
    h.set('content-type', 'application/json');
    payload = JSON.stringify(body);
  }
  const res = await fetch(apiUrl(path, query), { credentials: 'same-origin', ...rest, headers: h, body: payload });
  if (!res.ok) {
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    const obj = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    const inner = (obj.error && typeof obj.error === 'object' ? obj.error : obj) as Record<string, unknown>;
    const code = typeof inner.code === 'string' ? inner.code : `http_${res.status}`;
    const message = typeof inner.message === 'string' ? inner.message : res.statusText || `HTTP ${res.status}`;
    if (res.status === 401 && code === 'unauthorized') unauthorizedListeners.forEach((l) => l());
    throw new ApiError(res.status, code, message, parsed);
  }
  return res;
}

/** JSON call: resolves with the parsed body (undefined for 204), rejects with ApiError. */
export async function apiFetch<T>(path: string, init: ApiRequest = {}): Promise<T> {
  const res = await apiRaw(path, init);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}
