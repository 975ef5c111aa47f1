import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { AuthUser, Scope } from './auth-user';

export const IS_PUBLIC = 'tollgate:public';
export const AUTH_RULE = 'tollgate:auth-rule';

export interface AuthRule {
  /** the endpoint needs the admin role (403 otherwise) */
  admin?: boolean;
  /** an API key caller needs this scope (or `admin`); JWT callers act with their role */
  scope?: Scope;
}

/** No authentication (public endpoints: health, public model list, login). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * What an endpoint needs beyond being authenticated (deny by default: every endpoint without
 * @Public needs a valid JWT or API key).
 */
export const Auth = (rule: AuthRule = {}) => applyDecorators(SetMetadata(AUTH_RULE, rule));

/** The authenticated caller (`AuthUser`). */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
