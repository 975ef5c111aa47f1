import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { User } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import { AuthUser } from './auth-user';
import { LoginThrottleService } from './login-throttle.service';
import { checkPasswordPolicy, hashPassword, verifyPassword } from './passwords';
import { SessionDenyList } from './session-deny-list.service';

/** Answer of POST /auth/login and POST /auth/password (docs/api/auth.md). */
export interface LoginResult {
  /** HS256 JWT carrying `sub` (user id), `sv` (session version), `jti` (token id), `exp` */
  accessToken: string;
  tokenType: 'Bearer';
  /** lifetime of the token, seconds (ACCESS_TOKEN_TTL_SECONDS) */
  expiresIn: number;
  /** true: every endpoint but the own-account ones answers 403 `password_change_required` until POST /auth/password */
  mustChangePassword: boolean;
  user: { did: string; email: string; fullName: string; role: string };
}

/** Longest login kept as the actor label of a failed attempt (characters). */
const MAX_LOGIN_LABEL = 320;

/**
 * Password login (argon2id hashes) issuing JWTs, password change and logout (docs/api/auth.md).
 * Password checks are throttled per account and per IP (LoginThrottleService).
 */
@Injectable()
export class AuthService {
  /** argon2id hash of a random string: verified against when the user does not exist. */
  private readonly dummyHash = hashPassword(randomUUID());

  constructor(
    private readonly prisma: PrismaService,
    private readonly jwt: JwtService,
    private readonly throttle: LoginThrottleService,
    private readonly denyList: SessionDenyList,
    private readonly audit: AuditService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Checks a login and issues a token; sets `lastLoginAt` and writes `auth.login` in one
   * transaction. A failed or throttled attempt is audited too (actor anonymous, label = the login tried).
   * @param login email (case-insensitive) or username
   * @param ctx the request's audit context; its `ip` is the throttle's per-IP key
   * @throws DomainError 401 `invalid_credentials` (same answer for unknown user, wrong password and
   *   inactive user; the hash is checked either way, so timing does not tell them apart);
   *   429 `too_many_login_attempts` with `Retry-After` (seconds) when the account or the IP is throttled
   */
  async login(login: string, password: string, ctx: AuditContext): Promise<LoginResult> {
    const trimmed = login.trim();
    const byEmail = trimmed.includes('@');
    const user = await this.prisma.user.findFirst({ where: byEmail ? { email: trimmed.toLowerCase() } : { username: trimmed } });
    const account = user ? `user:${user.id}` : `login:${trimmed.toLowerCase()}`;
    const ip = ctx.ip ?? 'unknown';
    const refuse = (status: number) => {
      Object.assign(ctx, { actorType: 'anonymous', actorUserId: null, actorKeyId: null, actorRole: null });
      ctx.actorLabel = login.slice(0, MAX_LOGIN_LABEL);
      return { action: 'auth.login', result: 'failure' as const, status, targetType: user ? 'user' : null, targetId: user?.id ?? null };
    };

    const verdict = await this.throttle.check(account, ip);
    if (!verdict.allowed) {
      this.audit.enqueue(ctx, { ...refuse(429), changes: { throttled: verdict.scope } });
      throw tooManyAttempts(verdict.retryAfterSeconds);
    }
    const ok = await verifyPassword(user?.passwordHash ?? (await this.dummyHash), password);
    if (!user || !user.passwordHash || !ok || user.status !== 'active') {
      await this.throttle.recordFailure(account, ip);
      this.audit.enqueue(ctx, refuse(401));
      throw DomainError.unauthorized('invalid_credentials', 'Wrong login or password');
    }
    await this.throttle.reset(account);
    Object.assign(ctx, { actorType: 'user', actorUserId: user.id, actorKeyId: null, actorLabel: user.email, actorRole: user.role });
    await this.prisma.$transaction(async (tx) => {
      await tx.user.update({ where: { id: user.id }, data: { lastLoginAt: new Date() } });
      await this.audit.inTransaction(tx, ctx, { action: 'auth.login', targetType: 'user', targetId: user.id });
    });
    return this.issue(user);
  }

  /**
   * Changes the caller's password: checks the current one (throttled and counted like a login),
   * the policy, stores the new hash, clears `mustChangePassword`, sets `passwordChangedAt` and
   * bumps the session version (every other token of the user answers 401 from now on), with the
   * `auth.password_change` entry in the same transaction.
   * @returns a fresh token, so the calling session continues
   * @throws DomainError 403 `jwt_required` (API key); 401 `invalid_credentials` (current password
   *   wrong); 400 `INVALID_PASSWORD` (policy, or the new password equals the current one);
   *   429 `too_many_login_attempts`; 401 `unauthorized` when the session ended meanwhile
   */
  async changePassword(caller: AuthUser, currentPassword: string, newPassword: string, ctx: AuditContext): Promise<LoginResult> {
    requireJwt(caller);
    const account = `user:${caller.id}`;
    const ip = ctx.ip ?? 'unknown';
    const verdict = await this.throttle.check(account, ip);
    if (!verdict.allowed) throw tooManyAttempts(verdict.retryAfterSeconds);
    const user = await this.prisma.user.findUniqueOrThrow({ where: { id: caller.id } });
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.throttle.recordFailure(account, ip);
      throw DomainError.unauthorized('invalid_credentials', 'The current password is wrong');
    }
    checkPasswordPolicy(newPassword);
    if (newPassword === currentPassword) {
      throw DomainError.badRequest('INVALID_PASSWORD', 'The new password must differ from the current one');
    }
    const passwordHash = await hashPassword(newPassword);
    const updated = await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.user.updateMany({
        where: { id: user.id, sessionVersion: user.sessionVersion, status: 'active' },
        data: { passwordHash, mustChangePassword: false, passwordChangedAt: new Date(), sessionVersion: { increment: 1 } },
      });
      if (count !== 1) throw DomainError.unauthorized('unauthorized', 'This session has ended; log in again');
      await this.audit.inTransaction(tx, ctx, {
        action: 'auth.password_change',
        targetType: 'user',
        targetId: user.id,
        changes: {
          sessionVersion: { before: user.sessionVersion, after: user.sessionVersion + 1 },
          changeRequired: { before: user.mustChangePassword, after: false },
        },
      });
      return tx.user.findUniqueOrThrow({ where: { id: user.id } });
    });
    await this.throttle.reset(account);
    return this.issue(updated);
  }

  /**
   * Ends the caller's token only (its id goes to the deny-list until it expires); audited `auth.logout`.
   * @throws DomainError 403 `jwt_required` (API key); 503 `service_unavailable` when Redis cannot record it
   */
  async logout(caller: AuthUser, ctx: AuditContext): Promise<void> {
    requireJwt(caller);
    if (!caller.session) throw DomainError.forbidden('jwt_required', 'This token has no id; log out everywhere (POST /auth/logout-all)');
    await this.denyList.deny(caller.session.jti, caller.session.expiresAt);
    await this.audit.inTransaction(this.prisma, ctx, { action: 'auth.logout', targetType: 'user', targetId: caller.id });
  }

  /**
   * Ends every token of the caller (bumps the session version); audited `auth.logout_all` in the
   * same transaction.
   * @throws DomainError 403 `jwt_required` (API key)
   */
  async logoutAll(caller: AuthUser, ctx: AuditContext): Promise<void> {
    requireJwt(caller);
    await this.prisma.$transaction(async (tx) => {
      const user = await tx.user.update({ where: { id: caller.id }, data: { sessionVersion: { increment: 1 } } });
      await this.audit.inTransaction(tx, ctx, {
        action: 'auth.logout_all',
        targetType: 'user',
        targetId: caller.id,
        changes: { sessionVersion: { before: user.sessionVersion - 1, after: user.sessionVersion } },
      });
    });
  }

  /** Signs a login token for the user's current session version. */
  private async issue(user: User): Promise<LoginResult> {
    const expiresIn = this.config.accounts.accessTokenTtlSeconds;
    const accessToken = await this.jwt.signAsync({ sub: user.id, sv: user.sessionVersion, jti: randomUUID() }, { expiresIn });
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn,
      mustChangePassword: user.mustChangePassword,
      user: { did: user.did, email: user.email, fullName: user.fullName, role: user.role },
    };
  }
}

/** @throws DomainError 403 `jwt_required` for API-key callers (own-account session endpoints need a login token). */
function requireJwt(caller: AuthUser): void {
  if (caller.via !== 'jwt') throw DomainError.forbidden('jwt_required', 'This endpoint needs a login token (Bearer JWT), not an API key');
}

/** 429 `too_many_login_attempts` with `Retry-After` (seconds) and `retryAfter` in the body. */
function tooManyAttempts(retryAfterSeconds: number): DomainError {
  return new DomainError(429, 'too_many_login_attempts', `Too many failed attempts; retry in ${retryAfterSeconds} s`, {
    details: { retryAfter: retryAfterSeconds },
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}
