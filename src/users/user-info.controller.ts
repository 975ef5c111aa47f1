import { Controller, Get } from '@nestjs/common';
import { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { UserInfoJson, UserInfoService } from './user-info.service';

/** The caller's user info (docs/api/credits.md "GET /user/info"). */
@Controller('user')
export class UserInfoController {
  constructor(private readonly userInfo: UserInfoService) {}

  /**
   * GET /user/info → `{user:{did, fullName, email, avatar}, creditBalance:{balance, total,
   * grantCount, pendingCredit} (credits), paymentLink, currency:{name, symbol, decimal},
   * enableCredit, profileLink}`; with credit billing off `creditBalance` and `paymentLink` are
   * null and `currency` is absent. Auth: login JWT, or an API key with any management scope.
   * Errors: 401 unauthorized, 403 insufficient_scope, 404 user_not_found.
   */
  @Get('info')
  @Auth()
  info(@CurrentUser() user: AuthUser): Promise<UserInfoJson> {
    return this.userInfo.info(user.id);
  }
}
