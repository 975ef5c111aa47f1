import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';
import { AuthUser } from './auth-user';
import { SessionDenyList } from './session-deny-list.service';

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

/** Login sessions: `Authorization: Bearer <JWT>` signed with JWT_SECRET (HS256); docs/api/auth.md. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly prisma: PrismaService,
    private readonly denyList: SessionDenyList,
  ) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: config.jwtSecret, algorithms: ['HS256'] });
  }

  /**
   * The token's user, if still active, the token's session version is current and the token was
   * not logged out (one Redis GET; accepted when Redis fails); null → 401 `unauthorized`.
   */
  async validate(payload: JwtPayload): Promise<AuthUser | null> {
    if (typeof payload.jti === 'string' && (await this.denyList.isDenied(payload.jti))) return null;
    const user = await this.prisma.user.findUnique({ where: { id: payload.sub } });
    if (!user || user.status !== 'active' || (payload.sv ?? 0) !== user.sessionVersion) return null;
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
