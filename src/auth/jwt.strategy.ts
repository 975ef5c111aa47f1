import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/app-config';
import { looksLikeVirtualKey } from '../keys/virtual-key';
import { APP_CONFIG } from '../config/config.module';
import { AuthUser } from './auth-user';
import { AuthUsersRepository } from './auth-users.repository';
import { SessionDenyList } from './session-deny-list.service';
import { checkCookieOrigin, sessionCookieToken } from './session-cookie';

const bearerToken = ExtractJwt.fromAuthHeaderAsBearerToken();

/** What a login JWT carries: the user, the session version it was issued under, its id and expiry. */
export interface JwtPayload {
  sub: string;
  /** users.session_version at issue; a password change, logout-everywhere or disable bumps it */
  sv?: number;
  /** the token's id (UUID): POST /auth/logout puts it on the deny-list */
  jti?: string;
  /** expiry, Unix seconds (set by the signer) */
  exp?: number;
}

/**
 * Login sessions: `Authorization: Bearer <JWT>` signed with JWT_SECRET (HS256), or, when the
 * request carries neither `Authorization` nor `X-API-Key`, the same JWT in the console's session
 * cookie (src/auth/session-cookie.ts); docs/api/auth.md.
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  private readonly trustedOrigins: readonly string[];

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly users: AuthUsersRepository,
    private readonly denyList: SessionDenyList,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromExtractors([
        // A virtual key (`Bearer tg-…`) is never a JWT: no signature check, the API-key strategy takes it.
        (req: FastifyRequest) => {
          const token = bearerToken(req);
          return token !== null && looksLikeVirtualKey(token) ? null : token;
        },
        (req: FastifyRequest) => sessionCookieToken(req as unknown as Parameters<typeof sessionCookieToken>[0]),
      ]),
      secretOrKey: config.jwtSecret,
      algorithms: ['HS256'],
      passReqToCallback: true,
    });
    this.trustedOrigins = config.http.corsOrigins;
  }

  /**
   * The token's user, if still active, the token's session version is current and the token was
   * not logged out (one Redis GET; accepted when Redis fails); null → 401 `unauthorized`. The
   * deny-list GET and the user's row (AuthUsersRepository, a prepared statement) are read at the
   * same time.
   * @throws DomainError 403 `csrf_origin_mismatch`: a write authenticated by the session cookie
   *   alone whose Origin is another site's (checkCookieOrigin)
   */
  async validate(req: FastifyRequest, payload: JwtPayload): Promise<AuthUser | null> {
    if (req.headers.authorization === undefined) checkCookieOrigin(req, this.trustedOrigins);
    const [denied, user] = await Promise.all([
      typeof payload.jti === 'string' ? this.denyList.isDenied(payload.jti) : false,
      typeof payload.sub === 'string' ? this.users.byId(payload.sub) : null,
    ]);
    if (denied || !user || user.status !== 'active' || (payload.sv ?? 0) !== user.sessionVersion) return null;
    return {
      id: user.id,
      did: user.did,
      email: user.email,
      role: user.role,
      via: 'jwt',
      scopes: [],
      keyId: null,
      mustChangePassword: user.mustChangePassword,
      session:
        typeof payload.jti === 'string' && typeof payload.exp === 'number' ? { jti: payload.jti, expiresAt: payload.exp } : undefined,
    };
  }
}
