/**
 * The console's routes, under the basename /console. Screens are loaded lazily (one chunk each),
 * so the first load carries the shell and the screen opened only. Admin screens come from
 * screens/admin/index.tsx (`adminRoutes`, mounted under /admin for admin roles only).
 */
import { createBrowserRouter, Navigate, type RouteObject } from 'react-router';
import { LoginPage } from './auth/LoginPage';
import { RequireAdmin, RequireSession } from './auth/guards';
import { RouteError } from './shell/RouteError';
import { AppLayout } from './shell/AppLayout';
import { NotFound } from './shell/NotFound';
import { adminRoutes } from './screens/admin';
import { queryClient } from './queryClient';
import { periodOf } from './screens/usage/period';
import { balanceQuery, transactionsQuery, usageStatsQuery } from './screens/usage/queries';

/**
 * Starts the data requests of "My usage" as the navigation begins, in parallel with the session
 * check and the screen's chunk instead of after them (not awaited: the screen shows its own
 * loading states; the session cookie authenticates them; a 401 sends the user to the login).
 */
function prefetchUsage(): null {
  const period = periodOf(30);
  void queryClient.prefetchQuery(balanceQuery());
  void queryClient.prefetchQuery(usageStatsQuery(period.startTime, period.endTime));
  void queryClient.prefetchQuery(transactionsQuery(null, 1, 100));
  return null;
}

export const BASENAME = '/console';

export const routes: RouteObject[] = [
  { path: '/login', element: <LoginPage />, errorElement: <RouteError /> },
  {
    path: '/password',
    element: <RequireSession allowPasswordChange />,
    errorElement: <RouteError />,
    children: [{ index: true, lazy: async () => ({ Component: (await import('./auth/ChangePasswordPage')).ChangePasswordPage }) }],
  },
  {
    path: '/',
    element: <RequireSession />,
    errorElement: <RouteError />,
    children: [
      {
        element: <AppLayout />,
        children: [
          { index: true, element: <Navigate to="/usage" replace /> },
          {
            path: 'usage',
            loader: prefetchUsage,
            lazy: async () => ({ Component: (await import('./screens/usage/UsagePage')).UsagePage }),
          },
          { path: 'calls', lazy: async () => ({ Component: (await import('./screens/usage/CallLogPage')).CallLogPage }) },
          { path: 'credits', lazy: async () => ({ Component: (await import('./screens/usage/CreditsPage')).CreditsPage }) },
          { path: 'keys', lazy: async () => ({ Component: (await import('./screens/keys/KeysPage')).KeysPage }) },
          { path: 'admin', element: <RequireAdmin />, errorElement: <RouteError />, children: adminRoutes },
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
  },
];

export const router = createBrowserRouter(routes, { basename: BASENAME });
