import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaService } from '../prisma/prisma.service';
import { AuthUser } from './auth-user';

/** What a login JWT carries: the user and the session version it was issued under. */
export interface JwtPayload {
  sub: string;
  /** users.session_version at issue; a password change, logout-everywhere or disable bumps it */
  sv?: number;
}

/** Login sessions: `Authorization: Bearer <JWT>` signed with JWT_SECRET (HS256). */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly prisma: PrismaService,
  ) {
    super({ jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey: config.jwtSecret, algorithms: ['HS256'] });
  }

  /** The token's user, if still active and the token's session version is current; null → 401. */
  async validate(payload: JwtPayload): Promise<AuthUser | null> {
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
    };
  }
}
