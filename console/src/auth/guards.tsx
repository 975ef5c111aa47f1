import { Center, Loader } from '@mantine/core';
import { Navigate, Outlet, useLocation } from 'react-router';
import { NotAllowed } from '../components/NotAllowed';
import { isAdminRole, useSession } from './session';

/**
 * Lets the children render only for a logged-in user: anonymous → /login (back here after);
 * a user who must change the password → /password first (unless this is that screen).
 */
export function RequireSession({ allowPasswordChange = false }: { allowPasswordChange?: boolean }) {
  const { status, user } = useSession();
  const location = useLocation();
  if (status === 'loading') {
    return (
      <Center h="100vh" role="status" aria-label="Loading the session">
        <Loader />
      </Center>
    );
  }
  if (!user) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login${next && next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`} replace />;
  }
  if (user.mustChangePassword && !allowPasswordChange) return <Navigate to="/password" replace />;
  return <Outlet />;
}

/** Admin screens: super_admin, admin and admin_viewer only; other roles see "Not allowed". */
export function RequireAdmin() {
  const { user } = useSession();
  return isAdminRole(user?.role) ? <Outlet /> : <NotAllowed what="the admin screens" />;
}
