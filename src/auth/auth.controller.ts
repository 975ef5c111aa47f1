import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { Audit } from '../audit/audit-context.decorator';
import type { AuditContext } from '../audit/audit-entry';
import { AuthUser } from './auth-user';
import { AuthService, LoginResult } from './auth.service';
import { Auth, CurrentUser, Public } from './auth.decorators';
import { ChangePasswordDto } from './dto/change-password.dto';
import { LoginDto } from './dto/login.dto';

/** Login, password change, logout and "who am I" (docs/api/auth.md). */
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /**
   * POST /auth/login `{login, password}` → 200 `{accessToken, tokenType:'Bearer', expiresIn (s),
   * mustChangePassword, user:{did, email, fullName, role}}`. Audited `auth.login` (success and failure).
   * 401 `invalid_credentials`; 429 `too_many_login_attempts` + `Retry-After` (s); 400 `validation_failed`.
   */
  @Public()
  @Post('login')
  @HttpCode(200)
  login(@Body() dto: LoginDto, @Audit() audit: AuditContext): Promise<LoginResult> {
    return this.auth.login(dto.login, dto.password, audit);
  }

  /**
   * POST /auth/password `{currentPassword, newPassword}` (login token only) → 200, same shape as
   * login, with a fresh token: every other token of the user answers 401 from now on. Audited
   * `auth.password_change`. 401 `invalid_credentials` (current password wrong); 400
   * `INVALID_PASSWORD`; 403 `jwt_required` (API key); 429 `too_many_login_attempts`.
   */
  @Post('password')
  @HttpCode(200)
  @Auth({ ownAccount: true })
  changePassword(@CurrentUser() user: AuthUser, @Body() dto: ChangePasswordDto, @Audit() audit: AuditContext): Promise<LoginResult> {
    return this.auth.changePassword(user, dto.currentPassword, dto.newPassword, audit);
  }

  /**
   * POST /auth/logout (login token only) → 204: this token answers 401 from now on; the user's
   * other tokens keep working. Audited `auth.logout`. 403 `jwt_required`; 503 `service_unavailable`.
   */
  @Post('logout')
  @HttpCode(204)
  @Auth({ ownAccount: true })
  async logout(@CurrentUser() user: AuthUser, @Audit() audit: AuditContext): Promise<void> {
    await this.auth.logout(user, audit);
  }

  /**
   * POST /auth/logout-all (login token only) → 204: every token of the user, this one included,
   * answers 401 from now on. Audited `auth.logout_all`. 403 `jwt_required`.
   */
  @Post('logout-all')
  @HttpCode(204)
  @Auth({ ownAccount: true })
  async logoutAll(@CurrentUser() user: AuthUser, @Audit() audit: AuditContext): Promise<void> {
    await this.auth.logoutAll(user, audit);
  }

  /** GET /auth/me: who the caller is `{did, email, role, via, scopes, mustChangePassword}` (JWT, or API key with any scope). */
  @Get('me')
  @Auth({ ownAccount: true })
  me(@CurrentUser() user: AuthUser): Pick<AuthUser, 'did' | 'email' | 'role' | 'via' | 'scopes' | 'mustChangePassword'> {
    return {
      did: user.did,
      email: user.email,
      role: user.role,
      via: user.via,
      scopes: user.scopes,
      mustChangePassword: user.mustChangePassword,
    };
  }
}
