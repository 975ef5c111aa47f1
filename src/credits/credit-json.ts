import { Decimal } from '../common/decimal';
import { CreditGrant, CreditTransaction } from '../generated/prisma/client';

/**
 * Credits as JSON numbers, where the API shows numbers (balances, amounts). Converted from the
 * exact decimal (numeric(38,10)) once, at the edge; amounts beyond 15–17 significant digits lose
 * precision in JSON numbers, which no realistic credit amount reaches.
 */
export function creditsToJson(d: Decimal | null | undefined): number {
  return d ? new Decimal(d).toNumber() : 0;
}

/** `creditBalance` of GET /user/info and GET /user/credit/balance (all values in credits). */
export interface CreditBalanceJson {
  /** the account balance: Σ grants − Σ debits + Σ refunds − Σ expiries */
  balance: number;
  /** Σ amounts of the user's grants that have not expired */
  total: number;
  /** how many grants have not expired */
  grantCount: number;
  /** credits held by the user's calls in flight (credit_accounts.held) */
  pendingCredit: number;
}

/** One credit grant in GET /user/credit/grants (and POST /admin/credits/grants). */
export interface CreditGrantJson {
  id: string;
  userDid: string;
  /** credits granted */
  amount: number;
  reason: string;
  /** who granted: "admin", … */
  source: string;
  /** active until expiresAt; expired once expiresAt passed */
  status: 'active' | 'expired';
  expiresAt: string | null;
  /** when the expiry job removed the unconsumed remainder, or null */
  expiredAt: string | null;
  /** credits the expiry removed (the unconsumed remainder), or null before expiry */
  expiredAmount: number | null;
  createdAt: string;
}

export function grantToJson(g: CreditGrant, userDid: string, now: Date = new Date()): CreditGrantJson {
  const expired = g.expiredAt !== null || (g.expiresAt !== null && g.expiresAt <= now);
  return {
    id: g.id,
    userDid,
    amount: creditsToJson(g.amount),
    reason: g.reason,
    source: g.source,
    status: expired ? 'expired' : 'active',
    expiresAt: g.expiresAt?.toISOString() ?? null,
    expiredAt: g.expiredAt?.toISOString() ?? null,
    expiredAmount: g.expiredAmount === null ? null : creditsToJson(g.expiredAmount),
    createdAt: g.createdAt.toISOString(),
  };
}

/** One ledger row in GET /user/credit/transactions. Amount signed: grants +, debits/expiries −. */
export interface CreditTransactionJson {
  id: string;
  type: CreditTransaction['type'];
  amount: number;
  /** the balance right after this row (credits) */
  balanceAfter: number;
  grantId: string | null;
  modelCallId: string | null;
  description: string;
  createdAt: string;
}

export function transactionToJson(t: CreditTransaction): CreditTransactionJson {
  return {
    id: t.id,
    type: t.type,
    amount: creditsToJson(t.amount),
    balanceAfter: creditsToJson(t.balanceAfter),
    grantId: t.grantId,
    modelCallId: t.modelCallId,
    description: t.description,
    createdAt: t.createdAt.toISOString(),
  };
}

/** The list envelope (docs/README.md "Conventions of the management API"). */
export interface Paged<T> {
  count: number;
  list: T[];
  paging: { page: number; pageSize: number };
}
