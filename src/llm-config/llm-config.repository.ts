import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import type { ExternalPlatform, LlmProvider } from '../generated/prisma/enums';
import { PrismaService } from '../prisma/prisma.service';
import type { IdentityRef } from './usernames';

/** One identity asked for, with its user, profile and (tollgate) key, as the read side needs it. */
export interface LlmConfigRow {
  platform: ExternalPlatform;
  username: string;
  userId: string;
  userStatus: string;
  provider: LlmProvider | null;
  functionCalling: boolean;
  systemPrompt: string;
  maxLlmProcessNum: number;
  settings: Record<string, unknown>;
  encryptedApiKey: string | null;
  apiKeyId: string | null;
  createdAt: Date | null;
  updatedAt: Date | null;
  /** the tollgate key: sealed secret, revocation and expiry, owner (null when none) */
  keySecret: string | null;
  keyRevokedAt: Date | null;
  keyExpiresAt: Date | null;
  keyUserId: string | null;
  /** SHA-256 hashes of every key of the user: the cache drops the answer when one is invalidated */
  keyHashes: string[];
}

/**
 * The SQL of the LLM config API (docs/data-access.md: reads of the agent-facing API are raw SQL on
 * the pool, one statement for one identity or a whole batch; the admin side uses Prisma).
 */
@Injectable()
export class LlmConfigRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The rows of the identities that exist among `refs` (any order; missing ones are absent). */
  async findByIdentities(refs: IdentityRef[]): Promise<LlmConfigRow[]> {
    if (refs.length === 0) return [];
    const res = await this.prisma.pool.query({
      name: 'tollgate_llm_config_by_identities',
      text: `SELECT i."platform"::text AS "platform", i."username", i."user_id", u."status"::text AS "user_status",
  p."provider"::text AS "provider", p."function_calling", p."system_prompt", p."max_llm_process_num", p."settings",
  p."encrypted_api_key", p."api_key_id", p."created_at", p."updated_at",
  k."encrypted_secret" AS "key_secret", k."revoked_at" AS "key_revoked_at", k."expires_at" AS "key_expires_at", k."user_id" AS "key_user_id",
  coalesce((SELECT array_agg(h."secret_hash") FROM "api_keys" h WHERE h."user_id" = i."user_id"), '{}') AS "key_hashes"
FROM unnest($1::text[], $2::text[]) AS w("platform", "username")
JOIN "external_identities" i ON i."platform"::text = w."platform" AND i."username" = w."username"
JOIN "users" u ON u."id" = i."user_id"
LEFT JOIN "llm_profiles" p ON p."user_id" = i."user_id"
LEFT JOIN "api_keys" k ON k."id" = p."api_key_id"`,
      values: [refs.map((r) => r.platform), refs.map((r) => r.username)],
    });
    return res.rows.map((r: Record<string, unknown>) => ({
      platform: r.platform as ExternalPlatform,
      username: r.username as string,
      userId: r.user_id as string,
      userStatus: r.user_status as string,
      provider: (r.provider as LlmProvider | null) ?? null,
      functionCalling: r.function_calling !== false,
      systemPrompt: (r.system_prompt as string | null) ?? '',
      maxLlmProcessNum: (r.max_llm_process_num as number | null) ?? 1000,
      settings: (r.settings as Record<string, unknown> | null) ?? {},
      encryptedApiKey: (r.encrypted_api_key as string | null) ?? null,
      apiKeyId: (r.api_key_id as string | null) ?? null,
      createdAt: (r.created_at as Date | null) ?? null,
      updatedAt: (r.updated_at as Date | null) ?? null,
      keySecret: (r.key_secret as string | null) ?? null,
      keyRevokedAt: (r.key_revoked_at as Date | null) ?? null,
      keyExpiresAt: (r.key_expires_at as Date | null) ?? null,
      keyUserId: (r.key_user_id as string | null) ?? null,
      keyHashes: (r.key_hashes as string[] | null) ?? [],
    }));
  }

  /** The identities of a user (platform, username), for invalidating their cached answers. */
  async identitiesOf(userId: string, tx: Prisma.TransactionClient = this.prisma): Promise<IdentityRef[]> {
    return tx.externalIdentity.findMany({ where: { userId }, select: { platform: true, username: true }, orderBy: { platform: 'asc' } });
  }
}
