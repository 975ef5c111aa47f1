import type { RouteObject } from 'react-router';

/** Admin screens' routes (paths relative to /console/admin); filled in by the admin screens. */
export const adminRoutes: RouteObject[] = [];

/** Admin navigation entries: label, path under /console, and which roles may see it. */
export interface AdminNavEntry {
  label: string;
  path: string;
  /** roles that see the entry (docs/roles.md) */
  roles: Array<'super_admin' | 'admin' | 'admin_viewer'>;
}
export const adminNav: AdminNavEntry[] = [];
