/**
 * The login session: who is logged in (GET /auth/me), the credit currency (GET /user/info), and
 * the actions login / change password / logout. The JWT returned by the api is kept in memory only
 * (api/http.ts); the httpOnly session cookie the api sets at login authenticates reloads.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError, apiFetch, onUnauthorized, setAccessToken } from '../api/http';
import type { CreditCurrency, LoginResult, Me, UserInfo } from '../api/types';
import { setCreditCurrency } from '../format';

export type SessionStatus = 'loading' | 'authenticated' | 'anonymous';

export interface SessionValue {
  /** the logged-in user (GET /auth/me), null while loading or when nobody is logged in */
  user: Me | null;
  status: SessionStatus;
  /** the credit currency of GET /user/info, null until known or with billing off */
  currency: CreditCurrency | null;
  /** POST /auth/login; rejects with ApiError (401 invalid_credentials, 429 too_many_login_attempts) */
  login(login: string, password: string): Promise<LoginResult>;
  /** POST /auth/password; the fresh token replaces the old one */
  changePassword(currentPassword: string, newPassword: string): Promise<LoginResult>;
  /** POST /auth/logout (or /auth/logout-all with `everywhere`), then forgets everything cached */
  logout(everywhere?: boolean): Promise<void>;
}

export const ME_QUERY_KEY = ['auth', 'me'] as const;
export const USER_INFO_QUERY_KEY = ['user', 'info'] as const;

const SessionContext = createContext<SessionValue | null>(null);

/** GET /auth/me, or null when the session is missing or gone (401). */
async function fetchMe(): Promise<Me | null> {
  try {
    return await apiFetch<Me>('/auth/me');
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ME_QUERY_KEY, queryFn: fetchMe, staleTime: 60_000, retry: false });
  const user = me.data ?? null;
  const info = useQuery({
    queryKey: USER_INFO_QUERY_KEY,
    queryFn: () => apiFetch<UserInfo>('/user/info'),
    enabled: !!user && !user.mustChangePassword,
    staleTime: 30_000,
  });
  const currency = info.data?.currency ?? null;
  useEffect(() => setCreditCurrency(currency), [currency]);

  const forget = useCallback(() => {
    setAccessToken(null);
    queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== ME_QUERY_KEY[0] || q.queryKey[1] !== ME_QUERY_KEY[1] });
    queryClient.setQueryData(ME_QUERY_KEY, null);
  }, [queryClient]);

  useEffect(() => onUnauthorized(forget), [forget]);

  const start = useCallback(
    async (result: LoginResult) => {
      setAccessToken(result.accessToken);
      queryClient.removeQueries({ predicate: (q) => q.queryKey[0] !== ME_QUERY_KEY[0] });
      await queryClient.fetchQuery({ queryKey: ME_QUERY_KEY, queryFn: fetchMe, staleTime: 0 });
      return result;
    },
    [queryClient],
  );

  const value = useMemo<SessionValue>(
    () => ({
      user,
      status: me.isPending ? 'loading' : user ? 'authenticated' : 'anonymous',
      currency,
      login: async (login, password) => start(await apiFetch<LoginResult>('/auth/login', { method: 'POST', body: { login, password } })),
      changePassword: async (currentPassword, newPassword) =>
        start(await apiFetch<LoginResult>('/auth/password', { method: 'POST', body: { currentPassword, newPassword } })),
      logout: async (everywhere = false) => {
        try {
          await apiFetch<void>(everywhere ? '/auth/logout-all' : '/auth/logout', { method: 'POST' });
        } finally {
          forget();
        }
      },
    }),
    [user, me.isPending, currency, start, forget],
  );

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The session; must be used under SessionProvider. */
export function useSession(): SessionValue {
  const ctx = useContext(SessionContext);
  if (!ctx) throw new Error('useSession() outside <SessionProvider>');
  return ctx;
}

/** Roles that may open the admin screens (docs/roles.md). */
export const ADMIN_ROLES = ['super_admin', 'admin', 'admin_viewer'] as const;

/** True for super_admin, admin and admin_viewer. */
export function isAdminRole(role: string | undefined | null): boolean {
  return !!role && (ADMIN_ROLES as readonly string[]).includes(role);
}
