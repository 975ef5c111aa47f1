/**
 * Where the admin tests find the running stack and an admin account. Provisional: read from the
 * environment until the console stack's helpers (test/console/support/) are used.
 */
import type { AdminCredentials } from './admin-api';

export function adminCredentials(): AdminCredentials {
  return {
    login: process.env.CONSOLE_ADMIN_LOGIN ?? 'root@example.com',
    password: process.env.CONSOLE_ADMIN_PASSWORD ?? 'Admin-console-pass-1',
  };
}
