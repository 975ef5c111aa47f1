import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Audit } from '../audit/audit-context.decorator';
import type { AuditContext } from '../audit/audit-entry';
import { AuthUser } from './auth-user';
import { AuthService, LoginResult } from './auth.service';
import { Auth, CurrentUser, Public } from './auth.decorators';
import { ChangePasswordDto } from './dto/change-password.dto';
import { LoginDto } from './dto/login.dto';
import { clearSessionCookie, setSessionCookie } from './session-cookie';

/**
 * Login, password change, logout and "who am I" (docs/api/auth.md). Login and password change
 * also set the console's session cookie to the token they answer; the logouts clear it
 * (src/auth/session-cookie.ts).
 */
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /**
   * POST /auth/login `{login, password}` → 200 `{accessToken, tokenType:'Bearer', expiresIn (s),
   * mustChangePassword, user:{did, email, fullName, role}}` and `Set-Cookie: tollgate_session=<the JWT>`
   * (httpOnly, SameSite=Strict, Path=/, Max-Age = expiresIn, Secure over https). Audited `auth.login`
   * (success and failure). 401 `invalid_credentials`; 429 `too_many_login_attempts` + `Retry-After` (s);
   * 400 `validation_failed`.
   */
  @Public()
  @Post('login')
  @HttpCode(200)
  async login(
    @Body() dto: LoginDto,
    @Audit() audit: AuditContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResult> {
    const result = await this.auth.login(dto.login, dto.password, audit);
    setSessionCookie(req, reply, result.accessToken, result.expiresIn);
    return result;
  }

  /**
   * POST /auth/password `{currentPassword, newPassword}` (login token only) → 200, same shape as
   * login, with a fresh token (also set as the session cookie): every other token of the user answers
   * 401 from now on. Audited `auth.password_change`. 401 `invalid_credentials` (current password wrong); 400
   * `INVALID_PASSWORD`; 403 `jwt_required` (API key); 429 `too_many_login_attempts`.
   */
  @Post('password')
  @HttpCode(200)
  @Auth({ ownAccount: true })
  async changePassword(
    @CurrentUser() user: AuthUser,
    @Body() dto: ChangePasswordDto,
    @Audit() audit: AuditContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LoginResult> {
    const result = await this.auth.changePassword(user, dto.currentPassword, dto.newPassword, audit);
    setSessionCookie(req, reply, result.accessToken, result.expiresIn);
    return result;
  }

  /**
   * POST /auth/logout (login token only) → 204: this token answers 401 from now on; the user's
   * other tokens keep working; the session cookie is cleared. Audited `auth.logout`. 403 `jwt_required`;
   * 503 `service_unavailable`.
   */
  @Post('logout')
  @HttpCode(204)
  @Auth({ ownAccount: true })
  async logout(
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.auth.logout(user, audit);
    clearSessionCookie(req, reply);
  }

  /**
   * POST /auth/logout-all (login token only) → 204: every token of the user, this one included,
   * answers 401 from now on; the session cookie is cleared. Audited `auth.logout_all`. 403 `jwt_required`.
   */
  @Post('logout-all')
  @HttpCode(204)
  @Auth({ ownAccount: true })
  async logoutAll(
    @CurrentUser() user: AuthUser,
    @Audit() audit: AuditContext,
    @Req() req: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.auth.logoutAll(user, audit);
    clearSessionCookie(req, reply);
  }

  /**
   * GET /auth/me: who the caller is `{id, did, email, role, via, scopes, mustChangePassword}` (`id`
   * the user's UUID, as in /admin/users/:id) (JWT, or API key with any scope).
   */
  @Get('me')
  @Auth({ ownAccount: true })
  me(@CurrentUser() user: AuthUser): Pick<AuthUser, 'id' | 'did' | 'email' | 'role' | 'via' | 'scopes' | 'mustChangePassword'> {
    return {
      id: user.id,
      did: user.did,
      email: user.email,
      role: user.role,
      via: user.via,
      scopes: user.scopes,
      mustChangePassword: user.mustChangePassword,
    };
  }
}
