import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Audit } from '../audit/audit-context.decorator';
import { AuditContext } from '../audit/audit-entry';
import { AuthUser } from '../auth/auth-user';
import { Auth, CurrentUser } from '../auth/auth.decorators';
import { AdminCreditGrantsService } from './admin-credit-grants.service';
import { CreditGrantJson } from './credit-json';
import { CreateCreditGrantDto } from './dto/create-credit-grant.dto';

/** Admin credit operations (docs/api/credits.md). */
@Controller('admin/credits')
export class AdminCreditsController {
  constructor(private readonly grants: AdminCreditGrantsService) {}

  /**
   * POST /admin/credits/grants `{userDid, amount (credits, number or decimal string), reason,
   * expiresAt? (ISO 8601, future)}`, header `Idempotency-Key` (optional).
   * → 201 the new grant `{id, userDid, amount, reason, source, status, expiresAt, expiredAt,
   * expiredAmount, createdAt, balanceAfter}` (credits); 200 with the first grant when the
   * Idempotency-Key was used before (nothing granted again).
   * Errors: 400 validation_failed (field), 401, 403 forbidden / insufficient_scope (API key
   * needs `admin`), 404 user_not_found, 409 idempotency_key_reused.
   * Audited: one `credits.grant` entry (`credits.grant-replay` for a repeated key) in the grant's
   * transaction (docs/audit-log.md).
   */
  @Post('grants')
  @Auth({ admin: true })
  async create(
    @CurrentUser() actor: AuthUser,
    @Body() dto: CreateCreditGrantDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Audit() audit: AuditContext,
  ): Promise<CreditGrantJson & { balanceAfter: number }> {
    const r = await this.grants.grant(actor, dto, idempotencyKey, audit);
    void reply.status(r.created ? 201 : 200);
    return r.grant;
  }
}
