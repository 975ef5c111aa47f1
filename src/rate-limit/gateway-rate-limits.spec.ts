import { AppConfig } from '../config/app-config';
import { CallRecord } from '../model-calls/call-record';
import { CallRecorder, RecordedListener } from '../model-calls/call-recorder.service';
import { GatewayRateLimits, TOKEN_FLUSH_MS } from './gateway-rate-limits.service';
import { RateLimitDecision, RateLimitRule, RateLimitService } from './rate-limit.service';

/** A limiter that admits everything and records what it was asked (the Redis side is covered by test/rate-limits.e2e-spec.ts). */
class RecordingLimiter {
  checks: RateLimitRule[][] = [];
  adds: { windows: unknown[]; amount: number }[] = [];
  next: RateLimitDecision | null = null;
  check(rules: RateLimitRule[]): Promise<RateLimitDecision> {
    this.checks.push(rules);
    return Promise.resolve(
      this.next ?? {
        status: 'checked',
        allowed: true,
        now: 0,
        retryMs: 0,
        rules: rules.map((rule) => ({ rule, admits: true, limit: rule.limit, remaining: rule.limit - 1, resetMs: 60_000, retryMs: 0 })),
      },
    );
  }
  add(windows: unknown[], amount: number): Promise<void> {
    this.adds.push({ windows, amount });
    return Promise.resolve();
  }
}

function setup(userRpm = 0, userTpm = 0) {
  const limiter = new RecordingLimiter();
  let listener: RecordedListener | null = null;
  const recorder = { onRecorded: (l: RecordedListener) => (listener = l) } as unknown as CallRecorder;
  const config = { rateLimit: { userRpm, userTpm } } as AppConfig;
  const limits = new GatewayRateLimits(limiter as unknown as RateLimitService, recorder, config);
  limits.onModuleInit();
  const recorded = (id: string, promptTokens: number, completionTokens: number) =>
    listener!({ id, promptTokens, completionTokens } as CallRecord, 'written');
  return { limiter, limits, recorded };
}

const principal = { keyId: 'key-1', userId: 'user-1', rpmLimit: null, tpmLimit: null };

describe('GatewayRateLimits', () => {
  it('asks nothing of Redis when neither the key nor the configuration sets a limit', async () => {
    const { limiter, limits, recorded } = setup();
    expect(await limits.admit(principal, 'call-1')).toEqual({ kind: 'unlimited' });
    recorded('call-1', 10, 5);
    expect(limiter.checks).toEqual([]);
    expect(limiter.adds).toEqual([]);
  });

  it("builds one rule per limit: the key's rpm/tpm and the user's, token rules costing 0 at admission", () => {
    const { limits } = setup(30, 5000);
    expect(limits.rules({ ...principal, rpmLimit: 10, tpmLimit: 1000 })).toEqual([
      { scope: 'key_requests', id: 'key-1', windowMs: 60_000, limit: 10, cost: 1 },
      { scope: 'user_requests', id: 'user-1', windowMs: 60_000, limit: 30, cost: 1 },
      { scope: 'key_tokens', id: 'key-1', windowMs: 60_000, limit: 1000, cost: 0 },
      { scope: 'user_tokens', id: 'user-1', windowMs: 60_000, limit: 5000, cost: 0 },
    ]);
  });

  it("adds an admitted call's prompt + completion tokens to the token windows that limit it, once", async () => {
    const { limiter, limits, recorded } = setup(0, 5000);
    const verdict = await limits.admit({ ...principal, tpmLimit: 1000 }, 'call-2');
    expect(verdict.kind).toBe('allowed');
    recorded('call-2', 12, 30);
    recorded('call-2', 12, 30); // a call is recorded once; a second announcement adds nothing
    recorded('call-unknown', 99, 99);
    expect(limiter.adds).toEqual([]); // written at the next flush, not per call
    await limits.onModuleDestroy();
    expect(limiter.adds).toEqual([
      { windows: [{ scope: 'key_tokens', id: 'key-1', windowMs: 60_000 }], amount: 42 },
      { windows: [{ scope: 'user_tokens', id: 'user-1', windowMs: 60_000 }], amount: 42 },
    ]);
  });

  it('sums the tokens of calls recorded within one flush interval: one write per window', async () => {
    const { limiter, limits, recorded } = setup(0, 5000);
    for (const id of ['c-a', 'c-b', 'c-c']) await limits.admit({ ...principal, tpmLimit: 1000 }, id);
    recorded('c-a', 10, 5);
    recorded('c-b', 20, 5);
    recorded('c-c', 1, 1);
    await new Promise((r) => setTimeout(r, TOKEN_FLUSH_MS * 3));
    expect(limiter.adds).toEqual([
      { windows: [{ scope: 'key_tokens', id: 'key-1', windowMs: 60_000 }], amount: 42 },
      { windows: [{ scope: 'user_tokens', id: 'user-1', windowMs: 60_000 }], amount: 42 },
    ]);
  });

  it('a key with only an rpm limit does not count tokens', async () => {
    const { limiter, limits, recorded } = setup();
    await limits.admit({ ...principal, rpmLimit: 5 }, 'call-3');
    recorded('call-3', 10, 10);
    expect(limiter.adds).toEqual([]);
  });

  it('a refusal carries the headers, Retry-After and a message naming the limit', async () => {
    const { limiter, limits } = setup();
    const rule: RateLimitRule = { scope: 'key_requests', id: 'key-1', windowMs: 60_000, limit: 2, cost: 1 };
    limiter.next = {
      status: 'checked',
      allowed: false,
      now: 0,
      retryMs: 1500,
      rules: [{ rule, admits: false, limit: 2, remaining: 0, resetMs: 90_000, retryMs: 1500 }],
    };
    expect(await limits.admit({ ...principal, rpmLimit: 2 }, 'call-4')).toEqual({
      kind: 'refused',
      headers: {
        'x-ratelimit-limit-requests': '2',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1m30s',
        'retry-after': '2',
      },
      message: 'Rate limit reached for requests per minute on this API key: limit 2, remaining 0. Please try again in 1.5s.',
    });
  });

  it('follows the failure policy when Redis is away', async () => {
    const { limiter, limits } = setup();
    limiter.next = { status: 'unavailable', allowed: true };
    expect(await limits.admit({ ...principal, rpmLimit: 2 }, 'c')).toEqual({ kind: 'allowed', headers: {} });
    limiter.next = { status: 'unavailable', allowed: false };
    expect(await limits.admit({ ...principal, rpmLimit: 2 }, 'c')).toEqual({ kind: 'unavailable' });
  });
});
