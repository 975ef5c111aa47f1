import { Injectable } from '@nestjs/common';
import type { PoolClient, QueryConfig } from 'pg';
import { ApiKey, Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/** Key-list entry that stands for "whatever the key's team allows" (docs/api/keys.md "Effective allowed models"). */
export const ALL_TEAM_MODELS = 'all-team-models';

/**
 * The raw statements of virtual keys, one builder each (name, text and values). They run on the
 * gateway's hot path (the lookup on every key-cache miss, the budget check on every call of a key
 * with a credit budget, the last-use write at most once a minute per key and process), so they are
 * named prepared statements (docs/data-access.md). Exported for the SQL snapshots
 * (src/database/sql-snapshots.spec.ts).
 */
export const keyQueries = {
  /**
   * The key with its user's DID and status and the three allowed-models lists the gateway
   * intersects (key, user, team; docs/api/keys.md "Effective allowed models"). A key list holding
   * "all-team-models" is returned empty: the key adds no restriction of its own, the team's list
   * applies.
   */
  findBySecretHash: (secretHash: string): QueryConfig => ({
    name: 'tollgate_key_lookup',
    text: `SELECT k."id", k."user_id", u."did" AS "user_did",
  CASE WHEN '${ALL_TEAM_MODELS}' = ANY(k."allowed_models") THEN '{}'::text[] ELSE coalesce(k."allowed_models", '{}') END AS "key_models",
  coalesce(u."allowed_models", '{}') AS "user_models", coalesce(t."allowed_models", '{}') AS "team_models",
  coalesce(k."scopes", '{}') AS "scopes", k."expires_at", k."revoked_at", u."status"::text AS "user_status",
  k."credit_budget" IS NOT NULL AS "has_budget", k."rpm_limit", k."tpm_limit"
FROM "api_keys" k JOIN "users" u ON u."id" = k."user_id" LEFT JOIN "teams" t ON t."id" = u."team_id"
WHERE k."secret_hash" = $1`,
    values: [secretHash],
  }),
  /** Whether the key has spent its credit budget (false when it has none or does not exist). */
  budgetExhausted: (keyId: string): QueryConfig => ({
    name: 'tollgate_key_budget',
    text: 'SELECT coalesce(k."credits_spent" >= k."credit_budget", false) AS "exhausted" FROM "api_keys" k WHERE k."id" = $1',
    values: [keyId],
  }),
  touchLastUsed: (keyId: string): QueryConfig => ({
    name: 'tollgate_key_touch',
    text: 'UPDATE "api_keys" SET "last_used_at" = now() WHERE "id" = $1',
    values: [keyId],
  }),
};

/** A stored virtual key as the key check needs it, with its user's DID and status. */
export interface StoredKey {
  id: string;
  userId: string;
  userDid: string;
  /** the key's own list ("all-team-models" already resolved to no restriction); empty = none */
  keyModels: string[];
  /** the user's list; empty = none */
  userModels: string[];
  /** the user's team's list (empty without a team); empty = none */
  teamModels: string[];
  scopes: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** the user's status: `active` or `disabled` */
  userStatus: string;
  /** the key has a credit budget (checked against creditsSpent on every call) */
  hasBudget: boolean;
  /** requests / tokens per minute the key may use (docs/rate-limits.md); null = no limit */
  rpmLimit: number | null;
  tpmLimit: number | null;
}

/** A new key's row, as written. */
export interface NewKey {
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  /** the secret sealed by SecretBoxService; null only for keys made before secrets were kept */
  encryptedSecret: string | null;
  allowedModels: string[];
  allowedServices: string[];
  scopes: string[];
  expiresAt: Date | null;
  rpmLimit: number | null;
  tpmLimit: number | null;
  creditBudget: string | null;
}

/** What a key update may change (undefined: unchanged). */
export type KeyChanges = Partial<
  Pick<NewKey, 'name' | 'allowedModels' | 'allowedServices' | 'scopes' | 'expiresAt' | 'rpmLimit' | 'tpmLimit' | 'creditBudget'>
>;

/** Key-list filter: `active` (not revoked, not expired), `revoked`, `expired` (not revoked, past expiresAt), `all`. */
export type KeyStatusFilter = 'active' | 'revoked' | 'expired' | 'all';

/** A user found by the lookup, with team and keys. */
export type UserWithKeys = Prisma.UserGetPayload<{ include: { team: { select: { id: true; name: true } }; apiKeys: true } }>;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when the string is a UUID (ids of keys and users). */
export function isUuid(s: string): boolean {
  return UUID_PATTERN.test(s);
}

/**
 * SQL of `api_keys`; the rules (secret generation, caching, who may change what) are in
 * KeyCheckService and KeyManagementService. Raw statements take an optional `PoolClient`, Prisma
 * CRUD an optional `Prisma.TransactionClient`: pass the transaction's client to make a call part
 * of that transaction (docs/data-access.md); without one the statement runs on its own.
 */
@Injectable()
export class KeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The key whose secret hashes to `secretHash`, with its user's and team's lists; null if none. */
  async findBySecretHash(secretHash: string, c?: PoolClient): Promise<StoredKey | null> {
    const res = await this.db(c).query<{
      id: string;
      user_id: string;
      user_did: string;
      key_models: string[];
      user_models: string[];
      team_models: string[];
      scopes: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
      user_status: string;
      has_budget: boolean;
      rpm_limit: number | null;
      tpm_limit: number | null;
    }>(keyQueries.findBySecretHash(secretHash));
    if (res.rows.length === 0) return null;
    const r = res.rows[0];
    return {
      id: r.id,
      userId: r.user_id,
      userDid: r.user_did,
      keyModels: r.key_models,
      userModels: r.user_models,
      teamModels: r.team_models,
      scopes: r.scopes,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      userStatus: r.user_status,
      hasBudget: r.has_budget,
      rpmLimit: r.rpm_limit,
      tpmLimit: r.tpm_limit,
    };
  }

  /** Whether the key's creditsSpent has reached its creditBudget (false without a budget). */
  async budgetExhausted(keyId: string, c?: PoolClient): Promise<boolean> {
    const res = await this.db(c).query<{ exhausted: boolean }>(keyQueries.budgetExhausted(keyId));
    return res.rows[0]?.exhausted ?? false;
  }

  /** The secret hashes of every key of these users (revoked ones too: a cache may still hold them). */
  async secretHashesOfUsers(userIds: string[], c?: PoolClient): Promise<string[]> {
    const res = await this.db(c).query<{ secret_hash: string }>('SELECT "secret_hash" FROM "api_keys" WHERE "user_id" = ANY($1::uuid[])', [
      userIds,
    ]);
    return res.rows.map((r) => r.secret_hash);
  }

  /** Sets the key's lastUsedAt to the database's now. */
  async touchLastUsed(keyId: string, c?: PoolClient): Promise<void> {
    await this.db(c).query(keyQueries.touchLastUsed(keyId));
  }

  /** Inserts a key. @returns its row */
  async create(key: NewKey, tx: Prisma.TransactionClient = this.prisma): Promise<ApiKey> {
    return tx.apiKey.create({ data: key });
  }

  /** The key `keyId` if it belongs to `userId`; null otherwise (also for a malformed id). */
  async findOfUser(userId: string, keyId: string, tx: Prisma.TransactionClient = this.prisma): Promise<ApiKey | null> {
    if (!isUuid(keyId) || !isUuid(userId)) return null;
    return tx.apiKey.findFirst({ where: { id: keyId, userId } });
  }

  /** The key `keyId` whoever owns it, with its user's role; null if none (also for a malformed id). */
  async findWithOwner(keyId: string): Promise<(ApiKey & { user: { role: string } }) | null> {
    if (!isUuid(keyId)) return null;
    return this.prisma.apiKey.findUnique({ where: { id: keyId }, include: { user: { select: { role: true } } } });
  }

  /**
   * One page of a user's keys, newest first.
   * @param now the instant `expired` and `active` are judged at
   */
  async listOfUser(
    userId: string,
    status: KeyStatusFilter,
    page: { skip: number; take: number },
    now: Date,
  ): Promise<{ count: number; rows: ApiKey[] }> {
    const where: Prisma.ApiKeyWhereInput = { userId };
    if (status === 'revoked') where.revokedAt = { not: null };
    else if (status === 'expired') Object.assign(where, { revokedAt: null, expiresAt: { lte: now } });
    else if (status === 'active') Object.assign(where, { revokedAt: null, OR: [{ expiresAt: null }, { expiresAt: { gt: now } }] });
    const [count, rows] = await Promise.all([
      this.prisma.apiKey.count({ where }),
      this.prisma.apiKey.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'asc' }], ...page }),
    ]);
    return { count, rows };
  }

  /** Applies `changes` to the key (locked by the caller's transaction). @returns the row after */
  async update(keyId: string, changes: KeyChanges, tx: Prisma.TransactionClient): Promise<ApiKey> {
    return tx.apiKey.update({ where: { id: keyId }, data: changes });
  }

  /**
   * Locks the key `keyId` of `userId` for the rest of the transaction (concurrent changes of one
   * key run one after the other). @returns the row, or null when `userId` has no such key
   */
  async lockOfUser(userId: string, keyId: string, tx: Prisma.TransactionClient): Promise<ApiKey | null> {
    if (!isUuid(keyId) || !isUuid(userId)) return null;
    const rows = await tx.$queryRaw<
      { id: string }[]
    >`SELECT "id" FROM "api_keys" WHERE "id" = ${keyId}::uuid AND "user_id" = ${userId}::uuid FOR UPDATE`;
    if (rows.length === 0) return null;
    return tx.apiKey.findUnique({ where: { id: keyId } });
  }

  /**
   * Revokes the key at `at` unless it is revoked already.
   * @returns the secret hash of the key revoked now (empty when there is no such unrevoked key)
   */
  async revoke(keyId: string, at: Date, tx: Prisma.TransactionClient = this.prisma): Promise<string[]> {
    const rows = await tx.apiKey.updateManyAndReturn({
      where: { id: keyId, revokedAt: null },
      data: { revokedAt: at },
      select: { secretHash: true },
    });
    return rows.map((r) => r.secretHash);
  }

  /** Replaces the key's secret (same row, same id). @returns the row after */
  async replaceSecret(
    keyId: string,
    secret: { prefix: string; secretHash: string; encryptedSecret: string },
    tx: Prisma.TransactionClient,
  ): Promise<ApiKey> {
    return tx.apiKey.update({ where: { id: keyId }, data: secret });
  }

  /**
   * Users by UUID or DID, with their team and every key (newest first). At most `refs.length`
   * users; refs that match nobody are simply absent.
   */
  async findUsersWithKeys(refs: string[]): Promise<UserWithKeys[]> {
    const ids = refs.filter(isUuid);
    const dids = refs.filter((r) => !isUuid(r));
    return this.prisma.user.findMany({
      where: { OR: [{ id: { in: ids } }, { did: { in: dids } }] },
      include: { team: { select: { id: true, name: true } }, apiKeys: { orderBy: [{ createdAt: 'desc' }, { id: 'asc' }] } },
    });
  }

  private db(c?: PoolClient): Pick<PoolClient, 'query'> {
    return c ?? this.prisma.pool;
  }
}
