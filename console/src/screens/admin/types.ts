/**
 * Typed shapes of the admin endpoints' answers, as docs/api/*.md and docs/audit-log.md describe them.
 * Credits and rates are JSON numbers unless the doc says "decimal string".
 */

import type { CreditGrant as UserCreditGrant, Paged, Role } from '../../api/types';

// Shapes the user screens read too: one definition each, in console/src/api/types.ts.
export type { ApiKey, ApiKeyWithSecret, Paged, Role, UsageStats } from '../../api/types';

export const ROLES: Role[] = ['super_admin', 'admin', 'admin_viewer', 'member', 'member_viewer'];
export const ADMIN_ROLES: Role[] = ['super_admin', 'admin', 'admin_viewer'];
export type UserStatus = 'active' | 'disabled';

/** docs/api/users.md "The user object". `spend` amounts are exact decimal strings. */
export interface AdminUser {
  id: string;
  did: string;
  email: string;
  username: string | null;
  fullName: string | null;
  role: Role;
  status: UserStatus;
  team: { id: string; name: string } | null;
  allowedModels: string[];
  allowedServices: string[];
  metadata: Record<string, unknown>;
  mustChangePassword: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  spend: { balance: string; creditsUsedThisMonth: string; lastCallAt: string | null };
}

export interface CreatedUser {
  user: AdminUser;
  generatedPassword?: string;
}

export type UserSort =
  | 'email'
  | 'username'
  | 'fullName'
  | 'role'
  | 'status'
  | 'team'
  | 'createdAt'
  | 'lastLoginAt'
  | 'balance'
  | 'creditsUsedThisMonth'
  | 'lastCallAt';

export type ListMode = 'replace' | 'add' | 'remove';

/** docs/api/teams.md "The team object". */
export interface Team {
  id: string;
  name: string;
  allowedModels: string[];
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export interface TeamMember {
  id: string;
  did: string;
  email: string;
  username: string | null;
  fullName: string | null;
  role: Role;
  status: UserStatus;
}

export interface TeamDetail extends Team {
  members: Paged<TeamMember>;
}

export const KEY_SCOPES = [
  'usage:read',
  'credits:read',
  'providers:read',
  'users:read',
  'users:write',
  'keys:reveal',
  'audit:read',
  'llm-config:read',
  'admin',
] as const;

/** docs/api/user-import.md "Answer (200)". */
export type ImportMode = 'add' | 'delete' | 'sync';
export interface ImportRowError {
  line: number;
  email: string;
  code: string;
  reason: string;
}
export interface ImportResult {
  importId: string;
  mode: ImportMode;
  dryRun: boolean;
  summary: { rows: number; created: number; updated: number; deleted: number; unchanged: number; errors: number; keysCreated: number };
  resultCsvUrl: string;
  errorCsvUrl: string;
  errors: ImportRowError[];
}

/** docs/api/providers.md "Shapes". */
export interface Credential {
  id: string;
  name: string;
  credentialType: string;
  active: boolean;
  weight: number;
  displayText: string;
  maskedValue: Record<string, string>;
  /** in the provider list only */
  running?: boolean;
}

export type RateType = 'chatCompletion' | 'embedding' | 'imageGeneration';
export const RATE_TYPES: RateType[] = ['chatCompletion', 'embedding', 'imageGeneration'];

export interface ModelRate {
  id: string;
  providerId: string;
  model: string;
  type: RateType;
  /** credits per token */
  inputRate: number;
  outputRate: number;
  /** USD per token; null when unknown */
  unitCosts: { input: number | null; output: number | null } | null;
  modelMetadata: Record<string, unknown>;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface ModelRateWithProvider extends ModelRate {
  provider: { id: string; name: string; displayName: string };
}

export interface Provider {
  id: string;
  name: string;
  displayName: string;
  baseUrl: string;
  enabled: boolean;
  modelRates: ModelRate[];
  credentials: Credential[];
  createdAt: string;
  updatedAt: string;
}

export interface CredentialCheck {
  id: string;
  name: string;
  valid: boolean;
  status: 'valid' | 'invalid' | 'rejected' | 'unavailable';
  upstreamStatus: number | null;
  latencyMs: number | null;
  running: boolean;
  checkedAt: string;
}

export interface BulkRateUpdateResult {
  message: string;
  updated: number;
  skipped: number;
  parameters: { profitMargin: number | string; creditPrice: number | string };
  summary: Array<{
    id: string;
    model: string;
    provider: string;
    oldInputRate: number;
    newInputRate: number;
    oldOutputRate: number;
    newOutputRate: number;
  }>;
}

export interface RateHistoryEntry {
  id: string;
  rateId: string | null;
  providerId: string;
  providerName: string;
  model: string;
  type: RateType;
  action: 'create' | 'update' | 'delete' | 'bulk-rate-update' | 'price-import';
  reason: string | null;
  oldInputRate: number | null;
  newInputRate: number | null;
  oldOutputRate: number | null;
  newOutputRate: number | null;
  oldUnitCosts: { input: number | null; output: number | null } | null;
  newUnitCosts: { input: number | null; output: number | null } | null;
  parameters: Record<string, unknown> | null;
  changedBy: { id: string; email: string } | null;
  createdAt: string;
}

export interface TestModelsResult {
  enqueued: number;
  alreadyQueued: number;
  jobs: Array<{ jobId: string; rateId: string; key: string; type: string; queued: boolean }>;
}

/** GET /ai-providers/models (public, LiteLLM-style). */
export interface PublicModel {
  key: string;
  model: string;
  type: 'chat' | 'embedding' | 'image_generation';
  provider: string;
  providerId: string;
  input_credits_per_token: number;
  output_credits_per_token: number;
  modelMetadata: Record<string, unknown>;
  status: { id: string; lastChecked: string; latency: number | null; status: 'operational' | 'down' } | null;
  providerDisplayName: string;
}

export interface ProvidersHealth {
  providers: Record<string, Record<string, { running: boolean }>>;
  timestamp: string;
}

/** docs/api/credits.md "POST /admin/credits/grants". */
/** A grant as POST /admin/credits/grants answers it: the user's grant plus the balance after it. */
export interface CreditGrant extends UserCreditGrant {
  balanceAfter?: number;
}

/** docs/audit-log.md "Row". */
export interface AuditEntry {
  id: string;
  createdAt: string;
  actorType: 'user' | 'api_key' | 'anonymous' | 'system';
  actorUserId: string | null;
  actorKeyId: string | null;
  actorLabel: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  result: 'success' | 'failure';
  status: number | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  method: string | null;
  path: string | null;
  changes: unknown;
}

export interface AuditPage {
  list: AuditEntry[];
  nextCursor: string | null;
}
