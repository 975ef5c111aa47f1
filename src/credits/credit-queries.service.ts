import { Injectable } from '@nestjs/common';
import { Decimal } from '../common/decimal';
import { CreditTransactionType } from '../generated/prisma/enums';
import { Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';
import {
  CreditBalanceJson,
  CreditGrantJson,
  CreditTransactionJson,
  creditsToJson,
  grantToJson,
  Paged,
  transactionToJson,
} from './credit-json';

export interface PageInput {
  /** from 1 */
  page: number;
  /** 1–100 */
  pageSize: number;
}

/**
 * Read side of the ledger for one user (docs/api/credits.md): balance summary, grants and
 * transactions. Every method is scoped by the caller's user id: nobody reads another's ledger.
 */
@Injectable()
export class CreditQueriesService {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * `creditBalance`. `total`/`grantCount` cover grants not expired (expiredAt unset and
   * expiresAt in the future or none), as a payment service's grant summary counts active grants;
   * fully spent grants stay in until they expire (per-grant consumption is not tracked).
   * `pendingCredit` = credits held by calls in flight.
   */
  async balance(userId: string, now: Date = new Date()): Promise<CreditBalanceJson> {
    const [account, grants] = await Promise.all([
      this.prisma.creditAccount.findUnique({ where: { userId }, select: { balance: true, held: true } }),
      this.prisma.creditGrant.aggregate({
        where: { userId, expiredAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] },
        _sum: { amount: true },
        _count: { _all: true },
      }),
    ]);
    return {
      balance: creditsToJson(account?.balance ?? new Decimal(0)),
      total: creditsToJson(grants._sum.amount ?? new Decimal(0)),
      grantCount: grants._count._all,
      pendingCredit: creditsToJson(account?.held ?? new Decimal(0)),
    };
  }

  /** The user's grants, newest first. */
  async grants(user: { id: string; did: string }, page: PageInput): Promise<Paged<CreditGrantJson>> {
    const where: Prisma.CreditGrantWhereInput = { userId: user.id };
    const [count, rows] = await Promise.all([
      this.prisma.creditGrant.count({ where }),
      this.prisma.creditGrant.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        skip: (page.page - 1) * page.pageSize,
        take: page.pageSize,
      }),
    ]);
    const now = new Date();
    return { count, list: rows.map((g) => grantToJson(g, user.did, now)), paging: { page: page.page, pageSize: page.pageSize } };
  }

  /** The user's ledger rows, newest first (ties in time by ledger order), optionally of one type. */
  async transactions(userId: string, page: PageInput & { type?: CreditTransactionType }): Promise<Paged<CreditTransactionJson>> {
    const where: Prisma.CreditTransactionWhereInput = { userId, ...(page.type ? { type: page.type } : {}) };
    const [count, rows] = await Promise.all([
      this.prisma.creditTransaction.count({ where }),
      this.prisma.creditTransaction.findMany({
        where,
        orderBy: [{ createdAt: 'desc' }, { seq: 'desc' }],
        skip: (page.page - 1) * page.pageSize,
        take: page.pageSize,
      }),
    ]);
    return { count, list: rows.map(transactionToJson), paging: { page: page.page, pageSize: page.pageSize } };
  }
}
