import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { KeyCheckService, KeyPrincipal } from '../keys/key-check.service';
import { looksLikeVirtualKey } from '../keys/virtual-key';
import { AuthUser } from './auth-user';
import { AuthUserRow, AuthUsersRepository } from './auth-users.repository';

/** Longest a key's user row (DID, email, role) is reused for the key's requests (ms). */
export const KEY_USER_REUSE_MS = 1_000;

/**
 * API keys on the management API: `Authorization: Bearer tg-…` (a virtual key) or `X-API-Key`.
 * What the key may do is decided by its scopes (AuthGuard) and its user's role.
 *
 * The user row is read once per resolved key (KeyCheckService's cached principal) and reused for
 * at most KEY_USER_REUSE_MS: a role change or a disable drops the user's cached keys at once in
 * this process and within a second on the others (KeyCheckService.invalidateUsers), and the next
 * resolution is a new principal, so the row is read again; any other change of the row (email)
 * shows within KEY_USER_REUSE_MS. The same bound as a key change's propagation
 * (docs/api/keys.md "Propagation"), without a database round trip on every request.
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  private readonly userOfKey = new WeakMap<KeyPrincipal, { user: AuthUserRow; readAt: number }>();

  constructor(
    private readonly keys: KeyCheckService,
    private readonly users: AuthUsersRepository,
  ) {
    super();
  }

  async validate(req: FastifyRequest): Promise<AuthUser | null> {
    const header = req.headers.authorization;
    const bearer = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const xKey = req.headers['x-api-key'];
    const secret = bearer && looksLikeVirtualKey(bearer) ? bearer : typeof xKey === 'string' ? xKey : undefined;
    if (!secret) return null;
    const check = await this.keys.check(secret);
    if (!check.ok) return null;
    const user = await this.userOf(check.principal);
    if (!user) return null;
    return {
      id: user.id,
      did: user.did,
      email: user.email,
      role: user.role,
      via: 'api_key',
      scopes: check.principal.scopes,
      keyId: check.principal.keyId,
      mustChangePassword: false,
    };
  }

  /** The key's user row: reused while the principal is the cached one and younger than KEY_USER_REUSE_MS. */
  private async userOf(principal: KeyPrincipal): Promise<AuthUserRow | null> {
    const now = Date.now();
    const kept = this.userOfKey.get(principal);
    if (kept && now - kept.readAt < KEY_USER_REUSE_MS) return kept.user;
    const user = await this.users.byId(principal.userId);
    if (user) this.userOfKey.set(principal, { user, readAt: now });
    else this.userOfKey.delete(principal);
    return user;
  }
}
