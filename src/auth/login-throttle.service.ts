import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { REDIS } from '../redis/redis.tokens';

/** What a throttle check decided (docs/api/auth.md "Login throttling"). */
export type ThrottleVerdict = { allowed: true } | { allowed: false; scope: 'account' | 'ip'; retryAfterSeconds: number };

/**
 * KEYS = account counter, IP counter; ARGV = max per account, max per IP.
 * Returns {accountLocked, ipLocked, accountTtlMs, ipTtlMs}.
 */
const CHECK_SCRIPT = `
local a = tonumber(redis.call('GET', KEYS[1]) or '0')
local i = tonumber(redis.call('GET', KEYS[2]) or '0')
local la = 0
local li = 0
if a >= tonumber(ARGV[1]) then la = 1 end
if i >= tonumber(ARGV[2]) then li = 1 end
return {la, li, redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2])}
`;

/**
 * KEYS = account counter, IP counter; ARGV = max per account, max per IP, window (s).
 * Counts one failure on both; a counter's window starts at its first failure and starts again
 * (a full lockout) when it reaches its limit.
 */
const FAILURE_SCRIPT = `
for n = 1, 2 do
  local c = redis.call('INCR', KEYS[n])
  if c == 1 or c >= tonumber(ARGV[n]) then redis.call('EXPIRE', KEYS[n], ARGV[3]) end
end
return 1
`;

/**
 * Brute-force protection of password checks (POST /auth/login, POST /auth/password), in Redis:
 * failed attempts are counted per account and per client IP in a fixed window of
 * LOGIN_THROTTLE_WINDOW_SECONDS. Once a counter reaches LOGIN_MAX_FAILURES_PER_ACCOUNT or
 * LOGIN_MAX_FAILURES_PER_IP, attempts are refused (the caller answers 429 without checking the
 * password) until the counter expires, a full window after the failure that reached the limit.
 *
 * Each method is one Redis round trip (a Lua script or one DEL). Keys: `<QUEUE_PREFIX>:login-fail:
 * acct:<sha256 of the account>` and `<QUEUE_PREFIX>:login-fail:ip:<ip>` (no login is stored in
 * clear). When Redis fails, every method fails open: logins go on unthrottled and a warning is
 * logged.
 */
@Injectable()
export class LoginThrottleService {
  private readonly log = new Logger(LoginThrottleService.name);
  private readonly prefix: string;
  private readonly maxPerAccount: number;
  private readonly maxPerIp: number;
  private readonly windowSeconds: number;
  /** Attempts refused since the process started, by the scope that was locked (read by src/metrics). */
  readonly refusals = { account: 0, ip: 0 };

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.prefix = `${config.queuePrefix}:login-fail`;
    this.maxPerAccount = config.accounts.loginMaxFailuresPerAccount;
    this.maxPerIp = config.accounts.loginMaxFailuresPerIp;
    this.windowSeconds = config.accounts.loginThrottleWindowSeconds;
  }

  /**
   * May a password be checked now for this account from this IP?
   * @param account `user:<id>` for a known user, else `login:<normalized login>`
   * @returns refused with the scope that is locked and `Retry-After` seconds (≥ 1)
   */
  async check(account: string, ip: string): Promise<ThrottleVerdict> {
    try {
      const [accountLocked, ipLocked, accountTtlMs, ipTtlMs] = (await this.redis.eval(
        CHECK_SCRIPT,
        2,
        this.accountKey(account),
        this.ipKey(ip),
        this.maxPerAccount,
        this.maxPerIp,
      )) as [number, number, number, number];
      if (!accountLocked && !ipLocked) return { allowed: true };
      const ttlMs = Math.max(accountLocked ? accountTtlMs : 0, ipLocked ? ipTtlMs : 0);
      const scope = accountLocked ? 'account' : 'ip';
      this.refusals[scope]++;
      return {
        allowed: false,
        scope,
        retryAfterSeconds: Math.max(1, Math.ceil((ttlMs > 0 ? ttlMs : this.windowSeconds * 1000) / 1000)),
      };
    } catch (err) {
      this.log.warn(`login throttle check skipped, Redis failed (${(err as Error).message}): failing open`);
      return { allowed: true };
    }
  }

  /** Counts one failed password check for the account and the IP. */
  async recordFailure(account: string, ip: string): Promise<void> {
    try {
      await this.redis.eval(
        FAILURE_SCRIPT,
        2,
        this.accountKey(account),
        this.ipKey(ip),
        this.maxPerAccount,
        this.maxPerIp,
        this.windowSeconds,
      );
    } catch (err) {
      this.log.warn(`login failure not counted, Redis failed (${(err as Error).message}): failing open`);
    }
  }

  /** Forgets the account's failures (after a successful login). The IP's count stays. */
  async reset(account: string): Promise<void> {
    try {
      await this.redis.del(this.accountKey(account));
    } catch (err) {
      this.log.warn(`login throttle reset skipped, Redis failed (${(err as Error).message})`);
    }
  }

  private accountKey(account: string): string {
    return `${this.prefix}:acct:${createHash('sha256').update(account).digest('hex')}`;
  }

  private ipKey(ip: string): string {
    return `${this.prefix}:ip:${ip.slice(0, 64)}`;
  }
}
