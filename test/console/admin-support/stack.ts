/** The admin tests' view of the console stack (test/console/support/): an admin account and its token. */
import { readStack } from '../support/stack';
import type { AdminCredentials } from './admin-api';

/** The stack's "ops" super admin (known password, no forced change). */
export function adminCredentials(): AdminCredentials {
  const { opsAdmin } = readStack();
  return { login: opsAdmin.email, password: opsAdmin.password };
}

/** The api's base URL (for hooks, where the baseURL fixture is not available). */
export function apiUrl(): string {
  return readStack().apiUrl;
}
