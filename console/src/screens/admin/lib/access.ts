/** What the signed-in admin may do (docs/roles.md): viewers read only, admin-level accounts need a super admin. */
import { useSession } from '../../../auth/session';
import type { Role } from '../types';

export interface AdminAccess {
  userId: string | undefined;
  role: Role | undefined;
  /** super_admin or admin: may use write controls */
  canWrite: boolean;
  /** super_admin: may manage admin-level accounts */
  isSuper: boolean;
}

export function useAdminAccess(): AdminAccess {
  const { user } = useSession();
  const role = user?.role;
  return { userId: user?.id, role, canWrite: role === 'super_admin' || role === 'admin', isSuper: role === 'super_admin' };
}
