/**
 * The admin screens (docs/roles.md: super_admin, admin and admin_viewer read; viewers change
 * nothing, so write controls are hidden or disabled for them). Each screen is its own lazily
 * loaded chunk, so none of this code is in the user screens' first load.
 */
import type { RouteObject } from 'react-router';

type ScreenModule = { default: React.ComponentType };
const screen =
  (load: () => Promise<ScreenModule>): RouteObject['lazy'] =>
  async () => ({ Component: (await load()).default });

/** Admin screens' routes (paths relative to /console/admin). */
export const adminRoutes: RouteObject[] = [
  { index: true, lazy: screen(() => import('./users/UsersScreen')) },
  { path: 'users', lazy: screen(() => import('./users/UsersScreen')) },
  { path: 'users/import', lazy: screen(() => import('./users/ImportScreen')) },
  { path: 'users/:id', lazy: screen(() => import('./users/UserDetailScreen')) },
  { path: 'users/:id/keys', lazy: screen(() => import('./users/UserDetailScreen')) },
  { path: 'teams', lazy: screen(() => import('./teams/TeamsScreen')) },
  { path: 'teams/:id', lazy: screen(() => import('./teams/TeamDetailScreen')) },
  { path: 'providers', lazy: screen(() => import('./providers/ProvidersScreen')) },
  { path: 'rates', lazy: screen(() => import('./providers/RatesScreen')) },
  { path: 'rates/history', lazy: screen(() => import('./providers/RateHistoryScreen')) },
  { path: 'health', lazy: screen(() => import('./providers/HealthScreen')) },
  { path: 'providers/:id', lazy: screen(() => import('./providers/ProviderDetailScreen')) },
  { path: 'credits', lazy: screen(() => import('./credits/CreditsScreen')) },
  { path: 'audit', lazy: screen(() => import('./audit/AuditScreen')) },
];

/** Admin navigation entries: label, path under /console, and which roles may see it. */
export interface AdminNavEntry {
  label: string;
  path: string;
  /** roles that see the entry (docs/roles.md) */
  roles: Array<'super_admin' | 'admin' | 'admin_viewer'>;
}

const ALL_ADMINS: AdminNavEntry['roles'] = ['super_admin', 'admin', 'admin_viewer'];

export const adminNav: AdminNavEntry[] = [
  { label: 'Users', path: '/console/admin/users', roles: ALL_ADMINS },
  { label: 'Teams', path: '/console/admin/teams', roles: ALL_ADMINS },
  { label: 'Providers', path: '/console/admin/providers', roles: ALL_ADMINS },
  { label: 'Model rates', path: '/console/admin/rates', roles: ALL_ADMINS },
  { label: 'Credits & usage', path: '/console/admin/credits', roles: ALL_ADMINS },
  { label: 'Audit log', path: '/console/admin/audit', roles: ALL_ADMINS },
];
