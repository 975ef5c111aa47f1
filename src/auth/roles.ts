import { UserRole } from '../generated/prisma/enums';

/**
 * The five roles and what each may do (docs/roles.md):
 *
 * | role          | admin endpoints      | own keys       | own usage, credits, calls |
 * |---------------|----------------------|----------------|---------------------------|
 * | super_admin   | read + write, admins | read + write   | read                      |
 * | admin         | read + write         | read + write   | read                      |
 * | admin_viewer  | read                 | read           | read                      |
 * | member        | -                    | read + write   | read                      |
 * | member_viewer | -                    | read           | read                      |
 */
export const ROLES: readonly UserRole[] = ['super_admin', 'admin', 'admin_viewer', 'member', 'member_viewer'];

/** LiteLLM's role names (bulk CSV files, the CLI) and what each becomes in Tollgate. */
export const LITELLM_ROLE_NAMES: Readonly<Record<string, UserRole>> = {
  proxy_admin: 'admin',
  proxy_admin_viewer: 'admin_viewer',
  internal_user: 'member',
  internal_user_viewer: 'member_viewer',
  default: 'member',
};

/** May read every admin endpoint (users, teams, providers, audit log, all users' usage). */
export function canReadAdmin(role: UserRole): boolean {
  return role === 'super_admin' || role === 'admin' || role === 'admin_viewer';
}

/** May call admin endpoints that change something. */
export function canWriteAdmin(role: UserRole): boolean {
  return role === 'super_admin' || role === 'admin';
}

/** Viewers (admin_viewer, member_viewer) never change anything except their own password and sessions. */
export function isViewer(role: UserRole): boolean {
  return role === 'admin_viewer' || role === 'member_viewer';
}

/** Roles only a super admin may grant, change or delete. */
export function isAdminRole(role: UserRole): boolean {
  return role === 'super_admin' || role === 'admin' || role === 'admin_viewer';
}

/**
 * Reads a role name as written in a CSV file, the CLI or a request: Tollgate's own names or
 * LiteLLM's (case-insensitive, surrounding spaces ignored).
 * @returns the role, or null when the name is unknown
 */
export function parseRole(name: string): UserRole | null {
  const n = name.trim().toLowerCase();
  if ((ROLES as readonly string[]).includes(n)) return n as UserRole;
  return LITELLM_ROLE_NAMES[n] ?? null;
}
