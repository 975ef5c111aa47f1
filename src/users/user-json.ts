import { Decimal } from '../common/decimal';
import { UserRole, UserStatus } from '../generated/prisma/enums';
import type { UserRow } from './users.repository';

/**
 * A user as the admin API shows it (docs/api/users.md "The user object"). Credits are decimal
 * strings; `creditsUsedThisMonth` counts calls since the first day of the current UTC month.
 * Never carries a password hash.
 */
export interface UserJson {
  id: string;
  did: string;
  email: string;
  username: string | null;
  fullName: string;
  role: UserRole;
  status: UserStatus;
  team: { id: string; name: string } | null;
  allowedModels: string[];
  allowedServices: string[];
  metadata: Record<string, unknown>;
  mustChangePassword: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  spend: { balance: string; creditsUsedThisMonth: string; lastCallAt: string | null };
}

/** A list row as its JSON. */
export function toUserJson(r: UserRow): UserJson {
  return {
    id: r.id,
    did: r.did,
    email: r.email,
    username: r.username,
    fullName: r.full_name,
    role: r.role,
    status: r.status,
    team: r.team_id && r.team_name !== null ? { id: r.team_id, name: r.team_name } : null,
    allowedModels: r.allowed_models,
    allowedServices: r.allowed_services,
    metadata: r.metadata,
    mustChangePassword: r.must_change_password,
    createdAt: r.created_at.toISOString(),
    lastLoginAt: r.last_login_at?.toISOString() ?? null,
    spend: {
      balance: new Decimal(r.balance).toFixed(),
      creditsUsedThisMonth: new Decimal(r.used).toFixed(),
      lastCallAt: r.last_call_at?.toISOString() ?? null,
    },
  };
}
