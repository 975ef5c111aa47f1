import { Injectable } from '@nestjs/common';
import type { AuditContext } from '../audit/audit-entry';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { isAdminRole } from '../auth/roles';
import { prismaErrorCode } from '../common/database-errors';
import { DomainError } from '../common/domain-error';
import { SecretBoxService } from '../crypto/secret-box.service';
import type { LlmProfile, Prisma } from '../generated/prisma/client';
import type { ExternalPlatform } from '../generated/prisma/enums';
import { isUuid } from '../keys/keys.repository';
import { PrismaService } from '../prisma/prisma.service';
import type { CreateIdentityDto, PutLlmProfileDto } from './dto/llm-profile.dto';
import { LlmConfigCache } from './llm-config-cache';
import { LlmConfigRepository } from './llm-config.repository';
import { maskApiKey } from './masking';
import { IdentityRef, parsePlatform, parseUsername } from './usernames';

/** Who changes a profile or identity (the rule on admins' accounts). */
export type ProfileActor = Pick<AuthUser, 'id' | 'role'>;

/** An identity as the admin API answers it. */
export interface IdentityJson {
  userId: string;
  platform: ExternalPlatform;
  username: string;
  createdAt: string;
}

/** A profile as the admin API answers it: `openai.apiKey` masked, never in clear. */
export interface LlmProfileJson {
  userId: string;
  provider: string;
  functionCalling: boolean;
  systemPrompt: string;
  maxLlmProcessNum: number;
  openai: { apiKey: string | null; baseUrl: string; model: string; maxToken: number } | null;
  lmstudio: { baseUrl: string; contextLength: number; model: string } | null;
  ollama: { endpoint: string; model: string; maxToken: number } | null;
  tollgate: { keyId: string | null; model: string; maxToken: number } | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Admin management of users' external identities and LLM profiles (docs/api/llm-config.md
 * "Admin endpoints"). Every write runs in one transaction with its audit entry (no api key in
 * `changes`) and, once committed, drops the cached answers of the user's identities
 * (LlmConfigCache.invalidate). The accounts of admins (super_admin, admin, admin_viewer) are
 * changed only by a super_admin or the account itself, as their keys are.
 */
@Injectable()
export class LlmProfilesService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly repo: LlmConfigRepository,
    private readonly cache: LlmConfigCache,
    private readonly audit: AuditService,
    private readonly box: SecretBoxService,
  ) {}

  /** The user's identities, by platform. @throws DomainError 404 user_not_found */
  async listIdentities(userId: string): Promise<{ count: number; list: IdentityJson[] }> {
    await this.userFor(this.prisma, userId, null);
    const rows = await this.prisma.externalIdentity.findMany({ where: { userId }, orderBy: { platform: 'asc' } });
    return { count: rows.length, list: rows.map(identityJson) };
  }

  /**
   * Links the user to a GitHub/GitLab username. @returns the identity
   * @throws DomainError 400 validation_failed (platform, username), 404 user_not_found, 403 forbidden,
   *   409 identity_exists (the username is another user's, or the user has one on this platform)
   */
  async addIdentity(userId: string, dto: CreateIdentityDto, audit: AuditContext, actor: ProfileActor): Promise<IdentityJson> {
    const ref = adminIdentity(dto.platform, dto.username);
    const row = await this.prisma
      .$transaction(async (tx) => {
        await this.userFor(tx, userId, actor);
        const created = await tx.externalIdentity.create({ data: { userId, platform: ref.platform, username: ref.username } });
        await this.audit.inTransaction(tx, audit, {
          action: 'llm-identities.create',
          targetType: 'user',
          targetId: userId,
          changes: { platform: ref.platform, username: ref.username },
        });
        return created;
      })
      .catch((err: unknown) => {
        if (prismaErrorCode(err) === 'P2002') {
          throw DomainError.conflict(
            'identity_exists',
            `The ${ref.platform} username is linked already, or this user has a ${ref.platform} account already`,
          );
        }
        throw err;
      });
    await this.cache.invalidate([ref]);
    return identityJson(row);
  }

  /** Unlinks the user's account on `platform`. @returns the identity removed @throws DomainError 404 user_not_found / identity_not_found, 403 */
  async removeIdentity(userId: string, platformName: string, audit: AuditContext, actor: ProfileActor): Promise<IdentityJson> {
    const platform = adminPlatform(platformName);
    const row = await this.prisma.$transaction(async (tx) => {
      await this.userFor(tx, userId, actor);
      const found = await tx.externalIdentity.findUnique({ where: { userId_platform: { userId, platform } } });
      if (!found) throw DomainError.notFound('identity_not_found', `This user has no ${platform} account linked`);
      await tx.externalIdentity.delete({ where: { id: found.id } });
      await this.audit.inTransaction(tx, audit, {
        action: 'llm-identities.delete',
        targetType: 'user',
        targetId: userId,
        changes: { platform, username: found.username },
      });
      return found;
    });
    await this.cache.invalidate([{ platform: row.platform, username: row.username }]);
    return identityJson(row);
  }

  /** The user's profile, api key masked. @throws DomainError 404 user_not_found / llm_profile_not_found */
  async getProfile(userId: string): Promise<LlmProfileJson> {
    await this.userFor(this.prisma, userId, null);
    const row = await this.prisma.llmProfile.findUnique({ where: { userId } });
    if (!row) throw profileNotFound();
    return this.profileJson(row);
  }

  /**
   * Creates or replaces the user's profile (the whole profile; `openai.apiKey` omitted keeps the
   * stored key of an openai profile). @returns the profile, api key masked
   * @throws DomainError 400 validation_failed (the provider's block missing, another block present,
   *   openai.apiKey missing for a new key, tollgate.keyId not an active key of this user), 404
   *   user_not_found, 403 forbidden
   */
  async putProfile(userId: string, dto: PutLlmProfileDto, audit: AuditContext, actor: ProfileActor): Promise<LlmProfileJson> {
    for (const p of ['openai', 'lmstudio', 'ollama', 'tollgate'] as const) {
      if (p === dto.provider && !dto[p]) throw DomainError.validationFailed(p, `The provider ${p} needs its "${p}" settings`);
      if (p !== dto.provider && dto[p])
        throw DomainError.validationFailed(p, `Only the settings of the provider ${dto.provider} may be given`);
    }
    const { row, refs } = await this.prisma.$transaction(async (tx) => {
      await this.userFor(tx, userId, actor);
      const before = await tx.llmProfile.findUnique({ where: { userId } });
      const fields = await this.fieldsOf(tx, userId, dto, before);
      const after = await tx.llmProfile.upsert({ where: { userId }, create: { userId, ...fields }, update: fields });
      await this.audit.inTransaction(tx, audit, {
        action: before ? 'llm-profiles.update' : 'llm-profiles.create',
        targetType: 'user',
        targetId: userId,
        changes: { before: before ? auditView(before) : null, after: auditView(after), apiKeyChanged: dto.openai?.apiKey !== undefined },
      });
      return { row: after, refs: await this.repo.identitiesOf(userId, tx) };
    });
    await this.cache.invalidate(refs);
    return this.profileJson(row);
  }

  /** Deletes the user's profile. @returns the profile removed (masked) @throws DomainError 404 user_not_found / llm_profile_not_found, 403 */
  async deleteProfile(userId: string, audit: AuditContext, actor: ProfileActor): Promise<LlmProfileJson> {
    const { row, refs } = await this.prisma.$transaction(async (tx) => {
      await this.userFor(tx, userId, actor);
      const before = await tx.llmProfile.findUnique({ where: { userId } });
      if (!before) throw profileNotFound();
      await tx.llmProfile.delete({ where: { userId } });
      await this.audit.inTransaction(tx, audit, {
        action: 'llm-profiles.delete',
        targetType: 'user',
        targetId: userId,
        changes: { before: auditView(before) },
      });
      return { row: before, refs: await this.repo.identitiesOf(userId, tx) };
    });
    await this.cache.invalidate(refs);
    return this.profileJson(row);
  }

  /** The stored columns of a PUT body. */
  private async fieldsOf(
    tx: Prisma.TransactionClient,
    userId: string,
    dto: PutLlmProfileDto,
    before: LlmProfile | null,
  ): Promise<Omit<Prisma.LlmProfileUncheckedCreateInput, 'userId'>> {
    const common = {
      provider: dto.provider,
      functionCalling: dto.functionCalling ?? true,
      systemPrompt: dto.systemPrompt ?? '',
      maxLlmProcessNum: dto.maxLlmProcessNum ?? 1000,
    };
    if (dto.openai) {
      const { apiKey, ...settings } = dto.openai;
      let sealed: string | null;
      if (apiKey !== undefined) sealed = this.box.encrypt(apiKey);
      else if (before?.provider === 'openai') sealed = before.encryptedApiKey;
      else throw DomainError.validationFailed('openai.apiKey', 'Give the api key (it can be omitted only to keep the stored one)');
      return { ...common, settings, encryptedApiKey: sealed, apiKeyId: null };
    }
    if (dto.tollgate) {
      const { keyId, ...settings } = dto.tollgate;
      const key = await tx.apiKey.findFirst({
        where: { id: keyId, userId },
        select: { revokedAt: true, expiresAt: true, encryptedSecret: true },
      });
      const usable = key && !key.revokedAt && (!key.expiresAt || key.expiresAt.getTime() > Date.now()) && key.encryptedSecret;
      if (!usable)
        throw DomainError.validationFailed('tollgate.keyId', 'Give an active key of this user whose secret is kept (create or rotate one)');
      return { ...common, settings, encryptedApiKey: null, apiKeyId: keyId };
    }
    const settings = { ...(dto.lmstudio ?? dto.ollama) };
    return { ...common, settings, encryptedApiKey: null, apiKeyId: null };
  }

  /** The user, checked to exist and to be one `actor` may change (null actor: reads). */
  private async userFor(tx: Prisma.TransactionClient, userId: string, actor: ProfileActor | null): Promise<void> {
    const user = isUuid(userId) ? await tx.user.findUnique({ where: { id: userId }, select: { id: true, role: true } }) : null;
    if (!user) throw DomainError.notFound('user_not_found', 'No user with this id');
    if (actor && actor.id !== user.id && isAdminRole(user.role) && actor.role !== 'super_admin') {
      throw DomainError.forbidden('forbidden', "Only a super_admin may change another admin account's LLM settings");
    }
  }

  private profileJson(row: LlmProfile): LlmProfileJson {
    const s = row.settings as Record<string, unknown>;
    const str = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : '');
    const int = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
    return {
      userId: row.userId,
      provider: row.provider,
      functionCalling: row.functionCalling,
      systemPrompt: row.systemPrompt,
      maxLlmProcessNum: row.maxLlmProcessNum,
      openai:
        row.provider === 'openai'
          ? {
              apiKey: row.encryptedApiKey ? maskApiKey(this.box.decrypt(row.encryptedApiKey)) : null,
              baseUrl: str('baseUrl'),
              model: str('model'),
              maxToken: int('maxToken'),
            }
          : null,
      lmstudio: row.provider === 'lmstudio' ? { baseUrl: str('baseUrl'), contextLength: int('contextLength'), model: str('model') } : null,
      ollama: row.provider === 'ollama' ? { endpoint: str('endpoint'), model: str('model'), maxToken: int('maxToken') } : null,
      tollgate: row.provider === 'tollgate' ? { keyId: row.apiKeyId, model: str('model'), maxToken: int('maxToken') } : null,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  }
}

/** What the audit log keeps of a profile: no api key, masked or not. */
function auditView(row: LlmProfile): Record<string, unknown> {
  return {
    provider: row.provider,
    functionCalling: row.functionCalling,
    maxLlmProcessNum: row.maxLlmProcessNum,
    systemPromptChars: row.systemPrompt.length,
    settings: row.settings,
    apiKeyId: row.apiKeyId,
  };
}

function identityJson(row: { userId: string; platform: ExternalPlatform; username: string; createdAt: Date }): IdentityJson {
  return { userId: row.userId, platform: row.platform, username: row.username, createdAt: row.createdAt.toISOString() };
}

function profileNotFound(): DomainError {
  return DomainError.notFound('llm_profile_not_found', 'This user has no LLM profile');
}

/** parsePlatform with the management API's error (400 validation_failed on `platform`). */
function adminPlatform(value: string): ExternalPlatform {
  try {
    return parsePlatform(value);
  } catch (e) {
    throw DomainError.validationFailed('platform', (e as Error).message);
  }
}

/** The identity of a POST body with the management API's errors (400 validation_failed). */
function adminIdentity(platformName: string, username: string): IdentityRef {
  const platform = adminPlatform(platformName);
  try {
    return { platform, username: parseUsername(platform, username) };
  } catch (e) {
    throw DomainError.validationFailed('username', (e as Error).message);
  }
}
