import { creditsToJson } from '../credits/credit-json';
import type { ApiKey } from '../generated/prisma/client';

/**
 * A key as the API shows it (docs/api/keys.md "Fields"): never its secret nor its hash, only the
 * first characters as `prefix`. Credits are JSON numbers, times ISO 8601.
 */
export interface KeyJson {
  id: string;
  userId: string;
  /** the key's alias */
  name: string;
  /** the first 10 characters of the secret ("tg-AbC1234") */
  prefix: string;
  /** `revoked` (revokedAt set), `expired` (expiresAt passed), else `active` */
  status: 'active' | 'revoked' | 'expired';
  allowedModels: string[];
  allowedServices: string[];
  scopes: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  /** last gateway or API use, written at most once a minute per api process */
  lastUsedAt: string | null;
  /** requests per minute; null: no limit */
  rpmLimit: number | null;
  /** tokens per minute; null: no limit */
  tpmLimit: number | null;
  /** credits this key may spend in total; null: no budget */
  creditBudget: number | null;
  /** credits debited for calls with this key since it got a budget */
  creditsSpent: number;
  createdAt: string;
  updatedAt: string;
}

/** A key with its secret: the answer of create and rotate, the only times the secret is shown unasked. */
export type CreatedKeyJson = KeyJson & { secret: string };

/** The status of a key at `now`. */
export function keyStatus(key: Pick<ApiKey, 'revokedAt' | 'expiresAt'>, now: Date = new Date()): KeyJson['status'] {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && key.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'active';
}

/** The JSON of a stored key. */
export function keyToJson(key: ApiKey, now: Date = new Date()): KeyJson {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: key.id,
    userId: key.userId,
    name: key.name,
    prefix: key.prefix,
    status: keyStatus(key, now),
    allowedModels: key.allowedModels,
    allowedServices: key.allowedServices,
    scopes: key.scopes,
    expiresAt: iso(key.expiresAt),
    revokedAt: iso(key.revokedAt),
    lastUsedAt: iso(key.lastUsedAt),
    rpmLimit: key.rpmLimit,
    tpmLimit: key.tpmLimit,
    creditBudget: key.creditBudget === null ? null : creditsToJson(key.creditBudget),
    creditsSpent: creditsToJson(key.creditsSpent),
    createdAt: key.createdAt.toISOString(),
    updatedAt: key.updatedAt.toISOString(),
  };
}
