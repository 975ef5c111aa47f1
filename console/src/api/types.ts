/**
 * Shapes of the REST API answers the console reads, as documented in docs/api/*.md.
 * Credits are JSON numbers (converted once from exact decimals by the api); times are ISO 8601
 * strings unless a field says Unix seconds.
 */

/** A paged list (docs/api-conventions.md): `{count, list, paging: {page, pageSize}}`. */
export interface Paged<T> {
  count: number;
  list: T[];
  paging: { page: number; pageSize: number };
}

export type Role = 'super_admin' | 'admin' | 'admin_viewer' | 'member' | 'member_viewer';

/** GET /auth/me (docs/api/auth.md). */
export interface Me {
  id: string;
  did: string;
  email: string;
  role: Role;
  via: 'jwt' | 'api_key';
  scopes: string[];
  mustChangePassword: boolean;
}

/** POST /auth/login and POST /auth/password (docs/api/auth.md). */
export interface LoginResult {
  accessToken: string;
  tokenType: 'Bearer';
  /** seconds */
  expiresIn: number;
  mustChangePassword: boolean;
  user: { did: string; email: string; fullName: string; role: Role };
}

/** How a credit is displayed (GET /user/info `currency`). */
export interface CreditCurrency {
  name: string;
  symbol: string;
  /** decimal places shown */
  decimal: number;
}

/** GET /user/credit/balance (docs/api/credits.md). */
export interface CreditBalance {
  balance: number;
  total: number;
  grantCount: number;
  pendingCredit: number;
}

/** GET /user/info (docs/api/credits.md). */
export interface UserInfo {
  user: { did: string; fullName: string; email: string; avatar: string | null };
  creditBalance: CreditBalance | null;
  paymentLink: string | null;
  /** absent when credit billing is off */
  currency?: CreditCurrency;
  enableCredit: boolean;
  profileLink: string | null;
}

/** One grant of GET /user/credit/grants. */
export interface CreditGrant {
  id: string;
  userDid: string;
  amount: number;
  reason: string;
  source: string;
  status: 'active' | 'expired';
  expiresAt: string | null;
  expiredAt: string | null;
  expiredAmount: number | null;
  createdAt: string;
}

export type TransactionType = 'grant' | 'debit' | 'refund' | 'expiry' | 'adjustment';

/** One row of GET /user/credit/transactions. */
export interface CreditTransaction {
  id: string;
  type: TransactionType;
  /** signed: grants positive, debits and expiries negative */
  amount: number;
  balanceAfter: number;
  grantId: string | null;
  modelCallId: string | null;
  description: string | null;
  createdAt: string;
}

export type CallStatus = 'success' | 'failed' | 'aborted' | 'interrupted';

/** One call of GET /user/model-calls (docs/api/model-calls.md). */
export interface ModelCall {
  id: string;
  requestId: string;
  userDid: string;
  model: string;
  type: 'chat' | 'embedding' | 'image';
  status: CallStatus;
  providerId: string | null;
  providerName: string | null;
  stream: boolean;
  inputTokens: number;
  outputTokens: number;
  totalUsage: number;
  usageSource: 'upstream' | 'tokenizer' | 'estimate' | 'none';
  credits: number;
  /** ms */
  duration: number;
  appDid: string | null;
  upstreamStatus: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  userInfo: { did: string; fullName: string; email: string; avatar: string | null } | null;
}

/**
 * GET /user/model-calls: a page plus `totalIsEstimate` (`count` is the planner's estimate when the
 * list is filtered by search, provider or app and matches more than 1,000 calls) and `nextCursor`.
 */
export interface ModelCallPage extends Paged<ModelCall> {
  totalIsEstimate?: boolean;
  nextCursor?: string | null;
}

/** Filters of GET /user/model-calls and its export; times are Unix seconds. */
export interface ModelCallFilters {
  startTime?: number;
  endTime?: number;
  search?: string;
  status?: 'all' | 'success' | 'failed' | 'aborted';
  model?: string;
  providerId?: string;
  appDid?: string;
}

/** GET /user/usage-stats (docs/api/model-calls.md). */
export interface UsageStats {
  summary: { byType: Record<string, number>; totalCalls: number; totalCredits: number; modelCount: number; totalUsage: number };
  dailyStats: Array<{ date: string; credits: number; calls: number }>;
  modelStats: Array<{ model: string; totalCalls: number; totalCredits: number }>;
  trendComparison: {
    totalCredits: { current: number; previous: number; change: string };
    totalCalls: { current: number; previous: number; change: string };
  };
}

/** A virtual key (docs/api/keys.md "Fields"). */
export interface ApiKey {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  status: 'active' | 'revoked' | 'expired';
  allowedModels: string[];
  allowedServices: string[];
  scopes: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  creditBudget: number | null;
  creditsSpent: number;
  createdAt: string;
  updatedAt: string;
}

/** POST /user/keys and POST /user/keys/:id/rotate: the key plus its secret, shown once. */
export interface ApiKeyWithSecret extends ApiKey {
  secret: string;
}

/** Body of POST /user/keys and PATCH /user/keys/:id. */
export interface KeyInput {
  name?: string;
  allowedModels?: string[];
  expiresAt?: string | null;
  rpmLimit?: number | null;
  tpmLimit?: number | null;
  /** credits, a decimal string */
  creditBudget?: string | null;
}
