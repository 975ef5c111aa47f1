import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { SecretBoxService } from '../crypto/secret-box.service';
import { KEYS_INVALIDATE_CHANNEL, USERS_INVALIDATE_CHANNEL } from '../keys/key-check.service';
import { InvalidationBus } from '../redis/invalidation-bus.service';
import { REDIS } from '../redis/redis.tokens';
import type { LlmConfigData } from './llm-config-json';
import { IdentityRef, userIdOf } from './usernames';

/** Longest wait for one cache round trip (ms); past it the answer comes from the database. */
const REDIS_TIMEOUT_MS = 250;
/** A user id as the user invalidation channel carries it. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** How long the per-identity generation counter lives (ms): longer than any load. */
const GENERATION_TTL_MS = 24 * 3600 * 1000;

/**
 * Stores `value` with a TTL only if the generation is still the one read before loading and the
 * user was not changed meanwhile (KEYS[3], the user's change mark); KEYS[4…] are the indexes
 * (the user's, their key hashes') that let a change drop the entry.
 */
const SET_IF_GENERATION = `
local g = redis.call('GET', KEYS[1])
if (g or '0') ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
for i = 4, #KEYS do
  redis.call('SADD', KEYS[i], KEYS[2])
  redis.call('PEXPIRE', KEYS[i], ARGV[3])
end
return 1`;

/** What is cached per identity: the full answer (unmasked, with the system prompt), sealed. */
export interface CachedLlmConfig {
  data: LlmConfigData;
  /** the tollgate key's secret, checked on every hit (a revoked key is never answered) */
  tollgateSecret: string | null;
}

/**
 * The Redis cache of the LLM config API (docs/api/llm-config.md "Caching"): one entry per
 * platform+username holding the complete answer, sealed with SecretBoxService (api keys are never
 * in Redis in clear); every variant (`include_system_prompt`, `mask`) is derived from it. Entries
 * live LLM_CONFIG_CACHE_TTL_MS (0 disables the cache) and are dropped at once by:
 * - `invalidate(refs)` after a profile or identity change (LlmProfilesService), which also bumps
 *   the identity's generation so a load that read the database before the change is not stored;
 * - a message on the key invalidation channel for any key of the user (revoke, rotation, key
 *   change; KeyCheckService publishes them);
 * - a message on the user invalidation channel (the user disabled, deleted, or their role, team or
 *   allowed models changed; KeyCheckService.invalidateUsers publishes it), which also matters for
 *   a user without any key. It also leaves a change mark on the user for one TTL, so an answer
 *   loaded from the database before the change cannot be stored after it.
 * When Redis does not answer within 250 ms the cache is skipped and answers come from the database.
 */
@Injectable()
export class LlmConfigCache implements OnModuleInit {
  private readonly log = new Logger(LlmConfigCache.name);
  private readonly ttlMs: number;
  private readonly prefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly bus: InvalidationBus,
    private readonly box: SecretBoxService,
  ) {
    this.ttlMs = config.llmConfig.cacheTtlMs;
    this.prefix = `${config.queuePrefix}:llmcfg:`;
  }

  async onModuleInit(): Promise<void> {
    await this.bus.subscribe(KEYS_INVALIDATE_CHANNEL, (hash) => void this.dropByKeyHash(hash));
    await this.bus.subscribe(USERS_INVALIDATE_CHANNEL, (userId) => void this.dropByUser(userId));
  }

  /** The generation of an identity before loading it from the database ('0' when none); null: no cache. */
  async generation(ref: IdentityRef): Promise<string | null> {
    if (this.ttlMs === 0) return null;
    return this.attempt('generation', async () => (await this.redis.get(this.genKey(ref))) ?? '0');
  }

  /** The cached answer of an identity, or null (none, unreadable, or Redis away). */
  async get(ref: IdentityRef): Promise<CachedLlmConfig | null> {
    if (this.ttlMs === 0) return null;
    const sealed = await this.attempt('get', () => this.redis.get(this.entryKey(ref)));
    if (!sealed) return null;
    try {
      return JSON.parse(this.box.decrypt(sealed)) as CachedLlmConfig;
    } catch {
      return null;
    }
  }

  /**
   * Stores an answer loaded at `generation`, unless the identity or the user (`userId`, uuid)
   * changed meanwhile; indexed by the user and by their key hashes.
   */
  async set(ref: IdentityRef, generation: string | null, value: CachedLlmConfig, userId: string, keyHashes: string[]): Promise<void> {
    if (this.ttlMs === 0 || generation === null) return;
    const sealed = this.box.encrypt(JSON.stringify(value));
    const keys = [
      this.genKey(ref),
      this.entryKey(ref),
      this.userMarkKey(userId),
      this.userIndexKey(userId),
      ...keyHashes.map((h) => this.hashIndexKey(h)),
    ];
    await this.attempt('set', () => this.redis.eval(SET_IF_GENERATION, keys.length, ...keys, generation, sealed, String(this.ttlMs)));
  }

  /**
   * Drops the cached answers of these identities and bumps their generations. Called after the
   * change committed. @returns false when Redis did not answer (entries then expire by their TTL)
   */
  async invalidate(refs: IdentityRef[]): Promise<boolean> {
    if (refs.length === 0) return true;
    const done = await this.attempt('invalidate', async () => {
      const m = this.redis.multi();
      for (const ref of refs) {
        m.incr(this.genKey(ref));
        m.pexpire(this.genKey(ref), GENERATION_TTL_MS);
        m.del(this.entryKey(ref));
      }
      await m.exec();
      return true;
    });
    return done === true;
  }

  /** Drops every entry indexed under a key hash (a message of the key invalidation channel). */
  private async dropByKeyHash(hash: string): Promise<void> {
    if (this.ttlMs === 0 || !/^[0-9a-f]{64}$/.test(hash)) return;
    await this.attempt('drop by key', async () => {
      const index = this.hashIndexKey(hash);
      const entries = await this.redis.smembers(index);
      await this.redis.del(index, ...entries);
    });
  }

  /**
   * Drops every entry of a user (a message of the user invalidation channel, `userId` a uuid) and
   * marks the user changed for one TTL, so a load that read the database before the change is not
   * stored (SET_IF_GENERATION).
   */
  private async dropByUser(userId: string): Promise<void> {
    if (this.ttlMs === 0 || !UUID.test(userId)) return;
    await this.attempt('drop by user', async () => {
      await this.redis.set(this.userMarkKey(userId), '1', 'PX', this.ttlMs);
      const index = this.userIndexKey(userId);
      const entries = await this.redis.smembers(index);
      await this.redis.del(index, ...entries);
    });
  }

  private entryKey(ref: IdentityRef): string {
    return `${this.prefix}entry:${userIdOf(ref)}`;
  }

  private genKey(ref: IdentityRef): string {
    return `${this.prefix}gen:${userIdOf(ref)}`;
  }

  private hashIndexKey(hash: string): string {
    return `${this.prefix}bykey:${hash}`;
  }

  private userIndexKey(userId: string): string {
    return `${this.prefix}byuser:${userId}`;
  }

  private userMarkKey(userId: string): string {
    return `${this.prefix}changed:${userId}`;
  }

  /** Runs a Redis round trip bounded by REDIS_TIMEOUT_MS. @returns its value, or null when Redis failed */
  private async attempt<T>(what: string, op: () => Promise<T>): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        op(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${REDIS_TIMEOUT_MS} ms`)), REDIS_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.log.warn(`LLM config cache ${what} skipped: ${(err as Error).message}`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
