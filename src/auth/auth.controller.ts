import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { AuthUser } from './auth-user';
import { AuthService, LoginResult } from './auth.service';
import { Auth, CurrentUser, Public } from './auth.decorators';
import { LoginDto } from './dto/login.dto';

@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  /**
   * POST /auth/login `{login, password}` → `{accessToken, tokenType:'Bearer', expiresIn (s), user}`.
   * 401 `invalid_credentials`; 400 `validation_failed`.
   */
  @Public()
  @Post('login')
  @HttpCode(200)
  login(@Body() dto: LoginDto): Promise<LoginResult> {
    return this.auth.login(dto.login, dto.password);
  }

  /** GET /auth/me: who the caller is `{did, email, role, via, scopes}` (JWT, or API key with any scope). */
  @Get('me')
  @Auth({ ownAccount: true })
  me(@CurrentUser() user: AuthUser): Pick<AuthUser, 'did' | 'email' | 'role' | 'via' | 'scopes'> {
    return { did: user.did, email: user.email, role: user.role, via: user.via, scopes: user.scopes };
  }
}
