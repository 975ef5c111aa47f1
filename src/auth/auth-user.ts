import { UserRole } from '../generated/prisma/enums';

/** Who is calling a non-/v1 endpoint, after authentication. */
export interface AuthUser {
  id: string;
  did: string;
  email: string;
  role: UserRole;
  /** how the caller proved it: a login JWT or an API key (virtual key with scopes) */
  via: 'jwt' | 'api_key';
  /** the API key's scopes (empty for JWT callers, who act with their role) */
  scopes: string[];
  /** the API key's id when via = api_key */
  keyId: string | null;
  /** a JWT caller whose password must be changed first (generated or bootstrap password) */
  mustChangePassword: boolean;
  /** the login token's id and expiry (Unix seconds), when via = jwt: POST /auth/logout ends it */
  session?: { jti: string; expiresAt: number };
}

/**
 * Scopes an API key can carry (docs/roles.md "Service keys"). A scope never lifts a key above its
 * user's role: an `admin`-scoped key of a member can do nothing an admin can.
 * - `usage:read`, `credits:read`, `providers:read`: the caller's own usage, credits, providers
 * - `users:read`, `users:write`: user and team management (and the external user API)
 * - `keys:reveal`: fetch a key's secret (every reveal is audited)
 * - `audit:read`: the audit log
 * - `llm-config:read`: per-user LLM configurations for coding agents
 * - `admin`: every admin endpoint the key's user may call
 */
export const SCOPES = [
  'usage:read',
  'credits:read',
  'providers:read',
  'users:read',
  'users:write',
  'keys:reveal',
  'audit:read',
  'llm-config:read',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];
