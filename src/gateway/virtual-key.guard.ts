import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { KeyPrincipal, KeyCheckService } from '../keys/key-check.service';
import { GatewayErrors } from './openai-error';

export type GatewayRequest = FastifyRequest & { principal?: KeyPrincipal };

const MESSAGES: Record<string, string> = {
  missing: 'Missing API key: send Authorization: Bearer <virtual key>',
  invalid: 'Incorrect API key provided',
  revoked: 'This API key has been revoked',
  expired: 'This API key has expired',
  user_disabled: 'The account of this API key is disabled',
};

/**
 * Authenticates /v1 calls by `Authorization: Bearer <virtual key>` (step 1 of the hot path).
 * @throws DomainError 401 with code missing_api_key | invalid_api_key | revoked_api_key |
 *   expired_api_key | user_disabled
 */
@Injectable()
export class VirtualKeyGuard implements CanActivate {
  constructor(private readonly keys: KeyCheckService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<GatewayRequest>();
    const header = req.headers.authorization;
    const secret = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const check = await this.keys.check(secret);
    if (!check.ok) {
      const code = check.reason === 'user_disabled' ? 'user_disabled' : `${check.reason}_api_key`;
      throw GatewayErrors.unauthorized(code, MESSAGES[check.reason]);
    }
    req.principal = check.principal;
    return true;
  }
}
