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
}

/** Scopes an API key can carry. `admin` covers every admin endpoint (the key's user must be an admin). */
export const SCOPES = ['usage:read', 'credits:read', 'providers:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];
