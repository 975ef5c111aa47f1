import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { RATE_LIMIT_REDIS } from './rate-limit.tokens';
import { SLIDING_WINDOW_LUA } from './sliding-window.script';

/**
 * Which limit a rule enforces; names the counters (`refusals`) and the Redis key
 * (`<QUEUE_PREFIX>:ratelimit:<scope>:<id>`).
 */
export type RateLimitScope = 'key_requests' | 'key_tokens' | 'user_requests' | 'user_tokens' | 'llm_config_minute' | 'llm_config_hour';

export const RATE_LIMIT_SCOPES: readonly RateLimitScope[] = [
  'key_requests',
  'key_tokens',
  'user_requests',
  'user_tokens',
  'llm_config_minute',
  'llm_config_hour',
];

/** One limit on one identity. */
export interface RateLimitRule {
  scope: RateLimitScope;
  /** whose usage: a key id, a user id… (part of the Redis key) */
  id: string;
  /** length of the sliding window (ms) */
  windowMs: number;
  /** most requests (or tokens) in any window of that length; at least 1 */
  limit: number;
  /**
   * what this call adds: 1 for a request rule; 0 for a token rule at admission (tokens are counted
   * when the call is recorded, and the rule only refuses once its window is full)
   */
  cost: number;
}

/** A rule's figures after a check. */
export interface RuleState {
  rule: RateLimitRule;
  /** whether this rule admits the call */
  admits: boolean;
  limit: number;
  /** requests (tokens) still free in the window after this call, at least 0 */
  remaining: number;
  /** ms until the window is empty again if nothing more is counted */
  resetMs: number;
  /** ms until this rule would admit the call; 0 when it does */
  retryMs: number;
}

/** The answer of one check. */
export type RateLimitDecision =
  | {
      /** Redis answered: `allowed` is the rules' verdict */
      status: 'checked';
      allowed: boolean;
      /** Redis's clock when checked (Unix ms) */
      now: number;
      rules: RuleState[];
      /** ms until every refusing rule admits the call (0 when allowed) */
      retryMs: number;
    }
  /** Redis failed or timed out: `allowed` follows RATE_LIMIT_REDIS_FAILURE_POLICY */
  | { status: 'unavailable'; allowed: boolean };

/** What the limiter counted since the process started (exported by /metrics). */
export interface RateLimitCounters {
  /** refusals by the rule that refused (a call refused by two rules counts for both) */
  refusals: Record<RateLimitScope, number>;
  /** Redis round trips that failed or timed out (checks and token additions) */
  redisFailures: number;
  /** calls let through unchecked because Redis failed (policy `open`) */
  failedOpen: number;
  /** calls refused with 503 because Redis failed (policy `closed`) */
  failedClosed: number;
}

/** A failure warning is logged at most this often; the lines in between are counted in it (ms). */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/** Longest wait for the limiter's connection at boot; it keeps connecting in the background (ms). */
const BOOT_CONNECT_WAIT_MS = 2_000;

type ScriptClient = Redis & { tollgateRateLimit(numKeys: number, ...args: (string | number)[]): Promise<number[]> };

/**
 * Sliding-window rate limits shared by every api replica through Redis (docs/rate-limits.md):
 * one script (src/rate-limit/sliding-window.script.ts), one round trip per check or addition,
 * whatever the number of rules. Its own Redis connection (RATE_LIMIT_REDIS_URL) answers within
 * RATE_LIMIT_REDIS_TIMEOUT_MS or the failure policy applies: `open` allows (warning logged at
 * most every 10 s), `closed` refuses; a request never waits longer than the timeout.
 */
@Injectable()
export class RateLimitService implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(RateLimitService.name);
  private readonly prefix: string;
  private readonly stats: RateLimitCounters = {
    refusals: Object.fromEntries(RATE_LIMIT_SCOPES.map((s) => [s, 0])) as Record<RateLimitScope, number>,
    redisFailures: 0,
    failedOpen: 0,
    failedClosed: 0,
  };
  private lastFailureLog = 0;
  private failuresSinceLog = 0;

  constructor(
    @Inject(RATE_LIMIT_REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.prefix = `${config.queuePrefix}:ratelimit:`;
    redis.defineCommand('tollgateRateLimit', { lua: SLIDING_WINDOW_LUA });
  }

  /** Waits (bounded) for the connection so the first requests after boot are checked, not failed over. */
  async onModuleInit(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, BOOT_CONNECT_WAIT_MS);
      this.redis.on('ready', done);
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  /** The failure policy in force (RATE_LIMIT_REDIS_FAILURE_POLICY). */
  get failurePolicy(): 'open' | 'closed' {
    return this.config.rateLimit.redisFailurePolicy;
  }

  /**
   * Admits a call against every rule at once, counting it (each rule's `cost`) only when all
   * admit it. One Redis round trip; never throws.
   * @returns the rules' figures, or `unavailable` (allowed per the failure policy) when Redis
   *   failed or did not answer within RATE_LIMIT_REDIS_TIMEOUT_MS
   */
  async check(rules: RateLimitRule[]): Promise<RateLimitDecision> {
    let reply: number[];
    try {
      reply = await this.run('check', rules);
    } catch (err) {
      const allowed = this.failurePolicy === 'open';
      if (allowed) this.stats.failedOpen++;
      else this.stats.failedClosed++;
      this.failed(err as Error);
      return { status: 'unavailable', allowed };
    }
    const states: RuleState[] = rules.map((rule, i) => {
      const o = 2 + i * 5;
      return { rule, admits: reply[o] === 1, limit: reply[o + 1], remaining: reply[o + 2], resetMs: reply[o + 3], retryMs: reply[o + 4] };
    });
    const allowed = reply[0] === 1;
    if (!allowed) for (const s of states) if (!s.admits) this.stats.refusals[s.rule.scope]++;
    return { status: 'checked', allowed, now: reply[1], rules: states, retryMs: Math.max(0, ...states.map((s) => s.retryMs)) };
  }

  /**
   * Adds `amount` to every rule's window unconditionally (tokens of a finished call), one round
   * trip. Never throws; a failure is counted and logged (rate-limited).
   */
  async add(rules: { scope: RateLimitScope; id: string; windowMs: number }[], amount: number): Promise<void> {
    if (rules.length === 0 || amount <= 0) return;
    try {
      await this.run(
        'add',
        rules.map((r) => ({ ...r, limit: 1, cost: amount })),
      );
    } catch (err) {
      this.failed(err as Error);
    }
  }

  /** A copy of the counters (refusals by scope, Redis failures); see docs/rate-limits.md "Metrics". */
  counters(): RateLimitCounters {
    return { ...this.stats, refusals: { ...this.stats.refusals } };
  }

  private run(mode: 'check' | 'add', rules: RateLimitRule[]): Promise<number[]> {
    const keys = rules.map((r) => `${this.prefix}${r.scope}:${r.id}`);
    const args: (string | number)[] = [mode];
    for (const r of rules) args.push(r.windowMs, r.limit, r.cost);
    return (this.redis as ScriptClient).tollgateRateLimit(keys.length, ...keys, ...args);
  }

  private failed(err: Error): void {
    this.stats.redisFailures++;
    this.failuresSinceLog++;
    const now = Date.now();
    if (now - this.lastFailureLog < FAILURE_LOG_INTERVAL_MS) return;
    this.log.warn(
      `rate limiter: Redis failed or timed out ${this.failuresSinceLog} time(s) since the last warning (${err.message}); ` +
        `policy ${this.failurePolicy}: ${this.failurePolicy === 'open' ? 'requests are let through unlimited' : 'requests are refused with 503'}`,
    );
    this.lastFailureLog = now;
    this.failuresSinceLog = 0;
  }
}
