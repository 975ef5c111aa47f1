import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { InvalidationBus } from '../redis/invalidation-bus.service';
import { KeysRepository } from './keys.repository';
import { hashVirtualKeySecret, looksLikeVirtualKey } from './virtual-key';

/** Who is calling, once a virtual key is resolved. */
export interface KeyPrincipal {
  keyId: string;
  userId: string;
  userDid: string;
  /**
   * The allowed-models lists a call must satisfy, every one of them: the key's, its user's and
   * its team's, each only when it restricts something (docs/api/keys.md "Effective allowed
   * models"). No list: every enabled model.
   */
  modelAllowLists: string[][];
  /** the key has a credit budget: every call checks creditsSpent against it (budgetExhausted) */
  hasBudget: boolean;
  /** the key's requests / tokens per minute on the gateway (docs/rate-limits.md); null = no limit */
  rpmLimit: number | null;
  tpmLimit: number | null;
  /** management-API scopes (empty: gateway calls only) */
  scopes: string[];
  expiresAt: Date | null;
  revoked: boolean;
  userActive: boolean;
}

export type KeyCheck =
  { ok: true; principal: KeyPrincipal } | { ok: false; reason: 'missing' | 'invalid' | 'revoked' | 'expired' | 'user_disabled' };

/**
 * Bus channel of key changes (a key's secret hash per message; the bus prefixes it with
 * QUEUE_PREFIX): this service and LlmConfigCache drop what they cached under that key.
 */
export const KEYS_INVALIDATE_CHANNEL = 'keys:invalidate';
/**
 * Bus channel of user changes (a user's uuid per message): caches keyed by user rather than by key
 * (the LLM config answers, LlmConfigCache) drop that user's entries, whether the user has keys or not.
 */
export const USERS_INVALIDATE_CHANNEL = 'users:invalidate';
const CACHE_MAX_ENTRIES = 50_000;
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

/**
 * The hot-path check of virtual keys (docs/api/gateway.md "Authentication", docs/api/keys.md
 * "Propagation"; docs/architecture.md "Caches and their invalidation"): a secret is resolved on
 * every gateway call through a short-lived in-process cache keyed by its SHA-256 hash; the SQL is
 * in KeysRepository, creating and changing keys in KeyManagementService. A change publishes an
 * invalidation on Redis so every api replica drops the entry at once. Messages are
 * lost only while a replica's subscriber connection is down; the bus then resets the cache (when
 * the connection drops and when it is back) and, meanwhile, an entry is trusted for at most
 * DISCONNECTED_TRUST_MS (1 s) instead of KEY_CACHE_TTL_MS. So a revoked key stops working on every
 * replica within 1 s even when its invalidation message is missed.
 */
@Injectable()
export class KeyCheckService implements OnModuleInit {
  private readonly log = new Logger(KeyCheckService.name);
  private readonly cache = new Map<string, { value: KeyPrincipal | null; loadedAt: number }>();
  /** bumped by every invalidation and reset: a lookup that raced one is not cached */
  private generation = 0;
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly keys: KeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly bus: InvalidationBus,
  ) {}

  async onModuleInit(): Promise<void> {
    this.bus.onReset(() => {
      this.generation++;
      this.cache.clear();
    });
    await this.bus.subscribe(KEYS_INVALIDATE_CHANNEL, (hash) => {
      this.generation++;
      this.cache.delete(hash);
    });
  }

  /**
   * Drops every cached key of these users on every replica, and announces the change of each user
   * on USERS_INVALIDATE_CHANNEL: after a disable, a deletion, a role, team or allowed-models change
   * of the user or their team. Cached keys stop within a second everywhere (see the class comment);
   * cached LLM config answers are dropped when a replica receives the message, else they expire
   * after LLM_CONFIG_CACHE_TTL_MS. `secretHashes`: the users'
   * key hashes when they can no longer be read (a deletion reads them before it commits); by
   * default they are read now.
   */
  async invalidateUsers(userIds: string[], secretHashes?: string[]): Promise<void> {
    if (userIds.length === 0) return;
    for (const hash of secretHashes ?? (await this.keys.secretHashesOfUsers(userIds))) await this.invalidate(hash);
    for (const id of userIds) await this.bus.publish(USERS_INVALIDATE_CHANNEL, id);
  }

  /** Drops a cached key on every replica (after revoke, rotation, any change of the key). */
  async invalidate(secretHash: string): Promise<void> {
    this.generation++;
    this.cache.delete(secretHash);
    await this.bus.publish(KEYS_INVALIDATE_CHANNEL, secretHash);
  }

  /**
   * Resolves an `Authorization: Bearer <secret>` value. Cached for KEY_CACHE_TTL_MS (at most 1 s
   * while invalidations cannot be received, see the class comment); expiry is checked against the
   * clock on every call, not only when cached.
   */
  async check(secret: string | undefined): Promise<KeyCheck> {
    if (!secret) return { ok: false, reason: 'missing' };
    if (!looksLikeVirtualKey(secret)) return { ok: false, reason: 'invalid' };
    const hash = hashVirtualKeySecret(secret);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || now - entry.loadedAt >= this.bus.maxTrustMs(this.config.cache.keyTtlMs)) {
      const generation = this.generation;
      entry = { value: await this.load(hash), loadedAt: now };
      // an invalidation (or a reset) while loading may concern what was just read: do not keep it
      if (generation === this.generation) {
        if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
        this.cache.set(hash, entry);
      } else this.cache.delete(hash);
    }
    const p = entry.value;
    if (!p) return { ok: false, reason: 'invalid' };
    if (p.revoked) return { ok: false, reason: 'revoked' };
    if (p.expiresAt && p.expiresAt.getTime() <= now) return { ok: false, reason: 'expired' };
    if (!p.userActive) return { ok: false, reason: 'user_disabled' };
    this.touch(p.keyId, now);
    return { ok: true, principal: p };
  }

  /**
   * Whether the key's credit budget is spent (docs/api/keys.md "Credit budget"): false at once for
   * a key without a budget; otherwise one primary-key read, uncached, so a budget reached by the
   * debits of other replicas is seen by the next call.
   */
  async budgetExhausted(principal: KeyPrincipal): Promise<boolean> {
    if (!principal.hasBudget) return false;
    return this.keys.budgetExhausted(principal.keyId);
  }

  private async load(hash: string): Promise<KeyPrincipal | null> {
    const row = await this.keys.findBySecretHash(hash);
    if (!row) return null;
    return {
      keyId: row.id,
      userId: row.userId,
      userDid: row.userDid,
      modelAllowLists: [row.keyModels, row.userModels, row.teamModels].filter((list) => list.length > 0),
      hasBudget: row.hasBudget,
      rpmLimit: row.rpmLimit,
      tpmLimit: row.tpmLimit,
      scopes: row.scopes,
      expiresAt: row.expiresAt,
      revoked: row.revokedAt !== null,
      userActive: row.userStatus === 'active',
    };
  }

  /** Records lastUsedAt at most once a minute per key per process, off the request path. */
  private touch(keyId: string, now: number): void {
    const last = this.lastUsedWritten.get(keyId) ?? 0;
    if (now - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWritten.set(keyId, now);
    this.keys.touchLastUsed(keyId).catch((err: Error) => this.log.warn(`lastUsedAt not written: ${err.message}`));
  }
}
