import { Injectable } from '@nestjs/common';
import type { QueryConfig } from 'pg';
import type { UserRole, UserStatus } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';

/** What authentication reads of the caller's user on every authenticated request. */
export interface AuthUserRow {
  id: string;
  did: string;
  email: string;
  role: UserRole;
  status: UserStatus;
  /** users.session_version: a login JWT is valid only while its `sv` equals it */
  sessionVersion: number;
  mustChangePassword: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The statements of authentication (docs/data-access.md): one read of the caller's user by id, run
 * by the JWT strategy on every request and by the API-key strategy, so a named prepared statement
 * (parsed and planned once per connection, no query compiler on the way). Exported for tests.
 */
export const authUserQueries = {
  byId: (id: string): QueryConfig => ({
    name: 'tollgate_auth_user',
    text: `SELECT u."id", u."did", u."email", u."role"::text AS "role", u."status"::text AS "status",
  u."session_version", u."must_change_password"
FROM "users" u WHERE u."id" = $1::uuid`,
    values: [id],
  }),
};

/** Reads of the users table for the authentication strategies (src/auth/jwt.strategy.ts, api-key.strategy.ts). */
@Injectable()
export class AuthUsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * The user `id`, or null when there is none (or `id` is not a UUID: a token's `sub` is ours,
   * but nothing read from a request reaches the cast unchecked).
   * @throws the driver's error (PostgreSQL away: 500/503 by the exception filter)
   */
  async byId(id: string): Promise<AuthUserRow | null> {
    if (!UUID.test(id)) return null;
    type Row = {
      id: string;
      did: string;
      email: string;
      role: UserRole;
      status: UserStatus;
      session_version: number;
      must_change_password: boolean;
    };
    const r = (await this.prisma.pool.query<Row>(authUserQueries.byId(id))).rows[0];
    if (!r) return null;
    return {
      id: r.id,
      did: r.did,
      email: r.email,
      role: r.role,
      status: r.status,
      sessionVersion: r.session_version,
      mustChangePassword: r.must_change_password,
    };
  }
}
