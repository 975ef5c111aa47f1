import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-custom';
import { KeyCheckService } from '../keys/key-check.service';
import { PrismaService } from '../prisma/prisma.service';
import { looksLikeVirtualKey } from '../keys/virtual-key';
import { AuthUser } from './auth-user';

/**
 * API keys on the management API: `Authorization: Bearer tg-…` (a virtual key) or `X-API-Key`.
 * What the key may do is decided by its scopes (AuthGuard).
 */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  constructor(
    private readonly keys: KeyCheckService,
    private readonly prisma: PrismaService,
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
    const user = await this.prisma.user.findUnique({
      where: { id: check.principal.userId },
      select: { id: true, did: true, email: true, role: true },
    });
    if (!user) return null;
    return { ...user, via: 'api_key', scopes: check.principal.scopes, keyId: check.principal.keyId, mustChangePassword: false };
  }
}
