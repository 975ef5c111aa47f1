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
 * The virtual key of a /v1 request (`Authorization: Bearer <virtual key>`, step 1 of the hot
 * path): its principal.
 * @param authorization the request's Authorization header
 * @throws DomainError 401 with code missing_api_key | invalid_api_key | revoked_api_key |
 *   expired_api_key | user_disabled
 */
export async function authenticateVirtualKey(keys: KeyCheckService, authorization: string | string[] | undefined): Promise<KeyPrincipal> {
  const secret = typeof authorization === 'string' && authorization.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined;
  const check = await keys.check(secret);
  if (!check.ok) {
    const code = check.reason === 'user_disabled' ? 'user_disabled' : `${check.reason}_api_key`;
    throw GatewayErrors.unauthorized(code, MESSAGES[check.reason]);
  }
  return check.principal;
}

/**
 * Authenticates /v1 routes by virtual key (authenticateVirtualKey), setting `req.principal`.
 * @throws DomainError 401 as authenticateVirtualKey
 */
@Injectable()
export class VirtualKeyGuard implements CanActivate {
  constructor(private readonly keys: KeyCheckService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<GatewayRequest>();
    req.principal = await authenticateVirtualKey(this.keys, req.headers.authorization);
    return true;
  }
}
