import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { DomainError } from '../common/domain-error';
import { SecretBoxService } from '../crypto/secret-box.service';
import { KeyCheckService } from '../keys/key-check.service';
import { CachedLlmConfig, LlmConfigCache } from './llm-config-cache';
import type { LlmConfigBatchData, LlmConfigData, LlmConfigJson } from './llm-config-json';
import { LlmConfigRepository, LlmConfigRow } from './llm-config.repository';
import { maskApiKey } from './masking';
import { IdentityRef, userIdOf } from './usernames';

/** Which variant of an answer the caller asked for. */
export interface LlmConfigView {
  /** keep `system_prompt` (default true) */
  includeSystemPrompt: boolean;
  /** mask `openai.api_key` (maskApiKey) */
  mask: boolean;
}

/** What one identity resolves to. */
type Resolution = { ok: true; value: CachedLlmConfig } | { ok: false; error: DomainError };

/**
 * The read side of the LLM config API (docs/api/llm-config.md): resolves `platform:username` to
 * the user's LLM profile as a coding agent consumes it, through LlmConfigCache. A `tollgate`
 * profile is answered as `provider: "openai"` with `base_url` = PUBLIC_BASE_URL + "/v1" and
 * `api_key` = the user's virtual key (its sealed secret in api_keys); a cached tollgate answer is
 * re-checked against KeyCheckService on every hit, so a revoked, expired or rotated key is never
 * answered (not even from the cache).
 */
@Injectable()
export class LlmConfigService {
  private readonly gatewayUrl: string;

  constructor(
    private readonly repo: LlmConfigRepository,
    private readonly cache: LlmConfigCache,
    private readonly keyCheck: KeyCheckService,
    private readonly box: SecretBoxService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.gatewayUrl = `${config.llmConfig.publicBaseUrl}/v1`;
  }

  /**
   * One identity's configuration. @returns `data` of GET .../llm-config
   * @throws DomainError 404 USER_NOT_FOUND (no such identity), 404 CONFIG_NOT_FOUND (no profile,
   *   the user disabled, or a tollgate key revoked/expired)
   */
  async getOne(ref: IdentityRef, view: LlmConfigView): Promise<LlmConfigData> {
    const [r] = await this.resolve([ref]);
    if (!r.ok) throw r.error;
    return applyView(r.value.data, view);
  }

  /**
   * Several identities at once, each asked for once (duplicates dropped, request order kept).
   * @returns `{configs, not_found}`; unknown identities and those without a usable profile go to `not_found`
   */
  async getBatch(refs: IdentityRef[], view: LlmConfigView): Promise<LlmConfigBatchData> {
    const unique = [...new Map(refs.map((r) => [userIdOf(r), r])).values()];
    const resolved = await this.resolve(unique);
    const out: LlmConfigBatchData = { configs: [], not_found: [] };
    resolved.forEach((r, i) => {
      if (r.ok) out.configs.push(applyView(r.value.data, view));
      else out.not_found.push(userIdOf(unique[i]));
    });
    return out;
  }

  /** Resolutions in the order of `refs`: cache hits first, the misses in one database read. */
  private async resolve(refs: IdentityRef[]): Promise<Resolution[]> {
    const out: (Resolution | undefined)[] = await Promise.all(refs.map((ref) => this.fromCache(ref)));
    const misses = refs.map((ref, i) => ({ ref, i })).filter(({ i }) => out[i] === undefined);
    if (misses.length > 0) {
      const generations = await Promise.all(misses.map(({ ref }) => this.cache.generation(ref)));
      const rows = new Map((await this.repo.findByIdentities(misses.map((m) => m.ref))).map((row) => [userIdOf(row), row]));
      await Promise.all(
        misses.map(async ({ ref, i }, n) => {
          const row = rows.get(userIdOf(ref));
          const r = row ? this.build(row) : { ok: false as const, error: userNotFound(ref) };
          if (r.ok && row) await this.cache.set(ref, generations[n], r.value, row.userId, row.keyHashes);
          out[i] = r;
        }),
      );
    }
    return out as Resolution[];
  }

  /** A usable cached answer, or undefined (none, or its tollgate key no longer works). */
  private async fromCache(ref: IdentityRef): Promise<Resolution | undefined> {
    const hit = await this.cache.get(ref);
    if (!hit) return undefined;
    if (hit.tollgateSecret !== null && !(await this.keyCheck.check(hit.tollgateSecret)).ok) {
      await this.cache.invalidate([ref]);
      return undefined;
    }
    return { ok: true, value: hit };
  }

  /** The full answer of a database row, or why there is none. */
  private build(row: LlmConfigRow): Resolution {
    const ref: IdentityRef = { platform: row.platform, username: row.username };
    const userId = userIdOf(ref);
    if (row.provider === null || row.createdAt === null || row.updatedAt === null) return { ok: false, error: configNotFound(ref) };
    if (row.userStatus !== 'active') return { ok: false, error: configNotFound(ref, `The user '${userId}' is disabled`) };
    const s = row.settings;
    const str = (k: string) => (typeof s[k] === 'string' ? (s[k] as string) : '');
    const int = (k: string) => (typeof s[k] === 'number' ? (s[k] as number) : 0);
    const llm: LlmConfigJson = { provider: 'openai', function_calling: row.functionCalling, openai: null, lmstudio: null, ollama: null };
    let tollgateSecret: string | null = null;
    if (row.provider === 'openai') {
      const apiKey = row.encryptedApiKey ? this.box.decrypt(row.encryptedApiKey) : '';
      llm.openai = { api_key: apiKey, base_url: str('baseUrl'), model: str('model'), max_token: int('maxToken') };
    } else if (row.provider === 'lmstudio') {
      llm.provider = 'lmstudio';
      llm.lmstudio = { base_url: str('baseUrl'), context_length: int('contextLength'), model: str('model') };
    } else if (row.provider === 'ollama') {
      llm.provider = 'ollama';
      llm.ollama = { endpoint: str('endpoint'), model: str('model'), max_token: int('maxToken') };
    } else {
      const now = Date.now();
      const usable =
        row.apiKeyId !== null &&
        row.keySecret !== null &&
        row.keyUserId === row.userId &&
        row.keyRevokedAt === null &&
        (row.keyExpiresAt === null || row.keyExpiresAt.getTime() > now);
      if (!usable || row.keySecret === null) {
        return {
          ok: false,
          error: configNotFound(
            ref,
            `The Tollgate key of the LLM configuration for user '${userId}' is revoked, expired or gone; set another key`,
          ),
        };
      }
      tollgateSecret = this.box.decrypt(row.keySecret);
      llm.openai = { api_key: tollgateSecret, base_url: this.gatewayUrl, model: str('model'), max_token: int('maxToken') };
    }
    const data: LlmConfigData = {
      user_id: userId,
      platform: row.platform,
      username: row.username,
      llm_config: llm,
      system_prompt: row.systemPrompt,
      max_llm_process_num: row.maxLlmProcessNum,
      created_at: row.createdAt.toISOString(),
      updated_at: row.updatedAt.toISOString(),
    };
    return { ok: true, value: { data, tollgateSecret } };
  }
}

/** The variant asked for of a full answer (a copy; the cached value is not changed). */
function applyView(full: LlmConfigData, view: LlmConfigView): LlmConfigData {
  const { system_prompt, ...rest } = full;
  const out: LlmConfigData = view.includeSystemPrompt ? { ...rest, system_prompt: system_prompt ?? '' } : { ...rest };
  if (view.mask && full.llm_config.openai) {
    out.llm_config = { ...full.llm_config, openai: { ...full.llm_config.openai, api_key: maskApiKey(full.llm_config.openai.api_key) } };
  }
  return out;
}

function details(ref: IdentityRef): { details: Record<string, unknown> } {
  return { details: { platform: ref.platform, username: ref.username } };
}

function userNotFound(ref: IdentityRef): DomainError {
  return new DomainError(404, 'USER_NOT_FOUND', `User '${userIdOf(ref)}' not found`, details(ref));
}

function configNotFound(ref: IdentityRef, message = `LLM configuration not found for user '${userIdOf(ref)}'`): DomainError {
  return new DomainError(404, 'CONFIG_NOT_FOUND', message, details(ref));
}
