import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CallRecord } from '../model-calls/call-record';
import { CallRecorder } from '../model-calls/call-recorder.service';
import { formatResetDuration, openAiRateLimitHeaders, retryAfterSeconds } from './rate-limit-headers';
import { RateLimitRule, RateLimitScope, RateLimitService, RuleState } from './rate-limit.service';

/** The gateway's windows: requests and tokens per minute (ms). */
export const GATEWAY_WINDOW_MS = 60_000;
/** Calls admitted whose tokens are still to be counted, at most (a bound, not a working size). */
const PENDING_MAX = 100_000;
/**
 * Token usage of recorded calls is summed per window and written every TOKEN_FLUSH_MS: one Redis
 * round trip per window and interval instead of one per call (measured at 50 connections on one
 * key: a round trip per call cost 18% of the gateway's throughput). A window thus sees a call's
 * tokens at most this much later.
 */
export const TOKEN_FLUSH_MS = 20;

/** What the limits of a gateway call depend on (a KeyPrincipal has these). */
export interface RateLimitedPrincipal {
  keyId: string;
  userId: string;
  /** the key's requests per minute; null = none */
  rpmLimit: number | null;
  /** the key's tokens per minute; null = none */
  tpmLimit: number | null;
}

/** The verdict on one gateway call. */
export type GatewayRateVerdict =
  /** no limit applies: nothing was asked of Redis */
  | { kind: 'unlimited' }
  /** admitted and counted; `headers` are OpenAI's x-ratelimit-* (empty when Redis failed and the policy is open) */
  | { kind: 'allowed'; headers: Record<string, string> }
  /** over a limit: 429 with these headers (x-ratelimit-* and retry-after) and this message */
  | { kind: 'refused'; headers: Record<string, string>; message: string }
  /** Redis failed and the policy is closed: 503 */
  | { kind: 'unavailable' };

const DESCRIPTIONS: Record<RateLimitScope, string> = {
  key_requests: 'requests per minute on this API key',
  key_tokens: 'tokens per minute on this API key',
  user_requests: 'requests per minute on this account',
  user_tokens: 'tokens per minute on this account',
  llm_config_minute: 'requests per minute',
  llm_config_hour: 'requests per hour',
};

/**
 * The gateway's rate limits (docs/rate-limits.md "Gateway"): a key's rpmLimit / tpmLimit and
 * every user's GATEWAY_USER_RPM / GATEWAY_USER_TPM, over a 60 s sliding window shared by every
 * replica. Requests are counted at admission; tokens (prompt + completion) when the call's record
 * is durable (CallRecorder.onRecorded), off the request path, and a full token window refuses the
 * next call. A call with no limit asks nothing of Redis.
 */
@Injectable()
export class GatewayRateLimits implements OnModuleInit, OnModuleDestroy {
  /** callId → the token windows its usage goes to, for admitted calls not yet recorded */
  private readonly pending = new Map<string, { keyId: string | null; userId: string | null }>();
  /** tokens recorded and not yet written, per window ("scope|id") */
  private unwritten = new Map<string, { scope: RateLimitScope; id: string; tokens: number }>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly limiter: RateLimitService,
    private readonly recorder: CallRecorder,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.recorder.onRecorded((record) => this.countTokens(record));
  }

  /** Writes the token usage still held (shutdown). */
  async onModuleDestroy(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    await this.flushTokens();
  }

  /** The rules a principal's calls are checked against (empty when none applies). */
  rules(p: RateLimitedPrincipal): RateLimitRule[] {
    const { userRpm, userTpm } = this.config.rateLimit;
    const w = GATEWAY_WINDOW_MS;
    const rules: RateLimitRule[] = [];
    if (p.rpmLimit) rules.push({ scope: 'key_requests', id: p.keyId, windowMs: w, limit: p.rpmLimit, cost: 1 });
    if (userRpm > 0) rules.push({ scope: 'user_requests', id: p.userId, windowMs: w, limit: userRpm, cost: 1 });
    if (p.tpmLimit) rules.push({ scope: 'key_tokens', id: p.keyId, windowMs: w, limit: p.tpmLimit, cost: 0 });
    if (userTpm > 0) rules.push({ scope: 'user_tokens', id: p.userId, windowMs: w, limit: userTpm, cost: 0 });
    return rules;
  }

  /**
   * Checks and counts one call (one Redis round trip; none when no limit applies). An admitted
   * call with a token limit is remembered so its recorded usage fills the token windows.
   */
  async admit(p: RateLimitedPrincipal, callId: string): Promise<GatewayRateVerdict> {
    const rules = this.rules(p);
    if (rules.length === 0) return { kind: 'unlimited' };
    const decision = await this.limiter.check(rules);
    if (decision.status === 'unavailable') return decision.allowed ? { kind: 'allowed', headers: {} } : { kind: 'unavailable' };
    const headers = openAiRateLimitHeaders(decision.rules);
    if (!decision.allowed) {
      headers['retry-after'] = String(retryAfterSeconds(decision.retryMs));
      return {
        kind: 'refused',
        headers,
        message: refusalMessage(
          decision.rules.filter((s) => !s.admits),
          decision.retryMs,
        ),
      };
    }
    const keyTokens = rules.some((r) => r.scope === 'key_tokens');
    const userTokens = rules.some((r) => r.scope === 'user_tokens');
    if (keyTokens || userTokens) {
      if (this.pending.size >= PENDING_MAX) this.pending.delete(this.pending.keys().next().value as string);
      this.pending.set(callId, { keyId: keyTokens ? p.keyId : null, userId: userTokens ? p.userId : null });
    }
    return { kind: 'allowed', headers };
  }

  /** Adds a recorded call's prompt + completion tokens to its key's and user's token windows. */
  private countTokens(record: CallRecord): void {
    const target = this.pending.get(record.id);
    if (!target) return;
    this.pending.delete(record.id);
    const tokens = record.promptTokens + record.completionTokens;
    if (tokens <= 0) return;
    if (target.keyId) this.hold('key_tokens', target.keyId, tokens);
    if (target.userId) this.hold('user_tokens', target.userId, tokens);
    this.flushTimer ??= setTimeout(() => void this.flushTokens(), TOKEN_FLUSH_MS);
  }

  private hold(scope: RateLimitScope, id: string, tokens: number): void {
    const k = `${scope}|${id}`;
    const entry = this.unwritten.get(k);
    if (entry) entry.tokens += tokens;
    else this.unwritten.set(k, { scope, id, tokens });
  }

  /** One `add` per window with the tokens summed since the last flush (concurrent round trips). */
  private async flushTokens(): Promise<void> {
    this.flushTimer = null;
    const batch = this.unwritten;
    this.unwritten = new Map();
    await Promise.all(
      [...batch.values()].map((w) => this.limiter.add([{ scope: w.scope, id: w.id, windowMs: GATEWAY_WINDOW_MS }], w.tokens)),
    );
  }
}

/** "Rate limit reached for requests per minute on this API key: limit 2, remaining 0. Please try again in 30s." */
function refusalMessage(refusing: RuleState[], retryMs: number): string {
  const s = refusing[0];
  return (
    `Rate limit reached for ${DESCRIPTIONS[s.rule.scope]}: limit ${s.limit}, remaining ${s.remaining}. ` +
    `Please try again in ${formatResetDuration(retryMs)}.`
  );
}
