import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { AuthUser, Scope } from './auth-user';

export const IS_PUBLIC = 'tollgate:public';
export const AUTH_RULE = 'tollgate:auth-rule';

/** What an endpoint needs beyond a valid login (docs/roles.md has the table). */
export interface AuthRule {
  /**
   * An admin endpoint. `true`: reads (GET, HEAD, or `reads`) need super_admin, admin or
   * admin_viewer; writes need super_admin or admin. `'super'`: super_admin only.
   */
  admin?: true | 'super';
  /**
   * An API key caller needs this scope, or `admin` (admin endpoints). JWT callers act with their
   * role. An admin endpoint without a scope accepts only `admin`-scoped keys.
   */
  scope?: Scope;
  /** The endpoint changes nothing although its method is not GET (a lookup by POST body). */
  reads?: boolean;
  /** Viewers may call it although it writes: it changes only the caller's own password or sessions. */
  ownAccount?: boolean;
}

/** No authentication (public endpoints: health, public model list, login). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/**
 * What an endpoint needs beyond being authenticated. Every route has either @Public or @Auth:
 * test/role-matrix proves it from the route table, and the guard refuses routes with neither.
 */
export const Auth = (rule: AuthRule = {}) => applyDecorators(SetMetadata(AUTH_RULE, rule));

/** The authenticated caller (`AuthUser`). */
export const CurrentUser = createParamDecorator((_data: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
