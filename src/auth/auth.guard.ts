import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import { DomainError } from '../common/domain-error';
import { AuthUser } from './auth-user';
import { AUTH_RULE, AuthRule, IS_PUBLIC } from './auth.decorators';

/**
 * The global guard (deny by default). Every endpoint not marked @Public needs a login JWT or an
 * API key; @Auth({ admin }) needs the admin role; an API key caller needs the endpoint's scope
 * (or `admin`). Errors: 401 `unauthorized`, 403 `forbidden` / `insufficient_scope`.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard(['jwt', 'api-key']) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    await super.canActivate(context);
    const user = context.switchToHttp().getRequest<{ user: AuthUser }>().user;
    const rule = this.reflector.getAllAndOverride<AuthRule>(AUTH_RULE, targets) ?? {};
    if (rule.admin && user.role !== 'admin') throw DomainError.forbidden('forbidden', 'This endpoint needs the admin role');
    if (user.via === 'api_key') {
      const needed = rule.admin ? 'admin' : rule.scope;
      if (needed && !user.scopes.includes(needed) && !(user.scopes.includes('admin') && user.role === 'admin')) {
        throw DomainError.forbidden('insufficient_scope', `This API key lacks the scope "${needed}"`);
      }
      if (!needed && user.scopes.length === 0) {
        throw DomainError.forbidden('insufficient_scope', 'This API key has no management scopes');
      }
    }
    return true;
  }

  override handleRequest<T>(err: unknown, user: T): T {
    if (err || !user) throw DomainError.unauthorized('unauthorized', 'Log in (Bearer JWT) or send an API key with the right scope');
    return user;
  }
}
