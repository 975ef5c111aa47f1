import { Injectable } from '@nestjs/common';
import { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import { AuthUser } from '../auth/auth-user';
import { Decimal } from '../common/decimal';
import { DomainError } from '../common/domain-error';
import { PrismaService } from '../prisma/prisma.service';
import { CreditGrantJson, creditsToJson, grantToJson } from './credit-json';
import { CreditLedgerService } from './credit-ledger.service';
import { CreateCreditGrantDto } from './dto/create-credit-grant.dto';

/** An idempotency key: 1–200 visible ASCII characters (e.g. a UUID). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export interface AdminGrantResult {
  /** false: the idempotency key had been used; `grant` is the first grant and nothing was granted */
  created: boolean;
  grant: CreditGrantJson & { balanceAfter: number };
}

/** Admin side of credit grants: resolves the user by DID and grants through the ledger. */
@Injectable()
export class AdminCreditGrantsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly ledger: CreditLedgerService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Grants `dto.amount` credits to the user `dto.userDid`. With an idempotency key, the same key
   * grants once; a repeat returns the first grant (`created: false`). One audit entry
   * `credits.grant` (a replay: `credits.grant-replay`) in the grant's transaction: amount
   * (credits), userId, reason, expiresAt and the idempotency key (docs/audit-log.md).
   * @throws 400 validation_failed (expiresAt not in the future; bad Idempotency-Key header),
   *   404 user_not_found; from the ledger, 409 idempotency_key_reused (key used for another
   *   user/amount/expiry) and 400 invalid_amount
   */
  async grant(
    actor: AuthUser,
    dto: CreateCreditGrantDto,
    idempotencyKey: string | undefined,
    auditCtx: AuditContext,
  ): Promise<AdminGrantResult> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw DomainError.validationFailed('Idempotency-Key', 'Idempotency-Key must be 1-200 visible ASCII characters');
    }
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw DomainError.validationFailed('expiresAt', 'expiresAt must be in the future');
    }
    const user = await this.prisma.user.findUnique({ where: { did: dto.userDid }, select: { id: true, did: true } });
    if (!user) throw DomainError.notFound('user_not_found', 'No user has this DID');
    const r = await this.ledger.grant({
      userId: user.id,
      amount: new Decimal(dto.amount),
      reason: dto.reason,
      source: 'admin',
      expiresAt,
      idempotencyKey: idempotencyKey ?? null,
      createdById: actor.id,
      inTransaction: (tx, r) =>
        this.audit.inTransaction(tx, auditCtx, {
          action: r.created ? 'credits.grant' : 'credits.grant-replay',
          targetType: 'credit_grant',
          targetId: r.grantId,
          status: r.created ? 201 : 200,
          changes: {
            userId: user.id,
            userDid: user.did,
            amount: r.grant.amount.toFixed(),
            reason: r.grant.reason,
            expiresAt: r.grant.expiresAt?.toISOString() ?? null,
            idempotencyKey: idempotencyKey ?? null,
          },
        }),
    });
    return { created: r.created, grant: { ...grantToJson(r.grant, user.did), balanceAfter: creditsToJson(r.balanceAfter) } };
  }
}
