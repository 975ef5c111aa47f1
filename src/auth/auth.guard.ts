import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard as PassportAuthGuard } from '@nestjs/passport';
import { DomainError } from '../common/domain-error';
import { isDatabaseUnavailable } from '../common/database-errors';
import { AuthUser } from './auth-user';
import { AUTH_RULE, AuthRule, IS_PUBLIC } from './auth.decorators';
import { canReadAdmin, canWriteAdmin, isViewer } from './roles';

const READ_METHODS = new Set(['GET', 'HEAD']);

/**
 * The global guard (deny by default; docs/roles.md). Every endpoint needs @Public or @Auth; the
 * rest answer 403 `no_auth_rule`. Then, in order:
 * - a login JWT (current session version) or an API key, else 401 `unauthorized`;
 * - a JWT whose password must be changed reaches only `ownAccount` endpoints and GET /auth/me
 *   (403 `password_change_required`);
 * - viewers (admin_viewer, member_viewer) never write: 403 `read_only_role`;
 * - admin endpoints need an admin role for reads and super_admin/admin for writes; `'super'`
 *   needs super_admin: 403 `forbidden`;
 * - an API key needs the endpoint's scope (or `admin`, for admin endpoints): 403 `insufficient_scope`.
 */
@Injectable()
export class AuthGuard extends PassportAuthGuard(['jwt', 'api-key']) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const rule = this.reflector.getAllAndOverride<AuthRule | undefined>(AUTH_RULE, targets);
    if (!rule) throw DomainError.forbidden('no_auth_rule', 'This endpoint declares no access rule');
    await super.canActivate(context);
    const req = context.switchToHttp().getRequest<{ user: AuthUser; method: string; url: string }>();
    authorize(req.user, rule, READ_METHODS.has(req.method) || rule.reads === true);
    return true;
  }

  override handleRequest<T>(err: unknown, user: T): T {
    // the session cookie's CSRF refusal (src/auth/session-cookie.ts) keeps its own answer
    if (err instanceof DomainError && err.code === 'csrf_origin_mismatch') throw err;
    // a database that could not be asked is not a bad credential: 503 service_unavailable through
    // the exception filter (src/common/all-exceptions.filter.ts), not 401
    if (isDatabaseUnavailable(err)) throw err;
    if (err || !user) throw DomainError.unauthorized('unauthorized', 'Log in (Bearer JWT) or send an API key with the right scope');
    return user;
  }
}

/**
 * The authorization decision for an authenticated caller (pure; the table in docs/roles.md).
 * @param reads the request changes nothing (GET/HEAD, or an endpoint marked `reads`)
 * @throws DomainError 403 `password_change_required` | `read_only_role` | `forbidden` | `insufficient_scope`
 */
export function authorize(user: AuthUser, rule: AuthRule, reads: boolean): void {
  if (user.mustChangePassword && user.via === 'jwt' && !rule.ownAccount) {
    throw DomainError.forbidden('password_change_required', 'Change your password first (POST /auth/password)');
  }
  if (!reads && !rule.ownAccount && isViewer(user.role)) {
    throw DomainError.forbidden('read_only_role', `The role ${user.role} can read but not change anything`);
  }
  if (rule.admin === 'super' && user.role !== 'super_admin') {
    throw DomainError.forbidden('forbidden', 'This endpoint needs the super_admin role');
  }
  if (rule.admin === true && !(reads ? canReadAdmin(user.role) : canWriteAdmin(user.role))) {
    throw DomainError.forbidden('forbidden', reads ? 'This endpoint needs an admin role' : 'This endpoint needs the admin role');
  }
  if (user.via === 'api_key') {
    const has = (s: string) => user.scopes.includes(s);
    if (rule.admin) {
      if (!has('admin') && !(rule.scope && has(rule.scope))) {
        throw DomainError.forbidden('insufficient_scope', `This API key lacks the scope "${rule.scope ?? 'admin'}"`);
      }
    } else if (rule.scope) {
      if (!has(rule.scope) && !(has('admin') && canReadAdmin(user.role))) {
        throw DomainError.forbidden('insufficient_scope', `This API key lacks the scope "${rule.scope}"`);
      }
    } else if (user.scopes.length === 0) {
      throw DomainError.forbidden('insufficient_scope', 'This API key has no management scopes');
    }
  }
}
