import { Controller, Get, Query } from '@nestjs/common';
import { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { SettingsService } from '../settings/settings.service';
import { CreditBalanceJson, CreditGrantJson, CreditTransactionJson, Paged } from './credit-json';
import { CreditQueriesService } from './credit-queries.service';
import { PageQueryDto, TransactionListQueryDto } from './dto/credit-list-query.dto';

/**
 * The caller's own credits (docs/api/credits.md). Every endpoint reads only the
 * authenticated user's ledger. Auth: login JWT, or an API key with scope `credits:read`.
 * Errors: 401 unauthorized, 403 insufficient_scope, 400 validation_failed (paging/filter).
 */
@Controller('user/credit')
@Auth({ scope: 'credits:read' })
export class CreditsController {
  constructor(
    private readonly queries: CreditQueriesService,
    private readonly settings: SettingsService,
  ) {}

  /**
   * GET /user/credit/grants?page&pageSize → `{count, list:[grant], paging:{page,pageSize}}`,
   * newest first; grant `{id, userDid, amount, reason, source, status: active|expired,
   * expiresAt, expiredAt, expiredAmount, createdAt}` (amounts in credits). pageSize ≤ 100.
   */
  @Get('grants')
  grants(@CurrentUser() user: AuthUser, @Query() q: PageQueryDto): Promise<Paged<CreditGrantJson>> {
    return this.queries.grants(user, q);
  }

  /**
   * GET /user/credit/transactions?page&pageSize&type → `{count, list:[transaction], paging}`,
   * newest first; transaction `{id, type: grant|debit|refund|expiry|adjustment, amount (signed
   * credits), balanceAfter, grantId, modelCallId, description, createdAt}`.
   */
  @Get('transactions')
  transactions(@CurrentUser() user: AuthUser, @Query() q: TransactionListQueryDto): Promise<Paged<CreditTransactionJson>> {
    return this.queries.transactions(user.id, q);
  }

  /**
   * GET /user/credit/balance → `creditBalance` `{balance, total, grantCount,
   * pendingCredit}` in credits (answered whether or not credit billing is on: the ledger exists).
   */
  @Get('balance')
  balance(@CurrentUser() user: AuthUser): Promise<CreditBalanceJson> {
    return this.queries.balance(user.id);
  }

  /**
   * GET /user/credit/payment-link → `{paymentLink}`: where to buy credits (setting
   * `credit.paymentLink` or CREDIT_PAYMENT_LINK); null when unset or credit billing is off.
   */
  @Get('payment-link')
  paymentLink(): Promise<{ paymentLink: string | null }> {
    return this.settings.billing().then((s) => ({ paymentLink: s.creditBillingEnabled ? s.paymentLink : null }));
  }
}
