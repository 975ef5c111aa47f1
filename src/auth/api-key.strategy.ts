import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { KeyCheckService } from '../keys/key-check.service';
import { looksLikeVirtualKey } from '../keys/virtual-key';
import { AuthUser } from './auth-user';
import { AuthUsersRepository } from './auth-users.repository';

/**
 * API keys on the management API: `Authorization: Bearer tg-…` (a virtual key) or `X-API-Key`.
 * What the key may do is decided by its scopes (AuthGuard).
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
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
    const user = await this.users.byId(check.principal.userId);
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
}
