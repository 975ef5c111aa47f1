import { Injectable } from '@nestjs/common';
import type { PoolClient, QueryConfig } from 'pg';
import { ApiKey, Prisma } from '../generated/prisma/client';
import { PrismaService } from '../prisma/prisma.service';

/**
 * The raw statements of virtual keys, one builder each (name, text and values). Both run on the
 * gateway's hot path (the lookup on every key-cache miss, the last-use write at most once a minute
 * per key and process), so they are named prepared statements (docs/data-access.md). Exported for
 * the SQL snapshots (src/database/sql-snapshots.spec.ts).
 */
export const keyQueries = {
  findBySecretHash: (secretHash: string): QueryConfig => ({
    name: 'tollgate_key_lookup',
    text: `SELECT k."id", k."user_id", u."did" AS "user_did", coalesce(k."allowed_models", '{}') AS "allowed_models",
  coalesce(k."scopes", '{}') AS "scopes", k."expires_at", k."revoked_at", u."status"::text AS "user_status"
FROM "api_keys" k JOIN "users" u ON u."id" = k."user_id"
WHERE k."secret_hash" = $1`,
    values: [secretHash],
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
  allowedModels: string[];
  scopes: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  /** the user's status: `active` or `disabled` */
  userStatus: string;
}

/** A new key's row, as written. */
export interface NewKey {
  userId: string;
  name: string;
  prefix: string;
  secretHash: string;
  allowedModels: string[];
  scopes: string[];
  expiresAt: Date | null;
}

/**
 * SQL of `api_keys`; the rules (secret generation, caching, what makes a key usable) are in
 * KeyCheckService. Raw statements take an optional `PoolClient`, Prisma CRUD an optional
 * `Prisma.TransactionClient`: pass the transaction's client to make a call part of that
 * transaction (docs/data-access.md); without one the statement runs on its own.
 */
@Injectable()
export class KeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The key whose secret hashes to `secretHash`, with its user's DID and status; null if none. */
  async findBySecretHash(secretHash: string, c?: PoolClient): Promise<StoredKey | null> {
    const res = await this.db(c).query<{
      id: string;
      user_id: string;
      user_did: string;
      allowed_models: string[];
      scopes: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
      user_status: string;
    }>(keyQueries.findBySecretHash(secretHash));
    if (res.rows.length === 0) return null;
    const r = res.rows[0];
    return {
      id: r.id,
      userId: r.user_id,
      userDid: r.user_did,
      allowedModels: r.allowed_models,
      scopes: r.scopes,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      userStatus: r.user_status,
    };
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

  private db(c?: PoolClient): Pick<PoolClient, 'query'> {
    return c ?? this.prisma.pool;
  }
}
